"""Trains the models a config describes on its image and writes a run folder (one per arm).

    python -m experiments.run                                              # the quick start: configs/default.py
    python -m experiments.run --config=experiments/configs/sweep_scale.py  # any config of experiments/configs/
    python -m experiments.run --config.train.steps=2000 --config.size=256 --config.seeds=3 --name=run256

Each config's docstring gives its command and what it writes. A run folder
holds config.json (the resolved config), metrics.{csv,json,md}, history.npz,
frames.npz, convergence.gif, curves.png, final.png, reconstructions/ and
checkpoints/ (see nerf_toy_jax/rundir.py); a config with arms writes one such
folder per arm and arms.{json,md,png} comparing them.
"""

from absl import app, flags

import experiments
from experiments import common
from nerf_toy_jax import parallel, tables

flags.adopt_module_key_flags(common)  # --help lists the program's flags, defined in common


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    run = common.main_run()
    for part in run.trained():
        rows = part.rows
        shown = tables.shown_metrics(rows)
        print("" if part.label is None else f"\n{part.label}:")
        print(f"{'model':<22} {'seed':>4} " + " ".join(f"{f'{m.split} {m.title.split()[0]}':>11}"
                                                      for m in shown.values()))
        for row in rows:
            flag = "  DIVERGED" if row["diverged"] else ""
            print(f"{row['label']:<22} {row['seed']:>4} "
                  + " ".join(f"{row[name]:>11.{m.digits}f}" for name, m in shown.items()) + flag)
    if parallel.is_primary():  # the other processes write nothing
        print(f"\nresults in {run.workdir}: {', '.join(written(run.workdir))}")


def written(out):
    """The files and folders (with a trailing /) of the run folder ``out``, sorted."""
    return sorted(path.name + "/" * path.is_dir() for path in out.iterdir() if not path.name.startswith("."))


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
