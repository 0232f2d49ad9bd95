"""Pinhole cameras and the rays through their pixels, in the convention of NeRF's Blender datasets.

A camera is a camera-to-world matrix float [4, 4] (``transform_matrix`` of a
``transforms_*.json``): its columns are the camera's x (right), y (up) and z
axes and its position; the camera looks along its -z axis (OpenGL). A pixel
(row i, column j) of an image H x W is the ray through its centre, direction
in the camera's frame ``((j + 0.5 - W / 2) / f, -(i + 0.5 - H / 2) / f, -1)``
for the focal length f in pixels.
"""

import numpy as np


def focal_length(width, camera_angle_x):
    """The focal length in pixels of a camera whose horizontal field of view is ``camera_angle_x`` radians."""
    return 0.5 * width / np.tan(0.5 * camera_angle_x)


def look_at(position, target=(0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0)):
    """The camera-to-world matrix float64 [4, 4] of a camera at ``position`` looking at ``target``, its image's up
    direction as close to ``up`` as the view allows."""
    position, target, up = (np.asarray(value, np.float64) for value in (position, target, up))
    back = position - target
    back /= np.linalg.norm(back)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    matrix = np.eye(4)
    matrix[:3, :3] = np.stack([right, np.cross(back, right), back], axis=1)
    matrix[:3, 3] = position
    return matrix


def pixel_rays(height, width, focal, camera):
    """The rays through the pixel centres of one camera.

    Args:
      height, width: the image's pixels.
      focal: focal length in pixels.
      camera: camera-to-world matrix [4, 4].

    Returns:
      (origins float32 [H, W, 3], directions float32 [H, W, 3] of unit length), in world coordinates.
    """
    rows, columns = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    local = np.stack([(columns - width / 2) / focal, -(rows - height / 2) / focal, -np.ones_like(rows)], axis=-1)
    camera = np.asarray(camera, np.float64)
    directions = local @ camera[:3, :3].T
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    origins = np.broadcast_to(camera[:3, 3], directions.shape)
    return origins.astype(np.float32), directions.astype(np.float32)
