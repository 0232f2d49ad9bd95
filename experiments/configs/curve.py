"""Spectral bias on a 1D signal: every encoding fits a curve from every other sample, 3 seeds.

    python -m experiments.run --config=experiments/configs/curve.py --out=results/curve_tones
    python -m experiments.run --config=experiments/configs/curve.py --image=curve:membrane --out=results/curve_membrane

The signal is ``curve:tones:0`` (nerf_toy_jax/curves.py: every frequency up
to the training grid's Nyquist limit, amplitude 1/f) at 1024 samples; the
holdout split trains on the even samples and tests on the odd ones. Each
encoding's scale is chosen by a validation sweep on ``curve:tones:1``
(validation/: one seed per value; Gaussian sigma 3 to 100 cycles per unit,
the hash grid's finest resolution 64 to 1024, SIREN's omega_0 10 to 100),
then trained on 3 seeds. Tancik et al.'s MLP without BatchNorm, 1000 steps.
Besides the run folder's usual files, spectrum.png: the amplitude spectrum
of each fit's residual, which shows which frequencies each encoding learned.
``curve:membrane``, a recording, takes the scales chosen on the same
synthetic validation curve.

A GPU-sized run: ``--config.size=65536 --config.train.steps=2000``.
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.image = "curve:tones:0"
    config.validation = "curve:tones:1"
    config.size = 1024
    config.split = "holdout"
    config.seeds = 3
    config.scales.gaussian = (3.0, 10.0, 30.0, 100.0)
    config.scales.hashgrid = (64.0, 128.0, 256.0, 512.0, 1024.0)
    config.scales.siren = (10.0, 30.0, 100.0)
    config.train.steps = 1000
    config.train.eval_every = 50
    config.train.batchnorm = False
    config.gif_every = 100
    return config
