"""The tables of the README and the docs are copies of committed result files (``experiments.figures`` writes
them), and the copying itself: blocks rewritten from their files, stale ones named."""

import os
import pathlib
import re
import subprocess

import pytest

from nerf_toy_jax import doctables

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
