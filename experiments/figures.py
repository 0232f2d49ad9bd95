"""Regenerates every committed figure and table from saved results, with no training.

    python -m experiments.figures                      # everything under results/
    python -m experiments.figures --runs=runs/run      # chosen folders

A folder is redrawn according to the record it holds: config.json (a run of
run.py: metrics.md, curves.png, convergence.gif, final.png,
psnr_vs_scale.{png,md}, gifs/), arms.json (a run of a config with arms:
every arm's folder, then arms.md and arms.png), reproduce.json
(reproduce.py: table.md, search.md, reconstructions.png) or ntk.json (ntk.py:
ntk.png, spectrum.md). Without --runs,
everything under --root is redrawn, benchmark*.json and time_to_quality.json
(benchmark.py) too, the resolution study from the reproductions at several
sizes (--resolution: resolution.md, resolution_<set>.png), and then every table block of --documents is rewritten
from the file it names (``nerf_toy_jax.doctables``): the README's tables are
copies of committed result files, and a test keeps them so.
"""

import pathlib
import sys

from absl import app, flags

import experiments
from nerf_toy_jax import doctables, rundir, speed, viz

flags.DEFINE_list("runs", [], "Result folders; default: every folder under --root holding a record.")
flags.DEFINE_string("root", "results", "Where to look for result folders when --runs is empty.")
flags.DEFINE_list("documents", ["README.md", "docs/results.md", "docs/performance.md", "docs/robustness.md",
                                 "docs/testing.md"],
                  "Markdown files whose table blocks are rewritten from the result files "
                  "they name, when --runs is empty.")
flags.DEFINE_list("resolution", ["reproduce_32", "reproduce_64", "reproduce_128", "reproduce_256",
                                  "reproduce_256_tiles64", "reproduce_tiles64"],
                  "Reproduction folders under --root, in order of resolution, that make the resolution study "
                  "(resolution.md, resolution_<set>.png), when --runs is empty; absent ones are left out.")
FLAGS = flags.FLAGS

REDRAW = {
    "config.json": viz.write_run_figures,
    "reproduce.json": viz.write_reproduction_figures,
    "arms.json": viz.write_arms_figures,
    "ntk.json": viz.write_ntk_figures,
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
    absent = [name for name in FLAGS.documents if not pathlib.Path(name).is_file()]
    if absent and not FLAGS.runs:
        print(f"figures.py: error: no such document: {', '.join(absent)}", file=sys.stderr)
        sys.exit(2)
    for folder in folders:
        REDRAW[record_of(folder)](folder)
        print(f"redrew {folder}")
    if not FLAGS.runs:
        for report in sorted(root.glob("benchmark*.json")):
            rundir.write_text(report.with_suffix(".md"), speed.markdown(rundir.load_json(report)))
            print(f"redrew {report.with_suffix('.md')}")
        if (root / "time_to_quality.json").is_file():
            report = rundir.load_json(root / "time_to_quality.json")
            rundir.write_text(root / "time_to_quality.md", speed.quality_markdown(report))
            viz.time_to_quality_png(root / "time_to_quality.png", report)
            print(f"redrew {root / 'time_to_quality.md'} and .png")
        rungs = [name for name in FLAGS.resolution if (root / name / "rows.json").is_file()]
        if rungs:
            viz.write_resolution_figures(root, rungs)
            print(f"redrew {root / 'resolution.md'} and its figures from {', '.join(rungs)}")
        for document in map(pathlib.Path, FLAGS.documents):
            text = document.read_text()
            filled = doctables.fill(text, ".")
            if filled != text:
                rundir.write_text(document, filled)
            print(f"{'rewrote' if filled != text else 'checked'} the {len(doctables.sources(text))} tables of {document}")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
