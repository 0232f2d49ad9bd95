"""A run small enough for tests: two encodings, two seeds, 16 x 16 pixels, 4 steps, a network of width 8.

    python -m experiments.run --config=tests/tiny_config.py --out=/tmp/tiny
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.size = 16
    config.encodings = "none,gaussian"
    config.scales.gaussian = (4.0, 8.0)
    config.seeds = 2
    config.encoding.mapping_size = 8
    config.train.steps = 4
    config.train.eval_every = 2
    config.train.depth = 2
    config.train.width = 8
    config.gif_every = 2
    return config
