"""The networks: shapes, layer structure, BatchNorm on and off, exact data statistics in chunks."""

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax import train
from nerf_toy_jax.model import MLP, HashGridMLP, Siren

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


def test_data_statistics_in_chunks_are_the_full_batch_statistics(monkeypatch):
    """Summed over chunks (50 points, 16 at a time, the last one padded), the statistics of every
    BatchNorm make the evaluation-mode network equal the training-mode network on the full batch."""
    monkeypatch.setattr(train, "EVAL_CHUNK", 16)
    model = MLP(depth=3, width=8, channels=3)
    variables = model.init(jax.random.PRNGKey(3), X, train=False)
    p = variables["params"]
    stats = train.data_statistics(model, p, variables["batch_stats"], None, X)
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


def test_siren_initialisation_follows_the_paper():
    model = Siren(depth=4, width=256, channels=3)
    coords = jnp.zeros((5, 2))
    params = model.init(jax.random.PRNGKey(3), model.inputs(coords, jnp.asarray([30.0])), train=False)["params"]
    bounds = {"Dense_0": (1 / 2, 1 / np.sqrt(2))}  # first layer: U(-1/n, 1/n), n = 2 inputs
    for name in ("Dense_1", "Dense_2", "Dense_3"):
        bounds[name] = (np.sqrt(6 / 256) / 30, 1 / np.sqrt(256))  # U(-sqrt(6/n)/30, sqrt(6/n)/30)
    assert sorted(params) == sorted(bounds)
    for name, (kernel_bound, bias_bound) in bounds.items():
        for value, bound in ((params[name]["kernel"], kernel_bound), (params[name]["bias"], bias_bound)):
            value = np.abs(np.asarray(value))
            assert value.max() <= bound
            assert value.size < 200 or value.max() > 0.9 * bound  # uniform over the whole interval
    colours = model.apply({"params": params}, model.inputs(jax.random.uniform(jax.random.PRNGKey(4), (64, 2)),
                                                           jnp.asarray([30.0])), train=False)
    assert colours.shape == (64, 3) and 0.0 < float(colours.mean()) < 1.0


def test_siren_omega_scales_the_first_layer():
    model = Siren(depth=2, width=8, channels=1)
    coords = jax.random.uniform(jax.random.PRNGKey(5), (16, 2))
    params = model.init(jax.random.PRNGKey(6), model.inputs(coords, jnp.asarray([1.0])), train=False)["params"]
    first = params["Dense_0"]
    for omega in (1.0, 30.0):
        hidden = jnp.sin(omega * (coords @ first["kernel"] + first["bias"]))
        want = 0.5 * (hidden @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]) + 0.5
        got = model.apply({"params": params}, model.inputs(coords, jnp.asarray([omega])), train=False)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_hashgrid_tables_start_small_and_feed_the_mlp():
    model = HashGridMLP(levels=3, features=2, log2_table=6)
    inputs = model.inputs(jax.random.uniform(jax.random.PRNGKey(7), (10, 2)), jnp.asarray([2.0, 4.0, 16.0]))
    params = model.init(jax.random.PRNGKey(8), inputs, train=False)["params"]
    assert params["tables"].shape == (3, 64, 2) and float(jnp.abs(params["tables"]).max()) <= 1e-4
    assert params["MLP_0"]["Dense_0"]["kernel"].shape == (6, 64)  # L F features into 64 hidden units
    assert model.apply({"params": params}, inputs, train=False).shape == (10, 3)


def test_matmul_flops_match_xla_count_of_the_training_step():
    from nerf_toy_jax import data, sweep
    from nerf_toy_jax.model import matmul_flops

    split = data.make_split(data.load_image(size=16), "memorize")
    config = train.TrainConfig(batchnorm=False, width=64)
    coords = jnp.asarray(split.train_coords.reshape(-1, 2))
    for encoding in ("gaussian", "siren"):
        spec = sweep.make_grid([encoding])[0]
        model = train.make_model(config, 3, spec)
        compiled, _ = train.compile_chunk([spec], split, config, 1)
        # the inputs (features), computed once per dispatch, are not the step's
        inputs = jax.jit(model.inputs).lower(coords, jnp.asarray(spec.matrix())).compile().cost_analysis()
        inputs = inputs.get("flops", 0.0)
        counted = matmul_flops(model, spec.feature_dim, 256)
        # XLA counts the dots plus a few elementwise FLOPs per point
        assert counted <= compiled.cost_analysis()["flops"] - inputs <= 1.05 * counted
