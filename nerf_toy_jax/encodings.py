"""Input encodings of coordinates: pure functions of arrays, free of Flax and of global RNG.

Every Fourier-type mapping is one function of the coordinates and a matrix,

    gamma(v; B) = [sin(2 pi v B^T), cos(2 pi v B^T)],   v [N, d],  B [m, d],

and the encodings differ only in how ``B`` is built. Rows of ``B`` are
frequencies in cycles per unit of coordinate: on a grid of ``n`` pixels over
[0, 1) the Nyquist frequency is ``n / 2``. Because sigma and the seed change
only the *values* of ``B``, a sweep over them is a ``vmap`` over ``B``.

The identity ("none") feeds the raw coordinates to the network.
"""

import jax
import jax.numpy as jnp

ENCODINGS = ("none", "basic", "positional", "gaussian")


def fourier_features(coords, B):
    """Fourier feature mapping.

    Args:
      coords: [N, d] float32 coordinates, in [0, 1) for images.
      B: [m, d] float32 frequencies in cycles per unit.

    Returns:
      [N, 2m] float32 in [-1, 1]: sines of all m projections, then cosines.
    """
    proj = 2.0 * jnp.pi * coords @ B.T
    return jnp.concatenate([jnp.sin(proj), jnp.cos(proj)], axis=-1)


def identity(coords):
    """The "none" encoding: [N, d] coordinates unchanged."""
    return coords


def basic_matrix(dim=2):
    """Basic mapping ``[sin(2 pi v), cos(2 pi v)]``: ``B = I``, [dim, dim] float32."""
    return jnp.eye(dim, dtype=jnp.float32)


def nerf_frequencies(num_freqs):
    """Octave bands of NeRF and the original nerf-toy (``multires``).

    The band ``sin(pi 2^k v)`` for k = 0 .. num_freqs - 1 has ``2^(k - 1)``
    cycles per unit.

    Returns:
      [num_freqs] float32 frequencies in cycles per unit.
    """
    return 0.5 * 2.0 ** jnp.arange(num_freqs, dtype=jnp.float32)


def log_linear_frequencies(scale, num_freqs):
    """Tancik et al. (2020) positional frequencies ``2^linspace(0, scale, n) - 1``.

    Returns:
      [num_freqs] float32 frequencies in cycles per unit, from 0 to 2^scale - 1.
    """
    return 2.0 ** jnp.linspace(0.0, scale, num_freqs, dtype=jnp.float32) - 1.0


def positional_matrix(freqs, dim=2):
    """Axis-aligned frequencies: every frequency along every coordinate axis.

    Args:
      freqs: [F] frequencies in cycles per unit.
      dim: number of coordinate axes d.

    Returns:
      [d * F, d] float32; rows [a * F, (a + 1) * F) hold ``freqs`` on axis a.
    """
    freqs = jnp.asarray(freqs, jnp.float32)
    eye = jnp.eye(dim, dtype=jnp.float32)
    return (eye[:, None, :] * freqs[None, :, None]).reshape(dim * freqs.shape[0], dim)


def gaussian_matrix(key, sigma, mapping_size, dim=2):
    """Gaussian random Fourier features: ``B = sigma * N(0, 1)``.

    Args:
      key: a JAX PRNG key; the same key gives the same matrix.
      sigma: standard deviation in cycles per unit (a scalar, traceable).
      mapping_size: number of rows m.
      dim: number of coordinate axes d.

    Returns:
      [m, d] float32.
    """
    return sigma * jax.random.normal(key, (mapping_size, dim), jnp.float32)


def encode(coords, B):
    """Encode coordinates: the identity when ``B`` is None, else Fourier features.

    Args:
      coords: [N, d] float32.
      B: [m, d] float32 or None.

    Returns:
      [N, d] (identity) or [N, 2m] float32.
    """
    return identity(coords) if B is None else fourier_features(coords, B)
