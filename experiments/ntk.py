"""The neural tangent kernel picture of Tancik et al. (2020): NTK spectrum and profile per encoding.

    python -m experiments.ntk          # writes runs/ntk/: ntk.png, spectrum.md, ntk.json (about a minute on a CPU)
    python -m experiments.ntk --out=results/ntk   # the committed one
    python -m experiments.ntk --redraw # only redraws ntk.png and spectrum.md from ntk.json

On a 1D grid of --points coordinates in [0, 1), for no mapping, the basic
mapping, positional encoding and Gaussian features at several sigmas, the
empirical NTK of the paper's MLP (4 x 256, ReLU, no BatchNorm, one output)
at initialisation, averaged over --seeds initialisations (and Gaussian
matrices). Left: eigenvalues, each divided by the largest; a larger sigma
keeps more eigenvalues large, so more frequencies are learned at a useful
rate. Right: the profile k(x, 0.5) / k(0.5, 0.5); larger sigma, narrower
kernel, finer detail (and, past the data's density, aliasing).
"""

import pathlib
import sys

import jax
import numpy as np
from absl import app, flags

import experiments
from experiments.parsing import RUNS, UsageError, parse_floats
from nerf_toy_jax import ntk, rundir, viz
from nerf_toy_jax.encodings import basic, gaussian, positional

flags.DEFINE_integer("points", 256, "Grid points in [0, 1).")
flags.DEFINE_list("sigmas", ["1", "4", "16", "64"], "Gaussian sigmas (cycles per unit).")
flags.DEFINE_float("positional_scale", 6.0, "Positional frequencies 2^linspace(0, scale, m / 2) - 1.")
flags.DEFINE_integer("mapping_size", 256, "Rows m of B.")
flags.DEFINE_integer("seeds", 3, "Initialisations averaged.")
flags.DEFINE_integer("width", 256, "Hidden units of the MLP.")
flags.DEFINE_string("out", f"{RUNS}/ntk", "Output folder (the committed one: --out=results/ntk).")
flags.DEFINE_bool("redraw", False, "Only redraw ntk.png and spectrum.md from ntk.json.")
FLAGS = flags.FLAGS


def kernels(points, sigmas, positional_scale, mapping_size, seeds, width):
    """{label: mean NTK [points, points]} over ``seeds`` initialisations, for each encoding."""
    coords = (np.arange(points, dtype=np.float32) / points)[:, None]
    freqs = positional.log_linear_frequencies(positional_scale, mapping_size // 2)
    builders = {"none": lambda key: None, "basic": lambda key: basic.basic_matrix(1),
                f"positional scale={positional_scale:g}": lambda key: positional.positional_matrix(freqs, dim=1)}
    for sigma in sigmas:
        builders[f"gaussian s={sigma:g}"] = (
            lambda key, sigma=sigma: gaussian.gaussian_matrix(key, sigma, mapping_size, dim=1))
    out = {}
    for label, build in builders.items():
        total = 0.0
        for seed in range(seeds):
            matrix_key, init_key = jax.random.split(jax.random.PRNGKey(seed))
            total = total + np.asarray(ntk.init_kernel(build(matrix_key), coords, init_key, width=width), np.float64)
        out[label] = total / seeds
        print(f"{label}: NTK of {points} points, mean of {seeds} initialisations", flush=True)
    return out


def summarise(kernel_by_label):
    """Normalised spectra and centre profiles, as lists (ntk.json)."""
    summary = {}
    for label, matrix in kernel_by_label.items():
        eigenvalues = np.asarray(ntk.spectrum(np.asarray(matrix, np.float32)), np.float64)
        centre = matrix.shape[0] // 2
        summary[label] = {"spectrum": (eigenvalues / eigenvalues[0]).tolist(),
                          "profile": (matrix[centre] / matrix[centre, centre]).tolist()}
    return summary


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    out = pathlib.Path(FLAGS.out)
    try:
        if FLAGS.redraw:
            if not (out / "ntk.json").is_file():
                raise UsageError(f"nothing to redraw: {out / 'ntk.json'} does not exist")
        else:
            sigmas = parse_floats("sigmas", FLAGS.sigmas)
            if min(sigmas, default=0) <= 0:
                raise UsageError("--sigmas must be positive numbers")
            for name, least in (("points", 3), ("mapping_size", 1), ("seeds", 1), ("width", 1)):
                if FLAGS[name].value < least:
                    raise UsageError(f"--{name} must be at least {least}, got {FLAGS[name].value}")
    except ValueError as error:
        print(f"ntk.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    if not FLAGS.redraw:
        summary = summarise(kernels(FLAGS.points, sigmas, FLAGS.positional_scale, FLAGS.mapping_size, FLAGS.seeds,
                                    FLAGS.width))
        command = " ".join(["python", "-m", "experiments.ntk", *sys.argv[1:]])
        rundir.write_json(out / "ntk.json", {"command": command, "points": FLAGS.points, "kernels": summary})
    viz.write_ntk_figures(out)
    print((out / "spectrum.md").read_text())
    print(f"wrote {out / 'ntk.png'} and {out / 'spectrum.md'}")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
