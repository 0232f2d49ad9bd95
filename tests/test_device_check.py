"""experiments/device_check.py in its tiny mode on the CPU: every check runs and passes, and the tables are written."""

import json
import os
import subprocess
import sys

import pytest

from nerf_toy_jax.rundir import device_folder_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_device_kinds_become_folder_names():
    assert device_folder_name("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert device_folder_name("TPU v5 lite") == "tpu-v5-lite" and device_folder_name("cpu") == "cpu"


@pytest.mark.slow
def test_tiny_device_check_passes_and_writes_its_tables(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "experiments.device_check", f"--out={tmp_path}"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    record = json.loads((tmp_path / "checks.json").read_text())
    assert record["tiny"] and record["device_kind"] == "cpu"
    assert [check["name"] for check in record["checks"]] == [
        "vmap and map agree", "Fourier features at full precision", "training on the device matches the host CPU",
        "hash-grid training is deterministic"]
    assert all(check["passed"] for check in record["checks"])
    features = record["checks"][1]["numbers"]
    assert features["project's features, largest error"] < 1e-4
    for dtype in ("float32", "bfloat16"):
        speed = json.loads((tmp_path / f"speed_{dtype}.json").read_text())
        assert speed["compute_dtype"] == dtype and speed["device_kind"] == "cpu"
        assert all(row["gflops"] > 0 for row in speed["rows"])
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("| yes |") == 4 and "speed_float32.md" in summary
