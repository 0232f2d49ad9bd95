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
    rates = [row("text", "basic", image, 0, test, lr=lr) for image, lr, test in
             (("a", 1e-2, 9.0), ("b", 1e-2, 30.0), ("a", 1e-3, 22.0), ("b", 1e-3, 24.0))]  # 1e-2 collapsed on a
    rates.append(row("text", "none", "a", 0, 20.0, lr=1e-2))
    assert protocol.best_choices(rows + rates)["lr"] == {"none": 1e-2, "basic": 1e-3}
    table = protocol.search_markdown(rows + rates)
    assert "| text | basic | lr 0.001 | 23.00 | **yes** |" in table and "| text | basic | lr 0.01 | 19.50 |  |" in table


def test_a_validation_sweep_chooses_each_swept_scale_by_its_mean_and_skips_diverged_models():
    def row(encoding, field, value, seed, psnr, iou=0.0, diverged=False):
        return {"encoding": encoding, field: value, "seed": seed, "test_psnr": psnr, "test_iou": iou,
                "diverged": diverged}

    rows = [row("gaussian", "sigma", 1.0, 0, 20.0, iou=0.9), row("gaussian", "sigma", 1.0, 1, 24.0, iou=0.9),
            row("gaussian", "sigma", 3.0, 0, 23.0, iou=0.5), row("gaussian", "sigma", 3.0, 1, 22.0, iou=0.5),
            row("siren", "siren_omega", 10.0, 0, 30.0), row("siren", "siren_omega", 30.0, 0, 35.0, diverged=True),
            row("hashgrid", "hashgrid_finest", 64.0, 0, 40.0), row("none", "sigma", None, 0, 10.0)]
    # means 22 against 22.5; a diverged model counts as -inf; one value is no sweep
    assert protocol.best_scales(rows) == {"gaussian": 3.0, "siren": 10.0}
    assert protocol.best_scales(rows, "test_iou")["gaussian"] == 1.0


def test_search_and_test_specs_follow_the_paper():
    search = protocol.search_specs([1, 2], [3])
    assert [(s.name, s.encoding.params(), s.seed) for s in search] == [
        ("gaussian", {"sigma": 1.0, "mapping_size": 256}, 0), ("gaussian", {"sigma": 2.0, "mapping_size": 256}, 0),
        ("positional", {"positional_freqs": 128, "positional_scale": 3.0}, 0)]
    assert all(s.stack_key(2) == ("fourier", 256) for s in search)  # m = 256; positional: 128 frequencies per axis
    rates = protocol.search_specs([1], [3], lrs=[1e-3, 1e-2])[2:]
    assert [(s.name, s.lr, s.seed) for s in rates] == [("none", 1e-3, 0), ("none", 1e-2, 0), ("basic", 1e-3, 0),
                                                        ("basic", 1e-2, 0)]
    searched = protocol.test_specs("natural", ["none", "basic", "gaussian"], [0], {"lr": {"basic": 1e-3}}, 64)
    assert [s.lr for s in searched] == [1e-2, 1e-3, 1e-3]  # none keeps the paper's rate, basic takes its search
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


def search_rows(set_name, best_sigma, best_scale, tile_size=None, image_size=None):
    """Search rows of two images whose test PSNR peaks at the given values of the grids (1, 2, 4) and (2, 3, 4)."""
    extra = {} if tile_size is None else {"tile": 0, "tile_size": tile_size, "image_size": image_size}
    rows = [{**row(set_name, "gaussian", image, 0, 30.0 - abs(np.log2(sigma / best_sigma)), sigma=sigma), **extra}
            for image in "ab" for sigma in (1.0, 2.0, 4.0)]
    rows += [{**row(set_name, "positional", image, 0, 30.0 - abs(scale - best_scale), scale=scale), **extra}
             for image in "ab" for scale in (2.0, 3.0, 4.0)]
    return [{**one, "part": "validation"} for one in rows]


def test_grids_say_whether_the_search_brackets_its_optimum():
    inside = protocol.grids(search_rows("text", 2.0, 3.0))
    assert inside == {"sigma": (2.0, 1.0, 4.0), "positional_scale": (3.0, 2.0, 4.0)}
    assert all(protocol.bracketed(*values) for values in inside.values())
    edge = protocol.grids(search_rows("text", 4.0, 2.0))
    assert not protocol.bracketed(*edge["sigma"]) and not protocol.bracketed(*edge["positional_scale"])
    notes = protocol.search_markdown(search_rows("text", 4.0, 3.0))
    assert "- text: sigma 4 lies at the grid's upper edge: the optimum may lie beyond it (1 to 4)" in notes
    assert "- text: positional scale 3 lies inside the grid (2 to 4)" in notes


def test_a_command_repeated_to_resume_is_listed_once():
    record = {"commands": ["a", "b --resume", "b --resume", "c --resume", "b --resume"]}
    assert protocol.commands_run(record) == ["a", "b --resume", "c --resume", "b --resume"]
    assert protocol.commands_run({"command": "a"}) == ["a"]


def test_a_resolution_rung_gives_choices_per_image_and_the_test_table():
    tiled = search_rows("natural", 2.0, 3.0, tile_size=64, image_size=512)
    tests = [{**row("natural", name, image, 0, psnr + bonus, sigma=2.0, scale=3.0), "part": "test"}
             for name, psnr in (("none", 20.0), ("basic", 21.0), ("positional", 23.0), ("gaussian", 24.0))
             for image, bonus in (("a", 0.0), ("b", 2.0))]
    record = {"settings": {"size": 512, "tile": 64, "tiles_per_image": 2},
              "commands": ["python -m experiments.reproduce --tile=64"], "wall_s": 600.0}
    rung = protocol.resolution_rung(record, tiled + tests)
    entry = rung["sets"]["natural"]
    assert (rung["size"], rung["tile"], rung["seeds"]) == (512, 64, 1)
    assert entry["sigma"] == (16.0, 8.0, 32.0)  # x 512 / 64 cycles per image
    assert entry["positional_scale"] == (6.0, 5.0, 7.0)  # + log2(512 / 64)
    assert entry["psnr"]["gaussian"] == (25.0, 1.0) and entry["ordering"]
    whole = protocol.resolution_rung({**record, "settings": {"size": 64, "tile": 0}},
                                     search_rows("natural", 4.0, 2.0) + tests)
    assert whole["tile"] is None and whole["sets"]["natural"]["sigma"] == (4.0, 1.0, 4.0)
    table = protocol.resolution_markdown([whole, rung], ["reproduce_64", "reproduce_tiles64"])
    assert "| natural | 64 | whole | 1 | 4 (1–4, at an edge) | 2 (2–4, at an edge) | 0.001, 0.001 | 21.00 ± 1.00 |" \
        in table
    assert "| natural | 512 | 2 tiles of 64 px | 1 | 16 (8–32) | 6 (5–7) | 0.001, 0.001 |" in table
    assert "| 512 | 2 tiles of 64 px | reproduce_tiles64 | `python -m experiments.reproduce --tile=64` | 10.0 |" in table


def test_gaps_compare_each_step_of_the_ordering_image_by_image():
    psnr = {("a", "none"): (20.0, 22.0), ("a", "basic"): (23.0, 23.0), ("b", "none"): (30.0, 30.0),
            ("b", "basic"): (29.0, 29.0), ("a", "gaussian"): (25.0, 25.0), ("b", "gaussian"): (31.0, 33.0)}
    rows = [row("text", encoding, image, seed, value, sigma=1.0) for (image, encoding), values in psnr.items()
            for seed, value in enumerate(values)]
    none_basic, basic_gaussian = protocol.gaps(rows, "text")
    assert none_basic["pair"] == ("none", "basic")
    assert none_basic["mean"] == pytest.approx(((23 - 21) + (29 - 30)) / 2)
    assert (none_basic["lowest"], none_basic["highest"], none_basic["holds"], none_basic["images"]) == (-1, 2, 1, 2)
    assert none_basic["seed_std"] == pytest.approx(0.5)  # none: std 1 on image a, 0 on b
    assert basic_gaussian["mean"] == pytest.approx(((25 - 23) + (32 - 29)) / 2) and basic_gaussian["holds"] == 2
    assert "| text | none → basic | +0.50 | -1.00 to +2.00 | 1 of 2 | 0.50 |" in protocol.gaps_markdown(rows)
