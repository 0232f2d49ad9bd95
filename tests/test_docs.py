"""The README's tables are copies of committed result files (``experiments.figures`` writes them), and the
copying itself: blocks rewritten from their files, stale ones named."""

import os
import pathlib

import pytest

from nerf_toy_jax import doctables

ROOT = pathlib.Path(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_readme_table_block_equals_its_result_file():
    readme = (ROOT / "README.md").read_text()
    assert len(doctables.sources(readme)) >= 8
    assert doctables.stale(readme, ROOT) == [], "run `python -m experiments.figures` to rewrite the README's tables"


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
