"""Surfaces of occupancy grids: marching cubes, and the PLY files that carry them to other programs.

A surface is (vertices float32 [V, 3], faces int32 [F, 3]): vertices in the
grid's coordinates on [0, 1) (``data.coordinate_grid``: voxel i of n at i / n),
faces as triples of vertex indices, outward normals by the right-hand rule.
"""

import io

import numpy as np

from nerf_toy_jax import rundir

LEVEL = 0.5  # occupancy at the surface


def surface(values, level=LEVEL):
    """The surface at ``level`` of an occupancy grid [X, Y, Z, 1] (scikit-image's marching cubes); the grid is
    taken as empty beyond its faces, so every surface is closed. Empty arrays when nothing crosses ``level``."""
    from skimage import measure  # the image sets' optional dependency

    volume = np.pad(np.asarray(values, np.float32)[..., 0], 1)
    if not volume.min() < level < volume.max():
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    vertices, faces, _, _ = measure.marching_cubes(volume, level, allow_degenerate=False)
    vertices = (vertices - 1.0) / np.asarray(values.shape[:3], np.float32)
    return vertices.astype(np.float32), faces[:, ::-1].astype(np.int32)  # marching_cubes' faces point inwards


def ply_bytes(vertices, faces):
    """A surface as a binary little-endian PLY file."""
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
              f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n")
    buffer = io.BytesIO()
    buffer.write(header.encode("ascii"))
    buffer.write(np.asarray(vertices, "<f4").tobytes())
    rows = np.zeros(len(faces), dtype=[("count", "u1"), ("indices", "<i4", (3,))])
    rows["count"], rows["indices"] = 3, faces
    buffer.write(rows.tobytes())
    return buffer.getvalue()


def write_ply(path, vertices, faces):
    """Writes a surface to ``path`` (``ply_bytes``) atomically."""
    rundir.write_bytes(path, ply_bytes(vertices, faces))
