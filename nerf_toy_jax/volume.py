"""Volume rendering along rays: stratified samples in bins and alpha compositing (Mildenhall et al. 2020).

A ray's segment [near, far] is cut into N equal bins; one sample lies in
each bin (at its centre, or at a uniform random place: stratified
sampling), and the density and colour at the sample stand for the whole
bin. Bin k's opacity is ``alpha_k = 1 - exp(-sigma_k delta)`` for the bin
width delta, the light reaching it ``T_k = prod_{j<k} (1 - alpha_j)``, and
the pixel ``sum_k T_k alpha_k c_k`` over a background of the remaining
``T_N``. A constant density sigma over the segment is therefore rendered
with opacity exactly ``1 - exp(-sigma (far - near))``, however many bins.

A ``Renderer`` makes a coordinate network a NeRF: rays [N, 6] (origin,
unit direction) are cut where they cross the scene's box [-bound, bound]^3,
sampled, and the network's outputs at the samples (colour, then density)
composited into pixel colours. The network sees positions mapped to the
unit cube [0, 1]^3, the domain of every encoding.
"""

import dataclasses

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


def surface_depth(depth, opacity):
    """The depth of rays (``composite``'s) that are at least half opaque, NaN for the others (the background)."""
    return jnp.where(opacity >= 0.5, depth, jnp.nan)


def box_segments(origins, directions, bound):
    """Where rays cross the box [-bound, bound]^3: (near, far) float32 [...] for ``origins``, ``directions``
    [..., 3], from 0 on (near = far for a ray that misses the box)."""
    directions = jnp.where(jnp.abs(directions) < 1e-9, 1e-9, directions)
    first, second = (-bound - origins) / directions, (bound - origins) / directions
    near = jnp.maximum(jnp.max(jnp.minimum(first, second), axis=-1), 0.0)
    far = jnp.maximum(jnp.min(jnp.maximum(first, second), axis=-1), near)
    return near, far


@dataclasses.dataclass(frozen=True)
class Renderer:
    """Volume rendering of a network's outputs along rays through a scene in [-bound, bound]^3.

    The network maps positions in [0, 1]^3 to C + 1 outputs: colour [C], then
    a density channel d, whose ``density_scale * max(d, 0)`` is the density per
    unit of length. The density channel of a network with a sigmoid output
    lies in (0, 1), so ``density_scale`` bounds the density; it must make a
    surface opaque within a few samples.

    Attributes:
      samples: samples per ray, one per equal bin of the ray's segment in the box.
      bound: half the side of the box the scene lies in.
      density_scale: density per unit of length of a density channel of 1.
      background: the colour behind the scene (white: 1).
    """

    samples: int = 64
    bound: float = 1.0
    density_scale: float = 30.0
    background: float = 1.0
    dim = 3  # coordinates of the points the network sees

    def __post_init__(self):
        if self.samples < 1:
            raise ValueError(f"samples must be at least 1, got {self.samples}")
        if not (self.bound > 0 and self.density_scale > 0):
            raise ValueError(f"bound and density_scale must be positive, got {self.bound}, {self.density_scale}")

    def points(self, rays, key=None):
        """The samples of ``rays`` [N, 6]: (positions [N, S, 3] in [0, 1]^3, near [N], far [N]); bin centres,
        or with a PRNG ``key`` stratified (``sample_depths``)."""
        origins, directions = rays[:, :3], rays[:, 3:]
        near, far = box_segments(origins, directions, self.bound)
        depths = sample_depths(near, far, self.samples, key)
        world = origins[:, None, :] + depths[..., None] * directions[:, None, :]
        return jnp.clip(0.5 * world / self.bound + 0.5, 0.0, 1.0), near, far

    def __call__(self, field, rays, key=None):
        """Renders ``rays`` [N, 6] through ``field(positions [P, 3] in [0, 1]^3) -> outputs [P, C + 1]``.

        Returns:
          (colour [N, C], opacity [N], depth [N]: the expected distance from the origin, ``far`` where
          nothing is hit), ``composite``'s.
        """
        positions, near, far = self.points(rays, key)
        outputs = field(positions.reshape(-1, 3)).reshape(positions.shape[:2] + (-1,))
        densities = self.density_scale * jnp.maximum(outputs[..., -1], 0.0)
        return composite(densities, outputs[..., :-1], near, far, self.background)
