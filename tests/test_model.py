"""The shared MLP: shapes, layer structure, BatchNorm on and off; FLOP counts against XLA's."""

import jax
import jax.numpy as jnp
import numpy as np

from nerf_toy_jax import data, specs as specs_lib, state, train
from nerf_toy_jax.model import MLP

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


def test_flops_match_xla_count_of_the_training_step():
    """On an image, and with positional encoding (2 d F features) on 256 samples of a 1D and a 3D signal."""
    image = data.load_image(size=16)
    cases = ((image, ("gaussian", "siren")), (image[..., 0].reshape(256, 1), ("positional",)),
             (image.reshape(8, 8, 4, 3), ("positional",)))
    config = state.TrainConfig(batchnorm=False, width=64)
    for signal, names in cases:
        split = data.make_split(signal, "memorize")
        coords = jnp.asarray(split.train_coords.reshape(-1, split.dim))
        for encoding in names:
            spec = specs_lib.make_grid([encoding])[0]
            model = spec.encoding.network(config, split.image.shape[-1])
            compiled, _ = train.compile_chunk([spec], split, config, 1)
            # the inputs (features), computed once per dispatch, are not the step's
            matrix = jnp.asarray(spec.matrix(split.dim))
            inputs = jax.jit(model.inputs).lower(coords, matrix).compile().cost_analysis().get("flops", 0.0)
            counted = spec.encoding.flops(model, 256, split.dim)
            # XLA counts the dots plus a few elementwise FLOPs per point
            assert counted <= compiled.cost_analysis()["flops"] - inputs <= 1.05 * counted, (split.dim, encoding)
