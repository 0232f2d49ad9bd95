"""A toy NeRF: every encoding learns a 3D scene from 24 views and renders 8 held-out ones.

    python -m experiments.run --config=experiments/configs/nerf.py --out=results/nerf_primitives

The signal is ``scene:primitives:0`` (nerf_toy_jax/scenes.py: a striped ball,
a checkered box and a ringed bead in [-1, 1]^3, rendered on white with 1024
samples per ray): 24 training views of 32 x 32 pixels from cameras on the
upper hemisphere, 8 test views between them, and a 24-view orbit for the
pictures. Every step draws 512 rays from the training views and 32
stratified samples along each; the network maps each sample's position (the
scene's box mapped onto the unit cube) to colour and density, and the
colours are volume-rendered (nerf_toy_jax/volume.py). Scored by PSNR and
SSIM on the held-out views. The positional encoding is NeRF's: 8 octaves
per axis. Tancik et al.'s MLP without BatchNorm at width 64, 1000 steps, one seed.
Besides the run folder's usual files: orbit.gif (every fit rendered along
the orbit beside the truth), per_view.png (PSNR and SSIM of each orbit
view) and depth.png (expected depth along each ray, truth beside).

A GPU-sized run, the original NeRF's tiny setting (100 x 100 views, 64 samples per ray):
``experiments/configs/nerf_gpu.py``.
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.image = "scene:primitives:0"
    config.size = 32
    config.split = "holdout"
    config.render.samples = 32
    config.scales.gaussian = (1.0, 3.0, 10.0)
    config.scales.hashgrid = (16.0, 64.0)
    config.scales.siren = (10.0, 30.0)
    config.encoding.mapping_size = 128
    config.encoding.positional_freqs = 8
    config.encoding.positional_scale = None  # NeRF's octaves 2^(k - 1), k < 8: up to 64 cycles per unit
    config.train.steps = 1000
    config.train.eval_every = 100
    config.train.batch_size = 512
    config.train.width = 64
    config.train.batchnorm = False
    config.gif_every = 100
    return config
