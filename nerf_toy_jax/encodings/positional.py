"""Positional encoding: axis-aligned frequencies (NeRF's octaves, or Tancik et al. 2020's log-linear set)."""

import dataclasses

import jax.numpy as jnp

from nerf_toy_jax.encodings import base


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


@dataclasses.dataclass(frozen=True)
class Positional(base.Encoding):
    """Fourier features of ``positional_freqs`` frequencies per axis (rows d F of B), into ``model.MLP``.

    Attributes:
      positional_freqs: frequencies F per axis.
      positional_scale: frequencies ``2^linspace(0, scale, F) - 1`` (Tancik
        et al. 2020); None for the octaves ``2^(k - 1)``, k < F, of NeRF and
        the original nerf-toy (``sin(pi 2^k v)``).
    """

    name = "positional"
    columns = ("positional_freqs", "positional_scale")
    non_negative = ("positional_scale",)

    positional_freqs: int = 128
    positional_scale: float | None = 6.0

    def stack_key(self, dim):
        return ("fourier", dim * self.positional_freqs)  # the rows of B

    def feature_dim(self, dim):
        return 2 * dim * self.positional_freqs

    def matrix(self, key, dim):
        if self.positional_scale is None:
            return positional_matrix(nerf_frequencies(self.positional_freqs), dim)
        return positional_matrix(log_linear_frequencies(self.positional_scale, self.positional_freqs), dim)
