"""The toy NeRF at the original NeRF's tiny setting, for a GPU: 100 x 100 views, 64 samples per ray.

    python -m experiments.run --config=experiments/configs/nerf_gpu.py --name=nerf_100

``experiments/configs/nerf.py`` (the same scene, encodings and scales) with
views of 100 x 100 pixels, 64 stratified samples along each of 4096 rays per
step, the paper's MLP width 256 and 5000 steps; GIF frames every 500 steps.
"""

from experiments.configs import nerf


def get_config():
    config = nerf.get_config()
    config.size = 100
    config.render.samples = 64
    config.train.width = 256
    config.train.batch_size = 4096
    config.train.steps = 5000
    config.train.eval_every = 500
    config.gif_every = 500
    return config
