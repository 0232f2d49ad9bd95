"""Regenerates every committed figure and table from saved results, with no training.

    python -m experiments.figures                      # everything under results/
    python -m experiments.figures --runs=results/run   # chosen folders

A folder is redrawn according to the record it holds: config.json (a run of
run.py or sweep_sigma.py: metrics.md, curves.png, convergence.gif,
final.png, psnr_vs_scale.png, gifs/), reproduce.json (reproduce.py: table.md,
search.md, reconstructions.png), batchnorm.json (batchnorm.py: table.md,
curves.png) or ntk.json (ntk.py: ntk.png). Under --root, benchmark*.json and
time_to_quality.json (benchmark.py) are redrawn too.
"""

import pathlib
import sys

from absl import app, flags

import experiments
from experiments import benchmark
from nerf_toy_jax import results, viz

flags.DEFINE_list("runs", [], "Result folders; default: every folder under --root holding a record.")
flags.DEFINE_string("root", "results", "Where to look for result folders when --runs is empty.")
FLAGS = flags.FLAGS

REDRAW = {
    "config.json": viz.write_run_figures,
    "reproduce.json": viz.write_reproduction_figures,
    "batchnorm.json": viz.write_batchnorm_figures,
    "ntk.json": lambda folder: viz.ntk_png(folder / "ntk.png", results.load_json(folder / "ntk.json")),
}


def record_of(folder):
    """The name of the record file ``folder`` holds (a key of ``REDRAW``), or None."""
    return next((name for name in REDRAW if (folder / name).is_file()), None)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    experiments.quiet_logs()
    root = pathlib.Path(FLAGS.root)
    folders = [pathlib.Path(run) for run in FLAGS.runs] or sorted(
        path for path in root.glob("*") if path.is_dir() and record_of(path))
    missing = [str(folder) for folder in folders if record_of(folder) is None]
    if missing or not folders:
        print(f"figures.py: error: no result record ({', '.join(REDRAW)}) in: {', '.join(missing) or FLAGS.root}",
              file=sys.stderr)
        sys.exit(2)
    for folder in folders:
        REDRAW[record_of(folder)](folder)
        print(f"redrew {folder}")
    if not FLAGS.runs:
        for report in sorted(root.glob("benchmark*.json")):
            results.write_text(report.with_suffix(".md"), benchmark.markdown(results.load_json(report)))
            print(f"redrew {report.with_suffix('.md')}")
        if (root / "time_to_quality.json").is_file():
            report = results.load_json(root / "time_to_quality.json")
            results.write_text(root / "time_to_quality.md", benchmark.quality_markdown(report))
            viz.time_to_quality_png(root / "time_to_quality.png", report)
            print(f"redrew {root / 'time_to_quality.md'} and .png")


if __name__ == "__main__":
    app.run(main)
