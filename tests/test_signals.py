"""The kinds of signal: what a source loads as, the split's kind, pictures."""

import numpy as np
import pytest
from PIL import Image

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


def test_sets_of_images(tmp_path):
    faces = signals.load_set("faces:4")
    import skimage.data
    assert [name for name, _ in faces] == ["faces/000", "faces/001", "faces/002", "faces/003"]
    np.testing.assert_allclose(faces[2][1][..., 0], skimage.data.lfw_subset()[2], atol=1e-7)
    rng = np.random.default_rng(1)
    for index, shape in enumerate([(8, 8, 3), (8, 8, 3), (6, 9, 3)]):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(tmp_path / f"im{index}.png")
    glob = signals.load_set(f"{tmp_path}/*.png", 8)
    assert [name for name, _ in glob] == ["im0", "im1", "im2"] and {v.shape for _, v in glob} == {(8, 8, 3)}
    with pytest.raises(ValueError, match="have 2 shapes: give them one with --config.size"):
        signals.load_set(str(tmp_path))
    with pytest.raises(ValueError, match="faces are counted"):
        signals.load_set("faces:none")
    assert signals.load_set("natural:astronaut") is None and signals.load_set(None) is None
