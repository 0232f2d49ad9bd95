"""The hash grid: corner indices and weights against a NumPy reference, bilinear interpolation, its network."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax.encodings import hashgrid

RNG = np.random.default_rng(0)


PRIMES = (1, 2654435761, 805459861)  # Instant-NGP's, per axis


def numpy_corners(coords, resolutions, table_size):
    """Reference of ``hashgrid_corners`` on d axes: Python integers, one point, level and corner at a time;
    corner c at ``(c >> a) & 1`` along axis a."""
    coords = np.asarray(coords, np.float64)
    dim = coords.shape[1]
    indices = np.zeros((len(coords), len(resolutions), 2**dim), np.int64)
    weights = np.zeros((len(coords), len(resolutions), 2**dim))
    for n, point in enumerate(coords):
        for level, res in enumerate(int(r) for r in resolutions):
            cell = [min(int(np.floor(v * res)), res - 1) for v in point]
            frac = [v * res - i for v, i in zip(point, cell)]
            for c in range(2**dim):
                bits = [(c >> a) & 1 for a in range(dim)]
                corner = [i + b for i, b in zip(cell, bits)]
                if (res + 1) ** dim <= table_size:
                    indices[n, level, c] = sum(x * (res + 1) ** a for a, x in enumerate(corner))
                else:
                    hashed = 0
                    for x, prime in zip(corner, PRIMES):
                        hashed ^= x * prime
                    indices[n, level, c] = hashed % 2**32 % table_size
                weights[n, level, c] = np.prod([f if b else 1 - f for f, b in zip(frac, bits)])
    return indices, weights


def test_hashgrid_corners_match_a_numpy_reference():
    resolutions = hashgrid.hashgrid_resolutions(2.0, 40.0, 4)
    np.testing.assert_array_equal(resolutions, [2, 5, 14, 40])  # floor(2 * 20^(l / 3))
    # corners, cell borders (multiples of 1/2, 1/5, 1/40), and random points
    coords = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [0.5, 0.5], [0.2, 0.4], [0.025, 0.975], [0.6, 0.0]]
                      + RNG.random((24, 2)).tolist(), np.float32)
    table_size = 2**8  # levels 2 and 5 dense ((5 + 1)^2 <= 256), 14 and 40 hashed
    got_indices, got_weights = hashgrid.hashgrid_corners(jnp.asarray(coords), resolutions, table_size)
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
    features = hashgrid.hashgrid_features(jnp.asarray(tables), *hashgrid.hashgrid_corners(coords, resolutions,
                                                                                           table_size))
    want = np.stack([coords[:, 0], 3 * coords[:, 1] - 1] * 2, axis=1)
    np.testing.assert_allclose(features, want, atol=1e-5)


def test_hashgrid_tables_start_small_and_feed_the_mlp():
    model = hashgrid.HashGridMLP(levels=3, features=2, log2_table=6)
    inputs = model.inputs(jax.random.uniform(jax.random.PRNGKey(7), (10, 2)), jnp.asarray([2.0, 4.0, 16.0]))
    params = model.init(jax.random.PRNGKey(8), inputs, train=False)["params"]
    assert params["tables"].shape == (3, 64, 2) and float(jnp.abs(params["tables"]).max()) <= 1e-4
    assert params["MLP_0"]["Dense_0"]["kernel"].shape == (6, 64)  # L F features into 64 hidden units
    assert model.apply({"params": params}, inputs, train=False).shape == (10, 3)


@pytest.mark.parametrize("dim", [1, 3])
def test_hashgrid_corners_in_1d_and_3d_match_the_reference(dim):
    resolutions = hashgrid.hashgrid_resolutions(2.0, 40.0, 4)
    coords = np.concatenate([np.eye(dim), np.full((1, dim), 0.5), RNG.random((24, dim))]).astype(np.float32)
    table_size = 2**8  # 1D: every level dense; 3D: levels 2 and 5 dense ((5 + 1)^3 <= 256), 14 and 40 hashed
    got_indices, got_weights = hashgrid.hashgrid_corners(jnp.asarray(coords), resolutions, table_size)
    want_indices, want_weights = numpy_corners(coords, np.asarray(resolutions), table_size)
    assert got_indices.shape == (len(coords), 4, 2**dim)
    np.testing.assert_array_equal(got_indices, want_indices)
    np.testing.assert_allclose(got_weights, want_weights, atol=2e-5)


@pytest.mark.parametrize("dim", [1, 3])
def test_hashgrid_features_interpolate_linear_functions_exactly(dim):
    """Linear (1D) and trilinear (3D) interpolation: on a dense level, tables holding a linear function of
    the corner give that function at any point."""
    res, table_size = 4, 128
    slopes = np.asarray([1.0, -2.0, 0.5][:dim])
    tables = np.zeros((1, table_size, 1), np.float32)
    for corner in np.ndindex(*([res + 1] * dim)):
        tables[0, sum(x * (res + 1) ** a for a, x in enumerate(corner)), 0] = np.dot(slopes, corner) / res + 0.25
    coords = np.concatenate([np.eye(dim), np.zeros((1, dim)), RNG.random((16, dim))]).astype(np.float32)
    indices, weights = hashgrid.hashgrid_corners(jnp.asarray(coords), jnp.asarray([float(res)]), table_size)
    features = hashgrid.hashgrid_features(jnp.asarray(tables), indices, weights)
    np.testing.assert_allclose(features[:, 0], coords @ slopes + 0.25, atol=1e-5)
