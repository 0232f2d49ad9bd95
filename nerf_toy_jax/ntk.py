"""The empirical neural tangent kernel (NTK) of the coordinate network, by autodiff.

For a network ``f(x; theta)`` with one output, the empirical NTK at the
parameters ``theta`` is ``K(x, x') = <df(x)/dtheta, df(x')/dtheta>``. With
Fourier features the kernel at initialisation is (approximately) stationary,
``K(x, x') ~ k(x - x')``; a wider mapping (larger sigma, more octaves) gives
a narrower k and a flatter eigenvalue spectrum, so that high frequencies
are learned as fast as low ones (Tancik et al. 2020, sections 3-4).
"""

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from nerf_toy_jax import fourier
from nerf_toy_jax.model import MLP


def jacobian(model, params, features):
    """Jacobian of the scalar network output with respect to every parameter.

    Args:
      model: an ``MLP`` with one output channel and no BatchNorm.
      params: its parameters.
      features: [N, F] encoded inputs.

    Returns:
      float32 [N, P]: row n is d f(x_n) / d theta, parameters flattened by ``ravel_pytree``.
    """
    flat, unravel = ravel_pytree(params)

    def outputs(theta):
        return model.apply({"params": unravel(theta)}, features, train=False)[:, 0]

    return jax.jacrev(outputs)(flat)


def kernel(model, params, features):
    """Empirical NTK [N, N] float32 at ``params`` on the inputs ``features`` [N, F]: J J^T."""
    jac = jacobian(model, params, features)
    return jac @ jac.T


def network(depth=4, width=256):
    """The paper's MLP (no BatchNorm) with one output, as used for the NTK."""
    return MLP(depth=depth, width=width, channels=1, batchnorm=False)


def init_kernel(matrix, coords, key, depth=4, width=256):
    """NTK at a random initialisation of the network on encoded 1D or 2D coordinates.

    Args:
      matrix: the encoding matrix B [m, d], or None for raw coordinates.
      coords: [N, d] float32 coordinates.
      key: PRNG key of the initial weights.

    Returns:
      float32 [N, N].
    """
    features = fourier.encode(coords, matrix)
    model = network(depth, width)
    params = model.init(key, features[:1], train=False)["params"]
    return kernel(model, params, features)


def spectrum(matrix):
    """Eigenvalues of a symmetric kernel matrix [N, N], largest first, float32 [N]."""
    return jnp.linalg.eigvalsh(0.5 * (matrix + matrix.T))[::-1]
