"""The procedural scene: deterministic, converged ground truth, cameras around it, and the Blender format."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from nerf_toy_jax import blender, scenes


def test_the_scene_is_drawn_from_its_seed_with_density_inside_its_primitives():
    scene = scenes.make(3)
    assert scene == scenes.make(3) and scene != scenes.make(4)
    points = np.array([scene.ball[:3], scene.box[:3], scene.bead[:3], [1.9, 1.9, 1.9]])
    densities, colours = scenes.field(scene, points)
    densities = np.asarray(densities)
    assert np.all(densities[:3] > 0.99 * scenes.DENSITY) and densities[3] < 1e-6
    assert np.all((np.asarray(colours) >= 0) & (np.asarray(colours) <= 1))


def test_cameras_sit_on_the_sphere_and_look_at_the_scene():
    cameras = scenes.cameras(12, np.radians((5.0, 80.0)))
    positions = cameras[:, :3, 3]
    np.testing.assert_allclose(np.linalg.norm(positions, axis=-1), scenes.RADIUS)
    elevations = np.degrees(np.arcsin(positions[:, 2] / scenes.RADIUS))
    assert elevations.min() >= 5 and elevations.max() <= 80
    np.testing.assert_allclose(-cameras[:, :3, 2], -positions / scenes.RADIUS, atol=1e-12)  # -z towards the origin
    orbit = scenes.orbit(8)
    np.testing.assert_allclose(orbit[:, 2, 3], scenes.RADIUS * np.sin(np.pi / 6))
    assert not np.allclose(scenes.cameras(4, (0.1, 1.0))[:, :3, 3], scenes.cameras(4, (0.1, 1.0), 0.5)[:, :3, 3])


def test_the_ground_truth_has_converged_in_its_samples_and_sees_the_scene():
    scene, camera = scenes.make(0), scenes.cameras(1, (0.5, 0.6))[0]
    colour, depth = scenes.render_view(scene, camera, 16)
    finer, _ = scenes.render_view(scene, camera, 16, samples=2 * scenes.TRUTH_SAMPLES)
    assert np.abs(colour - finer).max() < 1.0 / 255
    hit = np.isfinite(depth)
    assert hit.any() and not hit.all()  # the scene against the white background
    white = np.all(np.abs(colour - 1.0) < 1e-3, axis=-1)  # rays that meet nothing
    assert white.any() and not hit[white].any() and np.all(colour[~hit] > 0.5 - 1e-3)  # at most half opaque
    assert np.all(depth[hit] > scenes.RADIUS - 1.8) and np.all(depth[hit] < scenes.RADIUS + 1.0)


def test_a_dataset_round_trips_through_the_blender_format(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 8, 8, 3)).astype(np.float32)
    cameras = scenes.cameras(3, (0.2, 1.0))
    blender.write(tmp_path, "train", images, cameras, 0.5)
    loaded, matrices, angle = blender.load(tmp_path, "train")
    assert np.abs(loaded - images).max() <= 0.5 / 255 + 1e-6 and angle == 0.5
    np.testing.assert_allclose(matrices, cameras, rtol=1e-6)
    record = json.loads((tmp_path / "transforms_train.json").read_text())
    assert record["frames"][1]["file_path"] == "./train/r_1"
    # Blender's own PNGs are RGBA: a transparent pixel is white, a half-transparent one half its colour
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    rgba[0, 1] = (0, 0, 0, 128)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    (tmp_path / "train" / "r_0.png").write_bytes(buffer.getvalue())
    loaded, _, _ = blender.load(tmp_path, "train")
    np.testing.assert_allclose(loaded[0, 0, 0], (1, 0, 0))
    np.testing.assert_allclose(loaded[0, 0, 1], 1 - 128 / 255, rtol=1e-6)
    np.testing.assert_allclose(loaded[0, 1, 1], 1.0)
    with pytest.raises(ValueError, match="holds no transforms_val.json"):
        blender.load(tmp_path, "val")


def test_the_dataset_generator_is_deterministic(tmp_path):
    scenes.write_dataset(tmp_path / "a", 1, 8, counts=(2, 1, 2))
    scenes.write_dataset(tmp_path / "b", 1, 8, counts=(2, 1, 2))
    files = sorted(path.relative_to(tmp_path / "a") for path in (tmp_path / "a").rglob("*") if path.is_file())
    assert len(files) == 2 + 1 + 2 + 3 + 1
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    images, cameras, angle = blender.load(tmp_path / "a", "test")
    assert images.shape == (1, 8, 8, 3) and angle == scenes.CAMERA_ANGLE_X
    colour, _ = scenes.render_view(scenes.make(1), cameras[0], 8)
    assert np.abs(images[0] - colour).max() <= 0.5 / 255 + 1e-6
