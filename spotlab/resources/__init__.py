"""Files the library reads at run time, shipped inside the package (so an installed wheel
works without the repository's ``data/`` folder).

- ``specs_catalog.csv``: the specs catalog the config linter uses without a store (the
  same bytes as ``data/specs_catalog.csv``, the sample ``make load`` ingests; a test keeps
  the two equal);
- ``seed_load_times.csv``: the seed's model load times the cold-start model is fitted on
  (the same bytes as ``data/seed_load_times.csv``).

>>> with resource_path(SPECS_CATALOG) as path:
...     path.name
'specs_catalog.csv'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from spotlab.errors import SpotlabError

SPECS_CATALOG = "specs_catalog.csv"
SEED_LOAD_TIMES = "seed_load_times.csv"
NAMES = (SPECS_CATALOG, SEED_LOAD_TIMES)


class MissingResourceError(SpotlabError):
    """A file spotlab ships is missing: the installation is incomplete."""


@contextmanager
def resource_path(name: str) -> Iterator[Path]:
    """A file path of the packaged resource ``name`` for the duration of the block."""
    if name not in NAMES:
        raise MissingResourceError(f"{name!r} is not a spotlab resource: one of {NAMES}")
    ref = resources.files(__name__) / name
    if not ref.is_file():
        raise MissingResourceError(
            f"spotlab's packaged {name} is missing from {resources.files(__name__)}: the "
            "installation is incomplete; reinstall spotlab (pip install --force-reinstall)"
        )
    with resources.as_file(ref) as path:
        yield path
