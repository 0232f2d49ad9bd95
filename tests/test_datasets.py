"""The locally made image sets: deterministic, right shapes and ranges, distinct parts."""

import numpy as np
import pytest

from nerf_toy_jax import datasets


def test_text_images_are_deterministic_and_in_range():
    first = datasets.text_image(0, 32, index=1)
    again = datasets.text_image(0, 32, index=1)
    assert first.shape == (32, 32, 3) and first.dtype == np.float32
    assert first.min() >= 0.0 and first.max() <= 1.0
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - datasets.text_image(0, 32, index=2)).mean() > 0.05
    assert first.std() > 0.05  # text on a background, not a flat colour


def test_text_test_and_validation_parts_differ():
    test = datasets.load("text", "test", "0", 32)
    validation = datasets.load("text", "validation", "0", 32)
    assert np.abs(test - validation).mean() > 0.05


def test_text_image_is_one_picture_at_every_size():
    small = datasets.text_image(0, 32)
    large = datasets.text_image(0, 64)
    halved = large.reshape(32, 2, 32, 2, 3).mean(axis=(1, 3))
    assert np.abs(small - halved).mean() < 0.03


@pytest.mark.parametrize("name", datasets.NATURAL["test"] + datasets.NATURAL["validation"])
def test_natural_images_load_square_rgb(name):
    image = datasets.natural_image(name, 16)
    assert image.shape == (16, 16, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.01


def test_image_names_and_sources():
    assert datasets.image_names("natural", "test", 4) == list(datasets.NATURAL["test"])
    assert datasets.image_names("text", "validation", 3) == ["0", "1", "2"]
    np.testing.assert_array_equal(datasets.from_source("text:2", 16), datasets.load("text", "test", "2", 16))
    np.testing.assert_array_equal(datasets.from_source("natural:astronaut", 16),
                                  datasets.natural_image("astronaut", 16))
    assert datasets.from_source("photo.png", 16) is None
    assert datasets.from_source("https://example.com/a.png", 16) is None


@pytest.mark.parametrize("call, message", [
    (lambda: datasets.image_names("faces", "test", 1), "unknown image set 'faces'"),
    (lambda: datasets.image_names("text", "train", 1), "unknown part 'train'"),
    (lambda: datasets.image_names("text", "test", 0), "at least one image"),
    (lambda: datasets.natural_image("lena", 16), "unknown natural image 'lena'"),
    (lambda: datasets.from_source("text:first", 16), "text images are numbered"),
])
def test_bad_names_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
