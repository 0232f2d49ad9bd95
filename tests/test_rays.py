"""Cameras and rays against a pinhole projection written out, and volume rendering against analytic integrals."""

import jax
import numpy as np

from nerf_toy_jax import rays, volume


def project(camera, focal, height, width, point):
    """A world point's image position (column, row) in pixels under the pinhole model, camera looking along -z."""
    local = np.linalg.inv(camera) @ np.append(point, 1.0)
    x, y, z = local[:3]
    return width / 2 + focal * x / -z, height / 2 - focal * y / -z


def test_a_ray_passes_through_the_points_that_project_into_its_pixel_centre():
    camera = rays.look_at((3.0, 1.0, 2.0))
    rotation = camera[:3, :3]
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(rotation), 1.0)
    height, width, focal = 6, 8, rays.focal_length(8, 0.7)
    origins, directions = rays.pixel_rays(height, width, focal, camera)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=-1), 1.0, rtol=1e-6)
    for row, column in [(0, 0), (2, 5), (5, 7)]:
        point = origins[row, column] + 3.7 * directions[row, column].astype(np.float64)
        np.testing.assert_allclose(project(camera, focal, height, width, point), (column + 0.5, row + 0.5),
                                   atol=1e-4)
    # the target is at the image's centre, a point above it (z up) in the upper half, one to the camera's right
    # (x of the camera's frame) in the right half
    assert np.allclose(project(camera, focal, height, width, np.zeros(3)), (width / 2, height / 2))
    assert project(camera, focal, height, width, np.array([0.0, 0.0, 0.3]))[1] < height / 2
    assert project(camera, focal, height, width, 0.3 * camera[:3, 0])[0] > width / 2
    # the field of view: the ray through the left edge's middle is camera_angle_x / 2 off the axis
    edge = np.array([-width / 2 / focal, 0.0, -1.0])
    assert np.isclose(np.arctan2(-edge[0], 1.0), 0.35)


def test_a_constant_density_is_rendered_with_the_analytic_transmittance():
    near, far, density, colour, background = 2.0, 5.0, 0.4, np.array([0.2, 0.5, 0.9]), 0.7
    expected_opacity = 1.0 - np.exp(-density * (far - near))
    for samples, key in [(1, None), (7, None), (64, jax.random.PRNGKey(0))]:
        shape = (3,)
        depths = volume.sample_depths(np.full(shape, near), np.full(shape, far), samples, key)
        edges = near + np.arange(samples + 1) * (far - near) / samples
        assert np.all((depths >= edges[:-1]) & (depths <= edges[1:]))
        colours, opacity, depth = volume.composite(np.full(shape + (samples,), density),
                                                   np.broadcast_to(colour, shape + (samples, 3)),
                                                   np.full(shape, near), np.full(shape, far), background)
        np.testing.assert_allclose(opacity, expected_opacity, rtol=1e-6)
        np.testing.assert_allclose(colours[0], colour * expected_opacity + background * (1 - expected_opacity),
                                   rtol=1e-6)


def test_two_slabs_and_an_opaque_wall():
    near, far, samples = 0.0, 4.0, 8  # the first 4 bins cover [0, 2), the last 4 [2, 4)
    first, second = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    densities = np.array([[0.3] * 4 + [1.1] * 4])
    colours = np.array([[first] * 4 + [second] * 4])
    colour, opacity, _ = volume.composite(densities, colours, np.array([near]), np.array([far]), background=0.0)
    through = np.exp(-0.3 * 2)
    np.testing.assert_allclose(colour[0], first * (1 - through) + second * through * (1 - np.exp(-1.1 * 2)),
                               rtol=1e-5)
    wall = np.zeros((1, samples))
    wall[0, 5] = 1e4  # bin 5 covers [2.5, 3): everything stops there
    _, opacity, depth = volume.composite(wall, colours, np.array([near]), np.array([far]))
    assert np.isclose(opacity[0], 1.0) and np.isclose(depth[0], 2.75)
    _, _, empty = volume.composite(np.zeros((1, samples)), colours, np.array([near]), np.array([far]))
    assert empty[0] == far
