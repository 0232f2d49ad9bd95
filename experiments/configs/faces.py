"""Many signals in one stack: the encodings of Tancik et al. on 16 of scikit-image's small faces, 3 seeds.

    python -m experiments.run --config=experiments/configs/faces.py --out=results/faces

scikit-image's ``lfw_subset`` holds 200 grayscale faces of 25 x 25 pixels;
every model trains on each of the first 16 (pixels [::2, ::2], tested on
[1::2, 1::2]), the models of one encoding shape on all the faces in one
stacked program. Tancik et al.'s MLP without BatchNorm, 500 steps. The
paper's scales moved to this resolution (sigma 10 x 25 / 512 = 0.5, positional
scale 6 + log2(25 / 512) = 1.6): Gaussian sigma 0.5, 1, 2 and 4, positional
scale 2. metrics.md pools the faces and seeds (mean ± std); signals.md gives
each face.
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.image = "faces:16"  # 16 x 21 models x 500 steps keep history.npz under 1 MB
    config.size = 0  # the faces' own 25 x 25 pixels
    config.split = "holdout"
    config.encodings = "none,basic,positional,gaussian"
    config.scales.gaussian = (0.5, 1.0, 2.0, 4.0)
    config.encoding.positional_scale = 2.0
    config.seeds = 3
    config.train.steps = 500
    config.train.batchnorm = False
    config.gif_every = 100
    return config
