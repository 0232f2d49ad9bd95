"""Renders trained models of a run at any resolution from their checkpoints.

    python -m experiments.render --run=runs/run --scale=4

The network is a continuous function of the coordinates: evaluated on a grid
4x finer than the training image it fills in between the training pixels
(sharp for well-chosen Fourier features, aliased noise for too large a sigma).
Writes <run>/renders/model_XXXX_<H>x<W>.png and a side-by-side comparison
<run>/renders/comparison_<H>x<W>.png (training resolution, nearest-upscaled,
next to the fine render).
"""

import pathlib
import sys

import numpy as np
from absl import app, flags

import experiments
from experiments.parsing import RUNS
from nerf_toy_jax import evaluate, rundir, state, tables, viz

flags.DEFINE_string("run", f"{RUNS}/run", "Run folder with checkpoints/.")
flags.DEFINE_list("models", [], "Model indices (metrics.csv 'index'); default: one per (encoding, sigma, lr).")
flags.DEFINE_float("scale", 4.0, "Render at this multiple of the training image's size.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    run = pathlib.Path(FLAGS.run)
    try:
        if not (run / "config.json").is_file():
            raise ValueError(f"{run} is not a run folder (no config.json)")
        if not FLAGS.scale > 0:
            raise ValueError(f"--scale must be positive, got {FLAGS.scale}")
        record = rundir.load_record(run)
        if record.get("kind", "image") != "image":
            raise ValueError(f"{run} fitted a {record['kind']}: render draws images at a finer resolution")
        rows = rundir.load_rows(run / "metrics.json")
        indices = [int(i) for i in FLAGS.models] or list(tables.representatives(rows).values())
        bad = [i for i in indices if not 0 <= i < len(rows)]
        if bad:
            raise ValueError(f"no model {bad[0]} in {run}: indices run from 0 to {len(rows) - 1}")
        checkpoints = [rundir.load_checkpoint(run, index) for index in indices]
    except (ValueError, FileNotFoundError) as error:
        print(f"render.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    height, width, channels = record["image_shape"]
    fine = (round(height * FLAGS.scale), round(width * FLAGS.scale))
    train_config = state.TrainConfig(**record["config"]["train"])
    images, captions = [], []
    for index, (spec, variables, matrix) in zip(indices, checkpoints):
        coarse = evaluate.render(train_config, channels, spec, variables, matrix, height, width)
        rendered = evaluate.render(train_config, channels, spec, variables, matrix, *fine)
        path = run / "renders" / f"model_{index:04d}_{fine[0]}x{fine[1]}.png"
        rundir.write_png(path, rendered)
        print(f"{spec.label} seed {spec.seed}: {path}")
        zoom = int(np.ceil(FLAGS.scale))
        images += [np.repeat(np.repeat(coarse, zoom, 0), zoom, 1)[:fine[0], :fine[1]], rendered]
        captions += [f"{spec.label}: {height}x{width}", f"{spec.label}: {fine[0]}x{fine[1]}"]
    comparison = run / "renders" / f"comparison_{fine[0]}x{fine[1]}.png"
    viz.image_grid_png(comparison, images, captions, columns=2,
                       title="training resolution (left) and the same networks on a finer grid (right)")
    print(f"comparison: {comparison}")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
