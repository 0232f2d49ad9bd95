"""The multiresolution hash grid (Muller et al. 2022, Instant-NGP): trainable tables, then a small MLP.

The fixed, per-model part is a pure function of arrays: per level, the 2^d
table indices of the grid cell around each point of d coordinates and its
multilinear weights (``hashgrid_corners``), from the level resolutions (the model's ``matrix``).
The network (``HashGridMLP``) holds the trainable tables. The corner weights
are elementwise float32 arithmetic, the same on every backend.
"""

import dataclasses
import functools
import operator

import flax.linen as nn
import jax.numpy as jnp
import optax

from nerf_toy_jax import model
from nerf_toy_jax.encodings import base

HASH_PRIMES = (1, 2654435761, 805459861)  # per-axis primes of the spatial hash (Teschner et al. 2003; Instant-NGP)


def hashgrid_resolutions(coarsest, finest, levels):
    """Grid resolutions of the levels: ``floor(coarsest * b^l)``, b such that the last is ``finest``.

    Args:
      coarsest, finest: resolutions (cells per unit) of the first and last level.
      levels: number of levels L (>= 1; one level uses ``finest``).

    Returns:
      float32 [L] whole numbers, non-decreasing.
    """
    if levels == 1:
        return jnp.floor(jnp.asarray([finest], jnp.float32))
    growth = jnp.exp((jnp.log(finest) - jnp.log(coarsest)) / (levels - 1))
    # the small offset keeps exact powers (e.g. 4 * 2^l) from rounding down in float32
    return jnp.floor(coarsest * growth ** jnp.arange(levels, dtype=jnp.float32) + 1e-4)


def spatial_hash(corners, table_size):
    """Index of integer corners in a table of ``table_size`` (a power of two) entries:
    ``(c_0 * 1 XOR c_1 * 2654435761 XOR c_2 * 805459861) mod table_size`` in uint32 arithmetic.

    Args:
      corners: int32 [..., d], d <= 3.

    Returns:
      int32 [...].
    """
    hashed = corners[..., 0].astype(jnp.uint32) * jnp.uint32(HASH_PRIMES[0])
    for axis in range(1, corners.shape[-1]):
        hashed = hashed ^ corners[..., axis].astype(jnp.uint32) * jnp.uint32(HASH_PRIMES[axis])
    return (hashed & jnp.uint32(table_size - 1)).astype(jnp.int32)


def corner_offsets(dim):
    """The 2^d corners of a unit cell: int32 [2^d, d], corner c at ``(c >> a) & 1`` along axis a (axis 0
    fastest: (0, 0), (1, 0), (0, 1), (1, 1) in 2D)."""
    return jnp.asarray([[(c >> axis) & 1 for axis in range(dim)] for c in range(2 ** dim)], jnp.int32)


def hashgrid_corners(coords, resolutions, table_size):
    """Table indices and multilinear weights of the 2^d cell corners around each point, per level.

    At level l the point ``v`` in [0, 1]^d lies in the cell of ``floor(v * N_l)``
    on a grid of ``(N_l + 1)^d`` corners. A level whose corners fit the table
    (``(N_l + 1)^d <= table_size``) indexes it densely,
    ``c_0 + (N_l + 1) c_1 + (N_l + 1)^2 c_2``; a finer level hashes the corner
    (``spatial_hash``). d = 1, 2, 3: linear, bilinear, trilinear interpolation.

    Args:
      coords: [N, d] float32 in [0, 1].
      resolutions: [L] float32 whole numbers N_l (``hashgrid_resolutions``).
      table_size: entries per level's table, a power of two.

    Returns:
      (indices int32 [N, L, 2^d], weights float32 [N, L, 2^d]); corners in the
      order of ``corner_offsets``; the weights of a point sum to 1.
    """
    dim = coords.shape[-1]
    scaled = coords[:, None, :] * resolutions[None, :, None]  # [N, L, d]
    base = jnp.minimum(jnp.floor(scaled), resolutions[None, :, None] - 1)  # v = 1 stays in the last cell
    frac = scaled - base
    base = base.astype(jnp.int32)
    offsets = corner_offsets(dim)
    corners = base[:, :, None, :] + offsets  # [N, L, 2^d, d]
    side = resolutions.astype(jnp.int32)[None, :, None] + 1
    dense = corners[..., dim - 1]
    for axis in reversed(range(dim - 1)):
        dense = dense * side + corners[..., axis]
    hashed = spatial_hash(corners, table_size)
    fits = side.astype(jnp.float32) ** dim <= table_size  # float: (N_l + 1)^3 can pass the int32 range
    indices = jnp.where(fits, dense, hashed)
    factors = [jnp.where(offsets[:, axis] == 1, frac[..., axis:axis + 1], 1 - frac[..., axis:axis + 1])
               for axis in range(dim)]  # [N, L, 2^d] each
    return indices, functools.reduce(operator.mul, factors)


def hashgrid_features(tables, indices, weights):
    """Multilinear interpolation of table entries: the hash-grid features of N points.

    Args:
      tables: [L, T, F] per-level tables.
      indices, weights: [N, L, 2^d] from ``hashgrid_corners``.

    Returns:
      [N, L * F] float32: level-major, ``features[:, l * F:(l + 1) * F]`` from level l.
    """
    corners = tables[jnp.arange(tables.shape[0])[:, None], indices]  # [N, L, 4, F]
    return jnp.sum(weights[..., None] * corners, axis=-2).reshape(indices.shape[0], -1)


class HashGridMLP(nn.Module):
    """Multiresolution hash encoding with trainable tables, then a small ReLU MLP and a sigmoid.

    Each of ``levels`` levels holds a table of ``2^log2_table`` entries of
    ``features`` values, initialised U(-1e-4, 1e-4) as published; a point's
    feature at a level is the multilinear interpolation of its cell's 2^d
    corner entries (``hashgrid_corners``). The concatenated
    features [N, levels * features] feed ``MLP(depth, width)`` without BatchNorm.

    Attributes:
      levels, features, log2_table: L, F and T of the encoding.
      depth, width, channels: the MLP (published: 2 hidden layers of 64).
      dtype, precision: compute dtype and matmul precision of the MLP after its first layer (see ``MLP``);
        tables and interpolation stay float32.
    """

    levels: int = 8
    features: int = 2
    log2_table: int = 14
    depth: int = 3
    width: int = 64
    channels: int = 3
    dtype: str = "float32"
    precision: str = "default"
    batchnorm = False  # for the trainer: no batch statistics

    def inputs(self, coords, resolutions):
        """(indices int32 [N, L, 2^d], weights float32 [N, L, 2^d]) at the level ``resolutions`` [L]."""
        return hashgrid_corners(coords, resolutions, 2 ** self.log2_table)

    @nn.compact
    def __call__(self, inputs, train):
        """Maps ``inputs`` of N points to colours [N, channels] in (0, 1)."""
        indices, weights = inputs
        tables = self.param("tables", model.uniform(1e-4), (self.levels, 2 ** self.log2_table, self.features))
        features = hashgrid_features(tables, indices, weights)
        return model.MLP(depth=self.depth, width=self.width, channels=self.channels, batchnorm=False,
                         dtype=self.dtype, precision=self.precision)(features, train)


@dataclasses.dataclass(frozen=True)
class HashGrid(base.Encoding):
    """Hash-grid features [N, L F] from trainable tables, into a small MLP (``HashGridMLP``).

    Attributes:
      hashgrid_levels, hashgrid_features, hashgrid_log2_table: levels L,
        features F per level, 2^T table entries per level.
      hashgrid_coarsest, hashgrid_finest: resolutions (cells per unit) of
        the first and last level, geometric in between.
    """

    name = "hashgrid"
    scale_field = "hashgrid_finest"
    scale_label = "finest resolution (cells per image)"
    scale_symbol = "N"
    scale_reference = (1.0, "training-grid side")
    scale_range = (8.0, 16.0, 32.0, 64.0, 128.0)
    default_lr = 1e-2  # Instant-NGP's
    columns = ("hashgrid_finest",)
    trainable_features = True  # the interpolated table entries

    hashgrid_levels: int = 8
    hashgrid_features: int = 2
    hashgrid_log2_table: int = 14
    hashgrid_coarsest: float = 4.0
    hashgrid_finest: float = 64.0

    def __post_init__(self):
        super().__post_init__()
        if self.hashgrid_finest < self.hashgrid_coarsest:
            raise ValueError(f"hashgrid_finest ({self.hashgrid_finest}) must be at least hashgrid_coarsest "
                             f"({self.hashgrid_coarsest})")

    def stack_key(self, dim):
        return (self.name, self.hashgrid_levels, self.hashgrid_features, self.hashgrid_log2_table)

    def feature_dim(self, dim):
        return self.hashgrid_levels * self.hashgrid_features

    def matrix(self, key, dim):
        """The level resolutions, float32 [L]."""
        return hashgrid_resolutions(self.hashgrid_coarsest, self.hashgrid_finest, self.hashgrid_levels)

    def network(self, config, channels):
        return HashGridMLP(levels=self.hashgrid_levels, features=self.hashgrid_features,
                           log2_table=self.hashgrid_log2_table, channels=channels, dtype=config.compute_dtype,
                           precision=config.matmul_precision)

    @staticmethod
    def optimizer(lr):
        """Adam with Instant-NGP's beta2 = 0.99 and eps = 1e-15."""
        return optax.adam(lr, b1=0.9, b2=0.99, eps=1e-15)
