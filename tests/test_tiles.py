"""Tiles: where they are cut, that they cover what they claim, determinism, and an image's PSNR pooled over
its tiles against a direct computation."""

import numpy as np
import pytest

from nerf_toy_jax import data, tiles


def test_every_position_once_when_all_tiles_are_drawn():
    origins = tiles.tile_origins(64, 48, 16, 12, seed=3)
    assert sorted(map(tuple, origins.tolist())) == [(r, c) for r in range(0, 64, 16) for c in range(0, 48, 16)]
    covered = np.zeros((64, 48), int)
    for row, column in origins:
        covered[row:row + 16, column:column + 16] += 1
    assert np.all(covered == 1)  # the tiles tile the image, without overlap


def test_draws_are_seeded_and_reach_beyond_the_centre():
    first = tiles.tile_origins(512, 512, 64, 8, seed=0)
    np.testing.assert_array_equal(first, tiles.tile_origins(512, 512, 64, 8, seed=0))
    assert not np.array_equal(first, tiles.tile_origins(512, 512, 64, 8, seed=1))
    drawn = np.concatenate([tiles.tile_origins(512, 512, 64, 8, seed=s) for s in range(20)])
    assert drawn.min() == 0 and drawn.max() == 448  # corners and edges are drawn, not only the centre
    with pytest.raises(ValueError, match="65 tiles of 64 px do not fit a 512 x 512 image"):
        tiles.tile_origins(512, 512, 64, 65, seed=0)


def test_cut_tiles_are_the_image_at_their_origins():
    image = np.random.default_rng(0).random((40, 32, 3), dtype=np.float32)
    origins = tiles.tile_origins(40, 32, 8, 5, seed=2)
    cut = tiles.cut(image, origins, 8)
    assert cut.shape == (5, 8, 8, 3)
    for piece, (row, column) in zip(cut, origins):
        np.testing.assert_array_equal(piece, image[row:row + 8, column:column + 8])


def test_pooled_psnr_is_the_psnr_of_all_held_out_pixels_together():
    rng = np.random.default_rng(1)
    image, guess = rng.random((32, 32, 3)), rng.random((32, 32, 3))
    origins = tiles.tile_origins(32, 32, 8, 6, seed=0)
    splits = [(data.make_split(a, "holdout"), data.make_split(b, "holdout"))
              for a, b in zip(tiles.cut(image, origins, 8), tiles.cut(guess, origins, 8))]
    mses = [np.mean((truth.test_pixels - made.test_pixels) ** 2) for truth, made in splits]
    counts = [truth.test_pixels.size for truth, _ in splits]
    held_out = np.concatenate([(truth.test_pixels - made.test_pixels).ravel() for truth, made in splits])
    assert tiles.pooled_psnr(mses, counts) == pytest.approx(-10 * np.log10(np.mean(held_out ** 2)), rel=1e-12)
    assert tiles.pooled_psnr(mses, counts) != pytest.approx(np.mean([-10 * np.log10(m) for m in mses]))


def test_scales_per_tile_in_the_papers_units():
    assert tiles.per_image(2.5, 128) == 10.0 and tiles.per_image(1.25, 64) == 10.0
