"""experiments/quickstart.py: a config timed as a user would run it, into the table the README copies."""

import json
import os

import pytest

from conftest import ROOT, TINY_CONFIG, run


@pytest.mark.slow
def test_a_config_is_timed_into_a_table_without_touching_the_users_runs(tmp_path):
    completed = run("quickstart", f"--configs={TINY_CONFIG}", "--run_steps=2", "--notests", f"--out={tmp_path}")
    assert completed.returncode == 0, completed.stderr
    assert not os.path.exists(os.path.join(ROOT, "runs", "quick_tiny_config"))
    report = json.loads((tmp_path / "timings.json").read_text())
    (row,) = report["configs"]
    assert row["command"] == f"python -m experiments.run --config={TINY_CONFIG} --steps=2 --config.seeds=1 " \
                             "--name=quick_tiny_config" and row["seconds"] > 0
    table = (tmp_path / "configs.md").read_text().splitlines()
    assert table[0] == f"| command | seconds on {report['where']} |"
    assert table[2] == f"| `{row['command']}` | {row['seconds']:.0f} |"
    assert report["tests"] == [] and not (tmp_path / "tests.md").exists()


@pytest.mark.slow
def test_a_missing_config_is_one_line_and_exit_2(tmp_path):
    completed = run("quickstart", "--configs=experiments/configs/nope.py", "--notests", f"--out={tmp_path}")
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        f"quickstart.py: error: no such config file under {ROOT}: experiments/configs/nope.py"]
    assert not any(tmp_path.iterdir())
