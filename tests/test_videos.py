"""Videos: the text clip's motion, the real clip against Pillow's decoding, sources, and SSIM frame by frame."""

import pathlib

import numpy as np
import pytest
import skimage.data
import skimage.metrics
from PIL import Image, ImageSequence

from nerf_toy_jax import metrics, signals, videos


def test_text_pans_at_its_speed_and_is_drawn_from_its_seed():
    video = videos.text(3, 32)
    assert video.shape == (videos.TEXT_FRAMES, 32, 32, 3) and video.dtype == np.float32
    assert 0.0 <= video.min() and video.max() <= 1.0
    np.testing.assert_array_equal(video, videos.text(3, 32))
    assert not np.allclose(video, videos.text(4, 32))
    # frame t + 8 is frame t moved by 8 pixels along the seed's direction: the best whole-pixel shift
    # between them (exhaustive search) is the rounded displacement
    angle = np.random.default_rng(3).uniform(0.0, 2.0 * np.pi)
    expected = np.round(8 * videos.TEXT_SPEED * np.array([np.sin(angle), np.cos(angle)])).astype(int)
    first, later = video[4].mean(-1), video[12].mean(-1)
    errors = {}
    for dy in range(-10, 11):
        for dx in range(-10, 11):
            a = first[max(dy, 0):32 + min(dy, 0), max(dx, 0):32 + min(dx, 0)]
            b = later[max(-dy, 0):32 + min(-dy, 0), max(-dx, 0):32 + min(-dx, 0)]
            errors[dy, dx] = np.mean((a - b) ** 2)
    assert min(errors, key=errors.get) == tuple(expected)


def test_the_clip_is_scikit_images_gif_and_resizes_to_its_shorter_side():
    with Image.open(pathlib.Path(skimage.data.data_dir, videos.CLIP_FILE)) as gif:
        reference = np.stack([np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)])
    np.testing.assert_allclose(videos.clip(), reference / 255.0, atol=1e-6)
    frames, height, width = reference.shape[:3]
    assert videos.clip(2 * min(height, width)).shape == (frames, 2 * height, 2 * width, 3)


def test_sources_and_their_errors():
    kind, values = signals.load("video:text:1", 16)
    assert kind == "video" and values.shape == (videos.TEXT_FRAMES, 16, 16, 3)
    assert videos.from_source("curve:chirp") is None
    for source, message in [("video:film", "unknown video 'film'"), ("video:text", "drawn from a seed"),
                            ("video:clip:2", "video:clip takes no seed")]:
        with pytest.raises(ValueError, match=message):
            videos.from_source(source)
    with pytest.raises(ValueError, match="at least 4 pixels"):
        videos.from_source("video:text:0", 3)


def test_a_video_is_scored_frame_by_frame_and_kept_as_8_bit_frames():
    rng = np.random.default_rng(0)
    clean = videos.text(0, 24)[:5]
    noisy = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    expected = np.mean([skimage.metrics.structural_similarity(c, n, channel_axis=-1, data_range=1.0,
                                                               gaussian_weights=True, sigma=1.5,
                                                               use_sample_covariance=False)
                        for c, n in zip(clean, noisy)])
    assert abs(float(metrics.ssim(clean, noisy)) - expected) < 1e-5
    kind = signals.get("video")
    stored = kind.stored(noisy)
    assert stored.dtype == np.uint8 and np.abs(kind.loaded(stored) - noisy).max() <= 0.5 / 255 + 1e-7
    picture = kind.picture(clean)  # the first and last frames at the ends of a strip
    assert picture.shape == (24, 4 * 24 + 3, 3)
    np.testing.assert_array_equal(picture[:, :24], clean[0])
    np.testing.assert_array_equal(picture[:, -24:], clean[-1])
