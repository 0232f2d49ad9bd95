"""End-to-end: experiments/run.py writes a complete run folder from a config (with arms, one per arm);
bad input exits 2 before compute."""

import csv
import json
import os
import socket
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import skimage.metrics
from PIL import Image

from nerf_toy_jax import evaluate, rundir, scenes, signals, state, viz

from conftest import ROOT, TINY_CONFIG
from conftest import run as run_program

pytestmark = pytest.mark.slow  # end-to-end: programs in subprocesses
TINY = [f"--config={TINY_CONFIG}"]


def run(*args, program="run"):
    return run_program(program, *args)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    completed = run(*TINY, f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    return out, completed.stdout


def test_run_writes_every_output(folder):
    out, stdout = folder
    for name in ("config.json", "metrics.csv", "metrics.json", "metrics.md", "history.npz", "frames.npz",
                 "image.png", "curves.png", "final.png", "convergence.gif", "psnr_vs_scale.png"):
        assert (out / name).stat().st_size > 0, name
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["encoding"], row["sigma"], row["seed"]) for row in rows] == [
        ("none", "", "0"), ("none", "", "1"), ("gaussian", "4.0", "0"), ("gaussian", "4.0", "1"),
        ("gaussian", "8.0", "0"), ("gaussian", "8.0", "1")]
    assert all(row["steps"] == "4" and row["diverged"] == "False" for row in rows)
    assert stdout.count(" PSNR") >= 1 and "gaussian s=8" in stdout
    record = json.loads((out / "config.json").read_text())
    assert record["format"] == rundir.FORMAT and record["command"].startswith("python -m experiments.run --config=")
    assert record["config"]["train"]["steps"] == 4 and record["environment"]["versions"]["jax"]
    history = rundir.load_history(out)
    assert history["loss"].shape == (6, 4) and history["eval_steps"].tolist() == [0, 2, 4]
    gif = iio.imread(out / "convergence.gif")
    assert gif.shape[0] == 3  # steps 0, 2, 4
    assert gif.shape[2] > 3 * gif.shape[1] // 2  # original + 2 columns side by side, captions on top
    for name in ("curves.png", "final.png", "psnr_vs_scale.png", "image.png"):
        with Image.open(out / name) as picture:
            picture.load()
            assert picture.size[0] > 0
    assert sorted(path.name for path in (out / "checkpoints").iterdir()) == ["stack_000.msgpack", "stack_001.msgpack"]
    entries = sorted(path.name + "/" * path.is_dir() for path in out.iterdir())
    assert stdout.splitlines()[-1] == f"results in {out}: {', '.join(entries)}"  # what is there, nothing else


def test_metrics_table_is_aggregated_over_seeds_and_sorted(folder):
    out, _ = folder
    rows = rundir.load_json(out / "metrics.json")
    text = (out / "metrics.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("|")][2:]
    assert len(lines) == 3
    assert "6 models in 2 stacks, 4 steps: " in text  # and the wall time
    means = [float(line.split("|")[6].split("±")[0]) for line in lines]
    assert means == sorted(means, reverse=True)
    gaussian8 = [row["test_psnr"] for row in rows if row["label"] == "gaussian s=8"]
    assert f"{np.mean(gaussian8):.2f} ± {np.std(gaussian8):.2f}" in "".join(lines)


def test_checkpoint_renders_the_saved_reconstruction(folder):
    out, _ = folder
    record = rundir.load_record(out)
    spec, variables, matrix = rundir.load_checkpoint(out, 2)
    assert (spec.name, spec.encoding.sigma, spec.seed) == ("gaussian", 4.0, 0)
    rendered = evaluate.render(state.TrainConfig(**record["config"]["train"]), 3, spec, variables, matrix, 16, 16)
    saved = np.asarray(Image.open(rundir.reconstruction_path(out, 2)), np.float32) / 255
    np.testing.assert_allclose(rendered, saved, atol=0.5 / 255 + 1e-6)


def test_figures_regenerate_from_saved_files(folder):
    out, _ = folder
    table = (out / "metrics.md").read_text()
    for name in ("curves.png", "final.png", "convergence.gif", "metrics.md"):
        (out / name).unlink()
    viz.write_run_figures(out)
    assert (out / "metrics.md").read_text() == table
    assert all((out / name).stat().st_size > 0 for name in ("curves.png", "final.png", "convergence.gif"))


def test_a_curve_runs_end_to_end(tmp_path):
    """A 1D signal through the run program: its kind's metrics only, its pictures, the residual spectra, and
    test PSNRs that the saved predictions give at the held-out samples (NumPy)."""
    out = tmp_path / "curve"
    completed = run("--config=experiments/configs/curve.py", "--config.size=64", "--steps=4",
                    "--config.train.eval_every=2", "--config.gif_every=2", "--config.train.width=8",
                    "--config.encodings=basic,gaussian", "--config.scales.gaussian=4,8", "--config.seeds=2",
                    f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    assert "curve 64x1, holdout split, 32 training samples" in completed.stdout
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert "test_ssim" not in rows[0] and len(rows) == 4  # basic and the validated sigma, 2 seeds each
    for name in ("spectrum.png", "final.png", "convergence.gif", "image.png"):
        assert (out / name).stat().st_size > 0, name
    with np.load(out / "signal.npz") as signal, np.load(out / "predictions.npz") as predictions:
        for index, values in zip(predictions["models"], predictions["values"]):
            error = np.mean((values[1::2] - signal["values"][1::2]) ** 2)
            assert abs(-10 * np.log10(error) - float(rows[index]["test_psnr"])) < 1e-3


def test_a_video_with_a_validation_sweep_runs_end_to_end(tmp_path):
    """A video through the run program: the scale is the validation sweep's best (from its metrics.json), the
    run's test SSIM is the mean over held-out frames of scikit-image's (8-bit saved renders, so to 2e-3), and
    the fitted video plays every frame."""
    out = tmp_path / "video"
    completed = run("--config=experiments/configs/video.py", "--config.size=24", "--steps=4",
                    "--config.train.eval_every=2", "--config.gif_every=2", "--config.train.width=8",
                    "--config.train.depth=2", "--config.encoding.mapping_size=8", "--config.encodings=none,gaussian",
                    "--config.scales.gaussian=1,4,16", "--config.seeds=2", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    sweep = json.loads((out / "validation" / "metrics.json").read_text())
    assert {row["sigma"] for row in sweep if row["encoding"] == "gaussian"} == {1.0, 4.0, 16.0}
    blocks = [line for line in completed.stdout.splitlines() if line.endswith(":") and " on " in line]
    assert blocks == ["validation sweep on video:text:1:", "run on video:text:0 at the chosen scales:"]
    drawn = {path.name for path in (out / "validation").iterdir()}  # the sweep's tables and curves only
    assert {"metrics.md", "curves.png", "psnr_vs_scale.md"} <= drawn and not drawn & {"frames.npz", "video.gif"}
    best = max((row for row in sweep if row["encoding"] == "gaussian"), key=lambda row: row["test_psnr"])
    rows = json.loads((out / "metrics.json").read_text())
    assert [row["sigma"] for row in rows if row["encoding"] == "gaussian"] == [best["sigma"]] * 2
    assert f"gaussian s={best['sigma']:g}" in (out / "metrics.md").read_text()
    with np.load(out / "signal.npz") as signal, np.load(out / "predictions.npz") as predictions:
        video = signal["values"] / 255.0
        for index, values in zip(predictions["models"], predictions["values"] / 255.0):
            expected = np.mean([skimage.metrics.structural_similarity(
                frame, fit, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
                use_sample_covariance=False) for frame, fit in zip(video[1::2, 1::2, 1::2], values[1::2, 1::2, 1::2])])
            assert abs(expected - rows[index]["test_ssim"]) < 2e-3
    assert len(iio.imread(out / "video.gif", index=None)) == len(video)
    assert (out / "per_frame.png").stat().st_size > 0


def test_a_shape_runs_end_to_end(tmp_path):
    """Occupancy through the run program: IoU that the saved predictions give at the held-out voxels (NumPy)
    (8-bit saved predictions, so to 0.02), and a PLY mesh per drawn model."""
    out = tmp_path / "shape"
    completed = run("--config=experiments/configs/shape.py", "--config.size=16", "--steps=4",
                    "--config.train.eval_every=2", "--config.gif_every=2", "--config.train.width=8",
                    "--config.train.depth=2", "--config.train.batch_size=256", "--config.encoding.mapping_size=8",
                    "--config.encodings=none,hashgrid", "--config.scales.hashgrid=4,8", "--config.seeds=1",
                    f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    assert "occupancy 16x16x16x1, holdout split, 512 training voxels, 256 per step" in completed.stdout
    rows = json.loads((out / "metrics.json").read_text())
    sweep = [row for row in json.loads((out / "validation" / "metrics.json").read_text())
             if row["encoding"] == "hashgrid"]  # one seed: the value of the best IoU is chosen
    chosen = max(sweep, key=lambda row: (row["test_iou"], -row["hashgrid_finest"]))["hashgrid_finest"]
    assert [row["hashgrid_finest"] for row in rows if row["encoding"] == "hashgrid"] == [chosen]
    with np.load(out / "signal.npz") as signal, np.load(out / "predictions.npz") as predictions:
        truth = signal["values"][1::2, 1::2, 1::2] >= 128
        for index, values in zip(predictions["models"], predictions["values"]):
            inside = values[1::2, 1::2, 1::2] >= 128  # 8-bit: 0.5 rounds to 128
            expected = (inside & truth).sum() / max((inside | truth).sum(), 1) if (inside | truth).any() else 1.0
            assert abs(expected - rows[index]["test_iou"]) < 0.02
            header = (out / "meshes" / f"model_{index:04d}.ply").read_bytes().partition(b"end_header")[0]
            assert header.startswith(b"ply\nformat binary_little_endian 1.0")
    assert (out / "mesh.png").stat().st_size > 0 and (out / "meshes" / "original.ply").is_file()


def test_views_of_a_blender_folder_run_end_to_end(tmp_path):
    """A scene's views through the run program from a Blender-style folder without an orbit, whose test views
    then play the orbit: the test PSNR and SSIM that the saved renders give (NumPy, scikit-image; 8-bit renders,
    so to 0.05 dB and 2e-3), the last frames the trainer evaluated equal to those renders, and the figures."""
    folder = tmp_path / "scene"
    made = run("--seed=3", "--size=16", f"--out={folder}", program="scene")
    assert made.returncode == 0, made.stderr
    again = run("--seed=3", "--size=16", f"--out={folder}", program="scene")
    assert again.returncode == 2 and "already holds a dataset" in again.stderr
    assert json.loads((folder / "scene.json").read_text())["scene"]["ball"] == list(scenes.make(3).ball)
    (folder / "transforms_orbit.json").unlink()
    out = tmp_path / "nerf"
    completed = run("--config=experiments/configs/nerf.py", f"--image=blender:{folder}", "--config.size=0",
                    "--steps=4", "--config.train.eval_every=2", "--config.gif_every=2", "--config.train.width=8",
                    "--config.train.depth=2", "--config.train.batch_size=64", "--config.render.samples=8",
                    "--config.encoding.mapping_size=8", "--config.encodings=none,gaussian",
                    "--config.scales.gaussian=1", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    assert "views 8x16x16x3, holdout split, 6144 training rays, 64 per step of 8 samples" in completed.stdout
    rows = json.loads((out / "metrics.json").read_text())
    frames = dict(np.load(out / "frames.npz"))
    with np.load(out / "signal.npz") as signal, np.load(out / "predictions.npz") as predictions:
        truth = signal["values"] / 255.0
        assert "depth" not in signal.files and predictions["depth"].shape == (2, 8, 16, 16)
        for index, values in zip(predictions["models"], predictions["values"]):
            fit = values / 255.0
            assert abs(-10 * np.log10(np.mean((fit - truth) ** 2)) - rows[index]["test_psnr"]) < 0.05
            ssim = np.mean([skimage.metrics.structural_similarity(
                view, fitted, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5,
                use_sample_covariance=False) for view, fitted in zip(truth, fit)])
            assert abs(ssim - rows[index]["test_ssim"]) < 2e-3
            position = list(frames["models"]).index(index)
            np.testing.assert_allclose(frames["frames"][position, -1], values[signals.picture_frames(len(values))],
                                       atol=1)
    for name in ("orbit.gif", "per_view.png", "depth.png", "final.png", "convergence.gif"):
        assert (out / name).stat().st_size > 0, name
    assert len(iio.imread(out / "orbit.gif", index=None)) == 8


def test_the_faces_config_trains_a_set(tmp_path):
    out = tmp_path / "faces"
    completed = run("--config=experiments/configs/faces.py", "--image=faces:2", "--steps=2",
                    "--config.train.eval_every=2", "--config.gif_every=2", "--config.train.width=8",
                    "--config.seeds=1", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    table = (out / "signals.md").read_text()
    assert "| faces/000 |" in table and "| faces/001 |" in table and "gaussian s=0.5" in table
    assert "14 models on 2 signals in 3 stacks" in (out / "metrics.md").read_text()  # none, basic, B of 256 rows


@pytest.mark.parametrize("flag,message", [
    ("--encodings=none,fourier", "unknown encoding(s) fourier"),
    ("--config.scales.gaussian=-1", "gaussian: sigma must be positive"),
    ("--steps=0", "steps must be positive"),
    ("--image=/nonexistent/image.png", "image file not found"),
    ("--config.gif_every=3", "config.gif_every (3) must be a positive multiple of eval_every (2)"),
    ("--config.train.stacking=sideways", "stacking must be one of auto, vmap, map, got 'sideways'"),
    ("--config.train.matmul_precision=low", "matmul_precision must be one of default, high, highest, got 'low'"),
    ("--config.train.steps=four", "--config.train.steps=four"),
    ("--config.no_such_field=1", "no config field 'no_such_field'"),
    ("--config=experiments/configs/no_such_config.py", "no_such_config.py"),
    ("--num_processes=2", "needs --coordinator_address"),
    ("--process_id=2", "--process_id (2) must be in 0 .. --num_processes - 1"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, flag, message):
    out = tmp_path / "never"
    completed = run(*TINY, flag, f"--out={out}")
    assert completed.returncode == 2
    assert message in completed.stderr and len(completed.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("config", [[], ["--config=experiments/configs/curve.py"]])
def test_a_misspelt_config_field_is_one_line_naming_the_field_and_its_likely_meaning(config):
    """With the default config (whose overrides config_flags applies while the flags are defined) and with
    --config: one line, exit status 2."""
    for flag, message in [
            ("--config.train.stepz=100", "no config field 'train.stepz' (did you mean 'train.steps'?)"),
            ("--config.trian.steps=100", "no config field 'trian' (did you mean 'train'?)"),
            ("--config.scales.gausian=1,3", "no config field 'scales.gausian' (did you mean 'scales.gaussian'?)"),
            ("--config.no_such_field=1", "no config field 'no_such_field'")]:
        completed = run(*config, flag)
        assert (completed.returncode, completed.stderr) == (2, f"run.py: error: {message}\n")


def test_help_lists_the_programs_own_flags_and_runs_default_to_an_ignored_folder(tmp_path):
    shown = run("--help").stdout
    assert all(f"--{name}:" in shown for name in ("config", "name", "out", "image", "[no]resume", "[no]overwrite"))
    completed = subprocess.run([sys.executable, "-m", "experiments.run", f"--config={ROOT}/{TINY_CONFIG}",
                                "--name=tiny"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "runs" / "tiny" / "metrics.md").is_file() and not (tmp_path / "results").exists()


def test_defaults_follow_eval_every_and_an_enlarged_image_is_warned_about(tmp_path):
    """Without gif_every and --checkpoint_every, their defaults become multiples of eval_every; a 1 x 1
    image blown up to config.size gets one warning line; the numerics settings are recorded in config.json."""
    Image.new("RGB", (1, 1), (200, 30, 30)).save(tmp_path / "pixel.png")
    completed = run("--config.size=16", "--steps=4", "--config.train.eval_every=4", "--config.train.depth=2",
                    "--config.train.width=8", "--encodings=none", f"--image={tmp_path / 'pixel.png'}",
                    "--config.train.matmul_precision=highest", "--config.train.stacking=vmap",
                    f"--out={tmp_path / 'out'}")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip().splitlines() == [
        f"warning: size 16 enlarges the 1 x 1 image '{tmp_path / 'pixel.png'}': its central 1 x 1 square is "
        "upsampled 16x"]
    record = json.loads((tmp_path / "out" / "config.json").read_text())
    # 25 and 100 rounded up to multiples of 4
    assert (record["config"]["gif_every"], record["checkpoint_every"]) == (28, 100)
    assert (record["config"]["train"]["matmul_precision"], record["config"]["train"]["stacking"]) == ("highest", "vmap")


def test_two_processes_train_like_one_and_only_process_0_writes(folder, tmp_path):
    reference, _ = folder
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        address = f"--coordinator_address=localhost:{probe.getsockname()[1]}"
    running = [subprocess.Popen([sys.executable, "-m", "experiments.run", *TINY, "--num_processes=2",
                                 f"--process_id={i}", address, f"--out={tmp_path / str(i)}"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for process in running:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    assert not (tmp_path / "1").exists()
    rows, expected = (json.loads((out / "metrics.json").read_text()) for out in (tmp_path / "0", reference))
    assert len(rows) == len(expected) == 6
    for row, one in zip(rows, expected):
        assert row.keys() == one.keys()
        for name, value in row.items():
            if isinstance(value, float) and name != "wall_s":
                # one model per device runs unmapped: SSIM's reductions may round differently
                assert value == pytest.approx(one[name], rel=1e-5, abs=1e-6), name
            elif name != "wall_s":
                assert value == one[name], name


def test_existing_run_is_not_replaced_without_overwrite(folder):
    out, _ = folder
    before = (out / "metrics.csv").read_bytes()
    completed = run(*TINY, f"--out={out}")
    assert completed.returncode == 2 and "already holds files" in completed.stderr
    assert (out / "metrics.csv").read_bytes() == before


def test_render_writes_finer_images(folder):
    out, _ = folder
    completed = run(f"--run={out}", "--models=2", "--scale=2", program="render")
    assert completed.returncode == 0, completed.stderr
    rendered = np.asarray(Image.open(out / "renders" / "model_0002_32x32.png"))
    assert rendered.shape == (32, 32, 3)
    coarse = np.asarray(Image.open(rundir.reconstruction_path(out, 2)))
    # the fine grid contains the training grid at its even rows and columns
    np.testing.assert_allclose(rendered[::2, ::2].astype(float), coarse.astype(float), atol=1)
    assert (out / "renders" / "comparison_32x32.png").stat().st_size > 0
    missing = run(f"--run={out}", "--models=99", program="render")
    assert missing.returncode == 2 and "no model 99" in missing.stderr


def test_figures_program_redraws_and_refuses_non_runs(folder, tmp_path):
    out, _ = folder
    table = (out / "metrics.md").read_bytes()
    (out / "curves.png").unlink()
    (out / "metrics.md").write_text("stale")
    completed = run(f"--runs={out}", program="figures")
    assert completed.returncode == 0 and (out / "curves.png").stat().st_size > 0
    assert (out / "metrics.md").read_bytes() == table
    refused = run(f"--runs={tmp_path}", program="figures")
    assert refused.returncode == 2 and "no result record" in refused.stderr


def test_sweep_scale_config_follows_the_paper_protocol(tmp_path):
    out = tmp_path / "sweep"
    completed = run("--config=experiments/configs/sweep_scale.py", "--config.size=16", "--steps=2",
                    "--config.train.eval_every=2", "--config.gif_every=2", "--config.train.depth=2",
                    "--config.train.width=8", "--config.scales.gaussian=2,8", "--config.seeds=2",
                    "--config.encoding.mapping_size=8", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    record = rundir.load_record(out)
    assert record["config"]["split"] == "holdout" and record["config"]["train"]["batchnorm"] is False
    assert [spec["encoding"] for spec in record["specs"]] == ["gaussian"] * 4
    assert (out / "psnr_vs_scale.png").stat().st_size > 0 and (out / "psnr_vs_scale.md").stat().st_size > 0


def test_arms_train_into_sub_runs_and_are_compared(tmp_path):
    """The BatchNorm config: four arms, each a complete run folder; arms.md and arms.png across them; an
    interrupted arm run resumes arm by arm."""
    out = tmp_path / "arms"
    args = ["--config=experiments/configs/batchnorm.py", "--config.size=8", "--steps=2", "--config.train.eval_every=2",
            "--config.gif_every=2", "--config.train.depth=2", "--config.train.width=8", "--config.seeds=1",
            "--config.encoding.mapping_size=8", "--encodings=none,gaussian", f"--out={out}"]
    completed = run(*args)
    assert completed.returncode == 0, completed.stderr
    arms = ["memorize-batchnorm", "memorize-no_batchnorm", "holdout-batchnorm", "holdout-no_batchnorm"]
    assert rundir.load_json(out / "arms.json")["arms"] == arms
    table = completed.stdout.split("\n\narm ", 1)[1]  # after the training, one labelled block per arm
    assert [block.split(":\n")[0] for block in ("arm " + table).split("\n\n")[:4]] == [f"arm {arm}" for arm in arms]
    assert completed.stdout.splitlines()[-1] == (f"results in {out}: arms.json, arms.md, arms.png, "
                                                 + ", ".join(f"{arm}/" for arm in sorted(arms)))
    for arm in arms:
        record = rundir.load_record(out / arm)
        assert record["config"]["split"] == arm.split("-")[0]
        assert record["config"]["train"]["batchnorm"] == (arm.split("-")[1] == "batchnorm")
        assert (out / arm / "checkpoints" / "stack_000.msgpack").exists() and (out / arm / "curves.png").exists()
    lines = [line for line in (out / "arms.md").read_text().splitlines() if line.startswith("| ")][1:]
    assert [line.split(" | ")[:2] for line in lines] == [[f"| {encoding}", arm] for encoding in ("none", "gaussian s=10")
                                                        for arm in arms]
    rows = rundir.load_json(out / "holdout-no_batchnorm" / "metrics.json")
    assert f"| {rows[0]['test_psnr']:.2f} |" in lines[3]  # none, holdout-no_batchnorm: one seed, no ± std
    assert (out / "arms.png").stat().st_size > 0
    (out / "arms.md").unlink()
    assert run(f"--runs={out}", program="figures").returncode == 0 and (out / "arms.md").exists()
    again = run(*args, "--resume")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("resuming at step 2") == 8  # two stacks in each arm


def tensorboard_scalars(folder):
    """{(tag, step): value} of every scalar in the event files under ``folder`` (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    scalars = {}
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        payload, position = path.read_bytes(), 0
        while position < len(payload):
            length = int.from_bytes(payload[position:position + 8], "little")
            event = event_pb2.Event.FromString(payload[position + 12:position + 12 + length])
            position += 12 + length + 4  # length, its CRC, the record, its CRC
            for value in event.summary.value:
                scalars[(value.tag, event.step)] = value.simple_value
    return scalars


def test_tensorboard_logs_every_metric_of_every_model_at_every_evaluation(tmp_path):
    out = tmp_path / "logged"
    completed = run(*TINY, "--tensorboard", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    scalars = tensorboard_scalars(out / "tensorboard")
    history = rundir.load_history(out)
    rows = rundir.load_json(out / "metrics.json")
    assert len(scalars) == len(rows) * 4 * len(history["eval_steps"])  # models x metrics x evaluations
    for row in rows:
        model = f"{row['index']:04d}_{row['label']}_seed_{row['seed']}".replace(" ", "_").replace("=", "_")
        for e, step in enumerate(history["eval_steps"]):
            for name in ("train_loss", "train_psnr", "test_psnr", "test_ssim"):
                want = history[name][row["index"], e]
                got = scalars[(f"{name}/{model}", int(step))]
                assert got == pytest.approx(want, rel=1e-6, nan_ok=True), (name, model, step)
