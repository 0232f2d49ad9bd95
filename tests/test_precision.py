"""Full float32 precision of the encodings and of every network's first layer, on every backend.

GPUs (TF32) and TPUs (bfloat16 passes) multiply at reduced precision by
default, which no CPU run shows. So these tests check the program itself: the
encodings compute no matmul, and the lowered training step asks for the
highest precision on every product that touches the network's first layer.
"""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nerf_toy_jax import data, encodings, sweep, train

DOT = re.compile(r"stablehlo\.dot_general.*precision = \[(\w+), (\w+)\].*: \((tensor<[^>]*>), (tensor<[^>]*>)\)")


@pytest.mark.parametrize("sigma", [10.0, 100.0])
def test_fourier_features_match_float64_at_512_px(sigma):
    grid = data.coordinate_grid(512, 512).reshape(-1, 2)
    points = np.concatenate([grid[np.random.default_rng(0).choice(len(grid), 4096, replace=False)], grid[-512:]])
    B = encodings.gaussian_matrix(jax.random.PRNGKey(1), sigma, 256)
    projection = 2 * np.pi * points.astype(np.float64) @ np.asarray(B, np.float64).T
    expected = np.concatenate([np.sin(projection), np.cos(projection)], axis=1)
    got = np.asarray(jax.jit(encodings.fourier_features)(jnp.asarray(points), B))
    assert np.abs(got - expected).max() < 1e-4


def test_phases_are_the_projection_modulo_one():
    coords = np.random.default_rng(2).random((300, 3), dtype=np.float32)  # any float32 coordinates, d = 3
    B = np.random.default_rng(3).normal(0, 60, (40, 3)).astype(np.float32)
    exact = coords.astype(np.float64) @ B.astype(np.float64).T
    got = np.asarray(encodings.phases(jnp.asarray(coords), jnp.asarray(B)), np.float64)
    assert np.abs(got).max() <= 0.5
    error = (got - exact + 0.5) % 1.0 - 0.5  # distance on the circle of one cycle
    assert np.abs(error).max() < 1e-6


@pytest.mark.parametrize("encoding", ["gaussian", "none"])
def test_the_encodings_compute_no_matmul(encoding):
    spec = sweep.ModelSpec(encoding, mapping_size=12)
    matrix = spec.matrix()
    text = jax.jit(lambda coords: encodings.encode(coords, matrix)).lower(jnp.zeros((16, 2))).as_text()
    assert "dot_general" not in text
    corners = jax.jit(lambda coords: encodings.hashgrid_corners(coords, jnp.asarray([4.0, 8.0]), 64))
    assert "dot_general" not in corners.lower(jnp.zeros((16, 2))).as_text()


def step_dots(encoding, matmul_precision, **params):
    """(first-layer input width F, [(lhs precision, lhs type, rhs type)] of every dot of a training step)."""
    split = data.make_split(data.load_image(size=8), "memorize")
    config = train.TrainConfig(depth=3, width=40, batch_size=16, matmul_precision=matmul_precision)
    specs = [sweep.ModelSpec(encoding, seed=i, **params) for i in range(2)]
    args = train.chunk_inputs(specs, split, config)
    model = train.make_model(config, 3, specs[0])
    text = train.train_chunk.lower(*args, jnp.int32(0), model=model, batch_size=16, num_steps=1).as_text()
    dots = DOT.findall(text)
    assert all(lhs == rhs for lhs, rhs, _, _ in dots)
    return specs[0].feature_dim, [(lhs, a, b) for lhs, _, a, b in dots]


@pytest.mark.parametrize("encoding,params", [("gaussian", {"mapping_size": 12}), ("none", {}),
                                             ("hashgrid", {"hashgrid_levels": 3, "hashgrid_log2_table": 6}),
                                             ("siren", {})])
@pytest.mark.parametrize("matmul_precision", ["default", "high"])
def test_first_layers_run_at_highest_precision_and_the_rest_as_asked(encoding, params, matmul_precision):
    width, dots = step_dots(encoding, matmul_precision, **params)
    touches_first = re.compile(rf"[<x]{width}x")  # a dimension of the first layer's input width
    first = [precision for precision, a, b in dots if touches_first.search(a + b)]
    rest = [precision for precision, a, b in dots if not touches_first.search(a + b)]
    # forward product, weight gradient (and, where the inputs are trained tables, the input gradient)
    assert len(first) == (3 if encoding == "hashgrid" else 2) and set(first) == {"HIGHEST"}
    assert len(rest) == 6 and set(rest) == {matmul_precision.upper()}
