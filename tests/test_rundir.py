"""Run folders: per-model rows, their aggregation over seeds, checkpoints (format 2 and format 1) and the
mapping of a model's index to its stack."""

import json
import math

import flax.serialization
import jax
import numpy as np
import pytest
from PIL import Image

from nerf_toy_jax import data, metrics, rundir, signals, specs as specs_lib, state, tables, train, viz

SPLIT = data.make_split(data.load_image(size=8), "memorize")
CONFIG = state.TrainConfig(depth=2, width=4)
IMAGE_METRICS = signals.get("image").metrics


def fake_stack(specs, evaluations=3, seed=0):
    """A StackResult of ``specs`` with random curves and the initial state, without training."""
    rng = np.random.default_rng(seed)
    count = len(specs)
    initial = jax.tree_util.tree_map(np.asarray, train.init_stack(specs, SPLIT, CONFIG))
    return state.StackResult(
        specs=specs, eval_steps=np.arange(evaluations) * 5, loss=rng.random((count, 10), np.float32),
        scores={name: rng.random((count, evaluations), np.float32) * 30 for name in IMAGE_METRICS},
        frames=rng.integers(0, 256, (count, evaluations, 2, 2, 3), dtype=np.uint8),
        batch_stats=initial.batch_stats, matrices=specs_lib.stack_matrices(specs, 2), wall_s=1.5 + seed,
        state=initial)


def test_rows_hold_each_models_final_metrics_and_its_encodings_columns():
    specs = specs_lib.make_grid(["none", "gaussian"], seeds=[0, 1], params={"mapping_size": 4})
    stacks = [fake_stack(specs[:2]), fake_stack(specs[2:], seed=1)]
    rows = tables.model_rows(stacks)
    assert [row["index"] for row in rows] == [0, 1, 2, 3]
    assert list(rows[0]) == [name for name in tables.COLUMNS if name not in metrics.NAMES or name in IMAGE_METRICS]
    assert rows[3]["test_psnr"] == pytest.approx(float(stacks[1].scores["test_psnr"][1, -1]))
    assert (rows[0]["sigma"], rows[2]["sigma"], rows[2]["mapping_size"]) == (None, 10.0, 4)
    assert [row["wall_s"] for row in rows] == [1.5, 1.5, 2.5, 2.5]


def test_aggregate_is_mean_and_population_std_over_seeds_without_diverged_models():
    rows = [{"label": "a", "encoding": "gaussian", "sigma": 2.0, "lr": 1e-3, "diverged": diverged,
             "train_psnr": value, "test_psnr": value, "test_ssim": value / 100} for value, diverged in
            ((10.0, False), (14.0, False), (99.0, True))]
    rows.append({**rows[0], "label": "b", "test_psnr": 20.0, "train_psnr": 20.0})
    table = tables.aggregate(rows)
    assert [entry["label"] for entry in table] == ["b", "a"]  # by mean test PSNR, best first
    a = table[1]
    assert (a["models"], a["diverged"], a["scale"]) == (3, 1, 2.0)
    assert a["test_psnr"] == pytest.approx((12.0, 2.0)) and a["test_ssim"] == pytest.approx((0.12, 0.02))
    markdown = tables.markdown_table(rows).splitlines()
    assert markdown[0] == ("| encoding | scale | lr | models | train PSNR (dB) | test PSNR (dB) | test SSIM "
                           "| diverged |")
    assert markdown[3] == "| gaussian | 2 | 0.001 | 3 | 12.00 ± 2.00 | 12.00 ± 2.00 | 0.1200 ± 0.0200 | 1 |"


def test_a_table_of_single_models_shows_means_alone_and_no_diverged_column_when_none_diverged():
    rows = [{"label": label, "encoding": "none", "sigma": None, "lr": 1e-3, "diverged": False, "train_psnr": value,
             "test_psnr": value, "test_ssim": 0.5} for label, value in (("a", 20.0), ("b", 21.0))]
    assert tables.markdown_table(rows).splitlines() == [
        "| encoding | scale | lr | models | train PSNR (dB) | test PSNR (dB) | test SSIM |",
        "|---|---|---|---|---|---|---|",
        "| none |  | 0.001 | 1 | 21.00 | 21.00 | 0.5000 |", "| none |  | 0.001 | 1 | 20.00 | 20.00 | 0.5000 |"]
    rows.append({**rows[0], "diverged": True, "test_psnr": float("nan")})  # a's second seed: a's mean is its first
    lines = tables.markdown_table(rows).splitlines()
    assert lines[0].endswith("| test SSIM | diverged |")
    assert lines[3] == "| none |  | 0.001 | 2 | 20.00 | 20.00 | 0.5000 | 1 |"


def test_metrics_json_is_strict_json_with_null_for_nan_and_reads_back_both(tmp_path):
    rows = [{"label": "none", "test_psnr": 20.0, "test_ssim": np.float32("nan"), "sigma": None}]
    rundir.write_json(tmp_path / "metrics.json", rows)
    text = (tmp_path / "metrics.json").read_text()
    assert "NaN" not in text and json.loads(text, parse_constant=lambda name: pytest.fail(name))[0]["test_ssim"] is None
    for path in (tmp_path / "metrics.json", tmp_path / "old.json"):
        if path.name == "old.json":
            path.write_text('[{"label": "none", "test_psnr": 20.0, "test_ssim": NaN, "sigma": null}]')
        (row,) = rundir.load_rows(path)
        assert np.isnan(row["test_ssim"]) and row["test_psnr"] == 20.0 and row["sigma"] is None


def test_groups_split_a_label_by_learning_rate_only_where_it_varies():
    rows = [{"label": "none", "lr": 1e-3}, {"label": "none", "lr": 1e-2}, {"label": "siren", "lr": 1e-4},
            {"label": "none", "lr": 1e-3}]
    assert tables.group_rows(rows) == {"none lr=0.001": [0, 3], "none lr=0.01": [1], "siren": [2]}
    assert tables.representatives(rows) == {"none lr=0.001": 0, "none lr=0.01": 1, "siren": 2}
    assert math.isnan(tables.aggregate([{**rows[0], "encoding": "none", "diverged": True, "train_psnr": 1,
                                         "test_psnr": 1, "test_ssim": 1}])[0]["test_psnr"][0])


def test_model_index_maps_to_its_stack_and_position():
    specs = specs_lib.make_grid(["gaussian", "none", "siren"], seeds=[0, 1, 2], params={"mapping_size": 4})
    # stacks: gaussian (3), none (3), siren (3), at most 2 models each
    locations = [rundir.checkpoint_location(specs, 2, 2, index) for index in range(9)]
    assert locations == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1), (3, 0), (4, 0), (4, 1), (5, 0)]


def test_checkpoints_round_trip_and_hold_the_parameters_once(tmp_path):
    specs = specs_lib.make_grid(["gaussian"], seeds=[0, 1], params={"mapping_size": 4})
    stack = fake_stack(specs)
    rundir.write_stack(tmp_path, 0, stack)
    payload = flax.serialization.msgpack_restore(rundir.stack_path(tmp_path, 0).read_bytes())
    assert payload["format"] == rundir.FORMAT and "variables" not in payload and "params" in payload["state"]
    loaded = rundir.load_stack(tmp_path, 0, train.init_stack(specs, SPLIT, CONFIG), IMAGE_METRICS)
    assert loaded.specs == specs and loaded.wall_s == stack.wall_s
    for name in IMAGE_METRICS:
        np.testing.assert_array_equal(loaded.scores[name], stack.scores[name])
    for a, b in zip(jax.tree_util.tree_leaves(loaded.state), jax.tree_util.tree_leaves(stack.state)):
        np.testing.assert_array_equal(a, b)


def test_format_1_checkpoints_load(tmp_path):
    """Format 1 kept every metric as a field and the parameters also under "variables"."""
    specs = specs_lib.make_grid(["gaussian"], seeds=[0, 1], params={"mapping_size": 4})
    stack = fake_stack(specs)
    old = {"eval_steps": stack.eval_steps, "loss": stack.loss, **stack.scores, "frames": stack.frames,
           "variables": stack.variables, "matrices": stack.matrices, "diverged": stack.diverged,
           "diverged_step": stack.diverged_step, "wall_s": stack.wall_s,
           "specs": [{**specs_lib.spec_to_dict(spec), "hashgrid_levels": 8, "siren_omega": 30.0} for spec in specs],
           "state": flax.serialization.to_state_dict(stack.state)}
    rundir.write_bytes(rundir.stack_path(tmp_path, 0), flax.serialization.msgpack_serialize(old))
    loaded = rundir.load_stack(tmp_path, 0, train.init_stack(specs, SPLIT, CONFIG), IMAGE_METRICS)
    assert loaded.specs == specs
    np.testing.assert_array_equal(loaded.scores["test_ssim"], stack.scores["test_ssim"])
    rundir.write_json(tmp_path / "config.json", {"settings": {}, "split": "memorize", "train": {"max_stack": None},
                                                 "gif_every": 25, "model_gifs": False, "specs": old["specs"]})
    spec, variables, matrix = rundir.load_checkpoint(tmp_path, 1)
    assert spec == specs[1]
    np.testing.assert_array_equal(matrix, stack.matrices[1])
    for a, b in zip(jax.tree_util.tree_leaves(variables["params"]),
                    jax.tree_util.tree_leaves(stack.model_variables(1)[0]["params"])):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no model 2 in .*: indices run from 0 to 1"):
        rundir.load_checkpoint(tmp_path, 2)


def test_a_new_metric_joins_the_tables_and_old_rows_still_draw(monkeypatch, tmp_path):
    """Adding a metric is one line of ``metrics.METRICS``; rows written before it lack it and still draw."""
    rows = [{"label": "none", "encoding": "none", "lr": 1e-3, "diverged": False, "train_psnr": 20.0,
             "test_psnr": 19.0, "test_ssim": 0.5}]
    mae = metrics.Metric("test_mae", "test", "mae", lambda a, b: abs(a - b).mean(), False, "MAE", 3)
    monkeypatch.setattr(metrics, "METRICS", metrics.METRICS + (mae,))
    assert tables.markdown_table(rows).splitlines()[0].endswith("| test SSIM |")
    assert tables.markdown_table([{**rows[0], "test_mae": 0.25}]).splitlines()[2].endswith("| 0.5000 | 0.250 |")
    history = {"loss": np.ones((1, 4)), "eval_steps": np.arange(2), "diverged": np.zeros(1, bool),
               **{name: np.ones((1, 2)) for name in ("train_loss", "train_psnr", "test_psnr", "test_ssim")}}
    viz.curves_png(tmp_path / "old.png", history, {"none": [0]}, holdout=False)
    viz.curves_png(tmp_path / "new.png", {**history, "test_mae": np.ones((1, 2))}, {"none": [0]}, holdout=False)
    old, new = (Image.open(tmp_path / name).size[0] for name in ("old.png", "new.png"))
    assert new > 1.2 * old  # a fourth panel


def test_the_signals_table_averages_seeds_and_counts_the_best():
    def row(signal, label, seed, psnr, diverged=False):
        return {"signal": signal, "label": label, "lr": 1e-3, "seed": seed, "test_psnr": psnr, "diverged": diverged}

    rows = [row("a", "none", 0, 10.0), row("a", "none", 1, 12.0), row("a", "basic", 0, 13.0),
            row("a", "basic", 1, 14.0, diverged=True), row("b", "none", 0, 20.0), row("b", "none", 1, 20.0),
            row("b", "basic", 0, 18.0), row("b", "basic", 1, 19.0)]
    assert tables.signals_markdown(rows).splitlines() == [
        "| signal | none | basic |", "|---|---|---|", "| a | 11.00 | 13.00 |", "| b | 20.00 | 18.50 |",
        "| best on | 1 of 2 | 1 of 2 |"]
