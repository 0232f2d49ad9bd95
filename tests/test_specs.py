"""Model specs: the grid, the encodings' parameters and defaults, stacking keys, and the run-file round trip."""

import dataclasses

import jax
import numpy as np
import pytest

from nerf_toy_jax import encodings, specs as specs_lib


def test_grid_is_encodings_by_scales_by_seeds_in_order():
    specs = specs_lib.make_grid(["none", "gaussian", "siren"], seeds=[0, 1], scales={"gaussian": [2, 4]},
                                params={"mapping_size": 8, "hashgrid_levels": 3})
    assert [(s.name, s.encoding.scale, s.seed) for s in specs] == [
        ("none", None, 0), ("none", None, 1), ("gaussian", 2.0, 0), ("gaussian", 2.0, 1), ("gaussian", 4.0, 0),
        ("gaussian", 4.0, 1), ("siren", 30.0, 0), ("siren", 30.0, 1)]
    assert specs[2].encoding.params() == {"sigma": 2.0, "mapping_size": 8}  # hashgrid_levels is not gaussian's
    assert [s.label for s in specs[::2]] == ["none", "gaussian s=2", "gaussian s=4", "siren w0=30"]


def test_learning_rates_default_per_encoding_and_override_in_order():
    names = ["none", "hashgrid", "siren"]
    assert [s.lr for s in specs_lib.make_grid(names)] == [1e-3, 1e-2, 1e-4]  # each one's published default
    assert [s.lr for s in specs_lib.make_grid(names, lr=5e-3)] == [5e-3] * 3
    assert [s.lr for s in specs_lib.make_grid(names, lr=5e-3, lrs={"siren": 1e-5})] == [5e-3, 5e-3, 1e-5]


def test_stack_keys_follow_parameter_shapes():
    specs = specs_lib.make_grid(["none", "basic", "positional", "gaussian", "gaussian", "hashgrid", "siren"],
                                params={"mapping_size": 4, "positional_freqs": 2})
    assert [s.stack_key(2) for s in specs] == [
        ("none",), ("fourier", 2), ("fourier", 4), ("fourier", 4), ("fourier", 4), ("hashgrid", 8, 2, 14),
        ("siren",)]
    assert specs_lib.group_specs(specs, None, 2) == [[0], [1], [2, 3, 4], [5], [6]]
    assert specs_lib.group_specs(specs, 2, 2) == [[0], [1], [2, 3], [4], [5], [6]]
    # B has d rows (basic), d F (positional) or m (gaussian): which of them stack depends on d
    for dim in (1, 3):  # positional has 2 d rows, gaussian 4
        assert specs_lib.group_specs(specs, None, dim) == [[0], [1], [2], [3, 4], [5], [6]]
    for dim in (1, 2, 3):
        for group in specs_lib.group_specs(specs[1:5], None, dim):
            assert len({specs_lib.stack_matrices([specs[1:5][i]], dim).shape for i in group}) == 1


def test_matrices_are_per_seed_and_stack():
    specs = specs_lib.make_grid(["gaussian"], seeds=[0, 1], scales={"gaussian": [1, 3]}, params={"mapping_size": 5})
    matrices = specs_lib.stack_matrices(specs, 2)
    assert matrices.shape == (4, 5, 2) and specs_lib.stack_matrices(specs, 3).shape == (4, 5, 3)
    # seed 0 at sigma 1 and 3: one draw, scaled; seeds 0 and 1 differ
    np.testing.assert_allclose(matrices[2], 3 * matrices[0], rtol=1e-6)
    assert not np.allclose(matrices[0], matrices[1])
    encoding_key = jax.random.split(jax.random.PRNGKey(1), 3)[0]
    np.testing.assert_allclose(matrices[1], np.asarray(jax.random.normal(encoding_key, (5, 2))), rtol=1e-6)
    assert specs_lib.stack_matrices(specs_lib.make_grid(["none"]), 2) is None


@pytest.mark.parametrize("name", encodings.NAMES)
def test_dict_round_trip_and_format_1_specs(name):
    spec = specs_lib.make_grid([name], seeds=[3], lr=2e-3)[0]
    assert specs_lib.spec_from_dict(specs_lib.spec_to_dict(spec)) == spec
    every_field = {field.name: field.default for encoding in encodings.REGISTRY.values()
                   for field in dataclasses.fields(encoding)}  # a format-1 spec holds every encoding's fields
    assert specs_lib.spec_from_dict({**every_field, **specs_lib.spec_to_dict(spec)}) == spec


def test_bad_specs_are_refused_in_one_line():
    with pytest.raises(ValueError, match="unknown encoding 'wavelet': choose from none, basic"):
        specs_lib.make_grid(["none", "wavelet"])
    with pytest.raises(ValueError, match="encoding 'positional' has no scale to sweep"):
        specs_lib.make_grid(["positional"], scales={"positional": [1, 2]})
    with pytest.raises(ValueError, match="gaussian: sigma must be positive, got -1.0"):
        specs_lib.make_grid(["gaussian"], scales={"gaussian": [-1]})
    with pytest.raises(ValueError, match="seed must be >= 0"):
        specs_lib.make_spec("none", seed=-1)
    with pytest.raises(ValueError, match="lr must be positive"):
        specs_lib.make_spec("none", lr=0.0)
    with pytest.raises(TypeError):
        specs_lib.make_spec("none", sigma=3.0)  # an explicit spec takes only its encoding's parameters
