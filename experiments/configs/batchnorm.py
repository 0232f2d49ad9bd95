"""BatchNorm ablation: the original nerf-toy's MLP (BatchNorm after every hidden ReLU) against the paper's (none).

    python -m experiments.run --config=experiments/configs/batchnorm.py --out=results/batchnorm

Four arms, every encoding of Tancik et al. x 2 seeds in each, everything else
equal (Adam 1e-3, full batch, 500 steps): BatchNorm on and off, on the
memorize split (train = test = every pixel) and on the holdout split (train
[::2, ::2], test [1::2, 1::2]). Writes one run folder per arm under
results/batchnorm/, and arms.md (final train and test PSNR, mean ± std over
seeds, and the first step at which train PSNR reaches 25 and 30 dB) and
arms.png (PSNR against step per arm). Evaluation uses BatchNorm statistics of
the full training set (nerf_toy_jax/evaluate.py).
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.encodings = "none,basic,positional,gaussian"
    config.seeds = 2
    config.thresholds = (25.0, 30.0)
    config.gif_every = 100  # four arms of GIFs: fewer frames keep the committed folders small
    config.arms = tuple((f"{split}-{'batchnorm' if batchnorm else 'no_batchnorm'}",
                         {"split": split, "train": {"batchnorm": batchnorm}})
                        for split in ("memorize", "holdout") for batchnorm in (True, False))
    return config
