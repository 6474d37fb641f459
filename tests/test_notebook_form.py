"""The shipped notebooks are kept in one committed form: what JupyterLab writes, minus what
a run adds. Running them (JupyterLab with make lab's pre-save hook, or tools/checked_outputs)
leaves the tracked files unchanged; tests/test_browser.py saves one from JupyterLab."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from spotlab.notebook import COMMITTED_FORM, KERNELSPEC, normalize_notebook, pre_save_hook
from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_are_in_their_normal_form(path) -> None:
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    again = nbformat.writes(normalize_notebook(copy.deepcopy(nb))) + "\n"
    assert again == text, "run tools/checked_outputs.py on it (or save it from make lab)"
    assert COMMITTED_FORM in nb.metadata
    assert all("execution" not in c.metadata for c in nb.cells)  # no timings
    assert "version" not in nb.metadata.get("language_info", {})


def test_the_kernelspec_is_the_one_jupyterlab_writes() -> None:
    spec = KernelSpecManager().get_kernel_spec(KERNELSPEC["name"])
    assert KERNELSPEC["display_name"] == spec.display_name
    assert KERNELSPEC["language"] == spec.language


def test_pre_save_hook_keeps_only_checked_output() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata[COMMITTED_FORM] = {}
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}  # fmt: skip
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    checked = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", execution_count=7)
    checked.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("display_data", {"text/plain": "x"}),
    ]
    other = nbformat.v4.new_code_cell("2", execution_count=8)
    other.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    other.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    nb.cells = [other, checked]
    model = {"type": "notebook", "content": json.loads(nbformat.writes(nb))}
    pre_save_hook(model=model, path="00_overview.ipynb")
    got = model["content"]
    assert got["metadata"]["kernelspec"] == KERNELSPEC
    assert got["metadata"]["language_info"] == {"name": "python"}
    first, second = got["cells"]
    assert first["outputs"] == [] and first["execution_count"] is None
    assert first["metadata"] == {}
    assert [o["output_type"] for o in second["outputs"]] == ["stream"]
    assert second["execution_count"] == 2  # as a fresh Run All numbers it


def test_pre_save_hook_leaves_other_notebooks_alone() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"})]
    nb.cells = [cell]
    content = json.loads(nbformat.writes(nb))
    model = {"type": "notebook", "content": copy.deepcopy(content)}
    pre_save_hook(model=model, path="mine.ipynb")
    assert model["content"] == content
    pre_save_hook(model={"type": "file", "content": "text"}, path="x.txt")  # not a notebook
