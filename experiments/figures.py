"""Regenerates every figure and table of run folders from their saved files, with no training.

    python -m experiments.figures                      # every run under results/
    python -m experiments.figures --runs=results/run   # chosen run folders

Rewrites metrics.md, curves.png, convergence.gif, final.png and, where they
apply, psnr_vs_sigma.png and gifs/ (see nerf_toy_jax.viz.write_run_figures).
"""

import pathlib
import sys

from absl import app, flags

import experiments
from nerf_toy_jax import viz

flags.DEFINE_list("runs", [], "Run folders; default: every folder under --root holding a config.json.")
flags.DEFINE_string("root", "results", "Where to look for run folders when --runs is empty.")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    runs = [pathlib.Path(run) for run in FLAGS.runs] or sorted(
        path.parent for path in pathlib.Path(FLAGS.root).glob("*/config.json"))
    missing = [str(run) for run in runs if not (run / "config.json").is_file()]
    if missing or not runs:
        print(f"figures.py: error: not a run folder (no config.json): {', '.join(missing) or FLAGS.root}",
              file=sys.stderr)
        sys.exit(2)
    for run in runs:
        viz.write_run_figures(run)
        print(f"redrew {run}")


if __name__ == "__main__":
    app.run(main)
