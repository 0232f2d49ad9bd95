"""Bad input, divergence, interruption and resume, atomic writes, reproducibility.

Each row of docs/robustness.md names the test here that checks it.
"""

import io
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, TINY_CONFIG, png_bytes
from conftest import run as run_program
from nerf_toy_jax import data, rundir

pytestmark = pytest.mark.slow  # end-to-end: programs in subprocesses
TINY = [f"--config={TINY_CONFIG}", "--checkpoint_every=2", "--config.seeds=1", "--config.scales.gaussian=10"]


def jpeg_bytes(size=32):
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), 100, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def corrupt(payload):
    """The same bytes with the middle third overwritten."""
    third = len(payload) // 3
    return payload[:third] + b"\x00" * third + payload[2 * third:]


def run(*args, program="run", **kwargs):
    return run_program(program, *args, **kwargs)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    paths = {
        "text": ("notes.txt", b"these are notes, not pixels\n"),
        "truncated_jpeg": ("cut.jpg", jpeg_bytes()[:-200]),
        "corrupt_png": ("broken.png", corrupt(png_bytes(64))),
        "gray16": ("gray16.png", None),
        "palette": ("palette.png", None),
        "rgba": ("rgba.png", png_bytes(16, "RGBA")),
        "tiny": ("tiny.png", png_bytes(3)),
    }
    for name, (filename, payload) in paths.items():
        path = folder / filename
        if payload is not None:
            path.write_bytes(payload)
        paths[name] = path
    Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 257).save(paths["gray16"])
    Image.open(io.BytesIO(png_bytes())).quantize(8).save(paths["palette"])
    return paths


@pytest.fixture(scope="module")
def existing_run(tmp_path_factory):
    """A finished run whose files the bad-input tests must leave alone."""
    out = tmp_path_factory.mktemp("existing") / "run"
    completed = run(*TINY, f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    snapshot = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    return out, snapshot


BAD_INPUTS = {
    "missing_file": (["--image={folder}/absent.png"], "image file not found"),
    "not_an_image": (["--image={text}"], "cannot decode an image"),
    "truncated_jpeg": (["--image={truncated_jpeg}"], "cannot decode an image"),
    "corrupt_png": (["--image={corrupt_png}"], "cannot decode an image"),
    "url_scheme": (["--image=ftp://127.0.0.1/a.png"], "unsupported URL scheme 'ftp'"),
    "url_timeout": (["--image={server}/slow", "--url_timeout=0.5"], "timed out"),
    "url_error_status": (["--image={server}/missing"], "HTTP Error 404"),
    "url_not_an_image": (["--image={server}/text"], "cannot decode an image"),
    "url_truncated": (["--image={server}/truncated.png"], "cannot decode an image"),
    "over_pixel_limit": (["--image={rgba}", "--config.size=0", "--max_pixels=100"], "more than the limit of 100"),
    "holdout_too_small": (["--image={tiny}", "--config.size=0", "--config.split=holdout"], "at least 4 x 4"),
    "holdout_2x2": (["--config.size=2", "--config.split=holdout"], "at least 4 x 4"),
    "unknown_split": (["--config.split=half"], "config.split must be one of memorize, holdout, got 'half'"),
    "unknown_encoding": (["--encodings=gaussian,fourier"], "unknown encoding(s) fourier"),
    "bad_set_image": (["--image=text:first"], "text images are numbered"),
    "unknown_curve": (["--image=curve:sine"], "unknown curve 'sine' in 'curve:sine': choose from tones, chirp"),
    "tones_without_seed": (["--image=curve:tones"], "curve:tones is drawn from a seed"),
    "curve_too_short": (["--image=curve:chirp", "--config.size=3"], "a curve needs at least 4 samples, got 3"),
    "unknown_video": (["--image=video:film"], "unknown video 'film' in 'video:film': choose from clip, text"),
    "video_too_small": (["--image=video:text:0", "--config.size=3"], "at least 4 pixels on a side, got size 3"),
    "unknown_shape": (["--image=shape:torus:0"], "unknown shape 'torus' in 'shape:torus:0': choose from primitives"),
    "shape_without_seed": (["--image=shape:blobs"], "shape:blobs is drawn from a seed: shape:blobs:0"),
    "scene_without_seed": (["--image=scene:primitives"], "scene:primitives is drawn from a seed"),
    "views_too_small": (["--image=scene:primitives:0", "--config.size=3"], "at least 4 pixels a side, got 3"),
    "views_with_batchnorm": (["--image=scene:primitives:0", "--config.size=4"], "train without BatchNorm"),
    "blender_missing": (["--image=blender:{folder}/absent"], "absent is not a folder"),
    "blender_not_a_dataset": (["--image=blender:{folder}"], "holds no transforms_train.json"),
    # TINY's --config.scales.gaussian=10 and a second such flag make two values (ml_collections appends): a sweep
    "validation_of_another_kind": (["--config.validation=curve:chirp", "--config.scales.gaussian=4"],
                                   "config.validation is of kind curve and config.image of kind image"),
    "validation_without_a_sweep": (["--config.validation=text:1"],
                                   "no encoding of config.encodings has several values in config.scales"),
    "bad_validation_signal": (["--config.validation=curve:tones", "--config.scales.gaussian=4"],
                              "curve:tones is drawn from a seed"),
    "no_faces": (["--image=faces:0"], "faces are counted: faces or faces:N (N >= 1), got 'faces:0'"),
    "negative_sigma": (["--config.scales.gaussian=-3"], "sigma must be positive"),
    "zero_sigma": (["--config.scales.gaussian=0"], "sigma must be positive"),
    "zero_steps": (["--steps=0"], "steps must be positive"),
    "negative_lr": (["--config.lr=-0.1"], "lr must be positive"),
    "zero_width": (["--config.train.width=0"], "width must be positive"),
    "zero_depth": (["--config.train.depth=0"], "depth must be positive"),
    "zero_seeds": (["--config.seeds=0"], "config.seeds must be at least 1"),
    "over_memory": (["--memory_limit_mb=1", "--config.train.width=1024"], "would need about"),
    "hashgrid_over_memory": (["--encodings=hashgrid", "--config.encoding.hashgrid_log2_table=26",
                              "--memory_limit_mb=4000"], "would need about"),
    "hashgrid_finest_below_coarsest": (["--encodings=hashgrid", "--config.scales.hashgrid=2"],
                                       "hashgrid_finest (2.0) must be at least hashgrid_coarsest"),
    "zero_siren_omega": (["--encodings=siren", "--config.scales.siren=0"], "siren_omega must be positive"),
    "zero_hashgrid_levels": (["--encodings=hashgrid", "--config.encoding.hashgrid_levels=0"],
                             "hashgrid_levels must be positive"),
    "batch_over_pixels": (["--config.train.batch_size=1000"], "batch_size 1000 exceeds the 256 training pixels"),
    "different_run": ([], "already holds files"),
    "resume_different_run": (["--resume", "--config.train.width=16"],
                             "holds a different run: --config.train.width was 8, now 16"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_before_compute_and_keeps_the_run(case, files, server, existing_run):
    out, snapshot = existing_run
    args, message = BAD_INPUTS[case]
    names = {name: str(path) for name, path in files.items()}
    args = [arg.format(server=server, folder=files["text"].parent, **names) for arg in args]
    if case not in ("different_run", "resume_different_run"):
        args.append("--overwrite")  # even a permitted overwrite must not happen on bad input
    completed = run(*TINY, f"--out={out}", *args)
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run.py: error: ") and message in lines[0], lines
    assert "step" not in completed.stdout  # no training started
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == snapshot


def test_valid_unusual_images_load(files, server):
    assert data.load_image(files["gray16"]).shape == (16, 16, 1)
    np.testing.assert_allclose(data.load_image(files["gray16"])[0, :4, 0], np.arange(4) * 257 / 65535, atol=1e-7)
    assert data.load_image(files["palette"]).shape == (16, 16, 3)
    assert data.load_image(files["rgba"]).shape == (16, 16, 3)
    assert data.load_image(f"{server}/good.png").shape == (16, 16, 3)
    assert data.load_image(files["rgba"], size=8, max_pixels=100).shape == (8, 8, 3)


def test_divergence_is_marked_in_tables(tmp_path):
    out = tmp_path / "diverging"
    completed = run(*TINY, "--config.seeds=2", "--config.lrs.gaussian=1e30", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    rows = rundir.load_json(out / "metrics.json")
    assert [row["diverged"] for row in rows] == [False, False, True, True]
    assert all(np.isfinite(row["test_psnr"]) for row in rows[:2])
    gaussian_line = next(line for line in (out / "metrics.md").read_text().splitlines() if "gaussian" in line)
    assert gaussian_line.rstrip(" |").endswith("2")  # the diverged column counts both seeds
    assert "DIVERGED" in completed.stdout and "2 diverged" in completed.stdout


def comparable(out):
    """metrics.json without wall times, and history.npz."""
    rows = [{key: value for key, value in row.items() if key != "wall_s"}
            for row in rundir.load_json(out / "metrics.json")]
    return rows, rundir.load_history(out)


def assert_same_results(first, second):
    rows_a, history_a = comparable(first)
    rows_b, history_b = comparable(second)
    assert json.dumps(rows_a) == json.dumps(rows_b)
    assert history_a.keys() == history_b.keys()
    for name in history_a:
        np.testing.assert_array_equal(history_a[name], history_b[name], err_msg=name)


RESUMABLE = [f"--config={TINY_CONFIG}", "--steps=40", "--config.train.eval_every=10", "--config.gif_every=10",
             "--checkpoint_every=10", "--config.train.width=16", "--config.scales.gaussian=10",
             "--config.train.batch_size=64"]


def interrupt(out, signum):
    """Starts a run, sends ``signum`` once training has begun, returns the finished process."""
    process = subprocess.Popen([sys.executable, "-m", "experiments.run", *RESUMABLE, f"--out={out}"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("work:"):  # printed inside the signal handlers, before the first chunk compiles
            process.send_signal(signum)
            break
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, "".join(seen) + stdout, stderr


def test_sigint_saves_and_resume_matches_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"
    assert run(*RESUMABLE, f"--out={reference}").returncode == 0

    out = tmp_path / "interrupted"
    returncode, stdout, stderr = interrupt(out, signal.SIGINT)
    assert returncode == 128 + signal.SIGINT, stderr
    assert "SIGINT: finishing the current chunk" in stdout and "resume with: python -m experiments.run" in stdout
    assert "Traceback" not in stderr
    partial = rundir.load_json(out / "metrics.json")
    assert len(partial) == 2 and all(row["steps"] < 40 for row in partial)  # the first stack, stopped early
    assert (out / "checkpoints" / "stack_000.msgpack").exists()
    assert not (out / "final.png").exists()

    resumed = run(*RESUMABLE, f"--out={out}", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step" in resumed.stdout
    assert_same_results(reference, out)


def test_sigterm_saves_a_checkpoint(tmp_path):
    out = tmp_path / "terminated"
    returncode, stdout, _ = interrupt(out, signal.SIGTERM)
    assert returncode == 128 + signal.SIGTERM
    assert "SIGTERM" in stdout and (out / "checkpoints" / "stack_000.msgpack").exists()


def test_same_command_gives_identical_metrics(tmp_path, existing_run):
    reference, _ = existing_run
    again = tmp_path / "again"
    assert run(*TINY, f"--out={again}").returncode == 0
    assert_same_results(reference, again)
    config = rundir.load_json(again / "config.json")
    assert config["environment"]["versions"]["jax"] and config["specs"][0]["seed"] == 0


def test_overwrite_replaces_a_run(tmp_path, existing_run):
    out = tmp_path / "replaced"
    shutil.copytree(existing_run[0], out)
    (out / "notes.txt").write_text("kept: not a run file")
    assert run(*TINY, f"--out={out}", "--config.seeds=2", "--encodings=gaussian", "--overwrite").returncode == 0
    assert [row["label"] for row in rundir.load_json(out / "metrics.json")] == ["gaussian s=10"] * 2
    assert sorted(path.name for path in (out / "checkpoints").iterdir()) == ["stack_000.msgpack"]
    assert (out / "notes.txt").read_text() == "kept: not a run file"


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch, failing):
    """A crash after the new bytes were partly written, or before the rename."""
    path = tmp_path / "metrics.json"
    rundir.write_text(path, "old\n")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, broken)
    with pytest.raises(OSError, match="disk full"):
        rundir.write_text(path, "new\n" * 1000)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left
