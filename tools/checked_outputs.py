"""Refresh the stored outputs of the notebooks' ``# NBVAL_CHECK_OUTPUT`` cells.

CI runs the notebooks under ``pytest --nbval-lax``: cells marked ``# NBVAL_CHECK_OUTPUT``
must print what is stored here (after ``notebooks/nbval_sanitize.cfg``), every other cell
only has to run. Run this after a deliberate change of a checked figure, review the diff,
and commit it::

    .venv/bin/python tools/checked_outputs.py notebooks/*.ipynb

Outputs of unchecked cells are cleared, so widget ids and timings never enter git: the
notebook is written in its committed form (:func:`spotlab.notebook.normalize_notebook`),
the same form ``make lab`` saves it in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from spotlab.notebook import CHECK_MARK as MARK
from spotlab.notebook import normalize_notebook


def refresh(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    env_db = os.environ.get("SPOTLAB_DB")
    os.environ["SPOTLAB_DB"] = ":memory:"  # the bundled data, as CI sees it
    try:
        NotebookClient(
            nb, timeout=600, kernel_name="python3", record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()  # fmt: skip
    finally:
        if env_db is None:
            os.environ.pop("SPOTLAB_DB")
        else:
            os.environ["SPOTLAB_DB"] = env_db
    normalize_notebook(nb)
    nbformat.write(nb, path)
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith(MARK))


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {refresh(Path(arg))} checked cells stored", flush=True)
