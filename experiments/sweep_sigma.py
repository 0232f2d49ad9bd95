"""An encoding's scale over a range of values x seeds, in one stacked run.

    python -m experiments.sweep_sigma                                   # Gaussian sigma
    python -m experiments.sweep_sigma --encodings=hashgrid --hashgrid_finest=8,16,32,64,128 --name=finest_sweep
    python -m experiments.sweep_sigma --encodings=siren --siren_omegas=3,10,30,100 --name=omega_sweep

Defaults: the holdout split (train on pixels [::2, ::2], test on [1::2, 1::2]),
no BatchNorm (Tancik et al.'s MLP), sigmas log-spaced from 1 to 100, 3 seeds;
all 27 models share one compiled program. The scale of the hash grid is its
finest resolution, that of SIREN its omega_0; models of one encoding at all
its scales share one program too. Besides the usual run folder
(results/sigma_sweep/) it draws psnr_vs_scale.png: train and test PSNR against
the scale with ±std bands and the training grid's Nyquist frequency. Small sigmas
underfit (blurry, train and test low); large sigmas overfit (train high, test
low); final.png shows the reconstruction at each sigma.
"""

import numpy as np
from absl import app, flags

import experiments

from experiments import common
from nerf_toy_jax import results

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
    print(f"\n{'encoding':<10} {'scale':>8} {'train PSNR':>15} {'test PSNR':>15}   (mean ± std over seeds)")
    for encoding in dict.fromkeys(row["encoding"] for row in rows):
        members = [row for row in rows if row["encoding"] == encoding and not row["diverged"]]
        for scale in sorted({results.scale_of(row) for row in members}, key=lambda s: (s is None, s)):
            train = [row["train_psnr"] for row in members if results.scale_of(row) == scale]
            test = [row["test_psnr"] for row in members if results.scale_of(row) == scale]
            print(f"{encoding:<10} {'' if scale is None else f'{scale:g}':>8} {np.mean(train):>7.2f} ± "
                  f"{np.std(train):.2f} {np.mean(test):>7.2f} ± {np.std(test):.2f}")
    print(f"\nresults in {out}: psnr_vs_scale.png, final.png, metrics.md")


if __name__ == "__main__":
    app.run(main, flags_parser=experiments.parse_flags)
