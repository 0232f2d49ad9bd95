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

from absl import app

import experiments
from experiments import common
from nerf_toy_jax import rundir


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    out, runs = common.main_run()
    shown = rundir.shown_metrics(runs[0])
    print(f"\n{'model':<22} {'seed':>4} " + " ".join(f"{f'{m.split} {m.title.split()[0]}':>11}" for m in shown.values()))
    for rows in runs:
        for row in rows:
            flag = "  DIVERGED" if row["diverged"] else ""
            print(f"{row['label']:<22} {row['seed']:>4} "
                  + " ".join(f"{row[name]:>11.{m.digits}f}" for name, m in shown.items()) + flag)
    print(f"\nresults in {out}: metrics.md, convergence.gif, curves.png, final.png")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
