"""The stacked trainer: per-model independence, determinism, divergence, BatchNorm
evaluation, and learning."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import data, sweep, train

IMAGE = data.load_image(size=24)
MEMORIZE = data.make_split(IMAGE, "memorize")
MINIBATCH = train.TrainConfig(steps=12, eval_every=6, depth=3, width=32, batch_size=128)
SPECS = [
    sweep.ModelSpec("gaussian", sigma=5.0, mapping_size=16, seed=0),
    sweep.ModelSpec("gaussian", sigma=10.0, mapping_size=16, seed=1, lr=3e-3),
    sweep.ModelSpec("positional", positional_freqs=8, positional_scale=3.0, seed=2),
    sweep.ModelSpec("gaussian", sigma=10.0, mapping_size=16, seed=3, lr=1e30),  # diverges
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
        np.testing.assert_allclose(stacked.test_psnr[k], alone[k].test_psnr[0], rtol=1e-4)
    assert not np.allclose(stacked.loss[0], stacked.loss[1])


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
        np.testing.assert_array_equal(stacked.test_psnr[k], healthy.test_psnr[k])
        np.testing.assert_array_equal(stacked.frames[k], healthy.frames[k])


def test_identical_seeds_give_identical_results(stacked, config):
    again = train.train_stack(SPECS, MEMORIZE, config)
    for first, second in zip(jax.tree_util.tree_leaves(stacked.variables), jax.tree_util.tree_leaves(again.variables)):
        np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(stacked.test_psnr, again.test_psnr)
    np.testing.assert_array_equal(stacked.frames, again.frames)


def test_resuming_a_partial_stack_ends_bit_for_bit_where_an_uninterrupted_one_ends(stacked, config):
    partial = train.train_stack(SPECS, MEMORIZE, config, should_stop=lambda: True)
    assert partial.steps_done == config.eval_every
    resumed = train.train_stack(SPECS, MEMORIZE, config, resume_from=partial)
    for name in ("loss", "train_psnr", "test_psnr", "test_ssim", "frames", "diverged_step"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(stacked, name), err_msg=name)
    for first, second in zip(jax.tree_util.tree_leaves(resumed.state), jax.tree_util.tree_leaves(stacked.state)):
        np.testing.assert_array_equal(first, second)


def test_result_shapes(stacked):
    assert stacked.eval_steps.tolist() == [0, 6, 12]
    assert stacked.loss.shape == (4, 12)
    assert stacked.test_ssim.shape == (4, 3)
    assert stacked.frames.shape == (4, 3, 24, 24, 3) and stacked.frames.dtype == np.uint8
    assert stacked.matrices.shape == (4, 16, 2)


def test_evaluation_uses_statistics_of_the_trained_function():
    """Evaluation on the training set equals the full-batch training-mode loss."""
    config = train.TrainConfig(steps=30, eval_every=30, depth=3, width=32)
    spec = sweep.ModelSpec("gaussian", sigma=8.0, mapping_size=16, lr=1e-2)
    result = train.train_stack([spec], MEMORIZE, config)
    model = train.make_model(config, 3, spec)
    params = jax.tree_util.tree_map(lambda x: x[0], result.variables["params"])
    features = model.inputs(jnp.asarray(MEMORIZE.train_coords.reshape(-1, 2)), jnp.asarray(result.matrices[0]))
    running = jax.tree_util.tree_map(lambda x: x[0], result.variables["batch_stats"])
    prediction, _ = model.apply({"params": params, "batch_stats": running}, features,
                                train=True, mutable=["batch_stats"])
    training_mode_loss = float(jnp.mean(jnp.square(prediction - MEMORIZE.train_pixels.reshape(-1, 3))))
    assert result.train_loss[0, -1] == pytest.approx(training_mode_loss, rel=1e-4)


@pytest.mark.slow
def test_gaussian_features_beat_no_mapping_by_10_db():
    image = data.load_image(size=32)
    split = data.make_split(image, "memorize")
    config = train.TrainConfig(steps=300, eval_every=150, depth=3, width=64)
    specs = sweep.make_grid(["none", "gaussian"], sigmas=[10.0], mapping_size=64)
    none, gaussian = train.train_sweep(specs, split, config)
    assert gaussian.train_psnr[0, -1] > none.train_psnr[0, -1] + 10.0
    assert gaussian.train_psnr[0, -1] > gaussian.train_psnr[0, 0] + 15.0


@pytest.mark.slow
def test_remat_keeps_a_third_of_the_residuals_and_trains_the_same():
    config = train.TrainConfig(steps=6, eval_every=6, depth=4, width=64)
    spec = sweep.ModelSpec("gaussian", mapping_size=16)
    model = train.make_model(config, 3, spec)
    state = jax.tree_util.tree_map(lambda x: x[0], train.init_stack([spec], MEMORIZE, config))
    features = model.inputs(jnp.asarray(MEMORIZE.train_coords.reshape(-1, 2)), jnp.asarray(spec.matrix()))
    targets = jnp.asarray(MEMORIZE.train_pixels.reshape(-1, 3))
    kept = []
    for remat in (False, True):
        loss_fn = train.loss_function(model, state.batch_stats, features, targets, remat)
        _, backward, _ = jax.vjp(loss_fn, state.params, has_aux=True)
        # the backward function's leaves are what the forward pass leaves for it
        kept.append(sum(leaf.size for leaf in jax.tree_util.tree_leaves(backward) if leaf.shape[:1] == (576,)))
    # per point: features 32 and 3 x (Dense, ReLU, BatchNorm) 64 + output 3 ... against Dense outputs alone
    assert kept[1] < 0.45 * kept[0]
    plain, rematerialised = (train.train_stack([spec], MEMORIZE, train.TrainConfig(
        steps=6, eval_every=6, depth=4, width=64, remat=remat)) for remat in (False, True))
    np.testing.assert_allclose(rematerialised.train_psnr, plain.train_psnr, rtol=1e-5)


@pytest.mark.slow
def test_bfloat16_layers_keep_float32_state_and_learn():
    config = train.TrainConfig(steps=60, eval_every=60, depth=3, width=32, compute_dtype="bfloat16")
    spec = sweep.ModelSpec("gaussian", mapping_size=16, lr=1e-2)
    result = train.train_stack([spec], MEMORIZE, config)
    floats = {leaf.dtype for leaf in jax.tree_util.tree_leaves(result.state) if leaf.dtype.kind == "f"}
    assert floats == {np.dtype(np.float32)}
    reference = train.train_stack([spec], MEMORIZE, train.TrainConfig(steps=60, eval_every=60, depth=3, width=32))
    assert result.train_psnr[0, -1] > result.train_psnr[0, 0] + 12.0
    assert abs(result.train_psnr[0, -1] - reference.train_psnr[0, -1]) < 1.0
    assert result.train_psnr[0, -1] != reference.train_psnr[0, -1]  # the layers did compute in bfloat16


@pytest.mark.slow
def test_evaluation_runs_in_chunks_within_the_memory_of_a_step():
    split = data.make_split(data.load_image(size=160), "memorize")  # 25600 points: two chunks
    config = train.TrainConfig(width=64)
    specs = [sweep.ModelSpec("gaussian", mapping_size=64, seed=i) for i in range(2)]
    step, (states, matrices, *_) = train.compile_chunk(specs, split, config, 1)
    model = train.make_model(config, 3, specs[0])
    *arrays, frame_coords = train.replicate((split.train_coords, split.train_pixels, split.test_coords,
                                            split.test_pixels, data.coordinate_grid(64, 64)), None)
    evaluate = train._evaluate.lower(states, matrices, tuple(arrays), frame_coords, model=model).compile()
    assert train.peak_bytes(evaluate) < 0.6 * train.peak_bytes(step)

    variables = {"params": jax.tree_util.tree_map(lambda x: x[0], states.params),
                 "batch_stats": jax.tree_util.tree_map(lambda x: x[0], states.batch_stats)}
    coords = jnp.asarray(split.train_coords)
    chunked = train._predict(model, variables, matrices[0], coords)
    whole = model.apply(variables, model.inputs(coords.reshape(-1, 2), matrices[0]), train=False)
    np.testing.assert_allclose(np.asarray(chunked).reshape(-1, 3), whole, atol=1e-6)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="steps must be positive"):
        train.TrainConfig(steps=0)
    with pytest.raises(ValueError, match="compute_dtype must be one of float32, bfloat16"):
        train.TrainConfig(compute_dtype="float16")
    with pytest.raises(ValueError, match="batch_size 1000 exceeds the 576 training pixels"):
        train.train_stack(SPECS[:1], MEMORIZE, train.TrainConfig(steps=1, batch_size=1000))
    with pytest.raises(ValueError, match="one shape"):
        train.train_stack([SPECS[0], sweep.ModelSpec("none")], MEMORIZE, MINIBATCH)


MEMORY_CASES = {  # size, TrainConfig fields, encoding, models, ModelSpec fields
    "minibatch": (160, {"batch_size": 512}, "gaussian", 2, {"mapping_size": 64}),  # features of all points
    "full_batch": (160, {}, "gaussian", 2, {"mapping_size": 64}),
    "no_batchnorm": (32, {"batchnorm": False}, "gaussian", 4, {"mapping_size": 16}),
    "hashgrid_minibatch": (64, {"batch_size": 256}, "hashgrid", 2, {"hashgrid_levels": 4, "hashgrid_log2_table": 10}),
    "siren": (64, {}, "siren", 2, {}),
    "vmap": (64, {"stacking": "vmap"}, "gaussian", 3, {"mapping_size": 32}),
    "vmap_minibatch": (64, {"stacking": "vmap", "batch_size": 512}, "gaussian", 3, {"mapping_size": 32}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", MEMORY_CASES)
def test_memory_estimate_matches_xla_buffer_assignment(case):
    """The estimate is within -20 % .. +30 % of the larger of XLA's training step and evaluation."""
    size, fields, encoding, count, params = MEMORY_CASES[case]
    split = data.make_split(data.load_image(size=size), "memorize")
    config = train.TrainConfig(width=64, **fields)
    specs = [sweep.ModelSpec(encoding, seed=i, **params) for i in range(count)]
    step, _ = train.compile_chunk(specs, split, config, num_steps=2)
    evaluation = train.compile_evaluate(specs, split, config)
    need = max(train.peak_bytes(step), train.peak_bytes(evaluation))
    assert 0.8 < train.memory_estimate(specs, split, config) / need < 1.3


def test_max_stack_splits_groups():
    specs = sweep.make_grid(["none", "gaussian"], sigmas=[1, 2, 3], seeds=[0, 1])
    assert sweep.group_specs(specs) == [[0, 1], [2, 3, 4, 5, 6, 7]]
    assert sweep.group_specs(specs, max_stack=4) == [[0, 1], [2, 3, 4, 5], [6, 7]]


@pytest.mark.slow
def test_hashgrid_and_siren_learn_and_stack_over_their_scales():
    """Both later designs fit a small image far better than raw coordinates in as many steps, and
    models at several scales in one stack train as they would alone."""
    config = train.TrainConfig(steps=60, eval_every=60, depth=3, width=64, batchnorm=False)
    specs = sweep.make_grid(["none", "hashgrid", "siren"], seeds=[0],
                            scales={"hashgrid": [12, 24], "siren": [10, 30]}, hashgrid_levels=4,
                            hashgrid_log2_table=8, lr_overrides={"none": 1e-2, "siren": 1e-3})
    stacks = train.train_sweep(specs, MEMORIZE, config)
    psnr = {spec.label: float(stack.train_psnr[k, -1]) for stack in stacks for k, spec in enumerate(stack.specs)}
    assert psnr["hashgrid N=24"] > psnr["none"] + 8 and psnr["siren w0=30"] > psnr["none"] + 8
    assert psnr["hashgrid N=24"] > psnr["hashgrid N=12"]  # a finer grid fits the 24 px image better
    alone = train.train_stack([specs[2]], MEMORIZE, config)
    np.testing.assert_allclose(alone.train_psnr[0], stacks[1].train_psnr[1], rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", sweep.encodings.ENCODINGS)
def test_every_encoding_trains_on_minibatches(encoding):
    """The step's first loss is the initial network's training-mode MSE on the drawn pixels, and training
    on minibatches raises the PSNR on all of them."""
    config = train.TrainConfig(steps=40, eval_every=40, depth=3, width=32, batch_size=64)
    spec = sweep.make_grid([encoding], mapping_size=16, positional_freqs=8, hashgrid_levels=4,
                           hashgrid_log2_table=8, lr_overrides={"siren": 1e-3})[0]
    result = train.train_stack([spec], MEMORIZE, config)
    state = jax.tree_util.tree_map(lambda x: x[0], train.init_stack([spec], MEMORIZE, config))
    model = train.make_model(config, 3, spec)
    drawn = np.asarray(train.batch_indices(state.key, 0, 64, 576))
    assert drawn.min() >= 0 and drawn.max() < 576 and len(set(drawn.tolist())) > 32
    matrix = None if spec.matrix() is None else jnp.asarray(spec.matrix())
    inputs = model.inputs(jnp.asarray(MEMORIZE.train_coords.reshape(-1, 2)[drawn]), matrix)
    prediction, _ = model.apply({"params": state.params, "batch_stats": state.batch_stats}, inputs, train=True,
                                mutable=["batch_stats"])
    expected = np.mean((np.asarray(prediction) - MEMORIZE.train_pixels.reshape(-1, 3)[drawn]) ** 2)
    assert result.loss[0, 0] == pytest.approx(expected, rel=1e-5)
    assert result.train_psnr[0, -1] > result.train_psnr[0, 0] + 1.0
