"""The run program in-process on the tiny config: flags and config to a complete run folder, whose metrics are
those of the library's trainer on the same specs."""

import json
import os

import numpy as np
import pytest
from absl import flags

from conftest import ROOT, TINY_CONFIG
from experiments import common
from nerf_toy_jax import data, rundir, specs as specs_lib, state, train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("in_process") / "tiny"
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["run.py", f"--config={os.path.join(ROOT, TINY_CONFIG)}", f"--out={out}"])
    try:
        folder, runs = common.main_run()
    finally:
        flags.FLAGS.unparse_flags()
    return folder, runs


def test_the_program_writes_a_run_folder_of_its_config(tiny_run):
    out, (rows,) = tiny_run
    for name in ("config.json", "metrics.csv", "metrics.md", "history.npz", "frames.npz", "convergence.gif",
                 "curves.png", "final.png", "psnr_vs_scale.png", "checkpoints/stack_001.msgpack"):
        assert (out / name).is_file(), name
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["encodings"] == "none,gaussian" and record["config"]["train"]["steps"] == 4
    assert [(row["label"], row["seed"]) for row in rows] == [(label, seed) for label in ("none", "gaussian s=4",
                                                                                         "gaussian s=8")
                                                             for seed in (0, 1)]
    assert rundir.load_json(out / "metrics.json") == json.loads(json.dumps(rows))


def test_its_metrics_are_the_trainers(tiny_run):
    out, (rows,) = tiny_run
    record = rundir.load_record(out)
    specs = [specs_lib.spec_from_dict(fields) for fields in record["specs"]]
    split = data.make_split(data.load_image(size=16), "memorize")
    stacks = train.train_sweep(specs, split, state.TrainConfig(**record["config"]["train"]))
    expected = rundir.model_rows(stacks)
    for row, want in zip(rows, expected):
        for name in ("label", "seed", "lr", "train_loss", "train_psnr", "test_psnr", "diverged"):
            assert row[name] == want[name], name
        np.testing.assert_array_equal(rundir.load_history(out)["loss"][row["index"]], np.concatenate(
            [stack.loss for stack in stacks])[row["index"]])
