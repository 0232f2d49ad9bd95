"""3D occupancy, Tancik et al.'s shape task: every encoding learns which points are inside a shape, 3 seeds.

    python -m experiments.run --config=experiments/configs/shape.py --out=results/shape_primitives

The signal is ``shape:primitives:0`` (nerf_toy_jax/shapes.py: balls, a box, a
bumpy ball and thin rods) as occupancy on a 48-voxel grid. The holdout split
trains on the voxels [::2, ::2, ::2] and tests on [1::2, 1::2, 1::2], the
points of the 2x finer grid that no training point coincides with; metrics:
IoU of the occupied test points (prediction >= 0.5) and IoU over the test
points next to the surface, where the encodings differ. Each encoding's
scale is chosen by a validation sweep on ``shape:primitives:1``
(validation/: one seed per value), then trained on 3 seeds; the positional
encoding, which has no scale to sweep, takes the paper's scale moved to 48
voxels (6 + log2(48 / 512) = 2.6). Tancik et al.'s
MLP without BatchNorm at width 128, trained on the squared error of the
sigmoid output, 1000 steps of 2048 random training points. Besides the run
folder's usual files: meshes/*.ply (marching cubes of each fit at 0.5) and
mesh.png (the surfaces side by side).

A GPU-sized run: ``--config.size=128 --config.train.width=256
--config.train.batch_size=65536 --config.train.steps=2000``.
"""

from experiments.configs import default


def get_config():
    config = default.get_config()
    config.image = "shape:primitives:0"
    config.validation = "shape:primitives:1"
    config.size = 48
    config.split = "holdout"
    config.seeds = 3
    config.scales.gaussian = (1.0, 3.0, 10.0, 30.0)
    config.scales.hashgrid = (12.0, 24.0, 48.0)
    config.scales.siren = (10.0, 30.0)
    config.encoding.positional_scale = 2.6  # the paper's 6 moved to a 48-voxel grid: 6 + log2(48 / 512)
    config.train.steps = 1000
    config.train.eval_every = 50
    config.train.batch_size = 2048
    config.train.width = 128
    config.train.batchnorm = False
    config.train.frame_size = 96  # GIF frames of 21 voxels a side
    config.gif_every = 200  # with the frames, keeps frames.npz under 1 MB
    return config
