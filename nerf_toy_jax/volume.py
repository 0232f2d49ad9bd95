"""Volume rendering along rays: stratified samples in bins and alpha compositing (Mildenhall et al. 2020).

A ray's segment [near, far] is cut into N equal bins; one sample lies in
each bin (at its centre, or at a uniform random place: stratified
sampling), and the density and colour at the sample stand for the whole
bin. Bin k's opacity is ``alpha_k = 1 - exp(-sigma_k delta)`` for the bin
width delta, the light reaching it ``T_k = prod_{j<k} (1 - alpha_j)``, and
the pixel ``sum_k T_k alpha_k c_k`` over a background of the remaining
``T_N``. A constant density sigma over the segment is therefore rendered
with opacity exactly ``1 - exp(-sigma (far - near))``, however many bins.
"""

import jax
import jax.numpy as jnp


def sample_depths(near, far, samples, key=None):
    """Depths of one sample per bin: float32 [..., N] for ``near``, ``far`` [...] (bin centres; with a PRNG
    ``key``, uniform within each bin)."""
    near, far = jnp.asarray(near, jnp.float32), jnp.asarray(far, jnp.float32)
    offsets = jnp.full(near.shape + (samples,), 0.5) if key is None else jax.random.uniform(key, near.shape + (samples,))
    return near[..., None] + (jnp.arange(samples) + offsets) * ((far - near) / samples)[..., None]


def composite(densities, colours, near, far, background=1.0):
    """The colour, opacity and expected depth of rays from the densities and colours of their N samples.

    Args:
      densities: float [..., N] >= 0, per unit of length.
      colours: float [..., N, C].
      near, far: float [...]: the segment the N equal bins cover.
      background: the colour behind the segment (white: 1).

    Returns:
      (colour [..., C], opacity [...] = 1 - T_N, depth [...]: the bins' centres weighted by T_k alpha_k, over
      the opacity; far where the ray hits nothing).
    """
    samples = densities.shape[-1]
    width = (far - near) / samples
    alpha = 1.0 - jnp.exp(-densities * width[..., None])
    light = jnp.cumprod(jnp.concatenate([jnp.ones_like(alpha[..., :1]), 1.0 - alpha[..., :-1]], axis=-1), axis=-1)
    weights = light * alpha
    opacity = jnp.sum(weights, axis=-1)
    colour = jnp.sum(weights[..., None] * colours, axis=-2) + (1.0 - opacity)[..., None] * background
    centres = near[..., None] + (jnp.arange(samples) + 0.5) * width[..., None]
    depth = jnp.where(opacity > 0, jnp.sum(weights * centres, axis=-1) / jnp.maximum(opacity, 1e-10), far)
    return colour, opacity, depth
