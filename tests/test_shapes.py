"""3D occupancy: the shapes, IoU against NumPy, the samples near a surface, and meshes against the voxels."""

import numpy as np
import pytest
import skimage.data

from nerf_toy_jax import meshes, metrics, shapes, signals


def test_primitives_are_occupancy_drawn_from_their_seed_with_detail_down_to_a_voxel():
    values = shapes.primitives(5, 32)
    assert values.shape == (32, 32, 32, 1) and set(np.unique(values)) == {0.0, 1.0}
    np.testing.assert_array_equal(values, shapes.primitives(5, 32))
    assert not np.array_equal(values, shapes.primitives(6, 32))
    # the rods are as thin as the grid: some occupied voxels have no occupied neighbour along an axis
    inside = values[..., 0] > 0
    thin = np.zeros_like(inside)
    for axis in range(3):
        before, after = np.roll(inside, 1, axis), np.roll(inside, -1, axis)
        thin |= inside & ~before & ~after
    assert thin.any()


def test_blobs_are_scikit_images_and_sources_name_shapes():
    np.testing.assert_array_equal(
        shapes.blobs(2, 16)[..., 0],
        skimage.data.binary_blobs(16, blob_size_fraction=shapes.BLOB_SIZE, n_dim=3,
                                  volume_fraction=shapes.BLOB_VOLUME, rng=2))
    kind, values = signals.load("shape:blobs:2", 16)
    assert kind == "occupancy" and values.shape == (16, 16, 16, 1)
    assert shapes.from_source("video:clip") is None
    for source, message in [("shape:torus:0", "unknown shape 'torus'"), ("shape:blobs", "drawn from a seed")]:
        with pytest.raises(ValueError, match=message):
            shapes.from_source(source)
    with pytest.raises(ValueError, match="at least 4 voxels"):
        shapes.from_source("shape:blobs:0", 3)


def test_iou_and_the_iou_near_the_surface_against_numpy():
    rng = np.random.default_rng(0)
    target = shapes.blobs(1, 12)
    prediction = np.clip(target + rng.normal(0, 0.4, target.shape), 0, 1).astype(np.float32)
    inside, truth = prediction >= 0.5, target >= 0.5
    assert abs(float(metrics.iou(prediction, target)) - (inside & truth).sum() / (inside | truth).sum()) < 1e-6
    near = np.zeros(truth.shape[:3], bool)  # a sample whose neighbour along an axis is on the other side
    t = truth[..., 0]
    for i, j, k in np.ndindex(*t.shape):
        for axis in range(3):
            for step in (-1, 1):
                index = [i, j, k]
                index[axis] = min(max(index[axis] + step, 0), t.shape[axis] - 1)
                near[i, j, k] |= t[tuple(index)] != t[i, j, k]
    np.testing.assert_array_equal(np.asarray(metrics.near_surface(target))[..., 0], near)
    expected = (inside[..., 0] & t & near).sum() / ((inside[..., 0] | t) & near).sum()
    assert abs(float(metrics.surface_iou(prediction, target)) - expected) < 1e-6
    assert float(metrics.iou(np.zeros_like(target), np.zeros_like(target))) == 1.0


def test_a_surface_encloses_the_occupied_volume_and_round_trips_through_ply():
    values = shapes.primitives(0, 40)
    vertices, faces = meshes.surface(values)
    assert vertices.min() >= 0 and vertices.max() <= 1
    triangles = vertices[faces].astype(np.float64)  # the divergence theorem: outward faces give a positive volume
    volume = np.einsum("ij,ij->i", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2])).sum() / 6
    assert abs(volume - values.mean()) < 0.05 * values.mean()
    payload = meshes.ply_bytes(vertices, faces)
    header, _, body = payload.partition(b"end_header\n")
    assert f"element vertex {len(vertices)}".encode() in header and f"element face {len(faces)}".encode() in header
    read = np.frombuffer(body[:12 * len(vertices)], "<f4").reshape(-1, 3)
    rows = np.frombuffer(body[12 * len(vertices):], np.dtype([("n", "u1"), ("i", "<i4", (3,))]))
    np.testing.assert_array_equal(read, vertices)
    assert (rows["n"] == 3).all() and np.array_equal(rows["i"], faces)
    empty = meshes.surface(np.zeros((8, 8, 8, 1), np.float32))
    assert empty[0].shape == (0, 3) and empty[1].shape == (0, 3)


def test_a_shape_splits_on_the_finer_grid_and_is_drawn_as_slices():
    split = signals.make_split("occupancy", shapes.primitives(0, 16), "holdout")
    assert split.dim == 3 and split.train_pixels.shape == (8, 8, 8, 1) and split.test_pixels.shape == (8, 8, 8, 1)
    np.testing.assert_array_equal(split.test_coords[0, 0, 0], np.full(3, 1 / 16, np.float32))
    values = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6, 1) / 120
    picture = signals.get("occupancy").picture(values)
    assert picture.shape == (5, 6 + 1 + 6 + 1 + 5, 1)
    np.testing.assert_array_equal(picture[:5, :6], values[2])
    np.testing.assert_array_equal(picture[:4, 7:13], values[:, 2])
    np.testing.assert_array_equal(picture[:4, 14:], values[:, :, 3])
