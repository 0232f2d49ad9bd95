"""The stacked trainer: per-model independence, determinism, divergence, BatchNorm
evaluation, and learning."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import data, encodings, signals, specs as specs_lib, state, train

IMAGE = data.load_image(size=24)
MEMORIZE = data.make_split(IMAGE, "memorize")
MINIBATCH = state.TrainConfig(steps=12, eval_every=6, depth=3, width=32, batch_size=128)
SPECS = [
    specs_lib.make_spec("gaussian", sigma=5.0, mapping_size=16, seed=0),
    specs_lib.make_spec("gaussian", sigma=10.0, mapping_size=16, seed=1, lr=3e-3),
    specs_lib.make_spec("positional", positional_freqs=8, positional_scale=3.0, seed=2),
    specs_lib.make_spec("gaussian", sigma=10.0, mapping_size=16, seed=3, lr=1e30),  # diverges
]
HEALTHY = SPECS[:3] + [dataclasses.replace(SPECS[3], lr=1e-3)]
# the two ways a stack runs: one after another (CPU's default) and side by side (accelerators' default)
STACKINGS = ("map", "vmap")


@pytest.fixture(scope="module", params=STACKINGS)
def config(request):
    return dataclasses.replace(MINIBATCH, stacking=request.param)


@pytest.fixture(scope="module")
def stacked(config):
    return train.train_stack(SPECS, MEMORIZE, config)


@pytest.fixture(scope="module")
def alone():
    return [train.train_stack([spec], MEMORIZE, MINIBATCH) for spec in SPECS]  # K = 1 runs unbatched


def leaves(tree, index):
    return [np.asarray(leaf)[index] for leaf in jax.tree_util.tree_leaves(tree)]


def test_stacked_models_train_as_if_alone(stacked, alone):
    """Learning rates, BatchNorm statistics, optimiser states and minibatch keys are per model."""
    for k in range(3):
        for together, single in zip(leaves(stacked.variables, k), leaves(alone[k].variables, 0)):
            np.testing.assert_allclose(together, single, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(stacked.loss[k], alone[k].loss[0], rtol=1e-4)
        np.testing.assert_allclose(stacked.scores["test_psnr"][k], alone[k].scores["test_psnr"][0], rtol=1e-4)
    assert not np.allclose(stacked.loss[0], stacked.loss[1])


def test_a_sweep_gives_its_models_in_the_order_of_its_specs(alone):
    """Specs of two shapes, interleaved: the sweep trains two stacks and gives each spec's curves, row and
    network where the spec was, as each trains alone."""
    specs = [SPECS[0], specs_lib.make_spec("none", seed=5), SPECS[1]]
    sweep = train.train_sweep(specs, MEMORIZE, MINIBATCH)
    assert [len(stack.specs) for stack in sweep.stacks] == [2, 1] and sweep.positions == [(0, 0), (1, 0), (0, 1)]
    assert sweep.specs == specs
    rows = sweep.rows()
    assert [(row["index"], row["label"], row["seed"]) for row in rows] == [(0, "gaussian s=5", 0), (1, "none", 5),
                                                                          (2, "gaussian s=10", 1)]
    none = train.train_stack([specs[1]], MEMORIZE, MINIBATCH)
    for index, single in ((0, alone[0]), (1, none), (2, alone[1])):
        np.testing.assert_allclose(sweep.scores("test_psnr")[index], single.scores["test_psnr"][0], rtol=1e-4)
        assert np.abs(sweep.frames()[index].astype(int) - single.frames[0]).max() <= 1
        assert rows[index]["test_psnr"] == pytest.approx(float(single.scores["test_psnr"][0, -1]), rel=1e-4)
        spec, variables, _ = sweep.model(index)
        assert spec == specs[index]
        for ours, theirs in zip(jax.tree_util.tree_leaves(variables), leaves(single.variables, 0)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_divergence_is_flagged_and_frozen(stacked):
    assert stacked.diverged.tolist() == [False, False, False, True]
    step = stacked.diverged_step[3]
    assert 0 <= step < MINIBATCH.steps and stacked.diverged_step[:3].tolist() == [-1, -1, -1]
    assert np.all(np.isnan(stacked.loss[3, step + 1:]))
    assert np.all(np.isfinite(stacked.loss[:3]))
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves(stacked.variables["params"], 3))


def test_a_diverged_model_leaves_its_stack_mates_bit_identical(stacked, config):
    healthy = train.train_stack(HEALTHY, MEMORIZE, config)
    assert not healthy.diverged.any()
    for k in range(3):
        for beside_diverged, beside_healthy in zip(leaves(stacked.state, k), leaves(healthy.state, k)):
            np.testing.assert_array_equal(beside_diverged, beside_healthy)
        np.testing.assert_array_equal(stacked.loss[k], healthy.loss[k])
        np.testing.assert_array_equal(stacked.scores["test_psnr"][k], healthy.scores["test_psnr"][k])
        np.testing.assert_array_equal(stacked.frames[k], healthy.frames[k])


def test_identical_seeds_give_identical_results(stacked, config):
    again = train.train_stack(SPECS, MEMORIZE, config)
    for first, second in zip(jax.tree_util.tree_leaves(stacked.variables), jax.tree_util.tree_leaves(again.variables)):
        np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(stacked.scores["test_psnr"], again.scores["test_psnr"])
    np.testing.assert_array_equal(stacked.frames, again.frames)


def test_resuming_a_partial_stack_ends_bit_for_bit_where_an_uninterrupted_one_ends(stacked, config):
    partial = train.train_stack(SPECS, MEMORIZE, config, should_stop=lambda: True)
    assert partial.steps_done == config.eval_every
    resumed = train.train_stack(SPECS, MEMORIZE, config, resume_from=partial)
    for name in ("loss", "frames", "diverged_step"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(stacked, name), err_msg=name)
    for name, values in stacked.scores.items():
        np.testing.assert_array_equal(resumed.scores[name], values, err_msg=name)
    for first, second in zip(jax.tree_util.tree_leaves(resumed.state), jax.tree_util.tree_leaves(stacked.state)):
        np.testing.assert_array_equal(first, second)


def test_result_shapes(stacked):
    assert stacked.eval_steps.tolist() == [0, 6, 12]
    assert stacked.loss.shape == (4, 12)
    assert stacked.scores["test_ssim"].shape == (4, 3)
    assert stacked.frames.shape == (4, 3, 24, 24, 3) and stacked.frames.dtype == np.uint8
    assert stacked.matrices.shape == (4, 16, 2)


@pytest.mark.slow
def test_gaussian_features_beat_no_mapping_by_10_db():
    image = data.load_image(size=32)
    split = data.make_split(image, "memorize")
    config = state.TrainConfig(steps=300, eval_every=150, depth=3, width=64)
    specs = specs_lib.make_grid(["none", "gaussian"], params={"mapping_size": 64})
    none, gaussian = train.train_sweep(specs, split, config).stacks
    assert gaussian.scores["train_psnr"][0, -1] > none.scores["train_psnr"][0, -1] + 10.0
    assert gaussian.scores["train_psnr"][0, -1] > gaussian.scores["train_psnr"][0, 0] + 15.0


@pytest.mark.slow
def test_remat_keeps_a_third_of_the_residuals_and_trains_the_same():
    config = state.TrainConfig(steps=6, eval_every=6, depth=4, width=64)
    spec = specs_lib.make_spec("gaussian", mapping_size=16)
    model = spec.encoding.network(config, 3)
    initial = jax.tree_util.tree_map(lambda x: x[0], train.init_stack([spec], MEMORIZE, config))
    features = model.inputs(jnp.asarray(MEMORIZE.train_coords.reshape(-1, 2)), jnp.asarray(spec.matrix(2)))
    targets = jnp.asarray(MEMORIZE.train_pixels.reshape(-1, 3))
    kept = []
    for remat in (False, True):
        loss_fn = train.loss_function(model, initial.batch_stats, features, targets, remat)
        _, backward, _ = jax.vjp(loss_fn, initial.params, has_aux=True)
        # the backward function's leaves are what the forward pass leaves for it
        kept.append(sum(leaf.size for leaf in jax.tree_util.tree_leaves(backward) if leaf.shape[:1] == (576,)))
    # per point: features 32 and 3 x (Dense, ReLU, BatchNorm) 64 + output 3 ... against Dense outputs alone
    assert kept[1] < 0.45 * kept[0]
    plain, rematerialised = (train.train_stack([spec], MEMORIZE, state.TrainConfig(
        steps=6, eval_every=6, depth=4, width=64, remat=remat)) for remat in (False, True))
    np.testing.assert_allclose(rematerialised.scores["train_psnr"], plain.scores["train_psnr"], rtol=1e-5)


@pytest.mark.slow
def test_bfloat16_layers_keep_float32_state_and_learn():
    config = state.TrainConfig(steps=60, eval_every=60, depth=3, width=32, compute_dtype="bfloat16")
    spec = specs_lib.make_spec("gaussian", mapping_size=16, lr=1e-2)
    result = train.train_stack([spec], MEMORIZE, config)
    floats = {leaf.dtype for leaf in jax.tree_util.tree_leaves(result.state) if leaf.dtype.kind == "f"}
    assert floats == {np.dtype(np.float32)}
    reference = train.train_stack([spec], MEMORIZE, state.TrainConfig(steps=60, eval_every=60, depth=3, width=32))
    assert result.scores["train_psnr"][0, -1] > result.scores["train_psnr"][0, 0] + 12.0
    assert abs(result.scores["train_psnr"][0, -1] - reference.scores["train_psnr"][0, -1]) < 1.0
    assert result.scores["train_psnr"][0, -1] != reference.scores["train_psnr"][0, -1]  # the layers did compute in bfloat16


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="steps must be positive"):
        state.TrainConfig(steps=0)
    with pytest.raises(ValueError, match="compute_dtype must be one of float32, bfloat16"):
        state.TrainConfig(compute_dtype="float16")
    with pytest.raises(ValueError, match="one shape"):
        train.train_stack([SPECS[0], specs_lib.make_spec("none")], MEMORIZE, MINIBATCH)


@pytest.mark.slow
def test_hashgrid_and_siren_learn_and_stack_over_their_scales():
    """Both later designs fit a small image far better than raw coordinates in as many steps, and
    models at several scales in one stack train as they would alone."""
    config = state.TrainConfig(steps=60, eval_every=60, depth=3, width=64, batchnorm=False)
    specs = specs_lib.make_grid(["none", "hashgrid", "siren"], seeds=[0],
                                scales={"hashgrid": [12, 24], "siren": [10, 30]}, lrs={"none": 1e-2, "siren": 1e-3},
                                params={"hashgrid_levels": 4, "hashgrid_log2_table": 8})
    sweep = train.train_sweep(specs, MEMORIZE, config)
    psnr = dict(zip([spec.label for spec in sweep.specs], sweep.scores("train_psnr")[:, -1].tolist()))
    assert psnr["hashgrid N=24"] > psnr["none"] + 8 and psnr["siren w0=30"] > psnr["none"] + 8
    assert psnr["hashgrid N=24"] > psnr["hashgrid N=12"]  # a finer grid fits the 24 px image better
    alone = train.train_stack([specs[2]], MEMORIZE, config)
    np.testing.assert_allclose(alone.scores["train_psnr"][0], sweep.stacks[1].scores["train_psnr"][1], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", encodings.NAMES)
def test_every_encoding_trains_on_minibatches(encoding):
    """The step's first loss is the initial network's training-mode MSE on the drawn pixels, and training
    on minibatches raises the PSNR on all of them."""
    config = state.TrainConfig(steps=40, eval_every=40, depth=3, width=32, batch_size=64)
    lr = max(encodings.get(encoding).default_lr, 1e-3)  # 40 steps: the sine networks' 1e-4 is too slow
    spec = specs_lib.make_grid([encoding], lr=lr, params=dict(
        mapping_size=16, positional_freqs=8, hashgrid_levels=4, hashgrid_log2_table=8))[0]
    result = train.train_stack([spec], MEMORIZE, config)
    initial = jax.tree_util.tree_map(lambda x: x[0], train.init_stack([spec], MEMORIZE, config))
    model = spec.encoding.network(config, 3)
    drawn = np.asarray(train.batch_indices(initial.key, 0, 64, 576))
    assert drawn.min() >= 0 and drawn.max() < 576 and len(set(drawn.tolist())) > 32
    matrix = None if spec.matrix(2) is None else jnp.asarray(spec.matrix(2))
    inputs = model.inputs(jnp.asarray(MEMORIZE.train_coords.reshape(-1, 2)[drawn]), matrix)
    prediction, _ = model.apply({"params": initial.params, "batch_stats": initial.batch_stats}, inputs, train=True,
                                mutable=["batch_stats"])
    expected = np.mean((np.asarray(prediction) - MEMORIZE.train_pixels.reshape(-1, 3)[drawn]) ** 2)
    assert result.loss[0, 0] == pytest.approx(expected, rel=1e-5)
    assert result.scores["train_psnr"][0, -1] > result.scores["train_psnr"][0, 0] + 1.0


@pytest.mark.slow  # stacks of per-model signals and each model alone, on both stacking paths
def test_models_on_their_own_signals_train_as_if_alone(config):
    """Many signals in one stack: model k trains and is evaluated on signal k (tiles of the image here),
    and ends where it ends trained alone on that signal."""
    tiles = [data.make_split(IMAGE[top:top + 12, left:left + 12], "holdout")
             for top, left in ((0, 0), (0, 12), (12, 12))]
    specs = [specs_lib.make_spec("gaussian", seed=i, sigma=4.0, mapping_size=16) for i in range(3)]
    short = dataclasses.replace(config, steps=6, eval_every=3, batch_size=16)
    stacked = train.train_stack(specs, tiles, short)
    for k, (spec, tile) in enumerate(zip(specs, tiles)):
        alone = train.train_stack([spec], tile, short)
        np.testing.assert_allclose(stacked.loss[k], alone.loss[0], rtol=1e-4)
        for name, values in alone.scores.items():
            np.testing.assert_allclose(stacked.scores[name][k], values[0], rtol=1e-4, err_msg=name)
    assert len({float(stacked.scores["test_psnr"][k, 0]) for k in range(3)}) == 3  # three different signals
    with pytest.raises(ValueError, match="one shape and one coordinate grid"):
        train.train_stack(specs[:2], [tiles[0], data.make_split(IMAGE[:8, :8], "holdout")], short)
    with pytest.raises(ValueError, match="3 signals for a stack of 2 models"):
        train.train_stack(specs[:2], tiles, short)


@pytest.mark.slow  # four compiles of stacks and four of single models
@pytest.mark.parametrize("stacking", STACKINGS)
def test_a_stack_on_1d_and_3d_coordinates_trains_as_if_alone(stacking):
    """Signals of 1 and 3 axes (holdout split): each stack of ``group_specs`` ends where each of its models
    trained alone ends; a curve is trained and evaluated on its kind's metrics, a volume by the step alone."""
    config = state.TrainConfig(steps=4, eval_every=4, depth=2, width=16, batchnorm=False, stacking=stacking)
    specs = [specs_lib.make_spec("gaussian", sigma=3.0, mapping_size=8, seed=0),
             specs_lib.make_spec("positional", positional_freqs=8, positional_scale=3.0, seed=1),
             specs_lib.make_spec("gaussian", sigma=6.0, mapping_size=8, seed=2, lr=3e-3)]
    rng = np.random.default_rng(7)
    curve = signals.make_split("curve", rng.random((32, 2), dtype=np.float32), "holdout")
    volume = data.make_split(rng.random((8, 8, 8, 1), dtype=np.float32), "holdout")

    def stepped(stack, split):
        states, losses = train.train_chunk(*train.chunk_inputs(stack, split, config), jnp.int32(0),
                                           **train.chunk_options(stack, split, config, config.steps, None))
        return jax.tree_util.tree_leaves(states.params), np.asarray(losses), None

    def trained(stack, split):
        result = train.train_stack(stack, split, config)
        assert set(result.scores) == set(signals.get("curve").metrics)
        return jax.tree_util.tree_leaves(result.state.params), result.loss, result.scores["test_psnr"][:, -1]

    for split, run in ((curve, trained), (volume, stepped)):
        groups = specs_lib.group_specs(specs, None, split.dim)
        assert [len(group) for group in groups] == ([3] if split.dim == 1 else [2, 1])  # B: d F or m rows
        for group in groups:
            params, losses, psnr = run([specs[i] for i in group], split)
            for k, i in enumerate(group):
                single_params, single_losses, single_psnr = run([specs[i]], split)
                np.testing.assert_allclose(losses[k], single_losses[0], rtol=1e-5)
                if psnr is not None:
                    np.testing.assert_allclose(psnr[k], single_psnr[0], rtol=1e-5)
                for together, single in zip(params, single_params):
                    np.testing.assert_allclose(np.asarray(together)[k], np.asarray(single)[0], rtol=1e-5, atol=1e-7)
