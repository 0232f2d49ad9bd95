"""The registry, and the matrices of the Fourier-type encodings against their published constructions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import fourier
from nerf_toy_jax.encodings import basic, gaussian, positional

RNG = np.random.default_rng(0)
COORDS = RNG.random((37, 2), dtype=np.float32)


def test_basic_is_sin_cos_of_each_coordinate():
    got = fourier.fourier_features(COORDS, basic.basic_matrix())
    v = COORDS.astype(np.float64)
    expected = np.stack([np.sin(2 * np.pi * v[:, 0]), np.sin(2 * np.pi * v[:, 1]),
                         np.cos(2 * np.pi * v[:, 0]), np.cos(2 * np.pi * v[:, 1])], axis=1)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_positional_nerf_form_is_pi_times_octaves():
    """The original nerf-toy's multires=10 bands: sin(pi 2^k x), cos(pi 2^k x) per axis."""
    B = positional.positional_matrix(positional.nerf_frequencies(10))
    got = np.asarray(fourier.fourier_features(COORDS, B))
    v = COORDS.astype(np.float64)
    for axis in range(2):
        for k in range(10):
            row = axis * 10 + k
            np.testing.assert_allclose(got[:, row], np.sin(np.pi * 2.0**k * v[:, axis]), atol=2e-4)
            np.testing.assert_allclose(got[:, 20 + row], np.cos(np.pi * 2.0**k * v[:, axis]), atol=2e-4)


def test_positional_tancik_form_matches_their_construction():
    """Tancik et al.: bvals = 2^linspace(0, scale, m/2) - 1 on x, then on y."""
    scale, half = 6.0, 128
    bvals = 2.0 ** np.linspace(0, scale, half) - 1
    bvals = np.stack([bvals, np.zeros_like(bvals)], -1)
    expected = np.concatenate([bvals, np.roll(bvals, 1, axis=-1)], 0)
    got = positional.positional_matrix(positional.log_linear_frequencies(scale, half))
    assert got.shape == (256, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_gaussian_matrix_is_sigma_times_standard_normal():
    key = jax.random.PRNGKey(3)
    B = gaussian.gaussian_matrix(key, 10.0, 4096)
    assert B.shape == (4096, 2)
    np.testing.assert_allclose(B, 10.0 * np.asarray(jax.random.normal(key, (4096, 2))), rtol=1e-6)
    assert abs(float(jnp.std(B)) - 10.0) < 0.3  # 8192 draws: std error ~0.08
    np.testing.assert_array_equal(B, gaussian.gaussian_matrix(key, 10.0, 4096))
    assert not np.allclose(B, gaussian.gaussian_matrix(jax.random.PRNGKey(4), 10.0, 4096))


@pytest.mark.parametrize("freqs", [1, 7])
def test_positional_matrix_is_axis_aligned(freqs):
    B = np.asarray(positional.positional_matrix(np.arange(1, freqs + 1), dim=3))
    assert B.shape == (3 * freqs, 3)
    assert np.all(np.count_nonzero(B, axis=1) == 1)
    np.testing.assert_array_equal(B[freqs:2 * freqs, 1], np.arange(1, freqs + 1))


@pytest.mark.parametrize("dim", [1, 3])
def test_every_fourier_encoding_has_d_columns(dim):
    """On d coordinate axes: basic is I_d, positional repeats its frequencies on each axis, Gaussian draws
    [m, d]; the features are sin and cos of 2 pi B v (NumPy) and as wide as ``feature_dim`` says."""
    coords = RNG.random((11, dim), dtype=np.float32)
    key = jax.random.PRNGKey(5)
    by_name = {"basic": basic.Basic(), "positional": positional.Positional(positional_freqs=3, positional_scale=2.0),
              "gaussian": gaussian.Gaussian(sigma=4.0, mapping_size=5)}
    freqs = 2.0 ** np.linspace(0, 2.0, 3) - 1
    expected = {"basic": np.eye(dim),
                  "positional": np.concatenate([np.outer(freqs, np.eye(dim)[a]) for a in range(dim)]),
                  "gaussian": 4.0 * np.asarray(jax.random.normal(key, (5, dim)))}
    for name, encoding in by_name.items():
        B = np.asarray(encoding.matrix(key, dim))
        np.testing.assert_allclose(B, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
        angles = 2 * np.pi * coords.astype(np.float64) @ B.T.astype(np.float64)
        got = np.asarray(fourier.fourier_features(coords, B))
        np.testing.assert_allclose(got, np.concatenate([np.sin(angles), np.cos(angles)], 1), atol=2e-4)
        assert got.shape[1] == encoding.feature_dim(dim)
