"""The tables of the README and the docs are copies of committed result files (``experiments.figures`` writes
them), and the copying itself: blocks rewritten from their files, stale ones named."""

import os
import pathlib
import re
import subprocess

import numpy as np
import pytest

from nerf_toy_jax import doctables, metrics, rundir

ROOT = pathlib.Path(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# documents with tables, and the least number of table blocks of each
DOCUMENTS = {"README.md": 4, "docs/results.md": 10, "docs/performance.md": 2, "docs/robustness.md": 1,
             "docs/testing.md": 1}


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_table_block_equals_its_result_file(document):
    text = (ROOT / document).read_text()
    assert len(doctables.sources(text)) >= DOCUMENTS[document]
    assert doctables.stale(text, ROOT) == [], f"run `python -m experiments.figures` to rewrite {document}'s tables"


def test_the_figures_program_rewrites_every_document_with_tables():
    from experiments import figures  # the flag's default names the documents

    with_tables = sorted(str(path.relative_to(ROOT)) for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
                         if doctables.sources(path.read_text()))
    assert sorted(figures.FLAGS["documents"].default) == with_tables == sorted(DOCUMENTS)


def test_fill_copies_the_table_lines_and_stale_names_what_differs(tmp_path):
    (tmp_path / "a.md").write_text("Made by a command.\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\nA note.\n\n"
                                   "| z |\n|---|\n| 3 |")
    document = ("Intro.\n<!-- table from a.md -->\n| old |\n<!-- end table -->\nOutro.\n"
                "<!-- table from a.md -->\n<!-- end table -->\n")
    assert doctables.sources(document) == ["a.md", "a.md"]
    assert doctables.stale(document, tmp_path) == ["a.md", "a.md"]
    filled = doctables.fill(document, tmp_path)
    block = "<!-- table from a.md -->\n| x | y |\n|---|---|\n| 1 | 2 |\n\n| z |\n|---|\n| 3 |\n<!-- end table -->\n"
    assert filled == "Intro.\n" + block + "Outro.\n" + block
    assert doctables.stale(filled, tmp_path) == []
    with pytest.raises(FileNotFoundError, match="names missing.md"):
        doctables.fill("<!-- table from missing.md -->\n<!-- end table -->\n", tmp_path)


def tracked(folder):
    """The files git tracks under ``folder`` (relative to the repository root): the committed results, not a
    user's runs beside them."""
    listed = subprocess.run(["git", "ls-files", "-z", folder], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_committed_arrays_stay_under_a_megabyte():
    """Committed result folders keep their arrays and rows small (checkpoints are not committed)."""
    arrays = [path for path in tracked("results") if path.suffix in (".npz", ".json", ".csv")]
    assert arrays
    large = [str(path.relative_to(ROOT)) for path in arrays if path.stat().st_size > 2**20]
    assert large == []


def test_runs_go_to_an_ignored_folder_and_committed_results_name_their_folder():
    """A user's runs (every program's default output) are ignored by git; the docs' commands of committed results
    write them with --out=results/NAME, never into results/ by a --name."""
    ignored = subprocess.run(["git", "check-ignore", "-q", "runs/run/metrics.json"], cwd=ROOT).returncode
    assert ignored == 0
    for document in ["README.md", *(f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md"))]:
        commands = [line for line in (ROOT / document).read_text().splitlines() if not line.startswith("|")]
        for name in re.findall(r"--name=([\w.-]+)", "\n".join(commands)):  # tables quote the commands as run
            assert not (ROOT / "results" / name).exists(), f"{document}: --name={name} names a committed result"


def test_the_run_folder_section_names_every_file_a_run_folder_may_hold():
    """docs/programs.md's "A run folder" is the one description of its files: every name ``rundir.clear_run``
    knows is in its table, and every file of a committed run folder and every key of its arrays is named there."""
    text = (ROOT / "docs" / "programs.md").read_text()
    section = text[text.index("## A run folder"):text.index("## `python -m experiments.reproduce`")]
    named = set(re.findall(r"`([\w.*]+)[`/]", section))
    assert [name for name in rundir.RUN_FILES if name not in named] == []
    committed = {path.relative_to(ROOT / "results").parts for path in tracked("results")}
    folders = {parts[:-1] for parts in committed if parts[-1] == "config.json"}
    top = {parts[len(folder)] for parts in committed for folder in folders if parts[:len(folder)] == folder
           and len(parts) > len(folder)}
    assert sorted(top - named) == []
    for path in [path for path in tracked("results") if path.name in ("history.npz", "frames.npz", "signal.npz",
                                                                        "predictions.npz")]:
        with np.load(path) as archive:  # the metrics' names are documented as "each metric"
            assert sorted(set(archive.files) - named - set(metrics.NAMES)) == [], path
