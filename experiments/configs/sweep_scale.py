"""An encoding's scale over a range of values x 3 seeds, every model of one encoding in one stacked program.

    python -m experiments.run --config=experiments/configs/sweep_scale.py --out=results/sigma_grace_hopper
    python -m experiments.run --config=experiments/configs/sweep_scale.py --image=text:0 --out=results/sigma_text
    python -m experiments.run --config=experiments/configs/sweep_scale.py:hashgrid,siren,finer \
        --config.gif_every=100 --out=results/scale_sweep_grace_hopper

The argument after the colon names the encodings to sweep (default: gaussian),
each over its ``scale_range`` (nerf_toy_jax/encodings). The holdout split
(train on pixels [::2, ::2], test on [1::2, 1::2]) and Tancik et al.'s MLP
without BatchNorm. Besides the
run folder's usual files it draws psnr_vs_scale.png and psnr_vs_scale.md:
train and test PSNR against the scale, ±std over seeds, with the training
grid's Nyquist frequency (sigma) or side (the hash grid's finest
resolution). Small scales underfit (blurry, train and test low); large ones
overfit (train high, test low).
"""

from experiments.configs import default
from nerf_toy_jax import encodings


def get_config(names="gaussian"):
    config = default.get_config()
    config.encodings = names
    for name in names.split(","):
        config.scales[name] = encodings.get(name).scale_range
    config.seeds = 3
    config.split = "holdout"
    config.train.batchnorm = False
    config.gif_every = 50  # 27 models: fewer frames keep the GIF and frames.npz near 1 MB
    return config
