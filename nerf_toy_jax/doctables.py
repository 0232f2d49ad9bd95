"""Tables of committed results, copied into Markdown documents (the README, docs/) between markers.

A table in a document is the block

    <!-- table from results/grace_hopper/metrics.md -->
    | encoding | ... |
    <!-- end table -->

whose lines are the tables (the lines that start with ``|``) of the named
file, a path relative to the repository root, a blank line between two. ``fill`` rewrites every block
from its file (``experiments.figures`` does, after redrawing the files);
``stale`` names the blocks that differ from their files (a test keeps the
README in step with the results).
"""

import pathlib
import re

BLOCK = re.compile(r"<!-- table from (\S+) -->\n(.*?)<!-- end table -->", re.S)


def table_lines(text):
    """The Markdown tables of ``text`` (its lines that start with ``|``), a blank line between two tables."""
    tables, current = [], []
    for line in text.splitlines(keepends=True) + [""]:
        if line.startswith("|"):
            current.append(line if line.endswith("\n") else line + "\n")
        elif current:
            tables.append("".join(current))
            current = []
    return "\n".join(tables)


def sources(document):
    """The files named by the table blocks of ``document`` (Markdown text), in order."""
    return [match[1] for match in BLOCK.finditer(document)]


def _table_of(root, name):
    path = pathlib.Path(root) / name
    if not path.is_file():
        raise FileNotFoundError(f"a table block names {name}, which does not exist under {root}")
    return table_lines(path.read_text())


def fill(document, root):
    """``document`` with every table block rewritten from its file under ``root``."""
    return BLOCK.sub(lambda match: f"<!-- table from {match[1]} -->\n{_table_of(root, match[1])}<!-- end table -->",
                     document)


def stale(document, root):
    """The files whose table blocks in ``document`` differ from the tables in the files."""
    return [match[1] for match in BLOCK.finditer(document) if match[2] != _table_of(root, match[1])]
