"""Trains every requested encoding (x sigma x seed) on one image and writes a run folder.

Quick start (a few minutes on a 2-core CPU; the four encodings on the default image):

    python -m experiments.run

On a GPU, closer to the paper's setting:

    python -m experiments.run --size=256 --steps=2000 --seeds=3 --name=run256

Writes results/<name>/: config.json, metrics.{csv,json,md}, history.npz,
frames.npz, convergence.gif, curves.png, final.png, reconstructions/ and
checkpoints/ (see nerf_toy_jax/results.py).
"""

from absl import app, flags

import experiments

from experiments import common

flags.adopt_module_key_flags(common)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    out, rows = common.main_run("run")
    print(f"\n{'model':<22} {'seed':>4} {'train PSNR':>11} {'test PSNR':>10} {'test SSIM':>10}")
    for row in rows:
        flag = "  DIVERGED" if row["diverged"] else ""
        print(f"{row['label']:<22} {row['seed']:>4} {row['train_psnr']:>11.2f} {row['test_psnr']:>10.2f} "
              f"{row['test_ssim']:>10.4f}{flag}")
    print(f"\nresults in {out}: metrics.md, convergence.gif, curves.png, final.png")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
