"""Evaluation: exact BatchNorm statistics in chunks, chunked prediction within the memory of a step, the trained function evaluated."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import cost, data, evaluate, metrics, parallel, specs as specs_lib, state, train
from nerf_toy_jax.model import MLP

X = jax.random.uniform(jax.random.PRNGKey(0), (50, 6))
MEMORIZE = data.make_split(data.load_image(size=24), "memorize")


def test_data_statistics_in_chunks_are_the_full_batch_statistics(monkeypatch):
    """Summed over chunks (50 points, 16 at a time, the last one padded), the statistics of every
    BatchNorm make the evaluation-mode network equal the training-mode network on the full batch."""
    monkeypatch.setattr(evaluate, "EVAL_CHUNK", 16)
    model = MLP(depth=3, width=8, channels=3)
    variables = model.init(jax.random.PRNGKey(3), X, train=False)
    p = variables["params"]
    stats = evaluate.data_statistics(model, p, variables["batch_stats"], None, X)
    hidden = np.maximum(np.asarray(X, np.float64) @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"], 0)
    np.testing.assert_allclose(stats["BatchNorm_0"]["mean"], hidden.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["BatchNorm_0"]["var"], hidden.var(0), rtol=1e-4, atol=1e-6)
    normalised = ((hidden - hidden.mean(0)) / np.sqrt(hidden.var(0) + 1e-5) * p["BatchNorm_0"]["scale"]
                  + p["BatchNorm_0"]["bias"])
    second = np.maximum(normalised @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"], 0)
    np.testing.assert_allclose(stats["BatchNorm_1"]["mean"], second.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(stats["BatchNorm_1"]["var"], second.var(0), rtol=1e-3, atol=1e-5)
    train_out, _ = model.apply(variables, X, train=True, mutable=["batch_stats"])
    eval_out = model.apply({"params": p, "batch_stats": stats}, X, train=False)
    np.testing.assert_allclose(eval_out, train_out, rtol=1e-5, atol=1e-6)


def test_evaluation_uses_statistics_of_the_trained_function():
    """Evaluation on the training set equals the full-batch training-mode loss."""
    config = state.TrainConfig(steps=30, eval_every=30, depth=3, width=32)
    spec = specs_lib.make_spec("gaussian", sigma=8.0, mapping_size=16, lr=1e-2)
    result = train.train_stack([spec], MEMORIZE, config)
    model = spec.encoding.network(config, 3)
    params = jax.tree_util.tree_map(lambda x: x[0], result.variables["params"])
    features = model.inputs(jnp.asarray(MEMORIZE.train_coords.reshape(-1, 2)), jnp.asarray(result.matrices[0]))
    running = jax.tree_util.tree_map(lambda x: x[0], result.variables["batch_stats"])
    prediction, _ = model.apply({"params": params, "batch_stats": running}, features,
                                train=True, mutable=["batch_stats"])
    training_mode_loss = float(jnp.mean(jnp.square(prediction - MEMORIZE.train_pixels.reshape(-1, 3))))
    assert result.scores["train_loss"][0, -1] == pytest.approx(training_mode_loss, rel=1e-4)


@pytest.mark.slow
def test_evaluation_runs_in_chunks_within_the_memory_of_a_step():
    split = data.make_split(data.load_image(size=160), "memorize")  # 25600 points: two chunks
    config = state.TrainConfig(width=64)
    specs = [specs_lib.make_spec("gaussian", mapping_size=64, seed=i) for i in range(2)]
    step, (states, matrices, *_) = train.compile_chunk(specs, split, config, 1)
    model = specs[0].encoding.network(config, 3)
    *arrays, frame_coords = parallel.replicate((split.train_coords, split.train_pixels, split.test_coords,
                                                split.test_pixels, data.coordinate_grid(64, 64)), None)
    evaluation = evaluate.evaluate.lower(states, matrices, tuple(arrays), frame_coords, model=model,
                                         metric_names=metrics.NAMES).compile()
    assert cost.peak_bytes(evaluation) < 0.6 * cost.peak_bytes(step)

    variables = {"params": jax.tree_util.tree_map(lambda x: x[0], states.params),
                 "batch_stats": jax.tree_util.tree_map(lambda x: x[0], states.batch_stats)}
    coords = jnp.asarray(split.train_coords)
    chunked = evaluate.predict(model, variables, matrices[0], coords)
    whole = model.apply(variables, model.inputs(coords.reshape(-1, 2), matrices[0]), train=False)
    np.testing.assert_allclose(np.asarray(chunked).reshape(-1, 3), whole, atol=1e-6)
