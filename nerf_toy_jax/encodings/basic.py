"""The basic mapping ``[sin(2 pi v), cos(2 pi v)]`` (Tancik et al. 2020): Fourier features with B = I."""

import dataclasses

import jax.numpy as jnp

from nerf_toy_jax.encodings import base


def basic_matrix(dim=2):
    """``B = I``: [dim, dim] float32, one cycle per unit along each axis."""
    return jnp.eye(dim, dtype=jnp.float32)


@dataclasses.dataclass(frozen=True)
class Basic(base.Encoding):
    """Fourier features of B = I [d, d] (2d features), into ``model.MLP``."""

    name = "basic"

    def stack_key(self, dim):
        return ("fourier", dim)  # the rows of B

    def feature_dim(self, dim):
        return 2 * dim

    def matrix(self, key, dim):
        return basic_matrix(dim)
