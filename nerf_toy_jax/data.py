"""Images in, coordinate/colour pairs out.

``load_image`` turns a path, URL, bytes or file object into float32
``[H, W, C]`` in [0, 1]; ``make_split`` turns a signal on a grid of 1 to 3
axes (an image: 2) into training and test sets of (coordinate, value) pairs,
coordinates over [0, 1).
"""

import dataclasses
import io
import os
import pathlib
import urllib.error
import urllib.parse
import urllib.request
import warnings

import matplotlib.cbook
import numpy as np
from PIL import Image

DEFAULT_IMAGE = "grace_hopper.jpg"
SPLITS = ("memorize", "holdout")
URL_TIMEOUT_S = 30.0
MAX_PIXELS = 512 * 512  # largest image trained at its own size (config.size resizes larger ones)
HOLDOUT_MIN_SIDE = 4  # the holdout split needs a test grid of at least 2 samples along each axis


def default_image_path():
    """Path of the default image: the Grace Hopper photograph matplotlib ships
    as sample data (512 x 600 RGB JPEG), available offline with no extra package."""
    return pathlib.Path(matplotlib.get_data_path(), "sample_data", DEFAULT_IMAGE)


def _read_bytes(source, timeout):
    """The encoded bytes of ``source`` (see ``load_image``)."""
    if source is None:
        return default_image_path().read_bytes()
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    if isinstance(source, str) and "://" in source:
        scheme = urllib.parse.urlsplit(source).scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {scheme!r} in {source!r}: use http or https")
        try:
            with urllib.request.urlopen(source, timeout=timeout) as response:
                return response.read()
        except (OSError, ValueError) as error:  # URLError, HTTPError, timeouts, malformed URLs
            reason = error if isinstance(error, urllib.error.HTTPError) else getattr(error, "reason", None) or error
            raise OSError(f"cannot download {source}: {reason}") from None
    if isinstance(source, (str, os.PathLike)):
        return pathlib.Path(source).read_bytes()
    raise TypeError(f"cannot load an image from {type(source).__name__}: "
                    "give a path, an http(s) URL, bytes or a binary file object")


def _to_float(image):
    """A decoded PIL image as float32 [H, W, C] in [0, 1], alpha dropped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image).astype(np.float32) / 65535.0
    elif image.mode == "F":
        pixels = np.asarray(image, np.float32)
    else:
        if image.mode not in ("L", "RGB"):
            has_colour = image.mode not in ("1", "L", "LA", "La")
            image = image.convert("RGBA" if has_colour else "LA")
        pixels = np.asarray(image).astype(np.float32) / 255.0
        if image.mode in ("RGBA", "LA"):
            pixels = pixels[..., :-1]
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return np.clip(pixels, 0.0, 1.0)


def _center_square(image):
    """The central square of [H, W, C], side min(H, W)."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[top:top + side, left:left + side]


def resize(image, height, width=None):
    """[H, W, C] float32 resized to [height, width, C] (``width`` None: ``height``) with Lanczos filtering,
    clipped to [0, 1]."""
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c])).resize((width or height, height),
                                                                               Image.LANCZOS))
        for c in range(image.shape[-1])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def load_image(source=None, *, size=None, center_crop=False, max_pixels=None, timeout=URL_TIMEOUT_S):
    """Loads an image as float32 [H, W, C] in [0, 1].

    Args:
      source: a filesystem path (str or pathlib.Path); an http(s) URL (str);
        the encoded bytes; a binary file object; or None for the default image
        (``default_image_path()``).
      size: if given, the output is [size, size, C]: a non-square image is
        first cropped to its central square, then resized (Lanczos).
      center_crop: crop to the central square without resizing.
      max_pixels: if given and ``size`` is not, refuse images with more pixels.
      timeout: seconds to wait for a URL to answer.

    Warns (UserWarning) when ``size`` or ``center_crop`` crops a non-square image given as ``source`` (the
    default image's crop is documented, not warned about), and when ``size`` is larger than the image's
    central square.

    Returns:
      float32 [H, W, C] in [0, 1]. 8-bit images are divided by 255 and 16-bit
      ones by 65535; grayscale stays C = 1; an alpha channel is dropped
      (colours are taken as stored, not composited); palette, CMYK and other
      modes become RGB. Pillow decodes 16-bit *colour* PNGs to 8 bits per
      channel, so they arrive correctly scaled with 8-bit precision.

    Raises:
      FileNotFoundError: a missing file.
      OSError: a URL that fails, times out or answers with an error status.
      ValueError: bytes that are not a complete image; an image over ``max_pixels``.
    """
    data = _read_bytes(source, timeout)
    decode_errors = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)
    try:
        image = Image.open(io.BytesIO(data))
    except decode_errors as error:
        raise ValueError(f"cannot decode an image from {_describe(source)}: {error}") from None
    with image:
        if size is None and max_pixels is not None and image.width * image.height > max_pixels:
            raise ValueError(f"the image has {image.width} x {image.height} pixels, more than the limit of "
                             f"{max_pixels}: resize it with size (--config.size) or raise the limit (--max_pixels)")
        try:
            image.load()
            pixels = _to_float(image)
        except decode_errors as error:
            raise ValueError(f"cannot decode an image from {_describe(source)}: {error}") from None
    if size is not None and size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    side = min(pixels.shape[:2])
    if source is not None and (size is not None or center_crop) and pixels.shape[0] != pixels.shape[1]:
        warnings.warn(f"the {pixels.shape[1]} x {pixels.shape[0]} image {_describe(source)} is not square: its "
                      f"central {side} x {side} square is kept", stacklevel=2)
    if size is not None:
        if size > side:
            warnings.warn(f"size {size} enlarges the {pixels.shape[1]} x {pixels.shape[0]} image {_describe(source)}: "
                          f"its central {side} x {side} square is upsampled {size / side:.3g}x", stacklevel=2)
        return resize(_center_square(pixels), size)
    return _center_square(pixels) if center_crop else pixels


def _describe(source):
    if source is None:
        return str(default_image_path())
    if isinstance(source, (str, os.PathLike)):
        return repr(str(source))
    return type(source).__name__


def coordinate_grid(*sides):
    """Sample coordinates on [0, 1) along each axis: ``grid[i, j, ...] = (i / sides[0], j / sides[1], ...)``.

    Args:
      sides: samples along each of the d axes (an image: height, width).

    Returns:
      float32 [*sides, d], ij indexing (an image: row, column), endpoint excluded.
    """
    axes = [np.arange(side, dtype=np.float32) / side for side in sides]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


@dataclasses.dataclass(frozen=True)
class Split:
    """Training and test samples of one signal on a grid of d axes, kept grid-shaped (an image: [h, w, C],
    for SSIM and frames).

    Attributes:
      name: "memorize" or "holdout".
      train_coords: float32 [*s, d] in [0, 1), coordinates of the training samples.
      train_pixels: float32 [*s, C], their values (an image: colours in [0, 1]).
      test_coords: float32 [*s', d].
      test_pixels: float32 [*s', C].
      image: float32 [*S, C], the whole signal.
      kind: its kind (``signals.KINDS``).
      render: None for a signal on a grid; for views of a scene (``views``), the ``volume.Renderer`` that makes
        colours of the network's outputs along rays, the coordinates being rays [..., 6] rather than points.
      image_coords: the rays [*S, 6] of ``image``'s pixels for views of a scene; None for a grid.
      image_depth: float32 [*S], the true expected depth along the rays of ``image`` (``volume.surface_depth``:
        NaN on the background) where the scene is known, else None.
    """

    name: str
    train_coords: np.ndarray
    train_pixels: np.ndarray
    test_coords: np.ndarray
    test_pixels: np.ndarray
    image: np.ndarray
    kind: str = "image"
    render: object = None
    image_coords: np.ndarray = None
    image_depth: np.ndarray = None

    @property
    def dim(self):
        """Coordinate axes d of the points the network sees (an image: 2; views of a scene: 3)."""
        return self.render.dim if self.render is not None else self.train_coords.shape[-1]

    @property
    def outputs(self):
        """Outputs of the network: the signal's channels C, and a density for views of a scene."""
        return self.image.shape[-1] + (self.render is not None)


def make_split(signal, split="memorize"):
    """Splits a signal on a grid of d = 1, 2 or 3 axes into training and test samples.

    - ``memorize``: train = test = every sample (the original nerf-toy's protocol).
    - ``holdout``: train on every other sample along each axis (an image: ``[::2, ::2]``), test on the
      others' midpoints (``[1::2, 1::2]``, Tancik et al. 2020); coordinates stay those of the full grid.

    Args:
      signal: float32 [*S, C] (an image: [H, W, C] in [0, 1]).
      split: "memorize" or "holdout".
    """
    signal = np.asarray(signal, np.float32)
    if not 2 <= signal.ndim <= 4:
        raise ValueError(f"a signal must be [*S, C] on a grid of 1 to 3 axes (an image: [H, W, C]), "
                         f"got shape {signal.shape}")
    sides = signal.shape[:-1]
    grid = coordinate_grid(*sides)
    if split == "memorize":
        return Split(split, grid, signal, grid, signal, signal)
    if split == "holdout":
        if min(sides) < HOLDOUT_MIN_SIDE:
            need = " x ".join([str(HOLDOUT_MIN_SIDE)] * len(sides))
            raise ValueError(f"the holdout split needs a grid of at least {need} samples (a test grid of 2 "
                             f"along each axis), got {' x '.join(map(str, sides))}")
        train, test = (slice(None, None, 2),) * len(sides), (slice(1, None, 2),) * len(sides)
        return Split(split, grid[train], signal[train], grid[test], signal[test], signal)
    raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")


def signals(split):
    """(the first split, whether there is one per model) of a ``data.Split`` or a list of K splits of one
    shape and one coordinate grid (many signals in one stack: model k trains on split k)."""
    if isinstance(split, (list, tuple)):
        first = split[0]
        if any(other.train_coords.shape != first.train_coords.shape or other.image.shape != first.image.shape
               or not np.array_equal(other.train_coords, first.train_coords) for other in split[1:]):
            raise ValueError("the signals of one stack need one shape and one coordinate grid")
        return first, True
    return split, False
