"""``experiment.run_experiment`` in-process on the tiny config, no flags: a config to a complete run folder, whose
metrics are those of the library's trainer on the same specs; bad input refused before anything is written."""

import json

import numpy as np
import pytest

import tiny_config
from nerf_toy_jax import data, evaluate, experiment, rundir, signals, specs as specs_lib, state, tables, train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("in_process") / "tiny"
    run = experiment.run_experiment(tiny_config.get_config(), str(out), command="tiny")
    assert run.workdir == out and run.stopped_by is None
    assert [part.label for part in run.trained()] == [None]  # a plain run: one unlabelled block
    loaded = experiment.load_run(out)
    assert loaded.rows == json.loads(json.dumps(run.rows)) and loaded.record == json.loads(json.dumps(run.record))
    return out, [part.rows for part in run.trained()]


def test_a_trained_model_comes_back_from_its_checkpoint_and_predicts_its_picture(tiny_run):
    """``Run.model``: the network of a drawn model, evaluated on the image's grid, is its prediction (8 bits)."""
    out, (rows,) = tiny_run
    run = experiment.load_run(out)
    index = max(run.predictions())
    spec, variables, matrix = run.model(index)
    assert spec.label == rows[index]["label"] and spec.seed == rows[index]["seed"]
    prediction = evaluate.render(state.TrainConfig(**run.record["config"]["train"]), 3, spec, variables, matrix, 16, 16)
    np.testing.assert_allclose(prediction, run.predictions()[index], atol=0.5 / 255 + 1e-6)


def test_bad_input_is_one_line_before_anything_is_written(tmp_path):
    config = tiny_config.get_config()
    config.encodings = "none,fourier"
    with pytest.raises(experiment.BadInput, match=r"^unknown encoding\(s\) fourier: choose from none, "):
        experiment.run_experiment(config, tmp_path / "bad")
    config = tiny_config.get_config()
    config.train.batch_size = 16 * 16 + 1  # the memorize split trains on all 256 pixels
    with pytest.raises(experiment.BadInput, match="exceeds the 256 training pixels"):
        experiment.run_experiment(config, tmp_path / "bad")
    with pytest.raises(experiment.BadInput, match="exclude each other"):
        experiment.run_experiment(tiny_config.get_config(), tmp_path / "bad", resume=True, overwrite=True)
    assert not (tmp_path / "bad").exists()


def test_the_program_writes_a_run_folder_of_its_config(tiny_run):
    out, (rows,) = tiny_run
    for name in ("config.json", "metrics.csv", "metrics.md", "history.npz", "frames.npz", "convergence.gif",
                 "curves.png", "final.png", "psnr_vs_scale.png", "checkpoints/stack_001.msgpack"):
        assert (out / name).is_file(), name
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["encodings"] == "none,gaussian" and record["config"]["train"]["steps"] == 4
    assert record["command"] == "tiny" and record["checkpoint_every"] == experiment.CHECKPOINT_EVERY
    assert [(row["label"], row["seed"]) for row in rows] == [(label, seed) for label in ("none", "gaussian s=4",
                                                                                         "gaussian s=8")
                                                             for seed in (0, 1)]
    assert rundir.load_json(out / "metrics.json") == json.loads(json.dumps(rows))


def test_its_metrics_are_the_trainers(tiny_run):
    out, (rows,) = tiny_run
    record = rundir.load_record(out)
    specs = [specs_lib.spec_from_dict(fields) for fields in record["specs"]]
    split = data.make_split(data.load_image(size=16), "memorize")
    stacks = train.train_sweep(specs, split, state.TrainConfig(**record["config"]["train"])).stacks
    expected = tables.model_rows(stacks)
    for row, want in zip(rows, expected):
        for name in ("label", "seed", "lr", "train_loss", "train_psnr", "test_psnr", "diverged"):
            assert row[name] == want[name], name
        np.testing.assert_array_equal(rundir.load_history(out)["loss"][row["index"]], np.concatenate(
            [stack.loss for stack in stacks])[row["index"]])


@pytest.mark.slow  # 9 small stacks compiled and trained
def test_a_set_of_signals_trains_in_one_stack_per_encoding_as_each_signal_alone(tmp_path):
    """``config.image = "faces:3"``: every model of the tiny config on each of 3 faces, one stack per encoding shape;
    each face's rows equal the trainer's on that face alone, and signals.md gives each face's mean."""
    config = tiny_config.get_config()
    config.image = "faces:3"
    run = experiment.run_experiment(config, tmp_path / "faces")
    out, rows = run.workdir, run.rows
    assert len(rows) == 18 and {row["signal"] for row in rows} == {"faces/000", "faces/001", "faces/002"}
    assert "18 models on 3 signals in 2 stacks" in (out / "metrics.md").read_text()
    record = rundir.load_record(out)
    specs = [specs_lib.spec_from_dict(fields) for fields in record["specs"][:6]]  # the first face's
    config = state.TrainConfig(**record["config"]["train"])
    for name, face in signals.load_set("faces:3", 16):  # the tiny config's size
        split = data.make_split(face, "memorize")
        alone = train.train_sweep(specs, split, config).rows()
        ours = [row for row in rows if row["signal"] == name]
        for row, want in zip(ours, alone):
            assert (row["label"], row["seed"]) == (want["label"], want["seed"])
            np.testing.assert_allclose(row["test_psnr"], want["test_psnr"], rtol=1e-5)
        means = [np.mean([row["test_psnr"] for row in ours if row["label"] == label])
                 for label in ("none", "gaussian s=4", "gaussian s=8")]
        assert f"| {name} | " + " | ".join(f"{mean:.2f}" for mean in means) + " |" in (out / "signals.md").read_text()


def test_a_validated_run_loads_each_signal_once_and_trains_at_the_sweeps_best_scale(tmp_path, monkeypatch):
    """The validation sweep on text:1, then the run on the default image at the scale of the best mean test PSNR
    there: each signal is loaded once (the chosen run reuses what planning loaded), no pictures in the sweep."""
    loads = []
    load_signals = signals.load_signals
    monkeypatch.setattr(signals, "load_signals", lambda source, *args, **kwargs: (
        loads.append(source), load_signals(source, *args, **kwargs))[1])
    config = tiny_config.get_config()
    config.validation = "text:1"
    run = experiment.run_experiment(config, tmp_path / "validated")
    assert loads == ["text:1", None]
    (sweep,) = run.parts
    means = {scale: np.mean([row["test_psnr"] for row in sweep.rows if row["sigma"] == scale]) for scale in (4, 8)}
    best = max(means, key=means.get)
    assert {row["sigma"] for row in run.rows if row["encoding"] == "gaussian"} == {best}
    assert run.record["validation"]["scales"] == {"gaussian": best}
    assert not (sweep.workdir / "reconstructions").exists() and (run.workdir / "reconstructions").is_dir()
