"""The quick start: every registered encoding memorises the default image, one model each.

    python -m experiments.run                                   # runs/run/
    python -m experiments.run --config.train.steps=2000 --config.size=256 --config.seeds=3 --name=run256

Writes runs/<name>/ (or --out): config.json (this config, resolved), metrics.{csv,json,md},
history.npz, frames.npz, convergence.gif, curves.png, final.png,
reconstructions/ and checkpoints/. Every other config starts from this one.
"""

import dataclasses

from ml_collections import config_dict

from nerf_toy_jax import encodings, state, volume


def get_config():
    config = config_dict.ConfigDict()
    # The signal: an image path, http(s) URL, natural:NAME or text:INDEX (nerf_toy_jax.datasets); a curve,
    # curve:NAME (nerf_toy_jax.curves); a video, video:NAME (nerf_toy_jax.videos); a shape's occupancy,
    # shape:NAME:SEED (nerf_toy_jax.shapes); or a set of images of one shape, every model trained on each of them
    # in one stack: faces (scikit-image's 200 small faces; faces:N the first N), a folder or a glob pattern.
    # None is matplotlib's grace_hopper.jpg. size crops an image's central square and resizes it (0 keeps the
    # image); a curve's samples (0: curves.DEFAULT_SAMPLES); a video's frame side (its shorter side; 0: as made);
    # a shape's voxels a side (0: shapes.DEFAULT_SIDE); the views of a 3D scene, scene:primitives:SEED (rendered
    # by nerf_toy_jax.scenes) or blender:FOLDER (a Blender-style dataset), their pixels a side (0: views.DEFAULT_SIDE
    # for a scene, as stored for a folder).
    config.image = config_dict.placeholder(str)
    config.size = 64
    config.split = "memorize"  # or "holdout": train on pixels [::2, ::2], test on [1::2, 1::2]
    # A validation sweep: a signal (or set) of the kind of config.image on which every encoding trains at each
    # value of its config.scales (validation_seeds seeds, into the sub-run validation/); the run itself then
    # trains each encoding at the value with the best mean test PSNR there (a shape's: IoU). None: every value of
    # config.scales.
    config.validation = config_dict.placeholder(str)
    config.validation_seeds = 1

    # Views of a 3D scene (nerf_toy_jax.volume.Renderer): samples per ray, and the density per unit of length of a
    # network's density output of 1.
    config.render = {"samples": 64, "density_scale": volume.Renderer.density_scale}

    # The models: encodings x (the values of each one's scale) x seeds 0 .. seeds - 1.
    config.encodings = ",".join(encodings.NAMES)
    config.seeds = 1
    config.lr = config_dict.placeholder(float)  # every encoding's learning rate; None: each one's default_lr
    config.lrs = {name: config_dict.placeholder(float) for name in encodings.NAMES}  # per encoding, over lr
    config.scales = {name: (encoding.__dataclass_fields__[encoding.scale_field].default,)
                     for name, encoding in encodings.REGISTRY.items() if encoding.scale_field}
    # Every other parameter of every encoding, by its (registry-unique) name.
    config.encoding = {field.name: config_dict.FieldReference(field.default, field_type=type(field.default))
                       for encoding in encodings.REGISTRY.values() for field in dataclasses.fields(encoding)
                       if field.name != encoding.scale_field}

    # Training: the fields of nerf_toy_jax.state.TrainConfig.
    config.train = dataclasses.asdict(state.TrainConfig())
    config.train.eval_every = 25  # evaluations (and GIF frames) often enough to watch a 500-step run
    config.train.batch_size = config_dict.placeholder(int)  # None: full batch
    config.train.max_stack = config_dict.placeholder(int)  # None: every model of one shape in one stack

    # Outputs.
    config.gif_every = config_dict.placeholder(int)  # None: 25 steps, rounded up to a multiple of eval_every
    config.model_gifs = False  # also one GIF per model in gifs/
    config.pictures = True  # False: only the tables and training curves (a validation sweep's sub-run)
    config.thresholds = ()  # train PSNRs (dB) whose first reaching step the arms table gives

    # Run-wide variants, each trained into its own sub-run, in order: ((name, {field: value, ...}), ...), the
    # fields nested like this config's.
    config.arms = ()
    return config


