"""Gaussian Fourier features over a range of sigmas x seeds, in one stacked run.

    python -m experiments.sweep_sigma

Defaults: the holdout split (train on pixels [::2, ::2], test on [1::2, 1::2]),
no BatchNorm (Tancik et al.'s MLP), sigmas log-spaced from 1 to 100, 3 seeds;
all 27 models share one compiled program. Besides the usual run folder
(results/sigma_sweep/) it draws psnr_vs_sigma.png: train and test PSNR against
sigma with ±std bands and the training grid's Nyquist frequency. Small sigmas
underfit (blurry, train and test low); large sigmas overfit (train high, test
low); final.png shows the reconstruction at each sigma.
"""

import numpy as np
from absl import app, flags

from experiments import common

flags.adopt_module_key_flags(common)

flags.FLAGS.set_default("encodings", ["gaussian"])
flags.FLAGS.set_default("sigmas", [f"{sigma:.3g}" for sigma in np.logspace(0, 2, 9)])
flags.FLAGS.set_default("seeds", ["3"])
flags.FLAGS.set_default("split", "holdout")
flags.FLAGS.set_default("batchnorm", False)
flags.FLAGS.set_default("name", "sigma_sweep")
flags.FLAGS.set_default("gif_every", 50)  # many columns: fewer frames keep the GIF and frames.npz near 1 MB


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    out, rows = common.main_run("sweep_sigma")
    print(f"\n{'sigma':>8} {'train PSNR':>11} {'test PSNR':>10}   (mean ± std over seeds)")
    for sigma in sorted({row["sigma"] for row in rows if row["sigma"] is not None}):
        members = [row for row in rows if row["sigma"] == sigma and not row["diverged"]]
        train = [row["train_psnr"] for row in members]
        test = [row["test_psnr"] for row in members]
        print(f"{sigma:>8g} {np.mean(train):>6.2f} ± {np.std(train):.2f} {np.mean(test):>6.2f} ± {np.std(test):.2f}")
    print(f"\nresults in {out}: psnr_vs_sigma.png, final.png, metrics.md")


if __name__ == "__main__":
    app.run(main)
