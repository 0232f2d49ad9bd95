"""Tiles of a large image, each a signal of its own: the paper's pixel scale on a CPU.

A tile of ``tile`` x ``tile`` pixels cut from a 512-px image has the paper's
detail per pixel; trained on the tile's own unit square, its frequencies are
in cycles per tile, so a scale s per tile is ``s * side / tile`` per image
(``per_image``). Many tiles train in one stack, one per model
(``data.signals``), and an image's test PSNR comes from the mean squared
error over all its tiles' held-out pixels (``pooled_psnr``), not from a mean
of per-tile PSNRs.
"""

import numpy as np


def tile_origins(height, width, tile, count, seed):
    """Top-left corners of ``count`` tiles, drawn without replacement from the image's grid of non-overlapping
    tile positions by a seeded permutation, so that every part of the image is as likely as its centre.

    Args:
      height, width: image size in pixels.
      tile: tile side in pixels.
      count: tiles to draw, at most ``(height // tile) * (width // tile)``.
      seed: the draw; the same seed gives the same tiles.

    Returns:
      int [count, 2]: (row, column) of each tile's top-left pixel, in the order drawn.
    """
    rows, columns = height // tile, width // tile
    if not 0 < count <= rows * columns:
        raise ValueError(f"{count} tiles of {tile} px do not fit a {height} x {width} image "
                         f"({rows * columns} positions)")
    drawn = np.random.default_rng(seed).permutation(rows * columns)[:count]
    return np.stack([drawn // columns * tile, drawn % columns * tile], axis=1)


def cut(image, origins, tile):
    """The tiles of ``image`` [H, W, C] at ``origins`` [T, 2]: float32 [T, tile, tile, C]."""
    return np.stack([image[row:row + tile, column:column + tile] for row, column in origins])


def pooled_psnr(mses, counts):
    """PSNR in dB (data range 1) of the mean squared error over all pixels of several tiles.

    Args:
      mses: [T] each tile's mean squared error over its ``counts`` [T] (held-out) pixel values.

    Returns:
      ``-10 log10(sum(mse * count) / sum(count))``.
    """
    mses, counts = np.asarray(mses, np.float64), np.asarray(counts, np.float64)
    return float(-10.0 * np.log10(np.sum(mses * counts) / np.sum(counts)))


def per_image(scale, tile, side=512):
    """A frequency ``scale`` in cycles per tile, in cycles per image of ``side`` pixels."""
    return scale * side / tile
