"""The kinds of signal a coordinate network fits, by name: what each one's samples are and how it is scored.

A signal is samples on a grid of d axes, float32 [*S, C] in [0, 1]
(``data.make_split`` splits it); its kind says d, the metrics evaluated on it
(names of ``metrics.METRICS``) and how a prediction is drawn as a picture for
the GIFs and figures. Programs read this registry instead of naming kinds.
"""

import dataclasses
import glob
import io
import pathlib
from typing import Callable

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from nerf_toy_jax import curves, datasets, data, shapes, videos, views

CURVE_PICTURE = (160, 480)  # height, width in pixels of a curve's picture
VIDEO_PICTURE_FRAMES = 4  # frames side by side in a video's picture


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of signal.

    Attributes:
      name: registry key, e.g. "image".
      dim: coordinate axes d.
      metrics: names of the ``metrics.METRICS`` evaluated on it.
      unit: what one sample is called in logs ("pixel", "sample").
      picture: ``picture(values [*S, C], reference) -> float32 [h, w, C'] in [0, 1]``, how values are drawn
        (a prediction with the signal ``reference`` [*S', C] or None beside it, where the kind draws both).
      headline: the metric a validation sweep chooses scales by (higher is better).
      frames: whether its values are kept as 8-bit frames (``stored``) in the files that hold whole signals
        (a video's would be megabytes as float32); else float32 (a curve's residual spectra need them).
      split: ``split(values, split, **render) -> data.Split`` of what ``load`` gives, or None for a signal on a
        grid (``data.make_split``); ``render`` are the config's options of rendering (``config.render``).
    """

    name: str
    dim: int
    metrics: tuple
    unit: str
    picture: Callable
    headline: str = "test_psnr"
    frames: bool = False
    split: Callable = None

    def stored(self, values):
        """``values`` [..., C] in [0, 1] as signal.npz and predictions.npz keep them: float32, or uint8
        (``round(255 v)``) for a kind of frames."""
        values = np.asarray(values, np.float32)
        return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8) if self.frames else values

    def loaded(self, stored):
        """Stored values (``stored``) back as float32 in [0, 1]."""
        stored = np.asarray(stored)
        return stored.astype(np.float32) / 255.0 if stored.dtype == np.uint8 else stored.astype(np.float32)


def curve_picture(values, reference=None):
    """A curve drawn as a line plot, float32 [h, w, 3] in [0, 1] (``CURVE_PICTURE``); ``reference`` [n, C]
    drawn beneath in grey."""
    height, width = CURVE_PICTURE
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    axis = figure.add_axes((0, 0, 1, 1))
    for curve, colour in ((reference, "0.7"), (values, "C0")):
        if curve is not None:
            axis.plot(np.arange(len(curve)) / len(curve), np.asarray(curve, np.float32)[:, 0], color=colour, lw=1)
    axis.set(xlim=(0, 1), ylim=(-0.05, 1.05))
    axis.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return np.asarray(Image.open(buffer).convert("RGB"), np.float32) / 255.0


def picture_frames(count):
    """The indices of the frames of a video of ``count`` frames that its picture shows: int [at most
    ``VIDEO_PICTURE_FRAMES``], evenly spaced from the first to the last."""
    return np.unique(np.round(np.linspace(0, count - 1, VIDEO_PICTURE_FRAMES)).astype(int))


def video_picture(values, reference=None):
    """The frames ``picture_frames`` of a video [T, H, W, C] (or views of a scene), side by side with one white
    pixel between: float32 [H, n W + n - 1, C]."""
    values = np.asarray(values, np.float32)
    chosen = picture_frames(len(values))
    gap = np.ones(values.shape[1:2] + (1,) + values.shape[3:], np.float32)
    return np.concatenate([part for t in chosen for part in (values[t], gap)][:-1], axis=1)


def slices_picture(values, reference=None):
    """The middle slice of a volume [X, Y, Z, C] across each of its axes, side by side with one white pixel
    between (cross-sections of a shape): float32 [max side, sum of the other sides + 2, C]."""
    values = np.asarray(values, np.float32)
    sides = values.shape[:3]
    slices = [np.take(values, sides[axis] // 2, axis=axis) for axis in range(3)]
    height = max(part.shape[0] for part in slices)
    parts = []
    for part in slices:
        parts += [np.pad(part, ((0, height - part.shape[0]), (0, 0), (0, 0)), constant_values=1.0),
                  np.ones((height, 1, values.shape[-1]), np.float32)]
    return np.concatenate(parts[:-1], axis=1)


IMAGE_METRICS = ("train_loss", "train_psnr", "test_psnr", "test_ssim")
KINDS = {kind.name: kind for kind in (
    Kind("image", 2, IMAGE_METRICS, "pixel", lambda values, reference=None: values),
    Kind("curve", 1, ("train_loss", "train_psnr", "test_psnr"), "sample", curve_picture),
    Kind("video", 3, IMAGE_METRICS, "pixel", video_picture, frames=True),
    Kind("occupancy", 3, ("train_loss", "train_psnr", "test_psnr", "test_iou", "test_surface_iou"), "voxel",
         slices_picture, headline="test_iou", frames=True),
    Kind("views", 3, IMAGE_METRICS, "ray", video_picture, frames=True, split=views.make_split),
)}


def get(name):
    """The ``Kind`` registered as ``name``."""
    if name not in KINDS:
        raise ValueError(f"unknown kind of signal {name!r}: choose from {', '.join(KINDS)}")
    return KINDS[name]


def load(source, size=None, **image_options):
    """(kind name, values float32 [*S, C] in [0, 1]) of a source: ``curve:...`` (``curves``, ``size``
    samples), ``video:...`` (``videos``, ``size`` pixels), ``shape:...`` (``shapes``, occupancy of ``size``
    voxels a side), ``scene:...`` or ``blender:...`` (a ``views.Views`` of ``size`` pixels), else an image
    (``datasets.load_any`` with ``image_options``)."""
    values = curves.from_source(source, size or curves.DEFAULT_SAMPLES)
    if values is not None:
        return "curve", values
    values = videos.from_source(source, size)
    if values is not None:
        return "video", values
    values = shapes.from_source(source, size)
    if values is not None:
        return "occupancy", values
    values = views.from_source(source, size)
    if values is not None:
        return "views", values
    return "image", datasets.load_any(source, size, **image_options)


FACES = "faces"  # scikit-image's lfw_subset: 200 grayscale faces of 25 x 25 pixels


def load_set(source, size=None, **image_options):
    """[(name, values float32 [S, S, C] in [0, 1])] of a source that names many images, or None when it names
    one: ``faces`` (scikit-image's 200 small faces; ``faces:N`` the first N), a folder of images, or a
    glob pattern (``photos/*.png``). Every image of a set must come out of one shape (``size`` resizes)."""
    if not isinstance(source, str):
        return None
    if source == FACES or source.startswith(FACES + ":"):
        count = source[len(FACES) + 1:] or "200"
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"faces are counted: faces or faces:N (N >= 1), got {source!r}")
        import skimage.data  # the image sets' optional dependency
        faces = skimage.data.lfw_subset()[:int(count)].astype(np.float32)
        images = [(f"faces/{index:03d}", face[..., None]) for index, face in enumerate(faces)]
        if size:
            images = [(name, data.load_image(_png(face), size=size)) for name, face in images]
    elif "*" in source or pathlib.Path(source).is_dir():
        paths = sorted(map(pathlib.Path, glob.glob(source)) if "*" in source else pathlib.Path(source).iterdir())
        paths = [path for path in paths if path.is_file()]
        if not paths:
            raise ValueError(f"no image files in {source!r}")
        images = [(path.stem, data.load_image(path, size=size, **image_options)) for path in paths]
    else:
        return None
    shapes = {values.shape for _, values in images}
    if len(shapes) > 1:
        raise ValueError(f"the images of {source!r} have {len(shapes)} shapes: give them one with --config.size")
    return images


def _png(values):
    """[H, W, 1] float32 in [0, 1] as 8-bit PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(values[..., 0] * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_split(kind, values, split, render=None):
    """The ``data.Split`` of a signal of ``kind`` (``Kind.split``, with the options ``render``; else
    ``data.make_split``)."""
    if get(kind).split is not None:
        return get(kind).split(values, split, **(render or {}))
    values = np.asarray(values, np.float32)
    if values.ndim != get(kind).dim + 1:
        raise ValueError(f"a signal of kind {kind} has {get(kind).dim} axes and channels, got shape {values.shape}")
    return dataclasses.replace(data.make_split(values, split), kind=kind)


def load_signals(source=None, size=None, split="memorize", render=None, **image_options):
    """[(name, ``data.Split``)] of a source: one signal (``load``; its name None), or each image of a set
    (``load_set``, named like "faces/000"), split by ``split`` ("memorize" or "holdout") with the rendering
    options ``render`` (``config.render``, for views of a scene) and the ``image_options`` of ``data.load_image``
    (max_pixels, timeout)."""
    images = load_set(source, size, **image_options)
    if images is not None:
        return [(name, make_split("image", values, split)) for name, values in images]
    kind, values = load(source, size, **image_options)
    return [(None, make_split(kind, values, split, render))]


def load_signal(source=None, size=None, split="memorize", render=None, **image_options):
    """The ``data.Split`` of the one signal that ``source`` names (``load_signals``; None: the default image), e.g.
    ``load_signal("natural:astronaut", 64, "holdout")`` or ``load_signal("curve:tones:0")``."""
    loaded = load_signals(source, size, split, render, **image_options)
    if len(loaded) > 1:
        raise ValueError(f"{source!r} names a set of {len(loaded)} signals: signals.load_signals gives each")
    return loaded[0][1]
