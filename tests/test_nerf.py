"""A NeRF in the stacked trainer: rays cut by the scene's box, rendering against analytic integrals, the views'
split and its Blender round trip, a tiny NeRF learning, stacks of NeRFs training as if alone, and the program."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import metrics, rays, scenes, signals, specs as specs_lib, state, train, views, volume

SIDE = 12
RENDER = {"samples": 16}


@pytest.fixture(scope="module")
def scene_views():
    return views.procedural(0, SIDE)


def test_rays_are_cut_where_they_cross_the_box():
    origins = np.array([[0.0, 0.0, 4.0], [-2.0, 0.0, 4.0], [0.3, -0.2, 0.1], [3.0, 0.0, 4.0]], np.float32)
    directions = np.array([[0, 0, -1], [0.6, 0, -0.8], [1, 0, 0], [0, 0, -1]], np.float32)
    near, far = map(np.asarray, volume.box_segments(origins, directions, 1.0))
    # straight down through the top face and out of the bottom; a slanted ray leaves by the side x = 1
    np.testing.assert_allclose([near[0], far[0]], [3.0, 5.0], rtol=1e-6)
    np.testing.assert_allclose([near[1], far[1]], [3.0 / 0.8, 3.0 / 0.6], rtol=1e-6)
    np.testing.assert_allclose([near[2], far[2]], [0.0, 0.7], rtol=1e-6, atol=1e-7)  # starts inside
    assert near[3] == far[3]  # misses the box


def test_a_constant_field_renders_its_analytic_transmittance():
    """Through a density sigma everywhere in the box, a ray's opacity is 1 - exp(-sigma d) over the length d of
    its segment inside the box, whatever the samples; the box maps onto the unit cube the network sees."""
    renderer = volume.Renderer(samples=7, bound=1.5, density_scale=2.0)
    colour = jnp.asarray([0.2, 0.6, 0.9])
    rays_ = jnp.asarray([[0.0, 0.0, 5.0, 0.0, 0.0, -1.0], [0.5, -1.0, 3.0, 0.0, 0.6, -0.8],
                         [0.0, 3.0, 5.0, 0.0, 0.0, -1.0]], jnp.float32)
    seen = []

    def field(points):
        seen.append(points)
        return jnp.broadcast_to(jnp.concatenate([colour, jnp.asarray([0.5])]), (points.shape[0], 4))

    rendered, opacity, _ = renderer(field, rays_, jax.random.PRNGKey(0))
    lengths = np.array([3.0, 2.5 / 0.6 - 1.5 / 0.8, 0.0])  # the second enters at the top, leaves at y = 1.5
    expected = 1.0 - np.exp(-1.0 * lengths)  # density_scale 2 x output 0.5
    np.testing.assert_allclose(opacity, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rendered, expected[:, None] * colour + (1 - expected[:, None]), rtol=1e-5)
    points = np.asarray(seen[0]).reshape(3, 7, 3)
    assert points.min() >= 0.0 and points.max() <= 1.0
    np.testing.assert_allclose(points[0, :, :2], 0.5)  # the ray down the middle of the box
    depths = (points[0, :, 2] - 0.5) * 3.0  # back to world z
    assert np.all(depths[:-1] > depths[1:]) and np.all(np.abs(depths) <= 1.5)


def test_the_views_split_holds_the_rays_of_every_pixel(scene_views):
    holdout = views.make_split(scene_views, "holdout", **RENDER)
    memorize = views.make_split(scene_views, "memorize", **RENDER)
    train_count, test_count, orbit_count = scenes.VIEWS
    assert holdout.train_coords.shape == (train_count, SIDE, SIDE, 6) and holdout.dim == 3 and holdout.outputs == 4
    assert holdout.test_pixels.shape == (test_count, SIDE, SIDE, 3) and holdout.image.shape[0] == orbit_count
    np.testing.assert_array_equal(memorize.test_pixels, memorize.train_pixels)
    camera = scene_views.test[1][2]
    origins, directions = rays.pixel_rays(SIDE, SIDE, rays.focal_length(SIDE, scenes.CAMERA_ANGLE_X), camera)
    np.testing.assert_allclose(holdout.test_coords[2], np.concatenate([origins, directions], -1), atol=1e-6)
    assert holdout.render == volume.Renderer(samples=16, bound=scenes.BOUND)
    # the orbit's truth depth: NaN exactly on the pixels that show the white background
    hit = np.isfinite(holdout.image_depth)
    assert hit.any() and not hit.all()
    white = np.all(np.abs(holdout.image - 1.0) < 1e-3, axis=-1)
    assert white.any() and not hit[white].any() and np.all(holdout.image[~hit] > 0.5 - 1e-3)
    with pytest.raises(ValueError, match="unknown split"):
        views.make_split(scene_views, "every", **RENDER)


def test_a_procedural_scene_round_trips_through_a_blender_folder(tmp_path):
    scenes.write_dataset(tmp_path, 2, 8)
    loaded = views.from_source(f"blender:{tmp_path}")
    made = views.procedural(2, 8)
    for split in ("train", "test", "orbit"):
        assert np.abs(getattr(loaded, split)[0] - getattr(made, split)[0]).max() <= 0.5 / 255 + 1e-6
        np.testing.assert_allclose(getattr(loaded, split)[1], getattr(made, split)[1], atol=1e-6)
    assert loaded.focal == pytest.approx(made.focal) and loaded.bound == scenes.BOUND
    assert loaded.orbit_depth is None
    with pytest.raises(ValueError, match="not a folder"):
        views.from_source(f"blender:{tmp_path}/missing")
    with pytest.raises(ValueError, match="is drawn from a seed"):
        views.from_source("scene:primitives")


@pytest.mark.slow
def test_a_tiny_nerf_learns_held_out_views_far_above_a_constant_colour(scene_views):
    split = views.make_split(scene_views, "holdout", **RENDER)
    config = state.TrainConfig(steps=200, eval_every=200, batch_size=256, batchnorm=False)
    spec = specs_lib.make_spec("hashgrid", hashgrid_log2_table=12, hashgrid_finest=32.0)
    result = train.train_stack([spec], split, config)
    constant = np.broadcast_to(split.train_pixels.reshape(-1, 3).mean(0), split.test_pixels.shape)
    baseline = float(metrics.psnr(jnp.asarray(constant), jnp.asarray(split.test_pixels)))
    assert result.scores["test_psnr"][0, -1] > baseline + 5.0
    assert set(result.scores) == set(signals.get("views").metrics)


@pytest.mark.slow
@pytest.mark.parametrize("stacking", state.STACKINGS[1:])
def test_a_stack_of_nerfs_trains_as_if_alone(scene_views, stacking):
    """Per model: its encoding, learning rate, minibatches and the stratified samples along their rays."""
    split = views.make_split(scene_views, "holdout", **RENDER)
    config = state.TrainConfig(steps=3, eval_every=3, batch_size=32, depth=2, width=16, batchnorm=False,
                               stacking=stacking)
    stack = [specs_lib.make_spec("gaussian", sigma=1.0, mapping_size=8, seed=0),
             specs_lib.make_spec("gaussian", sigma=4.0, mapping_size=8, seed=1, lr=3e-3)]
    together = train.train_stack(stack, split, config)
    for k, spec in enumerate(stack):
        alone = train.train_stack([spec], split, config)
        np.testing.assert_allclose(together.loss[k], alone.loss[0], rtol=1e-5)
        np.testing.assert_allclose(together.scores["test_psnr"][k], alone.scores["test_psnr"][0], rtol=1e-5)
        for mine, single in zip(jax.tree_util.tree_leaves(together.state.params),
                                jax.tree_util.tree_leaves(alone.state.params)):
            np.testing.assert_allclose(np.asarray(mine)[k], np.asarray(single)[0], rtol=1e-5, atol=1e-7)
    assert not np.allclose(together.loss[0], together.loss[1])
