"""Spectral bias on a 1D signal: every encoding fits a curve from every other sample, 3 seeds.

    python -m experiments.run --config=experiments/configs/curve.py --name=curve_tones
    python -m experiments.run --config=experiments/configs/curve.py --image=curve:membrane --name=curve_membrane

The signal is ``curve:tones:0`` (nerf_toy_jax/curves.py: every frequency up
to the training grid's Nyquist limit, amplitude 1/f) at 1024 samples; the
holdout split trains on the even samples and tests on the odd ones. Tancik
et al.'s MLP without BatchNorm, 1000 steps; Gaussian sigma at 3, 10, 30 and
100 cycles per unit (psnr_vs_scale.png), every other encoding at its
defaults. Besides the run folder's usual files, spectrum.png: the amplitude
spectrum of each fit's residual, which shows which frequencies each
encoding learned.
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.image = "curve:tones:0"
    config.size = 1024
    config.split = "holdout"
    config.seeds = 3
    config.scales.gaussian = (3.0, 10.0, 30.0, 100.0)
    config.train.steps = 1000
    config.train.eval_every = 50
    config.train.batchnorm = False
    config.gif_every = 100
    return config
