"""Views of a 3D scene as a signal: posed images, and the rays through their pixels (a NeRF's data).

A source ``scene:primitives:SEED`` renders the procedural scene of
``scenes`` drawn from SEED (its training, test and orbit views, with the
ground truth's depth); ``blender:FOLDER`` loads a Blender-style dataset
(``blender``: ``transforms_train.json``, ``transforms_test.json`` and, if
there, ``transforms_orbit.json``; without an orbit, the test views play it).
Images are square, ``size`` pixels a side.

Its split (``make_split``) trains on every pixel of the training views; the
rays are the coordinates, [..., 6] (origin, unit direction), and a
``volume.Renderer`` says how a network's outputs along them become colours.
"""

import dataclasses
import json
import pathlib

import numpy as np

from nerf_toy_jax import blender, data, rays, scenes, sources, volume

NAMES = ("primitives",)
DEFAULT_SIDE = 32  # pixels of a procedural scene's views when no size is given
BLENDER_BOUND = 1.5  # the box of a Blender scene without scene.json: NeRF's synthetic scenes fit in [-1.5, 1.5]^3


@dataclasses.dataclass(frozen=True)
class Views:
    """The posed images of one scene.

    Attributes:
      train, test, orbit: (images float32 [n, H, W, 3] in [0, 1], cameras float32 [n, 4, 4] camera-to-world).
      focal: focal length in pixels.
      bound: the scene lies in [-bound, bound]^3.
      orbit_depth: float32 [n, H, W], the expected depth along each orbit pixel's ray where the scene is
        known (the procedural one), else None.
    """

    train: tuple
    test: tuple
    orbit: tuple
    focal: float
    bound: float
    orbit_depth: np.ndarray = None


def procedural(seed, size=None):
    """The views of ``scenes.make(seed)`` from ``scenes.camera_splits()``, ``size`` pixels (None:
    ``DEFAULT_SIDE``), rendered with ``scenes.TRUTH_SAMPLES`` samples per ray."""
    size = size or DEFAULT_SIDE
    scene = scenes.make(seed)
    splits, depths = {}, {}
    for split, cameras in scenes.camera_splits().items():
        colours, depths[split] = scenes.render_views(scene, cameras, size)
        splits[split] = (colours, cameras.astype(np.float32))
    return Views(**splits, focal=float(rays.focal_length(size, scenes.CAMERA_ANGLE_X)), bound=scenes.BOUND,
                 orbit_depth=depths["orbit"])


def folder(path, size=None):
    """The views of a Blender-style dataset in ``path`` (``blender.load``), resized to ``size`` pixels (None:
    as stored, which must be square); the box from its scene.json, else ``BLENDER_BOUND``."""
    path = pathlib.Path(path)
    if not path.is_dir():
        raise ValueError(f"blender:{path} is not a folder")
    splits = {}
    for split in ("train", "test", "orbit"):
        if split == "orbit" and not (path / "transforms_orbit.json").is_file():
            splits[split] = splits["test"]
            continue
        images, cameras, angle = blender.load(path, split, size)
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"the {split} views of {path} are {images.shape[2]} x {images.shape[1]} pixels: give "
                             "them a square size with --config.size")
        splits[split] = (images, cameras)
    scene = path / "scene.json"
    bound = json.loads(scene.read_text()).get("bound", BLENDER_BOUND) if scene.is_file() else BLENDER_BOUND
    side = splits["train"][0].shape[2]
    return Views(**splits, focal=float(rays.focal_length(side, angle)), bound=float(bound))


def from_source(source, size=None):
    """The ``Views`` of a source string ``scene:primitives:SEED`` or ``blender:FOLDER``, or None when
    ``source`` names neither."""
    if isinstance(source, str) and source.startswith("blender:"):
        return folder(source[len("blender:"):], size)
    parsed = sources.parse(source, "scene", NAMES, seeded=NAMES)
    if parsed is None:
        return None
    if size is not None and size < 4:
        raise ValueError(f"views need at least 4 pixels a side, got {size}")
    return procedural(parsed[1], size)


def view_rays(cameras, side, focal):
    """The rays through every pixel of square views: float32 [n, side, side, 6] (origin, unit direction)."""
    return np.stack([np.concatenate(rays.pixel_rays(side, side, focal, camera), axis=-1) for camera in cameras])


def make_split(views, split="holdout", samples=64, density_scale=volume.Renderer.density_scale):
    """The ``data.Split`` of ``views``: training rays [n, H, W, 6] and colours [n, H, W, 3] of the training
    views; test ones of the test views (``holdout``) or the training views again (``memorize``); the orbit's
    views as the whole signal (``image``, its rays ``image_coords``), rendered with ``samples`` samples per
    ray (``volume.Renderer``)."""
    if split not in data.SPLITS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(data.SPLITS)}")
    side = views.train[0].shape[2]
    if any(images.shape[1:] != (side, side, 3) for images, _ in (views.train, views.test, views.orbit)):
        raise ValueError("the training, test and orbit views need one square size")
    train_rays, test_rays, orbit_rays = (view_rays(cameras, side, views.focal)
                                         for _, cameras in (views.train, views.test, views.orbit))
    test = (test_rays, views.test[0]) if split == "holdout" else (train_rays, views.train[0])
    return data.Split(split, train_rays, views.train[0], *test, views.orbit[0], kind="views",
                      render=volume.Renderer(samples=samples, bound=views.bound, density_scale=density_scale),
                      image_coords=orbit_rays, image_depth=views.orbit_depth)
