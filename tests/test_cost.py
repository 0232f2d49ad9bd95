"""The memory estimate against XLA's buffer assignment."""

import pytest

from nerf_toy_jax import cost, data, specs as specs_lib, state, train, views


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
    config = state.TrainConfig(width=64, **fields)
    specs = [specs_lib.make_spec(encoding, seed=i, **params) for i in range(count)]
    step, _ = train.compile_chunk(specs, split, config, num_steps=2)
    evaluation = cost.compile_evaluate(specs, split, config)
    need = max(cost.peak_bytes(step), cost.peak_bytes(evaluation))
    assert 0.8 < cost.memory_estimate(specs, split, config) / need < 1.3


@pytest.mark.slow
@pytest.mark.parametrize("stacking", ["map", "vmap"])
def test_memory_estimate_of_a_nerf_matches_xla_buffer_assignment(stacking):
    """Views of a scene: a step's samples along its rays, encoded in the step, and evaluation by chunks of rays."""
    split = views.make_split(views.procedural(0, 24), "holdout", samples=32)
    config = state.TrainConfig(width=64, batch_size=512, batchnorm=False, stacking=stacking)
    specs = [specs_lib.make_spec("gaussian", seed=i, mapping_size=64) for i in range(2)]
    step, _ = train.compile_chunk(specs, split, config, num_steps=2)
    evaluation = cost.compile_evaluate(specs, split, config)
    need = max(cost.peak_bytes(step), cost.peak_bytes(evaluation))
    assert 0.8 < cost.memory_estimate(specs, split, config) / need < 1.3
