"""Gaussian random Fourier features ``B = sigma N(0, 1)`` (Tancik et al. 2020)."""

import dataclasses

import jax
import jax.numpy as jnp

from nerf_toy_jax.encodings import base


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


@dataclasses.dataclass(frozen=True)
class Gaussian(base.Encoding):
    """Fourier features of a Gaussian B [m, d] (2m features), into ``model.MLP``.

    Attributes:
      sigma: standard deviation of B, cycles per unit.
      mapping_size: rows m of B.
    """

    name = "gaussian"
    scale_field = "sigma"
    scale_label = "sigma (cycles per image)"
    scale_symbol = "s"
    scale_reference = (0.5, "training-grid Nyquist")
    scale_range = (1.0, 1.78, 3.16, 5.62, 10.0, 17.8, 31.6, 56.2, 100.0)  # 10^(k / 4), to 3 digits
    columns = ("sigma", "mapping_size")

    sigma: float = 10.0
    mapping_size: int = 256

    def stack_key(self, dim):
        return ("fourier", self.mapping_size)  # the rows of B

    def feature_dim(self, dim):
        return 2 * self.mapping_size

    def matrix(self, key, dim):
        return gaussian_matrix(key, self.sigma, self.mapping_size, dim)
