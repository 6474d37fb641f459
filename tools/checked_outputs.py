"""Refresh the stored outputs of the notebooks' ``# NBVAL_CHECK_OUTPUT`` cells.

CI runs the notebooks under ``pytest --nbval-lax``: cells marked ``# NBVAL_CHECK_OUTPUT``
must print what is stored here (after ``notebooks/nbval_sanitize.cfg``), every other cell
only has to run. Run this after a deliberate change of a checked figure, review the diff,
and commit it::

    .venv/bin/python tools/checked_outputs.py notebooks/*.ipynb

Outputs of unchecked cells are cleared, so widget ids and timings never enter git.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    env_db = os.environ.get("SPOTLAB_DB")
    os.environ["SPOTLAB_DB"] = ":memory:"  # the bundled data, as CI sees it
    try:
        NotebookClient(
            nb, timeout=600, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()  # fmt: skip
    finally:
        if env_db is None:
            os.environ.pop("SPOTLAB_DB")
        else:
            os.environ["SPOTLAB_DB"] = env_db
    kept = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(MARK):
            cell.outputs = [o for o in cell.outputs if o.get("output_type") == "stream"]
            kept += 1  # nbval wants an execution count on a cell with stored output
        else:
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return kept


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {refresh(Path(arg))} checked cells stored", flush=True)
