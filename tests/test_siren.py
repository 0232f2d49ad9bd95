"""SIREN: the published initialisation and the first layer's omega_0."""

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax.encodings.siren import SirenNetwork


def test_siren_initialisation_follows_the_paper():
    model = SirenNetwork(depth=4, width=256, channels=3)
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
    model = SirenNetwork(depth=2, width=8, channels=1)
    coords = jax.random.uniform(jax.random.PRNGKey(5), (16, 2))
    params = model.init(jax.random.PRNGKey(6), model.inputs(coords, jnp.asarray([1.0])), train=False)["params"]
    first = params["Dense_0"]
    for omega in (1.0, 30.0):
        hidden = jnp.sin(omega * (coords @ first["kernel"] + first["bias"]))
        want = 0.5 * (hidden @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]) + 0.5
        got = model.apply({"params": params}, model.inputs(coords, jnp.asarray([omega])), train=False)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
