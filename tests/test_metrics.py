"""PSNR and SSIM against scikit-image.

Tolerances reached: PSNR within 1e-4 dB; SSIM within 1e-5 (float32 against
scikit-image's float64).
"""

import jax
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from nerf_toy_jax import metrics

RNG = np.random.default_rng(0)


def pair(shape, noise):
    clean = RNG.random(shape).astype(np.float32)
    noisy = np.clip(clean + noise * RNG.normal(size=shape), 0, 1).astype(np.float32)
    return clean, noisy


@pytest.mark.parametrize("shape,noise", [((32, 32, 3), 0.05), ((24, 40, 1), 0.2), ((16, 16, 3), 0.01)])
def test_psnr_matches_skimage(shape, noise):
    clean, noisy = pair(shape, noise)
    expected = peak_signal_noise_ratio(clean.astype(np.float64), noisy.astype(np.float64), data_range=1)
    assert abs(float(metrics.psnr(clean, noisy)) - expected) < 1e-4
    assert abs(float(metrics.psnr_from_mse(metrics.mse(clean, noisy))) - expected) < 1e-4


@pytest.mark.parametrize("shape,noise", [((32, 32, 3), 0.05), ((24, 40, 1), 0.2), ((11, 11, 3), 0.1)])
def test_ssim_matches_skimage(shape, noise):
    clean, noisy = pair(shape, noise)
    expected = structural_similarity(clean.astype(np.float64), noisy.astype(np.float64), channel_axis=-1,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)
    assert abs(float(metrics.ssim(clean, noisy)) - expected) < 1e-5


def test_ssim_of_identical_images_is_one_and_tiny_images_are_nan():
    clean, _ = pair((16, 16, 3), 0)
    assert abs(float(metrics.ssim(clean, clean)) - 1.0) < 1e-6
    assert np.isnan(metrics.ssim(clean[:10, :10], clean[:10, :10]))


def test_metrics_vmap_over_models():
    clean, noisy = pair((4, 16, 16, 3), 0.1)
    batched = jax.vmap(metrics.ssim)(clean, noisy)
    assert batched.shape == (4,)
    np.testing.assert_allclose(batched[2], metrics.ssim(clean[2], noisy[2]), rtol=1e-6)


def test_first_reaching():
    steps = np.array([0, 10, 20, 30])
    curves = np.array([[5.0, 24.0, 26.0, 31.0], [5.0, 10.0, np.nan, np.nan], [25.0, 20.0, 20.0, 20.0]])
    np.testing.assert_array_equal(metrics.first_reaching(steps, curves, 25.0), [20.0, np.nan, 0.0])
