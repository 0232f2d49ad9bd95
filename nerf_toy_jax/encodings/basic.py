"""The basic mapping ``[sin(2 pi v), cos(2 pi v)]`` (Tancik et al. 2020): Fourier features with B = I."""

import dataclasses

import jax.numpy as jnp

from nerf_toy_jax.encodings import base


def basic_matrix(dim=2):
    """``B = I``: [dim, dim] float32, one cycle per unit along each axis."""
    return jnp.eye(dim, dtype=jnp.float32)


@dataclasses.dataclass(frozen=True)
class Basic(base.Encoding):
    """Fourier features of B = I [2, 2] (4 features), into ``model.MLP``."""

    name = "basic"

    @property
    def stack_key(self):
        return ("fourier", 2)

    @property
    def feature_dim(self):
        return 4

    def matrix(self, key):
        return basic_matrix()
