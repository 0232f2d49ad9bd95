"""Images in, coordinate/colour pairs out.

``load_image`` turns a path, URL, bytes or file object into float32
``[H, W, C]`` in [0, 1]; ``make_split`` turns an image into training and test
sets of (coordinate, colour) pairs on a pixel grid over [0, 1).
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
HOLDOUT_MIN_SIDE = 4  # the holdout split needs a test grid of at least 2 x 2 pixels


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


def _resize(image, size):
    """[H, W, C] float32 resized to [size, size, C] with Lanczos filtering, clipped to [0, 1]."""
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c])).resize((size, size), Image.LANCZOS))
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

    Warns (UserWarning) when ``size`` is larger than the image's central square.

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
    if size is not None:
        if size < 1:
            raise ValueError(f"size must be a positive number of pixels, got {size}")
        side = min(pixels.shape[:2])
        if size > side:
            warnings.warn(f"size {size} enlarges the {pixels.shape[1]} x {pixels.shape[0]} image {_describe(source)}: "
                          f"its central {side} x {side} square is upsampled {size / side:.3g}x", stacklevel=2)
        return _resize(_center_square(pixels), size)
    return _center_square(pixels) if center_crop else pixels


def _describe(source):
    if source is None:
        return str(default_image_path())
    if isinstance(source, (str, os.PathLike)):
        return repr(str(source))
    return type(source).__name__


def coordinate_grid(height, width):
    """Pixel coordinates on [0, 1): ``grid[i, j] = (i / height, j / width)``.

    Returns:
      float32 [height, width, 2], ij indexing (row, column), endpoint excluded.
    """
    rows = np.arange(height, dtype=np.float32) / height
    cols = np.arange(width, dtype=np.float32) / width
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1)


@dataclasses.dataclass(frozen=True)
class Split:
    """Training and test pixels of one image, kept image-shaped for SSIM and frames.

    Attributes:
      name: "memorize" or "holdout".
      train_coords: float32 [h, w, 2] in [0, 1), coordinates of the training pixels.
      train_pixels: float32 [h, w, C] in [0, 1].
      test_coords: float32 [h', w', 2].
      test_pixels: float32 [h', w', C].
      image: float32 [H, W, C], the whole image.
    """

    name: str
    train_coords: np.ndarray
    train_pixels: np.ndarray
    test_coords: np.ndarray
    test_pixels: np.ndarray
    image: np.ndarray


def make_split(image, split="memorize"):
    """Splits an image into training and test pixels.

    - ``memorize``: train = test = every pixel (the original nerf-toy's protocol).
    - ``holdout``: train on pixels ``[::2, ::2]``, test on ``[1::2, 1::2]``
      (Tancik et al. 2020); coordinates stay those of the full grid.

    Args:
      image: float32 [H, W, C] in [0, 1].
      split: "memorize" or "holdout".
    """
    image = np.asarray(image, np.float32)
    if image.ndim != 3:
        raise ValueError(f"image must be [H, W, C], got shape {image.shape}")
    height, width = image.shape[:2]
    grid = coordinate_grid(height, width)
    if split == "memorize":
        return Split(split, grid, image, grid, image, image)
    if split == "holdout":
        if min(height, width) < HOLDOUT_MIN_SIDE:
            raise ValueError(f"the holdout split needs an image of at least {HOLDOUT_MIN_SIDE} x {HOLDOUT_MIN_SIDE} "
                             f"pixels (a test grid of 2 x 2), got {height} x {width}")
        return Split(split, grid[::2, ::2], image[::2, ::2], grid[1::2, 1::2], image[1::2, 1::2], image)
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
