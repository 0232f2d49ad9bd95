"""The MLP: shapes, layer structure, BatchNorm on and off, exact data statistics."""

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax.model import MLP, data_statistics_model

X = jax.random.uniform(jax.random.PRNGKey(0), (50, 6))


def test_defaults_match_original_nerf_toy():
    model = MLP()
    assert (model.depth, model.width, model.batchnorm) == (4, 256, True)


def test_shapes_and_output_range():
    model = MLP(depth=3, width=16, channels=3)
    variables = model.init(jax.random.PRNGKey(1), X, train=False)
    params = variables["params"]
    assert [params[f"Dense_{i}"]["kernel"].shape for i in range(3)] == [(6, 16), (16, 16), (16, 3)]
    assert set(variables["batch_stats"]) == {"BatchNorm_0", "BatchNorm_1"}
    out, _ = model.apply(variables, X, train=True, mutable=["batch_stats"])
    assert out.shape == (50, 3)
    assert bool(jnp.all((out > 0) & (out < 1)))


def test_batchnorm_off_is_a_plain_mlp():
    model = MLP(depth=2, width=8, channels=1, batchnorm=False)
    variables = model.init(jax.random.PRNGKey(2), X, train=False)
    assert set(variables) == {"params"}
    p = variables["params"]
    hidden = np.maximum(np.asarray(X) @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"], 0)
    expected = 1 / (1 + np.exp(-(hidden @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"])))
    np.testing.assert_allclose(model.apply(variables, X, train=False), expected, rtol=1e-5, atol=1e-6)


def test_data_statistics_model_stores_exact_batch_statistics():
    model = MLP(depth=2, width=8, channels=3)
    variables = model.init(jax.random.PRNGKey(3), X, train=False)
    train_out, _ = model.apply(variables, X, train=True, mutable=["batch_stats"])
    _, updates = data_statistics_model(model).apply(variables, X, train=True, mutable=["batch_stats"])
    p = variables["params"]
    hidden = np.maximum(np.asarray(X) @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"], 0)
    stats = updates["batch_stats"]["BatchNorm_0"]
    np.testing.assert_allclose(stats["mean"], hidden.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["var"], hidden.var(0), rtol=1e-4, atol=1e-6)
    eval_out = model.apply({"params": p, **updates}, X, train=False)
    np.testing.assert_allclose(eval_out, train_out, rtol=1e-5, atol=1e-6)
