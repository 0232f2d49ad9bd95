"""Videos made locally: scikit-image's tiny real clip, and text panning past a window, drawn from seeds.

Every video is float32 [T, H, W, C] in [0, 1], frame t at time t / T. The
same name, seed and size always give the same pixels. A video is reachable
as a source string wherever a signal is taken: ``video:clip``,
``video:text:SEED``.
"""

import pathlib

import imageio.v3 as iio
import numpy as np

from nerf_toy_jax import data, datasets, sources

NAMES = ("clip", "text")
CLIP_FILE = "no_time_for_that_tiny.gif"  # scikit-image's data: 24 RGB frames of 25 x 14 pixels
TEXT_FRAMES = 32
TEXT_SIDE = 48  # pixels of a text video's square frames when no size is given
TEXT_SPEED = 1.0  # pixels per frame that the text moves
TEXT_ZOOM = 4  # the page is drawn this many times finer than the frames: it moves by quarter pixels
TEXT_LETTERS = 2  # the page is this part of a text picture's side, magnified: letters 6 to 24 px in 32-px frames
TEXT_STREAM = 2  # the random stream of the pages (``datasets.text_image``'s seed; the image sets use 0 and 1)


def clip(size=None):
    """scikit-image's ``no_time_for_that_tiny.gif``, its frames resized (Lanczos) so that their shorter side
    is ``size`` pixels (None: as stored): float32 [24, H, W, 3]."""
    try:
        import skimage.data
    except ImportError:
        raise ValueError("video:clip ships with scikit-image: pip install scikit-image") from None
    frames = iio.imread(pathlib.Path(skimage.data.data_dir, CLIP_FILE), index=None)[..., :3]
    frames = frames.astype(np.float32) / 255.0
    if size is None:
        return frames
    height, width = frames.shape[1:3]
    scale = size / min(height, width)
    return np.stack([data.resize(frame, round(height * scale), round(width * scale)) for frame in frames])


def text(seed, size=None):
    """A window of ``size`` pixels (None: ``TEXT_SIDE``) panning over a page of random words (the top-left
    ``1 / TEXT_LETTERS`` of a ``datasets.text_image``) at ``TEXT_SPEED`` pixels per frame, in a direction drawn
    from ``seed``: float32 [TEXT_FRAMES, size, size, 3].

    The page is drawn ``TEXT_ZOOM`` times finer than the frames; each frame is the window cut from it at the
    nearest finer pixel and resized (Lanczos), so the motion is smooth to a quarter of a pixel.
    """
    side = size or TEXT_SIDE
    angle = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi)
    step = TEXT_SPEED * np.array([np.sin(angle), np.cos(angle)])  # (rows, columns) per frame
    travel = step * (TEXT_FRAMES - 1)
    page_side = TEXT_ZOOM * (side + int(np.ceil(np.abs(travel).max())) + 1)
    page = datasets.text_image(TEXT_STREAM, TEXT_LETTERS * page_side, seed)[:page_side, :page_side]
    start = np.maximum(-travel, 0.0)  # the window's top-left corner at t = 0, so that every frame is on the page
    frames = []
    for t in range(TEXT_FRAMES):
        top, left = np.round(TEXT_ZOOM * (start + step * t)).astype(int)
        frames.append(data.resize(page[top:top + TEXT_ZOOM * side, left:left + TEXT_ZOOM * side], side))
    return np.stack(frames)


def from_source(source, size=None):
    """The video of a source string ``video:clip`` or ``video:text:SEED`` (``size``: see ``clip``, ``text``),
    or None when ``source`` names no video."""
    parsed = sources.parse(source, "video", NAMES, seeded=("text",))
    if parsed is None:
        return None
    if size is not None and size < 4:
        raise ValueError(f"a video's frames need at least 4 pixels on a side, got size {size}")
    name, seed = parsed
    return text(seed, size) if name == "text" else clip(size)
