"""Image loading from every source type, bit depths and modes, grids and splits."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

from nerf_toy_jax import data

from conftest import RGB8, encode

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def png_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "rgb.png"
    path.write_bytes(encode(RGB8))
    return path


def test_every_source_type_gives_the_same_pixels(png_path, server):
    expected = RGB8.astype(np.float32) / 255
    sources = [str(png_path), png_path, png_path.read_bytes(), bytearray(png_path.read_bytes()),
               io.BytesIO(png_path.read_bytes()), f"{server}/rgb.png"]
    for source in sources:
        image = data.load_image(source)
        assert image.dtype == np.float32 and image.shape == (12, 10, 3), type(source)
        np.testing.assert_allclose(image, expected, atol=1e-7)
    with open(png_path, "rb") as handle:
        np.testing.assert_allclose(data.load_image(handle), expected, atol=1e-7)


def test_default_image_is_matplotlibs_grace_hopper():
    image = data.load_image()
    assert data.default_image_path().name == "grace_hopper.jpg"
    assert image.shape == (600, 512, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.1


def test_grayscale_stays_one_channel():
    gray = RNG.integers(0, 256, (9, 7), dtype=np.uint8)
    image = data.load_image(encode(gray))
    assert image.shape == (9, 7, 1)
    np.testing.assert_allclose(image[..., 0], gray / 255, atol=1e-7)


def test_sixteen_bit_grayscale_is_scaled_by_65535():
    gray16 = RNG.integers(0, 65536, (8, 8), dtype=np.uint16)
    image = data.load_image(encode(gray16))
    assert image.shape == (8, 8, 1)
    np.testing.assert_allclose(image[..., 0], gray16 / 65535, atol=1e-7)


def test_alpha_is_dropped_and_palette_becomes_rgb():
    rgba = np.concatenate([RGB8, RNG.integers(0, 256, (12, 10, 1), dtype=np.uint8)], axis=-1)
    np.testing.assert_allclose(data.load_image(encode(rgba)), RGB8 / 255, atol=1e-7)
    gray_alpha = np.stack([RGB8[..., 0], RGB8[..., 1]], axis=-1)
    np.testing.assert_allclose(data.load_image(encode(gray_alpha, mode="LA"))[..., 0], RGB8[..., 0] / 255, atol=1e-7)
    palette = Image.fromarray(RGB8).quantize(colors=16)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    image = data.load_image(buffer.getvalue())
    assert image.shape == (12, 10, 3)
    np.testing.assert_allclose(image, np.asarray(palette.convert("RGB")) / 255, atol=1e-7)


def test_jpeg_decodes_close_to_source():
    smooth = np.clip(np.linspace(0, 255, 32)[None, :, None] + np.zeros((32, 1, 3)), 0, 255).astype(np.uint8)
    image = data.load_image(encode(smooth, fmt="JPEG"))
    assert np.abs(image - smooth / 255).max() < 0.05


def test_center_crop_and_resize():
    cropped = data.load_image(encode(RGB8), center_crop=True)
    np.testing.assert_allclose(cropped, RGB8[1:11] / 255, atol=1e-7)
    resized = data.load_image(encode(RGB8), size=5)
    assert resized.shape == (5, 5, 3) and 0 <= resized.min() and resized.max() <= 1
    flat = np.full((40, 60, 3), 77, np.uint8)
    np.testing.assert_allclose(data.load_image(encode(flat), size=16), 77 / 255, atol=1e-5)


def test_cropping_a_non_square_image_is_said_and_a_square_one_or_the_default_is_not():
    for options in ({"center_crop": True}, {"size": 5}):
        with pytest.warns(UserWarning, match=r"the 10 x 12 image bytes is not square: its central 10 x 10 square "
                                             r"is kept"):
            data.load_image(encode(RGB8), **options)
    square = np.zeros((8, 8, 3), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data.load_image(encode(square), size=4).shape == (4, 4, 3)
        assert data.load_image(encode(RGB8)).shape == (12, 10, 3)  # kept whole: nothing cropped
        assert data.load_image(size=4).shape == (4, 4, 3)  # the default 512 x 600 image: its crop is documented


def test_bad_sources_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot decode an image"):
        data.load_image(b"not an image")
    with pytest.raises(ValueError, match="unsupported URL scheme 'ftp'"):
        data.load_image("ftp://example.org/a.png")
    with pytest.raises(FileNotFoundError):
        data.load_image(tmp_path / "missing.png")
    with pytest.raises(TypeError, match="cannot load an image from int"):
        data.load_image(3)


def test_coordinate_grid_is_ij_on_unit_interval_without_endpoint():
    grid = data.coordinate_grid(4, 8)
    assert grid.shape == (4, 8, 2) and grid.dtype == np.float32
    np.testing.assert_array_equal(grid[:, 0, 0], np.arange(4) / 4)
    np.testing.assert_array_equal(grid[0, :, 1], np.arange(8) / 8)
    assert grid.max() < 1.0 and grid.min() == 0.0


def test_splits():
    image = RNG.random((6, 8, 3), dtype=np.float32)
    memorize = data.make_split(image, "memorize")
    np.testing.assert_array_equal(memorize.train_pixels, image)
    np.testing.assert_array_equal(memorize.test_pixels, image)
    holdout = data.make_split(image, "holdout")
    np.testing.assert_array_equal(holdout.train_pixels, image[::2, ::2])
    np.testing.assert_array_equal(holdout.test_pixels, image[1::2, 1::2])
    np.testing.assert_allclose(holdout.test_coords[0, 0], [1 / 6, 1 / 8], rtol=1e-7)
    assert holdout.train_coords.shape == (3, 4, 2)
    with pytest.raises(ValueError, match="at least 4 x 4"):
        data.make_split(image[:3, :8], "holdout")
    with pytest.raises(ValueError, match="unknown split 'train'"):
        data.make_split(image, "train")


def test_splits_of_1d_and_3d_signals_take_every_other_sample_along_each_axis():
    line = RNG.random((10, 2), dtype=np.float32)
    holdout = data.make_split(line, "holdout")
    np.testing.assert_array_equal(holdout.train_pixels, line[::2])
    np.testing.assert_allclose(holdout.test_coords[:, 0], np.arange(1, 10, 2) / 10, rtol=1e-7)
    assert holdout.dim == 1 and holdout.train_coords.shape == (5, 1)
    volume = RNG.random((4, 6, 8, 1), dtype=np.float32)
    holdout = data.make_split(volume, "holdout")
    np.testing.assert_array_equal(holdout.test_pixels, volume[1::2, 1::2, 1::2])
    np.testing.assert_allclose(holdout.test_coords[1, 2, 3], [3 / 4, 5 / 6, 7 / 8], rtol=1e-7)
    assert holdout.dim == 3 and holdout.train_coords.shape == (2, 3, 4, 3)
    with pytest.raises(ValueError, match="at least 4 x 4 x 4 samples .* got 4 x 6 x 2"):
        data.make_split(volume[:, :, :2], "holdout")
    with pytest.raises(ValueError, match="a signal must be"):
        data.make_split(RNG.random((2, 2, 2, 2, 1)), "memorize")
