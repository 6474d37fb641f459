"""``spotlab.__all__``: sorted, complete, and holding every name the README uses."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import spotlab as sl

README = Path(__file__).resolve().parents[1] / "README.md"


def _isort_style(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions (and dunders)
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_all_is_sorted() -> None:
    assert sl.__all__ == sorted(sl.__all__, key=_isort_style)
    assert len(set(sl.__all__)) == len(sl.__all__)


def test_all_is_complete() -> None:
    names = set(sl.__all__)
    assert [n for n in sl.__all__ if not hasattr(sl, n)] == []
    public = {n for n, v in vars(sl).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert sorted(public - names) == [], "exported by spotlab/__init__.py but not in __all__"


def test_every_name_the_readme_uses_is_exported() -> None:
    used = set(re.findall(r"\bsl\.([A-Za-z_]\w*)", README.read_text()))
    assert used and sorted(used - set(sl.__all__)) == []
