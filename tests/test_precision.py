"""Full float32 precision of the encodings and of every network's first layer, on every backend.

GPUs (TF32) and TPUs (bfloat16 passes) multiply at reduced precision by
default, which no CPU run shows. So these tests check the program itself: the
encodings compute no matmul, and the lowered training step asks for the
highest precision on every product that touches the network's first layer.
"""

import re

import jax
import jax.numpy as jnp
import pytest

from nerf_toy_jax import data, fourier, specs as specs_lib, state, train
from nerf_toy_jax.encodings import hashgrid

DOT = re.compile(r"stablehlo\.dot_general.*precision = \[(\w+), (\w+)\].*: \((tensor<[^>]*>), (tensor<[^>]*>)\)")


@pytest.mark.parametrize("encoding", ["gaussian", "none"])
def test_the_encodings_compute_no_matmul(encoding):
    spec = specs_lib.make_grid([encoding], params={"mapping_size": 12})[0]
    matrix = spec.matrix(2)
    text = jax.jit(lambda coords: fourier.encode(coords, matrix)).lower(jnp.zeros((16, 2))).as_text()
    assert "dot_general" not in text
    corners = jax.jit(lambda coords: hashgrid.hashgrid_corners(coords, jnp.asarray([4.0, 8.0]), 64))
    assert "dot_general" not in corners.lower(jnp.zeros((16, 2))).as_text()


def step_dots(encoding, matmul_precision, **params):
    """(first-layer input width F, [(lhs precision, lhs type, rhs type)] of every dot of a training step)."""
    split = data.make_split(data.load_image(size=8), "memorize")
    config = state.TrainConfig(depth=3, width=40, batch_size=16, matmul_precision=matmul_precision)
    specs = [specs_lib.make_spec(encoding, seed=i, **params) for i in range(2)]
    args = train.chunk_inputs(specs, split, config)
    text = train.train_chunk.lower(*args, jnp.int32(0), **train.chunk_options(specs, split, config, 1, None)).as_text()
    dots = DOT.findall(text)
    assert all(lhs == rhs for lhs, rhs, _, _ in dots)
    return specs[0].encoding.feature_dim(2), [(lhs, a, b) for lhs, _, a, b in dots]


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
