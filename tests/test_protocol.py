"""Bookkeeping of the Table 1 protocol: the search choice, the test specs, the summary."""

import math

import numpy as np
import pytest

from nerf_toy_jax import protocol


def row(set_name, encoding, image, seed, test, train=30.0, diverged=False, sigma=None, scale=None, lr=1e-3):
    return {"set": set_name, "encoding": encoding, "label": encoding, "image": image, "seed": seed,
            "test_psnr": test, "train_psnr": train, "diverged": diverged, "sigma": sigma,
            "positional_scale": scale, "lr": lr}


def test_best_choices_take_the_best_mean_over_images_and_skip_diverged():
    rows = [row("text", "gaussian", "a", 0, 20.0, sigma=1.0), row("text", "gaussian", "b", 0, 30.0, sigma=1.0),
            row("text", "gaussian", "a", 0, 24.0, sigma=2.0), row("text", "gaussian", "b", 0, 24.0, sigma=2.0),
            row("text", "gaussian", "a", 0, 40.0, sigma=4.0), row("text", "gaussian", "b", 0, 0.0, sigma=4.0,
                                                                   diverged=True),
            row("text", "positional", "a", 0, 22.0, scale=3.0), row("text", "positional", "a", 0, 21.0, scale=5.0)]
    assert protocol.best_choices(rows) == {"sigma": 1.0, "positional_scale": 3.0}


def test_search_and_test_specs_follow_the_paper():
    search = protocol.search_specs([1, 2], [3])
    assert [(s.name, s.encoding.params(), s.seed) for s in search] == [
        ("gaussian", {"sigma": 1.0, "mapping_size": 256}, 0), ("gaussian", {"sigma": 2.0, "mapping_size": 256}, 0),
        ("positional", {"positional_freqs": 128, "positional_scale": 3.0}, 0)]
    assert all(s.stack_key == ("fourier", 256) for s in search)  # m = 256; positional: 128 frequencies per axis
    natural = protocol.test_specs("natural", ["none", "basic", "positional", "gaussian"], [0, 1],
                                  {"sigma": 2.0, "positional_scale": 3.0}, 64)
    assert [(s.name, s.seed, s.lr) for s in natural] == [
        ("none", 0, 1e-2), ("none", 1, 1e-2), ("basic", 0, 1e-2), ("basic", 1, 1e-2),
        ("positional", 0, 1e-3), ("positional", 1, 1e-3), ("gaussian", 0, 1e-3), ("gaussian", 1, 1e-3)]
    assert natural[-1].encoding.sigma == 2.0 and natural[4].encoding.positional_scale == 3.0
    assert all(s.lr == 1e-3 for s in protocol.test_specs("text", ["none", "basic"], [0], {}, 64))
    later = protocol.test_specs("natural", ["hashgrid", "siren"], [0], {}, 32)
    assert [s.lr for s in later] == [1e-2, 1e-4] and later[0].encoding.hashgrid_finest == 32.0


def test_summary_statistics_and_ordering():
    rows = [row("natural", "none", image, seed, test) for image, seed, test in
            (("a", 0, 18.0), ("a", 1, 19.0), ("b", 0, 20.0), ("b", 1, 23.0))]
    rows += [row("natural", "gaussian", "a", 0, 25.0, sigma=2.0), row("natural", "gaussian", "b", 0, 27.0, sigma=2.0),
             row("natural", "gaussian", "b", 1, 99.0, sigma=2.0, diverged=True)]
    entries = protocol.summary(rows)
    none = entries[0]
    tests = np.array([18.0, 19.0, 20.0, 23.0])
    assert none["test_psnr"] == (tests.mean(), tests.std())
    assert math.isclose(none["seed_std"], np.mean([0.5, 1.5]))
    assert none["paper"] == 19.32 and none["images"] == 2
    gaussian = entries[1]
    assert gaussian["diverged"] == 1 and gaussian["test_psnr"][0] == 26.0 and gaussian["parameter"] == "sigma 2"
    assert protocol.ordering_holds(rows, "natural")
    assert not protocol.ordering_holds(rows, "natural", order=("gaussian", "none"))
    table = protocol.summary_markdown(rows)
    assert "| natural | none |" in table and "19.32" in table and "(1 diverged)" in table


def test_tiles_pool_into_one_row_per_image_from_their_squared_errors():
    tile_rows = [{**row("text", "gaussian", "a", 0, psnr, train=30.0 + t, sigma=2.0), "tile": t, "origin": [0, 8 * t],
                  "tile_size": 64, "image_size": 512} for t, psnr in enumerate((20.0, 30.0))]
    untiled = row("text", "none", "a", 0, 17.0)
    pooled = protocol.pool_tiles(tile_rows + [untiled])
    assert pooled[0] is untiled and len(pooled) == 2
    image = pooled[1]
    assert image["tiles"] == 2 and "tile" not in image and not image["diverged"]
    assert image["test_psnr"] == pytest.approx(-10 * np.log10((1e-2 + 1e-3) / 2))  # MSE 1e-2 and 1e-3, pooled
    assert image["train_psnr"] == pytest.approx(-10 * np.log10((10 ** -3.0 + 10 ** -3.1) / 2))
    assert protocol.in_units(image, "sigma") == "2 (16 per image)"
    assert protocol.in_units({**image, "positional_scale": 3.0}, "positional_scale") == "3 (6 per image)"
    diverged = protocol.pool_tiles([tile_rows[0], {**tile_rows[1], "diverged": True}])[0]
    assert diverged["diverged"] and diverged["test_psnr"] == pytest.approx(20.0)
