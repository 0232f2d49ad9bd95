"""Checks the backend it runs on, and times the trainer there: the first program to run on a new accelerator.

    python -m experiments.device_check           # writes results/device/<device kind>/ (under 8 min on one GPU)
    python -m experiments.device_check --tiny    # small sizes: under a minute on a CPU (the tests run it)

On whatever backend JAX finds (``--tiny`` is the default on a CPU):
1. stacking: one stack (Gaussian features, BatchNorm, minibatches) trained
   with its models side by side (``vmap``) and one after another (``map``);
   the final losses and PSNRs must agree to float32 rounding.
2. precision: the Fourier features at sigma 100 on a 512-px grid against
   float64 NumPy, beside the same projection as a plain matmul at the
   backend's default precision (what ``fourier.phases`` avoids); and a
   short training run on the device at full precision against the same run
   on the host CPU (and, for the record, at the backend's default precision).
3. determinism: a hash-grid stack (its gradient is a scatter-add) trained
   twice, and resumed from its first chunk, must end bit for bit alike.
4. speed: ``nerf_toy_jax.speed``'s table (as ``experiments.benchmark``) for
   K = 1, 4, 16, 64 models at 64 and 256 px, in float32 and bfloat16, with
   the device kind recorded.
Writes summary.md (every check, its numbers and whether it passed),
checks.json, and speed_float32.{md,json} and speed_bfloat16.{md,json}.
Exits with status 1 when a check fails.
"""

import dataclasses
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

import experiments
from nerf_toy_jax import data, fourier, rundir, specs as specs_lib, speed, state, train
from nerf_toy_jax.encodings import gaussian

flags.DEFINE_bool("tiny", None, "Small sizes and few models, for a CPU (default: on when the backend is a CPU).")
flags.DEFINE_string("out", None, "Output folder; default results/device/<device kind>.")
FLAGS = flags.FLAGS



@dataclasses.dataclass(frozen=True)
class Mode:
    """Sizes of the checks and of the speed table."""

    sizes: tuple  # speed: image sides
    counts: tuple  # speed: models K
    repeats: int  # speed: timed rounds
    baseline_models: int  # speed: models timed one after another
    budget_s: float  # speed: skip cells estimated to take longer
    side: int  # checks: image side
    steps: int  # checks: training steps
    encodings: tuple  # checks: encodings trained on the device and on the host
    peak_side: int  # speed: side of the square matmul of the peak


FULL = Mode((64, 256), (1, 4, 16, 64), 2, 1, 20.0, 64, 50, ("gaussian", "hashgrid", "siren"), 8192)
TINY = Mode((16,), (2,), 1, 1, 10.0, 16, 20, ("hashgrid",), 1024)
FEATURE_SIDE, FEATURE_SIGMA = 512, 100.0
PSNR_TOLERANCE_DB = 0.05  # device against host CPU after a short run
STACKING_STEPS = 20  # few enough that rounding differences stay rounding differences


def relative_difference(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def check_stacking(side, steps):
    """The same stack with its models side by side and one after another, every matmul at full precision:
    the two programs differ only in how they batch the models, so they agree to float32 rounding."""
    split = data.make_split(data.load_image(size=side), "memorize")
    specs = specs_lib.make_grid(["gaussian"], seeds=[0, 1], scales={"gaussian": [5.0, 10.0]},
                                params={"mapping_size": 64})
    config = state.TrainConfig(steps=steps, eval_every=steps // 2, width=64, batch_size=side * side // 4,
                               matmul_precision="highest")
    runs = {stacking: train.train_stack(specs, split, dataclasses.replace(config, stacking=stacking))
            for stacking in ("vmap", "map")}
    loss = relative_difference(runs["vmap"].loss[:, -1], runs["map"].loss[:, -1])
    psnr = float(np.max(np.abs(runs["vmap"].scores["test_psnr"][:, -1] - runs["map"].scores["test_psnr"][:, -1])))
    return {"name": "vmap and map agree", "passed": loss < 1e-4 and psnr < 1e-3,
            "numbers": {"models": len(specs), "steps": steps, "final loss, largest relative difference": loss,
                        "final test PSNR, largest difference (dB)": psnr,
                        "bit-identical": bool(np.array_equal(runs["vmap"].loss, runs["map"].loss))}}


def check_features():
    """The project's Fourier features and a default-precision matmul projection against float64."""
    grid = data.coordinate_grid(FEATURE_SIDE, FEATURE_SIDE).reshape(-1, 2)
    coords = grid[np.random.default_rng(0).choice(len(grid), 16384, replace=False)]
    B = gaussian.gaussian_matrix(jax.random.PRNGKey(0), FEATURE_SIGMA, 256)
    projection = 2 * np.pi * coords.astype(np.float64) @ np.asarray(B, np.float64).T
    expected = np.concatenate([np.sin(projection), np.cos(projection)], axis=1)
    ours = np.asarray(jax.jit(fourier.fourier_features)(jnp.asarray(coords), B))

    @jax.jit
    def matmul_features(coords, B):  # the projection as a plain matmul at the backend's default precision
        proj = 2.0 * jnp.pi * coords @ B.T
        return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)

    plain = np.asarray(matmul_features(jnp.asarray(coords), B))
    error = float(np.abs(ours - expected).max())
    return {"name": "Fourier features at full precision", "passed": error < 1e-4,
            "numbers": {"sigma": FEATURE_SIGMA, "grid side (px)": FEATURE_SIDE,
                        "project's features, largest error": error,
                        "default-precision matmul projection, largest error": float(np.abs(plain - expected).max())}}


def check_against_host(side, steps, names):
    """A short full-batch run of each encoding of ``names`` on the default device at full matmul precision
    against the same run on the host CPU (what must agree), and at the backend's default precision (what
    the hidden layers' TF32 or bfloat16 passes change, for the record)."""
    split = data.make_split(data.load_image(size=side), "holdout")
    config = state.TrainConfig(steps=steps, eval_every=steps, width=64, batchnorm=False, matmul_precision="highest")
    specs = specs_lib.make_grid(names, scales={"gaussian": [side / 8]}, params={"mapping_size": 64})

    def psnrs(config):
        return {spec.name: float(train.train_stack([spec], split, config).scores["test_psnr"][0, -1]) for spec in specs}

    device, default = psnrs(config), psnrs(dataclasses.replace(config, matmul_precision="default"))
    with jax.default_device(jax.devices("cpu")[0]):
        host = psnrs(config)
    difference = max(abs(device[name] - host[name]) for name in device)
    return {"name": "training on the device matches the host CPU", "passed": difference < PSNR_TOLERANCE_DB,
            "numbers": {"steps": steps, **{f"{name}: test PSNR device / host / device at default precision (dB)":
                                           f"{device[name]:.3f} / {host[name]:.3f} / {default[name]:.3f}"
                                           for name in device},
                        "largest device-host difference (dB)": difference, "tolerance (dB)": PSNR_TOLERANCE_DB}}


def check_determinism(side, steps):
    """A hash-grid stack trained twice, and resumed from its first chunk, ends bit for bit alike."""
    split = data.make_split(data.load_image(size=side), "memorize")
    config = state.TrainConfig(steps=steps, eval_every=steps // 2, batch_size=side * side // 2)
    specs = specs_lib.make_grid(["hashgrid"], seeds=[0, 1], params={"hashgrid_log2_table": 10})
    first, second = (train.train_stack(specs, split, config) for _ in range(2))
    partial = train.train_stack(specs, split, config, should_stop=lambda: True)
    resumed = train.train_stack(specs, split, config, resume_from=partial)

    def same(a, b):
        return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a.state),
                                                         jax.tree_util.tree_leaves(b.state)))

    again, resume = same(first, second), same(first, resumed)
    return {"name": "hash-grid training is deterministic", "passed": again and resume,
            "numbers": {"steps": steps, "trained twice: bit-identical": again,
                        "resumed after the first chunk: bit-identical": resume}}


def markdown(record):
    lines = [f"# Device check: {record['device_kind']} ({record['platform']}; host {record['host_cpu']})", "",
             f"`{record['command']}` ({record['wall_s'] / 60:.1f} min, {'tiny' if record['tiny'] else 'full'} mode); "
             f"jax {record['versions']['jax']}, jaxlib {record['versions']['jaxlib']}.", "",
             "| check | passed | numbers |", "|---|---|---|"]
    for check in record["checks"]:
        numbers = "; ".join(f"{name}: {value:.3g}" if isinstance(value, float) else f"{name}: {value}"
                            for name, value in check["numbers"].items())
        lines.append(f"| {check['name']} | {'yes' if check['passed'] else '**no**'} | {numbers} |")
    lines += ["", "Speed: [speed_float32.md](speed_float32.md), [speed_bfloat16.md](speed_bfloat16.md)."]
    for dtype, report in record["speed"].items():
        done = [row for row in report["rows"] if "skipped" not in row]
        if done:
            best = max(done, key=lambda row: row["model_steps_per_s"] * row["gflop_per_model_step"])
            lines.append(f"- {dtype}: best {best['gflops']:.0f} GFLOP/s ({best['peak_fraction']:.0%} of the "
                         f"matmul peak) at {best['size']} px with K = {best['models']}.")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    started = time.perf_counter()
    environment = rundir.environment()
    tiny = jax.default_backend() == "cpu" if FLAGS.tiny is None else FLAGS.tiny
    mode = TINY if tiny else FULL
    out = pathlib.Path(FLAGS.out or pathlib.Path("results") / "device" / rundir.device_folder_name(environment["device_kind"]))
    print(f"device check on {environment['device_count']} x {environment['device_kind']} "
          f"({environment['platform']}), {'tiny' if tiny else 'full'} mode; writing {out}", flush=True)
    checks = []
    for check in (lambda: check_stacking(mode.side, STACKING_STEPS), check_features,
                  lambda: check_against_host(mode.side, mode.steps, mode.encodings),
                  lambda: check_determinism(mode.side, mode.steps)):
        begun = time.perf_counter()
        checks.append({**check(), "seconds": round(time.perf_counter() - begun, 1)})
        print(f"{checks[-1]['name']}: {'passed' if checks[-1]['passed'] else 'FAILED'} {checks[-1]['numbers']} "
              f"({checks[-1]['seconds']} s)", flush=True)
    timing = speed.Timing(mode.repeats, 0.5, 4, mode.baseline_models, mode.budget_s,
                          speed.measured_peak(mode.peak_side), mode.peak_side)
    command = "python -m experiments.device_check " + " ".join(sys.argv[1:])
    reports = {}
    for dtype in state.COMPUTE_DTYPES:
        reports[dtype] = speed.speed_report(["gaussian"], ["auto"], mode.sizes, mode.counts, dtype, timing, command)
        rundir.write_json(out / f"speed_{dtype}.json", reports[dtype])
        rundir.write_text(out / f"speed_{dtype}.md", speed.markdown(reports[dtype]))
    record = {"command": command, "tiny": tiny, "device_kind": environment["device_kind"],
              "platform": environment["platform"], "host_cpu": environment["host_cpu"],
              "versions": environment["versions"],
              "git_commit": environment["git_commit"], "checks": checks,
              "wall_s": time.perf_counter() - started}
    rundir.write_json(out / "checks.json", record)
    rundir.write_text(out / "summary.md", markdown({**record, "speed": reports}))
    print(f"wrote {out}: summary.md, checks.json, speed_float32.md, speed_bfloat16.md")
    if not all(check["passed"] for check in checks):
        sys.exit(1)


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
