"""A procedural 3D scene with analytic density and colour, and its views rendered with many samples per ray.

The scene, inside the cube [-1, 1]^3, is three primitives with textures at
three frequencies, placed from a seed: a ball with stripes along z
(``STRIPES`` cycles per unit), a box with a checkerboard (``CHECKERS``
cells per unit) and a small ball with fine rings (``RINGS`` cycles per unit).
Each primitive's density is ``DENSITY`` inside, falling to 0 over about
``SOFTNESS`` across its surface; where primitives overlap, colours mix by
density. Cameras sit on a sphere of radius ``RADIUS`` around the origin
looking at it (``rays.look_at``, z up): training views spread over the
upper hemisphere, test views between them, and an orbit for videos.
"""

import dataclasses
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax import blender, rays, rundir, volume

DENSITY = 40.0  # per unit of length, inside a primitive: a surface lets through exp(-40 * 0.1) = 2 % in 0.1
SOFTNESS = 0.02  # units over which a surface's density rises
STRIPES, CHECKERS, RINGS = 2.0, 5.0, 10.0  # frequencies of the three textures, per unit of length
RADIUS = 4.0  # of the sphere the cameras sit on
BOUND = 1.0  # the scene lies in [-BOUND, BOUND]^3: no primitive reaches further than 0.9 from the origin
NEAR, FAR = RADIUS - 1.8, RADIUS + 1.8  # every ray's segment: the scene's cube lies within 1.8 of the origin
CAMERA_ANGLE_X = 0.5  # horizontal field of view in radians: 2.1 units across at the origin
TRUTH_SAMPLES = 1024  # samples per ray of the ground-truth views
EDGE = 4.0  # steepness of the textures' edges (``_square``)


@dataclasses.dataclass(frozen=True)
class Scene:
    """The parameters of a scene (``make``), all in units of the cube [-1, 1]^3.

    Attributes:
      ball: (x, y, z, radius) of the striped ball; ball_colours: its two colours (RGB in [0, 1]).
      box: (x, y, z, half width, half depth, half height) of the checkered box; box_colours: its two colours.
      bead: (x, y, z, radius) of the ringed ball; bead_colours: its two colours.
    """

    ball: tuple
    ball_colours: tuple
    box: tuple
    box_colours: tuple
    bead: tuple
    bead_colours: tuple


def make(seed):
    """The scene drawn from ``seed``."""
    rng = np.random.default_rng(seed)

    def colours():
        return tuple(tuple(float(v) for v in rng.uniform(0.05, 0.95, 3)) for _ in range(2))

    def floats(values):
        return tuple(float(v) for v in values)

    return Scene(ball=floats([*rng.uniform(-0.3, 0.3, 2), rng.uniform(-0.2, 0.2), rng.uniform(0.45, 0.6)]),
                 ball_colours=colours(),
                 box=floats([*rng.uniform(-0.45, 0.45, 3), *rng.uniform(0.2, 0.4, 3)]), box_colours=colours(),
                 bead=floats([*rng.uniform(-0.6, 0.6, 3), rng.uniform(0.2, 0.3)]), bead_colours=colours())


def _mix(parameter, colours):
    """Colours [..., 3] between two colours by a parameter [...] in [0, 1]."""
    first, second = (jnp.asarray(colour, jnp.float32) for colour in colours)
    return first + parameter[..., None] * (second - first)


def _square(wave):
    """A wave in [-1, 1] made nearly square and mapped to [0, 1]: sharp texture edges that stay smooth at the
    ground truth's sampling (a step would alias between two sample counts)."""
    return 0.5 + 0.5 * jnp.tanh(EDGE * wave)


def field(scene, points):
    """Density float32 [...] and colour float32 [..., 3] at ``points`` [..., 3]."""
    points = jnp.asarray(points, jnp.float32)

    def occupancy(inside):  # a signed distance, positive inside, to a density
        return DENSITY * jax.nn.sigmoid(inside / SOFTNESS * 4.0)

    ball = jnp.asarray(scene.ball, jnp.float32)
    ball_density = occupancy(ball[3] - jnp.linalg.norm(points - ball[:3], axis=-1))
    ball_colour = _mix(_square(jnp.sin(2 * jnp.pi * STRIPES * points[..., 2])), scene.ball_colours)
    box = jnp.asarray(scene.box, jnp.float32)
    box_density = occupancy(-jnp.max(jnp.abs(points - box[:3]) - box[3:], axis=-1))
    cells = jnp.prod(jnp.sin(jnp.pi * CHECKERS * (points - box[:3])), axis=-1)
    box_colour = _mix(_square(cells), scene.box_colours)
    bead = jnp.asarray(scene.bead, jnp.float32)
    offset = points - bead[:3]
    bead_density = occupancy(bead[3] - jnp.linalg.norm(offset, axis=-1))
    rings = jnp.linalg.norm(offset[..., :2], axis=-1)
    bead_colour = _mix(0.5 + 0.5 * jnp.cos(2 * jnp.pi * RINGS * rings), scene.bead_colours)
    densities = jnp.stack([ball_density, box_density, bead_density], axis=-1)
    colours = jnp.stack([ball_colour, box_colour, bead_colour], axis=-2)
    total = jnp.sum(densities, axis=-1)
    colour = jnp.sum(densities[..., None] * colours, axis=-2) / jnp.maximum(total, 1e-6)[..., None]
    return total, colour


def cameras(count, elevation_range, offset=0.0):
    """Camera-to-world matrices [count, 4, 4] on the sphere of ``RADIUS``, looking at the origin: a Fibonacci
    spiral over elevations ``elevation_range`` (radians), turned by ``offset`` (a fraction of a full turn
    between consecutive cameras)."""
    low, high = elevation_range
    golden = np.pi * (3.0 - np.sqrt(5.0))
    heights = np.sin(low) + (np.arange(count) + 0.5) / count * (np.sin(high) - np.sin(low))
    azimuths = golden * (np.arange(count) + offset)
    ring = np.sqrt(1.0 - heights ** 2)
    positions = RADIUS * np.stack([ring * np.cos(azimuths), ring * np.sin(azimuths), heights], axis=-1)
    return np.stack([rays.look_at(position) for position in positions])


def orbit(count, elevation=np.pi / 6):
    """``count`` cameras [count, 4, 4] evenly around the scene at one ``elevation`` (radians)."""
    azimuths = 2 * np.pi * np.arange(count) / count
    positions = RADIUS * np.stack([np.cos(elevation) * np.cos(azimuths), np.cos(elevation) * np.sin(azimuths),
                                   np.full(count, np.sin(elevation))], axis=-1)
    return np.stack([rays.look_at(position) for position in positions])


@functools.partial(jax.jit, static_argnames=("scene", "samples"))
def _render_rays(origins, directions, *, scene, samples):
    """Colour [..., 3] and depth [...] (``volume.surface_depth``) of rays [..., 3] through ``scene``, ``samples``
    bin centres each."""
    near = jnp.full(origins.shape[:-1], NEAR)
    far = jnp.full(origins.shape[:-1], FAR)
    depths = volume.sample_depths(near, far, samples)
    points = origins[..., None, :] + depths[..., None] * directions[..., None, :]
    densities, colours = field(scene, points)
    colour, opacity, depth = volume.composite(densities, colours, near, far)
    return colour, volume.surface_depth(depth, opacity)


def render_view(scene, camera, size, samples=TRUTH_SAMPLES, rows_per_call=8):
    """One view of ``scene`` from ``camera`` [4, 4], ``size`` x ``size`` pixels on white, with ``samples``
    bin-centre samples per ray: (colour float32 [size, size, 3] in [0, 1], depth float32 [size, size]: the
    expected distance along each ray, NaN where it is less than half opaque)."""
    origins, directions = rays.pixel_rays(size, size, rays.focal_length(size, CAMERA_ANGLE_X), camera)
    parts = [_render_rays(origins[top:top + rows_per_call], directions[top:top + rows_per_call], scene=scene,
                          samples=samples) for top in range(0, size, rows_per_call)]
    return tuple(np.concatenate([np.asarray(part[index]) for part in parts]) for index in (0, 1))


VIEWS = (24, 8, 24)  # training, test and orbit views of a dataset


def camera_splits(counts=VIEWS):
    """{"train", "test", "orbit"}: cameras [n, 4, 4] of ``counts`` = (training views over elevations 5 to 80
    degrees, test views between them, orbit views at 30 degrees)."""
    train, test, turn = counts
    return {"train": cameras(train, np.radians((5.0, 80.0))),
            "test": cameras(test, np.radians((10.0, 75.0)), offset=0.5), "orbit": orbit(turn)}


def render_views(scene, matrices, size):
    """Views of ``scene`` from cameras [n, 4, 4] (``render_view``): (colours float32 [n, size, size, 3],
    depths float32 [n, size, size])."""
    views = [render_view(scene, camera, size) for camera in matrices]
    return np.stack([colour for colour, _ in views]), np.stack([depth for _, depth in views])


def write_dataset(folder, seed, size, counts=VIEWS):
    """Renders the scene of ``seed`` into a Blender-style dataset (``blender``): the views of
    ``camera_splits(counts)`` at ``size`` pixels, and scene.json with the scene's parameters and the constants
    that made it."""
    scene = make(seed)
    for split, matrices in camera_splits(counts).items():
        blender.write(folder, split, render_views(scene, matrices, size)[0], matrices, CAMERA_ANGLE_X)
    rundir.write_json(pathlib.Path(folder) / "scene.json", {
        "seed": seed, "size": size, "scene": dataclasses.asdict(scene), "density": DENSITY, "softness": SOFTNESS,
        "frequencies": {"stripes": STRIPES, "checkers": CHECKERS, "rings": RINGS}, "radius": RADIUS,
        "bound": BOUND, "near": NEAR, "far": FAR, "samples": TRUTH_SAMPLES})
