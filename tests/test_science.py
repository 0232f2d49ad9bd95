"""End-to-end: experiments/reproduce.py and ntk.py on tiny settings; bad input exits 2."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run

pytestmark = pytest.mark.slow  # end-to-end: programs in subprocesses
REPRODUCE = ["--size=8", "--steps=4", "--eval_every=2", "--sets=text", "--text_images=2",
             "--validation_text_images=1", "--encodings=none,gaussian", "--sigmas=1,2", "--positional_scales=2",
             "--seeds=1"]


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("science") / "reproduce"
    completed = run("reproduce", *REPRODUCE, f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    return out, completed.stdout


def test_reproduce_writes_the_table_beside_the_paper(reproduction):
    out, stdout = reproduction
    rows = json.loads((out / "rows.json").read_text())
    search = [row for row in rows if row["part"] == "validation"]
    test = [row for row in rows if row["part"] == "test"]
    assert sorted((row["encoding"], row["sigma"] if row["encoding"] == "gaussian" else row["positional_scale"])
                  for row in search) == [("gaussian", 1.0), ("gaussian", 2.0), ("positional", 2.0)]
    assert sorted((row["image"], row["encoding"]) for row in test) == [
        ("0", "gaussian"), ("0", "none"), ("1", "gaussian"), ("1", "none")]
    record = json.loads((out / "reproduce.json").read_text())
    chosen = record["choices"]["text"]["sigma"]
    assert all(row["sigma"] == chosen for row in test if row["encoding"] == "gaussian")
    table = (out / "table.md").read_text()
    assert "| text | none |" in table and "18.40" in table and "30.47" in table and "8 x 8 px" in table
    assert "chose sigma" in stdout
    with Image.open(out / "reconstructions.png") as picture:
        assert picture.size[0] > 3 * 100  # original + 2 encodings side by side


def test_reproduce_resume_trains_only_new_models(reproduction, tmp_path):
    out, _ = reproduction
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = json.loads((copy / "rows.json").read_text())
    seconds = json.loads((copy / "reproduce.json").read_text())["wall_s"]
    again = run("reproduce", *REPRODUCE, f"--out={copy}", "--resume")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" 0 trained") == 3
    assert json.loads((copy / "rows.json").read_text()) == before
    # the recorded time is the stored models' stacks' (each stack's models share its wall_s), counted once
    assert json.loads((copy / "reproduce.json").read_text())["wall_s"] == seconds > 0
    assert seconds == round(sum(sum({row["wall_s"] for row in json.loads(path.read_text())})
                                for path in sorted((copy / "units").glob("*.json"))), 1)
    wider = run("reproduce", *REPRODUCE[:-1], "--seeds=2", f"--out={copy}", "--resume")
    assert wider.returncode == 0, wider.stderr
    assert wider.stdout.count("0 trained") == 1  # the search models are all stored
    assert wider.stdout.count(", 2 trained") == 2  # seed 1 of none and gaussian on each test image
    rows = json.loads((copy / "rows.json").read_text())
    seed0 = [row for row in rows if row["part"] == "test" and row["seed"] == 0]
    assert seed0 == [row for row in before if row["part"] == "test"]
    refused = run("reproduce", *REPRODUCE[:1], "--steps=6", *REPRODUCE[2:], f"--out={copy}", "--resume")
    assert refused.returncode == 2 and "--steps was 4, now 6" in refused.stderr


@pytest.mark.parametrize("args, message", [
    (["--sets=faces"], "unknown image set 'faces'"),
    (["--encodings=none,wavelet"], "unknown encoding 'wavelet'"),
    (["--size=2"], "--size must be at least 4"),
    (["--sigmas=0,1"], "--sigmas must be positive"),
    (["--lrs=0.01,0"], "--lrs must be positive"),
    (["--steps=0"], "--steps must be positive"),
])
def test_reproduce_bad_flags_exit_2_before_compute(tmp_path, args, message):
    completed = run("reproduce", *REPRODUCE, f"--out={tmp_path / 'r'}", *args)
    assert completed.returncode == 2 and message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_reproduce_refuses_a_non_empty_folder(reproduction):
    out, _ = reproduction
    before = (out / "rows.json").read_text()
    completed = run("reproduce", *REPRODUCE, f"--out={out}")
    assert completed.returncode == 2 and "already holds files" in completed.stderr
    assert (out / "rows.json").read_text() == before


def test_ntk_program(tmp_path):
    out = tmp_path / "ntk"
    completed = run("ntk", "--points=8", "--sigmas=2,8", "--width=8", "--mapping_size=4", "--seeds=1", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    record = json.loads((out / "ntk.json").read_text())
    assert list(record["kernels"]) == ["none", "basic", "positional scale=6", "gaussian s=2", "gaussian s=8"]
    for entry in record["kernels"].values():
        assert len(entry["spectrum"]) == 8 and entry["spectrum"][0] == 1.0
        assert entry["profile"][4] == 1.0
    assert (out / "ntk.png").stat().st_size > 0
    bad = run("ntk", "--sigmas=-1", f"--out={tmp_path / 'bad'}")
    assert bad.returncode == 2 and "--sigmas must be positive" in bad.stderr


def test_figures_program_redraws_a_reproduction(reproduction):
    out, _ = reproduction
    table = (out / "table.md").read_bytes()
    (out / "table.md").write_text("stale")
    (out / "reconstructions.png").unlink()
    completed = run("figures", f"--runs={out}")
    assert completed.returncode == 0, completed.stderr
    assert (out / "table.md").read_bytes() == table and (out / "reconstructions.png").stat().st_size > 0


def test_reproduce_on_tiles_pools_each_images_tiles(reproduction, tmp_path):
    out = tmp_path / "tiled"
    args = [arg for arg in REPRODUCE if not arg.startswith(("--size", "--text_images"))]
    completed = run("reproduce", *args, "--size=32", "--tile=8", "--tiles_per_image=3", "--text_images=1",
                    "--lrs=0.001,0.01", f"--out={out}")
    assert completed.returncode == 0, completed.stderr
    rows = json.loads((out / "rows.json").read_text())
    test = [row for row in rows if row["part"] == "test"]
    assert sorted((row["encoding"], row["tile"]) for row in test) == [(e, t) for e in ("gaussian", "none")
                                                                      for t in range(3)]
    origins = {tuple(row["origin"]) for row in test}
    assert len(origins) == 3 and all(0 <= r <= 24 and 0 <= c <= 24 and r % 8 == c % 8 == 0 for r, c in origins)
    none = [row["test_psnr"] for row in test if row["encoding"] == "none"]
    pooled = -10 * np.log10(np.mean([10 ** (-psnr / 10) for psnr in none]))
    table = (out / "table.md").read_text()
    assert f"| text | none |  | 0.001 | 1 x 1 | {pooled:.2f} ± 0.00 |" in table
    search = (out / "search.md").read_text()
    assert "tiles of 8 px" in table and "per image)" in search and "| text | basic | lr 0.01 |" in search
    chosen = json.loads((out / "reproduce.json").read_text())["choices"]["text"]["lr"]["none"]
    assert {row["lr"] for row in test if row["encoding"] == "none"} == {chosen}
    bad = run("reproduce", *args, "--size=32", "--tile=8", "--tiles_per_image=17", f"--out={tmp_path / 'bad'}")
    assert bad.returncode == 2 and "--tiles_per_image must be between 1 and 16" in bad.stderr
    shutil.copytree(reproduction[0], tmp_path / "whole")
    study = run("figures", f"--root={tmp_path}", "--resolution=whole,tiled,absent", "--documents=")
    assert study.returncode == 0, study.stderr
    table = (tmp_path / "resolution.md").read_text()
    assert "| text | 8 | whole | 1 |" in table and "| text | 32 | 3 tiles of 8 px | 1 |" in table
    assert "| 32 | 3 tiles of 8 px | tiled | `python -m experiments.reproduce" in table
    with Image.open(tmp_path / "resolution_text.png") as picture:
        assert picture.size[0] > 3 * 300  # three panels
