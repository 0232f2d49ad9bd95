"""Input encodings of coordinates: pure functions of arrays, free of Flax and of global RNG.

Every Fourier-type mapping is one function of the coordinates and a matrix,

    gamma(v; B) = [sin(2 pi v B^T), cos(2 pi v B^T)],   v [N, d],  B [m, d],

and the encodings differ only in how ``B`` is built. Rows of ``B`` are
frequencies in cycles per unit of coordinate: on a grid of ``n`` pixels over
[0, 1) the Nyquist frequency is ``n / 2``. Because sigma and the seed change
only the *values* of ``B``, a sweep over them is a ``vmap`` over ``B``.

The identity ("none") feeds the raw coordinates to the network.

No encoding uses a matmul: the projection ``v B^T`` (``phases``) and the hash
grid's cell positions and weights are elementwise float32 arithmetic, so the
features are the same to float32 accuracy on CPU, GPU and TPU, whatever the
backend's default matmul precision.

Two later designs take trainable or per-model parameters inside the network
(``nerf_toy_jax.model``); their fixed, per-model parts are pure functions here:
- "hashgrid" (Muller et al. 2022): per level, the four table indices of the
  grid cell around each point and its bilinear weights
  (``hashgrid_corners``); the network holds the trainable tables.
- "siren" (Sitzmann et al. 2020): raw coordinates into sine layers whose
  first-layer frequency ``omega_0`` is a per-model array.
"""

import jax
import jax.numpy as jnp

ENCODINGS = ("none", "basic", "positional", "gaussian", "hashgrid", "siren")
CLASSIC = ENCODINGS[:4]  # the encodings of Tancik et al. (2020)
HASH_PRIMES = (1, 2654435761)  # per-axis primes of the spatial hash (Teschner et al. 2003; Instant-NGP)


def _split(values):
    """``(high, low)`` with ``high + low == values`` exactly; ``high`` keeps the leading 12 bits of the
    float32 significand (the low 12 bits cleared), so the product of two ``high`` parts is exact in float32."""
    bits = jax.lax.bitcast_convert_type(values, jnp.uint32) & jnp.uint32(0xFFFFF000)
    high = jax.lax.bitcast_convert_type(bits, jnp.float32)
    return high, values - high


def phases(coords, B):
    """The projection ``v B^T`` in cycles, reduced to [-0.5, 0.5], at full float32 accuracy on every backend.

    A matmul would run at the backend's default precision (TF32 on recent
    NVIDIA GPUs, bfloat16 passes on TPU), and even in float32 a projection of
    hundreds of cycles keeps only a few bits of its fraction, which is all that
    the sine sees. So the d products are taken elementwise, each split into an
    exact product of 12-bit halves, whose whole cycles are dropped exactly, and
    small correction terms; the sum is reduced again.

    Args:
      coords: [N, d] float32 coordinates.
      B: [m, d] float32 frequencies in cycles per unit.

    Returns:
      float32 [N, m], equal to ``v B^T`` modulo 1 within a few float32 ulps of 1.
    """
    v_high, v_low = _split(jnp.asarray(coords, jnp.float32)[:, None, :])  # [N, 1, d]
    b_high, b_low = _split(jnp.asarray(B, jnp.float32)[None, :, :])  # [1, m, d]
    exact = v_high * b_high
    terms = (exact - jnp.round(exact)) + (v_high * b_low + v_low * b_high + v_low * b_low)
    total = jnp.sum(terms, axis=-1)
    return total - jnp.round(total)


def fourier_features(coords, B):
    """Fourier feature mapping ``[sin(2 pi v B^T), cos(2 pi v B^T)]``, the projection by ``phases``.

    Args:
      coords: [N, d] float32 coordinates, in [0, 1) for images.
      B: [m, d] float32 frequencies in cycles per unit.

    Returns:
      [N, 2m] float32 in [-1, 1]: sines of all m projections, then cosines.
    """
    proj = 2.0 * jnp.pi * phases(coords, B)
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


def spatial_hash(ix, iy, table_size):
    """Index of the integer corner (ix, iy) in a table of ``table_size`` (a power of two) entries:
    ``(ix * 1 XOR iy * 2654435761) mod table_size`` in uint32 arithmetic. Returns int32."""
    hashed = ix.astype(jnp.uint32) * jnp.uint32(HASH_PRIMES[0]) ^ iy.astype(jnp.uint32) * jnp.uint32(HASH_PRIMES[1])
    return (hashed & jnp.uint32(table_size - 1)).astype(jnp.int32)


def hashgrid_corners(coords, resolutions, table_size):
    """Table indices and bilinear weights of the four cell corners around each point, per level.

    At level l the point ``v`` in [0, 1]^2 lies in the cell of ``floor(v * N_l)``
    on a grid of ``(N_l + 1)^2`` corners. A level whose corners fit the table
    (``(N_l + 1)^2 <= table_size``) indexes it densely, ``ix + (N_l + 1) iy``;
    a finer level hashes the corner (``spatial_hash``).

    Args:
      coords: [N, 2] float32 in [0, 1].
      resolutions: [L] float32 whole numbers N_l (``hashgrid_resolutions``).
      table_size: entries per level's table, a power of two.

    Returns:
      (indices int32 [N, L, 4], weights float32 [N, L, 4]); corners in the
      order (0, 0), (1, 0), (0, 1), (1, 1) along (axis 0, axis 1); the weights
      of a point sum to 1.
    """
    scaled = coords[:, None, :] * resolutions[None, :, None]  # [N, L, 2]
    base = jnp.minimum(jnp.floor(scaled), resolutions[None, :, None] - 1)  # v = 1 stays in the last cell
    frac = scaled - base
    base = base.astype(jnp.int32)
    offsets = jnp.asarray([[0, 0], [1, 0], [0, 1], [1, 1]], jnp.int32)
    corners = base[:, :, None, :] + offsets  # [N, L, 4, 2]
    side = resolutions.astype(jnp.int32)[None, :, None] + 1
    dense = corners[..., 0] + side * corners[..., 1]
    hashed = spatial_hash(corners[..., 0], corners[..., 1], table_size)
    indices = jnp.where(side * side <= table_size, dense, hashed)
    fx, fy = frac[..., 0:1], frac[..., 1:2]
    weights = jnp.concatenate([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], axis=-1)
    return indices, weights


def hashgrid_features(tables, indices, weights):
    """Bilinear interpolation of table entries: the hash-grid features of N points.

    Args:
      tables: [L, T, F] per-level tables.
      indices, weights: [N, L, 4] from ``hashgrid_corners``.

    Returns:
      [N, L * F] float32: level-major, ``features[:, l * F:(l + 1) * F]`` from level l.
    """
    corners = tables[jnp.arange(tables.shape[0])[:, None], indices]  # [N, L, 4, F]
    return jnp.sum(weights[..., None] * corners, axis=-2).reshape(indices.shape[0], -1)
