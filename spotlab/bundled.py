"""The repository folders an installed spotlab still reads: the bundled sample data
(``data/``), the notebooks ``spotlab report`` runs (``notebooks/``), the event examples
notebook 03 loads (``examples/``) and the fleet evaluation's stored results
(``benchmarks/results/fleet_traces.json``, drawn by notebook 05).

A wheel ships them under ``spotlab/_bundled/`` (``pyproject.toml``'s ``force-include``), so
``spotlab report`` and ``sl.notebook.setup()`` work without a checkout; in a checkout (or an
editable install) there is no ``_bundled`` folder and they are read where they are. Writers
(``python -m spotlab.fleet.evaluate``, ``python -m spotlab.datasets``) write to the
checkout, never into an installed package.

>>> bundled("data").name
'data'
>>> bundled("tests")
Traceback (most recent call last):
...
spotlab.bundled.NotBundledError: 'tests' is not shipped with spotlab: one of data, ...
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from spotlab.errors import SpotlabError

#: what a wheel ships under ``spotlab/_bundled/`` (keep in step with pyproject.toml)
SHIPPED = ("data", "notebooks", "examples", "benchmarks/results/fleet_traces.json")
PACKAGED = Path(__file__).resolve().parent / "_bundled"
CHECKOUT = Path(__file__).resolve().parents[1]


class NotBundledError(SpotlabError):
    """A path spotlab does not ship was asked for."""


def bundled(rel: str) -> Path:
    """The path of ``rel`` (a shipped folder or file, or a path inside one): inside the
    installed package when it was installed from a wheel, else in the checkout."""
    parts = PurePosixPath(rel).parts
    if not any(parts[: len(PurePosixPath(s).parts)] == PurePosixPath(s).parts for s in SHIPPED):
        raise NotBundledError(f"{rel!r} is not shipped with spotlab: one of {', '.join(SHIPPED)}")
    root = PACKAGED if PACKAGED.is_dir() else CHECKOUT
    return root.joinpath(*parts)
