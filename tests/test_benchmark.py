"""experiments/benchmark.py end to end on tiny sizes: every column, a skipped cell, consistent numbers."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_benchmark_writes_table_and_json(tmp_path):
    out = tmp_path / "bench"
    completed = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--sizes=8", "--models=1,2,1000000", "--stackings=map,vmap",
         "--repeats=1", "--dispatch_s=0.05", "--budget_s=20", "--peak_side=512", f"--out={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    rows = report["rows"]
    assert [(row["models"], row["stacking"]) for row in rows] == [
        (1, "map"), (1, "vmap"), (2, "map"), (2, "vmap"), (1000000, "map"), (1000000, "vmap")]
    assert "skipped" in rows[4] and "skipped" in rows[5]
    for row in rows[:4]:
        assert row["peak_gflops"] > 0 and row["compile_s"] > 0
        assert abs(row["model_steps_per_s"] * row["s_per_model_step"] - 1) < 1e-9
        assert abs(row["gflops"] - row["gflop_per_model_step"] / row["s_per_model_step"]) < 1e-6 * row["gflops"]
        assert row["speedup_vs_python_loop"] > 0 and row["speedup_vs_scan_loop"] > 0
        assert row["memory_mb"] > 0
    assert rows[2]["memory_mb"] > rows[0]["memory_mb"]  # two models' state
    table = out.with_suffix(".md").read_text()
    assert table.count("\n| gaussian | map | 8 |") == 3 and table.count("\n| gaussian | vmap | 8 |") == 3
    assert "skipped" in table and report["device_kind"] in table


@pytest.mark.slow
def test_time_to_quality_table_and_plot(tmp_path):
    out = tmp_path / "quality"
    completed = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--task=quality", "--encodings=none,hashgrid",
         "--quality_size=8", "--quality_steps=20", "--quality_eval_every=5", "--thresholds=5,90", f"--out={out}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert [row["encoding"] for row in report["rows"]] == ["none", "hashgrid"]
    for row in report["rows"]:
        assert row["eval_steps"] == [0, 5, 10, 15, 20] and row["seconds"][0] == 0.0
        assert all(a <= b for a, b in zip(row["seconds"], row["seconds"][1:]))
        assert row["reach"]["90"] == {"step": None, "seconds": None}  # 90 dB is out of reach
        first = next(step for step, psnr in zip(row["eval_steps"], row["train_psnr"]) if psnr >= 5)
        assert row["reach"]["5"]["step"] == first
    table = out.with_suffix(".md").read_text()
    assert "| hashgrid N=64 | 0.01 |" in table and out.with_suffix(".png").stat().st_size > 0


def test_benchmark_rejects_an_unknown_encoding(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "experiments.benchmark", "--encodings=wavelet",
                                f"--out={tmp_path / 'b'}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2 and "unknown encoding 'wavelet'" in completed.stderr
