"""The Fourier feature map against NumPy and float64: formulas, precision, jit/vmap/grad, no matmul."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import data, fourier
from nerf_toy_jax.encodings import basic, gaussian

RNG = np.random.default_rng(0)
COORDS = RNG.random((37, 2), dtype=np.float32)


def test_fourier_features_matches_numpy():
    B = RNG.normal(size=(5, 2)).astype(np.float32) * 3
    expected = np.concatenate([np.sin(2 * np.pi * COORDS @ B.T), np.cos(2 * np.pi * COORDS @ B.T)], axis=1)
    got = fourier.fourier_features(jnp.asarray(COORDS), jnp.asarray(B))
    assert got.shape == (37, 10)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_identity_and_encode():
    np.testing.assert_array_equal(fourier.encode(COORDS, None), COORDS)
    B = basic.basic_matrix()
    np.testing.assert_array_equal(fourier.encode(COORDS, B), fourier.fourier_features(COORDS, B))


def test_jit_and_vmap_over_sigma_and_key():
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    sigmas = jnp.asarray([1.0, 10.0, 100.0])
    build = jax.jit(jax.vmap(lambda key, sigma: gaussian.gaussian_matrix(key, sigma, 16)))
    Bs = build(keys, sigmas)
    assert Bs.shape == (3, 16, 2)
    for i in range(3):
        np.testing.assert_allclose(Bs[i], gaussian.gaussian_matrix(keys[i], sigmas[i], 16), rtol=1e-6)
    features = jax.jit(jax.vmap(fourier.fourier_features, in_axes=(None, 0)))(COORDS, Bs)
    assert features.shape == (3, 37, 32)
    np.testing.assert_allclose(features[1], fourier.fourier_features(COORDS, Bs[1]), atol=1e-6)


def test_gradients_match_analytic_derivative():
    B = jnp.asarray([[1.5, -0.5], [0.25, 2.0]])
    v = jnp.asarray([0.3, 0.7])
    jac = jax.jacfwd(lambda x: fourier.fourier_features(x[None], B)[0])(v)
    phase = 2 * np.pi * np.asarray(B) @ np.asarray(v)
    expected = np.concatenate([(2 * np.pi * np.cos(phase))[:, None] * np.asarray(B),
                               (-2 * np.pi * np.sin(phase))[:, None] * np.asarray(B)])
    np.testing.assert_allclose(jac, expected, rtol=1e-4, atol=1e-4)
    grad_sigma = jax.grad(lambda s: fourier.fourier_features(v[None], gaussian.gaussian_matrix(
        jax.random.PRNGKey(0), s, 8)).sum())(3.0)
    assert np.isfinite(grad_sigma)


@pytest.mark.parametrize("sigma", [10.0, 100.0])
def test_fourier_features_match_float64_at_512_px(sigma):
    grid = data.coordinate_grid(512, 512).reshape(-1, 2)
    points = np.concatenate([grid[np.random.default_rng(0).choice(len(grid), 4096, replace=False)], grid[-512:]])
    B = gaussian.gaussian_matrix(jax.random.PRNGKey(1), sigma, 256)
    projection = 2 * np.pi * points.astype(np.float64) @ np.asarray(B, np.float64).T
    expected = np.concatenate([np.sin(projection), np.cos(projection)], axis=1)
    got = np.asarray(jax.jit(fourier.fourier_features)(jnp.asarray(points), B))
    assert np.abs(got - expected).max() < 1e-4


def test_phases_are_the_projection_modulo_one():
    coords = np.random.default_rng(2).random((300, 3), dtype=np.float32)  # any float32 coordinates, d = 3
    B = np.random.default_rng(3).normal(0, 60, (40, 3)).astype(np.float32)
    exact = coords.astype(np.float64) @ B.astype(np.float64).T
    got = np.asarray(fourier.phases(jnp.asarray(coords), jnp.asarray(B)), np.float64)
    assert np.abs(got).max() <= 0.5
    error = (got - exact + 0.5) % 1.0 - 0.5  # distance on the circle of one cycle
    assert np.abs(error).max() < 1e-6
