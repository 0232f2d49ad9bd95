"""docs/demo.ipynb, executed at a tiny size the way a user runs it (a Jupyter kernel of this Python)."""

import os

import nbclient
import nbformat
import pytest

from conftest import ROOT

NOTEBOOK = os.path.join(ROOT, "docs", "demo.ipynb")


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:  # the kernel inherits the environment
        patch.setenv("DEMO_SIZE", "16")
        patch.setenv("DEMO_STEPS", "20")
        patch.delenv("MPLBACKEND", raising=False)  # figures inline, as in a notebook
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}}).execute()
    return notebook


def test_the_committed_notebook_holds_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_runs_and_draws_every_figure_inline(executed):
    """Every cell that shows a figure shows it as a PNG in the notebook (the library chooses no matplotlib
    backend), and the sweep prints one line per model with its test PSNR."""
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        kinds = [output.output_type for output in cell.outputs]
        assert "error" not in kinds, cell.source
        if "plt.show()" in cell.source:
            assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source
    printed = "".join(output.get("text", "") for cell in executed.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert "3 compiled stacks of [1, 1, 6] models" in printed  # the positional and Gaussian models share one
    assert printed.count("test PSNR") == 8
