"""FINER: the variable-periodic activation and its gradient, the network against NumPy, the first layer's
bias spread k, and models at several k stacking and learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import data, encodings, specs as specs_lib, state, train
from nerf_toy_jax.encodings import finer


def test_activation_and_its_gradient_hold_the_factor_constant():
    z = jnp.linspace(-2.0, 2.0, 41)
    omega = 3.0
    expected = np.sin(omega * (np.abs(np.asarray(z, np.float64)) + 1) * np.asarray(z, np.float64))
    np.testing.assert_allclose(finer.finer_activation(z, omega), expected, atol=1e-5)
    # d/dz sin(omega a z) with a = |z| + 1 held constant: omega a cos(omega a z)
    gradient = jax.vmap(jax.grad(lambda x: finer.finer_activation(x, omega)))(z)
    a = np.abs(np.asarray(z, np.float64)) + 1
    np.testing.assert_allclose(gradient, omega * a * np.cos(omega * a * np.asarray(z, np.float64)), atol=1e-4)


def test_network_matches_numpy_and_biases_spread_over_k():
    network = finer.FinerNetwork(depth=3, width=64, channels=2)
    coords = np.random.default_rng(0).random((20, 2), dtype=np.float32)
    matrix = finer.Finer(finer_omega=20.0, finer_bias_scale=5.0).matrix(None, 2)
    params = network.init(jax.random.PRNGKey(0), network.inputs(coords, matrix), train=False)["params"]
    bias = np.asarray(params["Dense_0"]["bias"])
    assert np.abs(bias).max() <= 5.0 and np.abs(bias).max() > 0.9 * 5.0  # U(-k, k)
    assert np.abs(np.asarray(params["Dense_0"]["kernel"])).max() <= 0.5  # U(-1/n, 1/n), n = 2

    def act(z, omega):
        return np.sin(omega * (np.abs(z) + 1) * z)

    p = jax.tree_util.tree_map(lambda x: np.asarray(x, np.float64), params)
    x = act(coords @ p["Dense_0"]["kernel"] + p["Dense_0"]["bias"], 20.0)
    x = act(x @ p["Dense_1"]["kernel"] + p["Dense_1"]["bias"], 30.0)
    expected = 0.5 * (x @ p["Dense_2"]["kernel"] + p["Dense_2"]["bias"]) + 0.5
    got = network.apply({"params": params}, network.inputs(coords, matrix), train=False)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_registered_with_k_as_its_scale():
    assert encodings.get("finer") is finer.Finer
    specs = specs_lib.make_grid(["finer"], scales={"finer": [0.5, 4]})
    assert [spec.label for spec in specs] == ["finer k=0.5", "finer k=4"] and specs[0].lr == 1e-4
    np.testing.assert_array_equal(specs_lib.stack_matrices(specs, 2), [[30.0, 0.5], [30.0, 4.0]])
    with pytest.raises(ValueError, match="finer: finer_bias_scale must be positive"):
        specs_lib.make_grid(["finer"], scales={"finer": [0]})


def test_models_at_several_k_stack_as_if_alone_and_learn():
    split = data.make_split(data.load_image(size=16), "memorize")
    config = state.TrainConfig(steps=30, eval_every=30, depth=3, width=32)
    specs = specs_lib.make_grid(["finer"], scales={"finer": [0.3, 3.0]}, lr=1e-3)
    stack = train.train_stack(specs, split, config)
    alone = train.train_stack(specs[1:], split, config)
    np.testing.assert_allclose(stack.loss[1], alone.loss[0], rtol=1e-4)
    psnr = stack.scores["train_psnr"]
    assert np.all(psnr[:, -1] > psnr[:, 0] + 5.0)
