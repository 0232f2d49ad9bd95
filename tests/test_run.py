"""End-to-end: experiments/run.py writes a complete run folder; bad input exits 2 before compute."""

import csv
import json
import os
import socket
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from nerf_toy_jax import results, train, viz

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.slow  # end-to-end: programs in subprocesses
TINY = ["--size=16", "--steps=4", "--eval_every=2", "--gif_every=2", "--depth=2", "--width=8",
        "--encodings=none,gaussian", "--sigmas=4,8", "--seeds=2", "--mapping_size=8"]


def run(*args, program="run"):
    return subprocess.run([sys.executable, "-m", f"experiments.{program}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


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
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["steps"] == 4 and config["environment"]["versions"]["jax"]
    history = results.load_history(out)
    assert history["loss"].shape == (6, 4) and history["eval_steps"].tolist() == [0, 2, 4]
    gif = iio.imread(out / "convergence.gif")
    assert gif.shape[0] == 3  # steps 0, 2, 4
    assert gif.shape[2] > 3 * gif.shape[1] // 2  # original + 2 columns side by side, captions on top
    for name in ("curves.png", "final.png", "psnr_vs_scale.png", "image.png"):
        with Image.open(out / name) as picture:
            picture.load()
            assert picture.size[0] > 0
    assert sorted(path.name for path in (out / "checkpoints").iterdir()) == ["stack_000.msgpack", "stack_001.msgpack"]


def test_metrics_table_is_aggregated_over_seeds_and_sorted(folder):
    out, _ = folder
    rows = results.load_json(out / "metrics.json")
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
    config = results.load_json(out / "config.json")
    spec, variables, matrix = results.load_checkpoint(out, 2)
    assert (spec.encoding, spec.sigma, spec.seed) == ("gaussian", 4.0, 0)
    rendered = train.render(train.TrainConfig(**config["train"]), 3, spec, variables, matrix, 16, 16)
    saved = np.asarray(Image.open(results.reconstruction_path(out, 2)), np.float32) / 255
    np.testing.assert_allclose(rendered, saved, atol=0.5 / 255 + 1e-6)


def test_figures_regenerate_from_saved_files(folder):
    out, _ = folder
    table = (out / "metrics.md").read_text()
    for name in ("curves.png", "final.png", "convergence.gif", "metrics.md"):
        (out / name).unlink()
    viz.write_run_figures(out)
    assert (out / "metrics.md").read_text() == table
    assert all((out / name).stat().st_size > 0 for name in ("curves.png", "final.png", "convergence.gif"))


@pytest.mark.parametrize("flag,message", [
    ("--encodings=none,fourier", "unknown encoding(s) fourier"),
    ("--sigmas=-1", "sigma must be positive"),
    ("--steps=0", "steps must be positive"),
    ("--image=/nonexistent/image.png", "image file not found"),
    ("--gif_every=3", "multiple of --eval_every"),
    ("--stacking=sideways", "--stacking=sideways: value should be one of <auto|vmap|map>"),
    ("--matmul_precision=low", "--matmul_precision=low: value should be one of <default|high|highest>"),
    ("--num_processes=2", "needs --coordinator_address"),
    ("--process_id=2", "--process_id (2) must be in 0 .. --num_processes - 1"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, flag, message):
    out = tmp_path / "never"
    completed = run(*TINY, flag, f"--out={out}")
    assert completed.returncode == 2
    assert message in completed.stderr and len(completed.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_defaults_follow_eval_every_and_an_enlarged_image_is_warned_about(tmp_path):
    """Without --gif_every and --checkpoint_every, their defaults become multiples of --eval_every; a 1 x 1
    image blown up to --size gets one warning line; the numerics flags are recorded in config.json."""
    Image.new("RGB", (1, 1), (200, 30, 30)).save(tmp_path / "pixel.png")
    args = [arg for arg in TINY if not arg.startswith(("--gif_every", "--encodings", "--sigmas", "--seeds"))]
    completed = run(*args, "--eval_every=4", "--encodings=none", f"--image={tmp_path / 'pixel.png'}",
                    "--matmul_precision=highest", "--stacking=vmap", f"--out={tmp_path / 'out'}")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip().splitlines() == [
        f"warning: size 16 enlarges the 1 x 1 image '{tmp_path / 'pixel.png'}': its central 1 x 1 square is "
        "upsampled 16x"]
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert (config["gif_every"], config["checkpoint_every"]) == (28, 100)  # 25 and 100 rounded up to multiples of 4
    assert (config["train"]["matmul_precision"], config["train"]["stacking"]) == ("highest", "vmap")


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
    assert completed.returncode == 2 and "already holds a run" in completed.stderr
    assert (out / "metrics.csv").read_bytes() == before


def test_render_writes_finer_images(folder):
    out, _ = folder
    completed = run(f"--run={out}", "--models=2", "--scale=2", program="render")
    assert completed.returncode == 0, completed.stderr
    rendered = np.asarray(Image.open(out / "renders" / "model_0002_32x32.png"))
    assert rendered.shape == (32, 32, 3)
    coarse = np.asarray(Image.open(results.reconstruction_path(out, 2)))
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


def test_sweep_sigma_defaults_to_the_paper_protocol(tmp_path):
    out = tmp_path / "sweep"
    completed = run("--size=16", "--steps=2", "--eval_every=2", "--gif_every=2", "--depth=2", "--width=8",
                    "--sigmas=2,8", "--seeds=2", "--mapping_size=8", f"--out={out}", program="sweep_sigma")
    assert completed.returncode == 0, completed.stderr
    config = results.load_json(out / "config.json")
    assert config["split"] == "holdout" and config["train"]["batchnorm"] is False
    assert [spec["encoding"] for spec in config["specs"]] == ["gaussian"] * 4
    assert (out / "psnr_vs_scale.png").stat().st_size > 0
    assert "mean ± std over seeds" in completed.stdout
