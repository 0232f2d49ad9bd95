"""The public API of ``nerf_toy_jax``: its names, loading a signal, and reading committed run folders back
(``load_run``) against their files read independently (csv, PIL, NumPy PSNR)."""

import csv
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import nerf_toy_jax
from nerf_toy_jax import data, signals, tables

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


def psnr(prediction, target):
    return -10.0 * np.log10(np.mean((np.asarray(prediction, np.float64) - np.asarray(target, np.float64)) ** 2))


def png(path):
    values = np.asarray(Image.open(path), np.float32) / 255.0
    return values[..., None] if values.ndim == 2 else values


def test_the_package_names_its_api_and_loads_no_module_until_asked():
    code = ("import sys, nerf_toy_jax as ntj; before = set(sys.modules); ntj.TrainConfig; "
            "print(sorted(m for m in before if m.startswith(('jax', 'matplotlib', 'nerf_toy_jax.')))); "
            "print('matplotlib' in sys.modules)")
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=ROOT).stdout.splitlines()
    assert lines == ["[]", "False"]  # importing the package loads nothing; TrainConfig loads no plotting
    for name in nerf_toy_jax.__all__:
        assert getattr(nerf_toy_jax, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'trian_sweep'"):
        nerf_toy_jax.trian_sweep


def test_load_signal_gives_one_split_and_refuses_a_set():
    split = nerf_toy_jax.load_signal(None, 16, "holdout")
    expected = data.make_split(data.load_image(size=16), "holdout")
    np.testing.assert_array_equal(split.train_pixels, expected.train_pixels)
    np.testing.assert_array_equal(split.test_coords, expected.test_coords)
    curve = nerf_toy_jax.load_signal("curve:tones:0", 64)
    assert curve.kind == "curve" and curve.image.shape == (64, 1) and curve.dim == 1
    with pytest.raises(ValueError, match="'faces:3' names a set of 3 signals"):
        nerf_toy_jax.load_signal("faces:3", 16)


def test_enable_determinism_sets_the_flag_once_and_warns_when_too_late():
    code = ("import os, warnings, jax.numpy as jnp, nerf_toy_jax as ntj; ntj.enable_determinism(); "
            "ntj.enable_determinism(); print(os.environ['XLA_FLAGS']); jnp.zeros(1); os.environ.pop('XLA_FLAGS'); "
            "warnings.simplefilter('error'); ntj.enable_determinism()")
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.stdout.splitlines() == ["--xla_gpu_deterministic_ops=true"]
    assert "called after JAX started" in result.stderr


def tracked(folder):
    """Whether git tracks the run folder (tests look at committed results only)."""
    listed = subprocess.run(["git", "ls-files", "--error-unmatch", str(folder / "metrics.json")], cwd=ROOT,
                            capture_output=True)
    return listed.returncode == 0


def csv_rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def checked_run(name):
    """The ``Run`` of results/NAME and its predictions, checked against its files: rows against metrics.csv,
    the history's last column against the rows, the predictions' models and shapes."""
    folder = RESULTS / name
    if not tracked(folder):
        pytest.skip(f"{folder} is not committed")
    run = nerf_toy_jax.load_run(folder)
    record = json.loads((folder / "config.json").read_text())
    assert run.config.train.steps == record["config"]["train"]["steps"]
    assert [(row["index"], row["label"]) for row in run.rows] == [(int(row["index"]), row["label"])
                                                                  for row in csv_rows(folder / "metrics.csv")]
    history = run.history()
    assert history["test_psnr"].shape == (len(run.rows), len(history["eval_steps"]))
    np.testing.assert_allclose(history["test_psnr"][:, -1], [row["test_psnr"] for row in run.rows], rtol=1e-6)
    frames = run.frames()
    assert frames["frames"].shape[:2] == (len(frames["models"]), len(frames["frame_steps"]))
    predictions = run.predictions()
    assert sorted(predictions) == sorted(tables.representatives(run.rows).values())
    for index, values in predictions.items():
        assert values.shape == tuple(record["image_shape"]) and values.dtype == np.float32
    return run, predictions


def test_a_scenes_run_folder_reads_back_as_its_files_say():
    run, predictions = checked_run("nerf_primitives")
    assert run.kind == "views" and run.parts == () and run.trained() == [run]


def test_an_image_runs_predictions_score_as_its_table_says():
    """The default run memorises: a prediction's PSNR against image.png is its row's test PSNR, up to 8 bits."""
    run, predictions = checked_run("grace_hopper")
    image = png(RESULTS / "grace_hopper" / "image.png")
    for index, values in predictions.items():
        if run.rows[index]["test_psnr"] < 30:  # where 8-bit rounding is far below the error
            assert psnr(values, image) == pytest.approx(run.rows[index]["test_psnr"], abs=0.05)


def test_a_validated_curve_runs_predictions_are_float32_and_its_sweep_is_a_part():
    run, predictions = checked_run("curve_tones")
    with np.load(RESULTS / "curve_tones" / "signal.npz") as archive:
        signal = signals.get("curve").loaded(archive["values"])
    for index, values in predictions.items():  # holdout: tested on the odd samples
        assert psnr(values[1::2], signal[1::2]) == pytest.approx(run.rows[index]["test_psnr"], abs=1e-3)
    (sweep,) = run.parts
    assert sweep.workdir == RESULTS / "curve_tones" / "validation" and sweep.label.startswith("validation sweep on")
    assert [part.label for part in run.trained()] == [sweep.label, run.label]
    assert run.label.endswith("at the chosen scales") and sweep.predictions() == {}


def test_a_folder_of_arms_reads_back_as_its_arms():
    folder = RESULTS / "batchnorm"
    if not tracked(folder / "memorize-batchnorm"):
        pytest.skip(f"{folder} is not committed")
    run = nerf_toy_jax.load_run(folder)
    arms = json.loads((folder / "arms.json").read_text())["arms"]
    assert [part.workdir.name for part in run.parts] == arms and run.trained() == list(run.parts)
    assert [part.label for part in run.parts] == [f"arm {name}" for name in arms]
    assert run.rows == [] and run.kind is None and all(part.rows for part in run.parts)


def test_a_folder_without_a_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="holds no run"):
        nerf_toy_jax.load_run(tmp_path)
