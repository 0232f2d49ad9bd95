"""The kinds of signal: what a source loads as, the split's kind, pictures."""

import numpy as np
import pytest

from nerf_toy_jax import curves, datasets, signals


def test_a_source_loads_as_its_kind():
    kind, values = signals.load("curve:tones:1", 128)
    assert kind == "curve" and values.shape == (128, 1)
    np.testing.assert_array_equal(values, curves.tones(1, 128))
    kind, values = signals.load("text:0", 16)
    assert kind == "image"
    np.testing.assert_array_equal(values, datasets.from_source("text:0", 16))
    assert signals.load("curve:square")[1].shape == (curves.DEFAULT_SAMPLES, 1)


def test_splits_know_their_kind_and_refuse_the_wrong_shape():
    split = signals.make_split("curve", curves.square(16), "holdout")
    assert split.kind == "curve" and split.dim == 1 and split.test_pixels.shape == (8, 1)
    with pytest.raises(ValueError, match="a signal of kind curve has 1 axes"):
        signals.make_split("curve", np.zeros((4, 4, 3)), "memorize")
    with pytest.raises(ValueError, match="unknown kind of signal 'sound'"):
        signals.get("sound")


def test_pictures():
    image = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    np.testing.assert_array_equal(signals.get("image").picture(image), image)
    curve = curves.chirp(64)
    picture = signals.get("curve").picture(curve, curves.square(64))
    assert picture.shape == signals.CURVE_PICTURE + (3,) and 0.0 <= picture.min() < picture.max() <= 1.0
    # a higher curve darkens higher rows: the square wave at 1 reaches the top rows, the flat curve at 0 does not
    top = slice(0, signals.CURVE_PICTURE[0] // 8)
    flat = signals.get("curve").picture(np.zeros((64, 1), np.float32))
    assert picture[top].min() < flat[top].min()
