"""Encodings against independent NumPy formulas, and their jit/vmap/grad behaviour."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import encodings

RNG = np.random.default_rng(0)
COORDS = RNG.random((37, 2), dtype=np.float32)


def test_fourier_features_matches_numpy():
    B = RNG.normal(size=(5, 2)).astype(np.float32) * 3
    expected = np.concatenate([np.sin(2 * np.pi * COORDS @ B.T), np.cos(2 * np.pi * COORDS @ B.T)], axis=1)
    got = encodings.fourier_features(jnp.asarray(COORDS), jnp.asarray(B))
    assert got.shape == (37, 10)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_basic_is_sin_cos_of_each_coordinate():
    got = encodings.fourier_features(COORDS, encodings.basic_matrix())
    v = COORDS.astype(np.float64)
    expected = np.stack([np.sin(2 * np.pi * v[:, 0]), np.sin(2 * np.pi * v[:, 1]),
                         np.cos(2 * np.pi * v[:, 0]), np.cos(2 * np.pi * v[:, 1])], axis=1)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_positional_nerf_form_is_pi_times_octaves():
    """The original nerf-toy's multires=10 bands: sin(pi 2^k x), cos(pi 2^k x) per axis."""
    B = encodings.positional_matrix(encodings.nerf_frequencies(10))
    got = np.asarray(encodings.fourier_features(COORDS, B))
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
    got = encodings.positional_matrix(encodings.log_linear_frequencies(scale, half))
    assert got.shape == (256, 2)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_gaussian_matrix_is_sigma_times_standard_normal():
    key = jax.random.PRNGKey(3)
    B = encodings.gaussian_matrix(key, 10.0, 4096)
    assert B.shape == (4096, 2)
    np.testing.assert_allclose(B, 10.0 * np.asarray(jax.random.normal(key, (4096, 2))), rtol=1e-6)
    assert abs(float(jnp.std(B)) - 10.0) < 0.3  # 8192 draws: std error ~0.08
    np.testing.assert_array_equal(B, encodings.gaussian_matrix(key, 10.0, 4096))
    assert not np.allclose(B, encodings.gaussian_matrix(jax.random.PRNGKey(4), 10.0, 4096))


def test_identity_and_encode():
    np.testing.assert_array_equal(encodings.encode(COORDS, None), COORDS)
    B = encodings.basic_matrix()
    np.testing.assert_array_equal(encodings.encode(COORDS, B), encodings.fourier_features(COORDS, B))


def test_jit_and_vmap_over_sigma_and_key():
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    sigmas = jnp.asarray([1.0, 10.0, 100.0])
    build = jax.jit(jax.vmap(lambda key, sigma: encodings.gaussian_matrix(key, sigma, 16)))
    Bs = build(keys, sigmas)
    assert Bs.shape == (3, 16, 2)
    for i in range(3):
        np.testing.assert_allclose(Bs[i], encodings.gaussian_matrix(keys[i], sigmas[i], 16), rtol=1e-6)
    features = jax.jit(jax.vmap(encodings.fourier_features, in_axes=(None, 0)))(COORDS, Bs)
    assert features.shape == (3, 37, 32)
    np.testing.assert_allclose(features[1], encodings.fourier_features(COORDS, Bs[1]), atol=1e-6)


def test_gradients_match_analytic_derivative():
    B = jnp.asarray([[1.5, -0.5], [0.25, 2.0]])
    v = jnp.asarray([0.3, 0.7])
    jac = jax.jacfwd(lambda x: encodings.fourier_features(x[None], B)[0])(v)
    phase = 2 * np.pi * np.asarray(B) @ np.asarray(v)
    expected = np.concatenate([(2 * np.pi * np.cos(phase))[:, None] * np.asarray(B),
                               (-2 * np.pi * np.sin(phase))[:, None] * np.asarray(B)])
    np.testing.assert_allclose(jac, expected, rtol=1e-4, atol=1e-4)
    grad_sigma = jax.grad(lambda s: encodings.fourier_features(v[None], encodings.gaussian_matrix(
        jax.random.PRNGKey(0), s, 8)).sum())(3.0)
    assert np.isfinite(grad_sigma)


@pytest.mark.parametrize("freqs", [1, 7])
def test_positional_matrix_is_axis_aligned(freqs):
    B = np.asarray(encodings.positional_matrix(np.arange(1, freqs + 1), dim=3))
    assert B.shape == (3 * freqs, 3)
    assert np.all(np.count_nonzero(B, axis=1) == 1)
    np.testing.assert_array_equal(B[freqs:2 * freqs, 1], np.arange(1, freqs + 1))


def numpy_corners(coords, resolutions, table_size):
    """Reference of ``hashgrid_corners``: Python integers, one point and level at a time."""
    indices = np.zeros((len(coords), len(resolutions), 4), np.int64)
    weights = np.zeros((len(coords), len(resolutions), 4))
    for n, (x, y) in enumerate(np.asarray(coords, np.float64)):
        for level, res in enumerate(int(r) for r in resolutions):
            ix, iy = min(int(np.floor(x * res)), res - 1), min(int(np.floor(y * res)), res - 1)
            fx, fy = x * res - ix, y * res - iy
            for c, (dx, dy) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
                cx, cy = ix + dx, iy + dy
                if (res + 1) ** 2 <= table_size:
                    indices[n, level, c] = cx + (res + 1) * cy
                else:
                    indices[n, level, c] = ((cx * 1) ^ (cy * 2654435761)) % 2**32 % table_size
                weights[n, level, c] = (fx if dx else 1 - fx) * (fy if dy else 1 - fy)
    return indices, weights


def test_hashgrid_corners_match_a_numpy_reference():
    resolutions = encodings.hashgrid_resolutions(2.0, 40.0, 4)
    np.testing.assert_array_equal(resolutions, [2, 5, 14, 40])  # floor(2 * 20^(l / 3))
    # corners, cell borders (multiples of 1/2, 1/5, 1/40), and random points
    coords = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [0.5, 0.5], [0.2, 0.4], [0.025, 0.975], [0.6, 0.0]]
                      + RNG.random((24, 2)).tolist(), np.float32)
    table_size = 2**8  # levels 2 and 5 dense ((5 + 1)^2 <= 256), 14 and 40 hashed
    got_indices, got_weights = encodings.hashgrid_corners(jnp.asarray(coords), resolutions, table_size)
    want_indices, want_weights = numpy_corners(coords, np.asarray(resolutions), table_size)
    np.testing.assert_array_equal(got_indices, want_indices)
    np.testing.assert_allclose(got_weights, want_weights, atol=2e-5)
    assert got_indices.min() >= 0 and got_indices.max() < table_size
    np.testing.assert_allclose(np.asarray(got_weights).sum(-1), 1.0, atol=1e-6)


def test_hashgrid_features_interpolate_bilinearly():
    """On dense levels, tables holding a linear function of the corner give that function at any point."""
    resolutions = jnp.asarray([4.0, 8.0])
    table_size = 128
    tables = np.zeros((2, table_size, 2), np.float32)
    for level, res in enumerate((4, 8)):
        for cy in range(res + 1):
            for cx in range(res + 1):
                tables[level, cx + (res + 1) * cy] = (cx / res, 3.0 * cy / res - 1.0)
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [0.25, 0.5], [0.3, 0.71]] + RNG.random((8, 2)).tolist(), np.float32)
    features = encodings.hashgrid_features(jnp.asarray(tables), *encodings.hashgrid_corners(coords, resolutions,
                                                                                           table_size))
    want = np.stack([coords[:, 0], 3 * coords[:, 1] - 1] * 2, axis=1)
    np.testing.assert_allclose(features, want, atol=1e-5)
