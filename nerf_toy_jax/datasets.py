"""The two image sets of Tancik et al. (2020), Table 1, made locally: no downloads.

- natural: photographs that ship with matplotlib (``grace_hopper``) and
  scikit-image (``astronaut``, ``retina``, ``immunohistochemistry`` for test;
  ``motorcycle``, the left view of its stereo pair, and ``camera`` for
  validation), center-cropped square. Every natural image is at least 500 px
  on its shorter side, so that at the paper's 512 px none is upsampled more
  than 1.03x and the validation images carry the test images' detail per
  pixel. Every name but grace_hopper needs the optional scikit-image package.
- text: words rendered with Pillow in the fonts matplotlib ships, random
  sizes, colours and background, from a fixed seed: any count, any size.

Every image is float32 [size, size, 3] in [0, 1]. The same name and size
always give the same pixels. Images of a set are also reachable as a source
string (``natural:astronaut``, ``text:3``) wherever an image path is taken.
"""

import io
import pathlib

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nerf_toy_jax import data

SETS = ("natural", "text")
PARTS = ("test", "validation")
NATURAL = {"test": ("grace_hopper", "astronaut", "retina", "immunohistochemistry"),
           "validation": ("motorcycle", "camera")}
_SKIMAGE_FILES = {"astronaut": "astronaut.png", "retina": "retina.jpg", "immunohistochemistry": "ihc.png",
                  "motorcycle": "motorcycle_left.png", "camera": "camera.png"}
TEXT_SEEDS = {"test": 0, "validation": 1}  # the two parts never share a random stream
TEXT_CANVAS = 512  # text is drawn at this side, then resized: one picture at every size
TEXT_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
              "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
              "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf")
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def natural_path(name):
    """File of the natural image ``name``; scikit-image must be installed for all but grace_hopper."""
    if name == "grace_hopper":
        return data.default_image_path()
    if name not in _SKIMAGE_FILES:
        raise ValueError(f"unknown natural image {name!r}: choose from "
                         f"{', '.join(NATURAL['test'] + NATURAL['validation'])}")
    try:
        import skimage.data
    except ImportError:
        raise ValueError(f"the natural image {name!r} ships with scikit-image: pip install scikit-image") from None
    return pathlib.Path(skimage.data.data_dir, _SKIMAGE_FILES[name])


def natural_image(name, size):
    """The natural image ``name``: its central square, resized to ``size`` unless None; float32 [S, S, 3] in [0, 1]."""
    image = data.load_image(natural_path(name), size=size, center_crop=True)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def _font(rng, points):
    name = TEXT_FONTS[rng.integers(len(TEXT_FONTS))]
    return ImageFont.truetype(str(pathlib.Path(matplotlib.get_data_path(), "fonts", "ttf", name)), points)


def text_image(seed, size, index=0):
    """A picture of random words, like the text set of Tancik et al. (2020).

    On a ``TEXT_CANVAS`` square of one random colour, 6 to 12 lines of random
    words (3 to 9 letters), each line in a random font of the ones matplotlib
    ships, size 24 to 96 px, colour and horizontal offset; lines may run off
    the edge. The canvas is then resized (Lanczos) to ``size``.

    Args:
      seed, index: pick the picture; equal arguments give equal pixels.
      size: side in pixels.

    Returns:
      float32 [size, size, 3] in [0, 1].
    """
    rng = np.random.default_rng([seed, index])
    background = tuple(int(v) for v in rng.integers(0, 256, 3))
    canvas = Image.new("RGB", (TEXT_CANVAS, TEXT_CANVAS), background)
    draw = ImageDraw.Draw(canvas)
    top = int(rng.integers(-20, 20))
    for _ in range(int(rng.integers(6, 13))):
        points = int(rng.integers(24, 97))
        font = _font(rng, points)
        words = ["".join(rng.choice(_LETTERS, int(rng.integers(3, 10)))) for _ in range(int(rng.integers(2, 6)))]
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.text((int(rng.integers(-40, 80)), top), " ".join(words), fill=colour, font=font)
        top += int(points * rng.uniform(0.9, 1.5))
    return data.load_image(_png_bytes(canvas), size=size)


def _png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_names(set_name, part, text_count):
    """Names of the images of one part of a set: natural names, or text indices as strings."""
    if set_name not in SETS:
        raise ValueError(f"unknown image set {set_name!r}: choose from {', '.join(SETS)}")
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}: choose from {', '.join(PARTS)}")
    if set_name == "natural":
        return list(NATURAL[part])
    if text_count < 1:
        raise ValueError(f"a text set needs at least one image, got {text_count}")
    return [str(index) for index in range(text_count)]


def load(set_name, part, name, size):
    """One image of a set: float32 [size, size, 3] in [0, 1]."""
    if set_name == "natural":
        return natural_image(name, size)
    return text_image(TEXT_SEEDS[part], size, int(name))


def from_source(source, size):
    """The image named by a source string ``natural:NAME`` or ``text:INDEX``
    (test part), or None when ``source`` names no set image."""
    if not isinstance(source, str) or ":" not in source or "://" in source:
        return None
    set_name, _, name = source.partition(":")
    if set_name == "natural":
        return natural_image(name, size)
    if set_name == "text":
        if not name.isdigit():
            raise ValueError(f"text images are numbered: text:0, text:1, ..., got {source!r}")
        return text_image(TEXT_SEEDS["test"], size or TEXT_CANVAS, int(name))
    return None


def load_any(source, size=None, **load_options):
    """A set image (``from_source``) or else ``data.load_image(source, size=size, **load_options)``."""
    image = from_source(source, size)
    return data.load_image(source, size=size, **load_options) if image is None else image
