"""The empirical NTK: symmetric, positive semi-definite, equal to J J^T of a finite-difference Jacobian."""

import jax
import numpy as np
from jax.flatten_util import ravel_pytree

from nerf_toy_jax import fourier, ntk
from nerf_toy_jax.encodings import gaussian

COORDS = (np.arange(6, dtype=np.float32) / 6)[:, None]


def tiny(sigma=3.0):
    model = ntk.network(depth=3, width=8)
    features = fourier.encode(COORDS, gaussian.gaussian_matrix(jax.random.PRNGKey(1), sigma, 4, dim=1))
    params = model.init(jax.random.PRNGKey(2), features[:1], train=False)["params"]
    return model, params, features


def test_kernel_is_symmetric_and_positive_semidefinite():
    kernel = np.asarray(ntk.kernel(*tiny()))
    np.testing.assert_allclose(kernel, kernel.T, rtol=1e-5, atol=1e-6)
    eigenvalues = np.linalg.eigvalsh(kernel.astype(np.float64))
    assert eigenvalues.min() > -1e-5 * eigenvalues.max()


def test_kernel_matches_a_finite_difference_jacobian():
    model, params, features = tiny()
    flat, unravel = ravel_pytree(params)
    flat = np.asarray(flat, np.float64)

    def outputs(theta):
        return np.asarray(model.apply({"params": unravel(np.asarray(theta, np.float32))}, features, train=False)[:, 0],
                          np.float64)

    eps = 1e-3
    columns = []
    for p in range(flat.size):
        step = np.zeros_like(flat)
        step[p] = eps
        columns.append((outputs(flat + step) - outputs(flat - step)) / (2 * eps))
    jac_fd = np.stack(columns, axis=1)
    np.testing.assert_allclose(np.asarray(ntk.jacobian(model, params, features)), jac_fd, rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(np.asarray(ntk.kernel(model, params, features)), jac_fd @ jac_fd.T,
                               rtol=2e-2, atol=2e-3)


def test_larger_sigma_gives_a_flatter_spectrum():
    coords = (np.arange(48, dtype=np.float32) / 48)[:, None]
    tails = []  # eigenvalue 20 over the largest: 0.005, 0.03, 0.05 at sigma 1, 4, 16 when written
    for sigma in (1.0, 4.0, 16.0):
        matrix = gaussian.gaussian_matrix(jax.random.PRNGKey(0), sigma, 64, dim=1)
        spectrum = np.asarray(ntk.spectrum(ntk.init_kernel(matrix, coords, jax.random.PRNGKey(1), width=64)))
        tails.append(spectrum[20] / spectrum[0])
    assert tails[0] * 3 < tails[1] < tails[2]
