"""3D shapes made locally, as occupancy on a grid: unions of primitives with fine detail, and scikit-image's blobs.

Every shape is float32 [n, n, n, 1]: 1 inside, 0 outside, at the grid's
coordinates ``(i, j, k) / n`` (``data.coordinate_grid``). The same name, seed
and n always give the same voxels. A shape is reachable as a source string
wherever a signal is taken: ``shape:primitives:SEED``, ``shape:blobs:SEED``.
"""

import numpy as np

from nerf_toy_jax import data, sources

NAMES = ("primitives", "blobs")
DEFAULT_SIDE = 48  # voxels along each axis when no size is given
ROD_RADIUS = 0.025  # of the thin rods, in units of the grid's side: a voxel of a 48-voxel grid is 0.021
BUMPS = 8  # bumps of the bumpy ball around each of its angles
BLOB_SIZE = 0.15  # scikit-image's blob_size_fraction
BLOB_VOLUME = 0.3  # scikit-image's volume_fraction


def _segment_distance(points, start, end):
    """Distance of ``points`` [..., 3] from the segment ``start``-``end``."""
    direction = end - start
    along = np.clip(((points - start) @ direction) / (direction @ direction), 0.0, 1.0)
    return np.linalg.norm(points - start - along[..., None] * direction, axis=-1)


def primitives(seed, n):
    """A union of primitives drawn from ``seed``: two balls, a box, a ball with ``BUMPS`` x ``BUMPS`` bumps
    (radius 1 +- 0.25 of its mean) and four thin rods of radius ``ROD_RADIUS`` that cross the scene: detail
    from the size of the scene down to a voxel."""
    rng = np.random.default_rng(seed)
    points = data.coordinate_grid(n, n, n).astype(np.float64)
    inside = np.zeros((n, n, n), bool)
    for _ in range(2):
        centre, radius = rng.uniform(0.3, 0.7, 3), rng.uniform(0.12, 0.22)
        inside |= np.linalg.norm(points - centre, axis=-1) < radius
    centre, half = rng.uniform(0.3, 0.7, 3), rng.uniform(0.08, 0.2, 3)
    inside |= np.all(np.abs(points - centre) < half, axis=-1)
    centre, radius = rng.uniform(0.35, 0.65, 3), rng.uniform(0.18, 0.26)
    offset = points - centre
    distance = np.linalg.norm(offset, axis=-1)
    polar = np.arccos(np.clip(offset[..., 2] / np.maximum(distance, 1e-12), -1.0, 1.0))
    azimuth = np.arctan2(offset[..., 1], offset[..., 0])
    inside |= distance < radius * (1.0 + 0.25 * np.sin(BUMPS * polar) * np.sin(BUMPS * azimuth))
    for _ in range(4):
        start, end = rng.uniform(0.05, 0.95, (2, 3))
        inside |= _segment_distance(points, start, end) < ROD_RADIUS
    return inside.astype(np.float32)[..., None]


def blobs(seed, n):
    """scikit-image's ``binary_blobs`` in 3D (``BLOB_SIZE``, ``BLOB_VOLUME``) from ``seed``."""
    try:
        import skimage.data
    except ImportError:
        raise ValueError("shape:blobs needs scikit-image: pip install scikit-image") from None
    values = skimage.data.binary_blobs(length=n, blob_size_fraction=BLOB_SIZE, n_dim=3, volume_fraction=BLOB_VOLUME,
                                       rng=seed)
    return values.astype(np.float32)[..., None]


def from_source(source, n=None):
    """The shape of a source string ``shape:NAME:SEED`` with ``n`` voxels a side (None: ``DEFAULT_SIDE``),
    or None when ``source`` names no shape."""
    parsed = sources.parse(source, "shape", NAMES, seeded=NAMES)
    if parsed is None:
        return None
    n = n or DEFAULT_SIDE
    if n < 4:
        raise ValueError(f"a shape needs at least 4 voxels a side, got {n}")
    name, seed = parsed
    return {"primitives": primitives, "blobs": blobs}[name](seed, n)
