"""The Fourier feature map shared by "none", "basic", "positional" and "gaussian".

Every Fourier-type mapping is one function of the coordinates and a matrix,

    gamma(v; B) = [sin(2 pi v B^T), cos(2 pi v B^T)],   v [N, d],  B [m, d],

and those encodings differ only in how ``B`` is built (each in its own
module of ``nerf_toy_jax.encodings``). Rows of ``B`` are frequencies in cycles per unit of coordinate: on a
grid of ``n`` pixels over [0, 1) the Nyquist frequency is ``n / 2``. Because
sigma and the seed change only the *values* of ``B``, a sweep over them is a
map over ``B``. "none" (``B`` None) feeds the raw coordinates to the network.

The projection ``v B^T`` (``phases``) uses no matmul: it is elementwise
float32 arithmetic, so the features are the same to float32 accuracy on CPU,
GPU and TPU, whatever the backend's default matmul precision.
"""

import jax
import jax.numpy as jnp


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


def encode(coords, B):
    """Encode coordinates: the identity when ``B`` is None, else Fourier features.

    Args:
      coords: [N, d] float32.
      B: [m, d] float32 or None.

    Returns:
      [N, d] (identity) or [N, 2m] float32.
    """
    return coords if B is None else fourier_features(coords, B)
