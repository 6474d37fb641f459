"""Notebook HTML for the report: executed, charts inline, nothing loaded from outside."""

from __future__ import annotations

from pathlib import Path

import pytest

import spotlab as sl
from spotlab.htmlreport import external_references, render_notebook
from tests.conftest import BUNDLED, ROOT


def test_external_references_find_scripts_not_text_links() -> None:
    page = (
        '<script src="https://cdn.example/x.js"></script>'
        '<script type="module">import m from "https://cdn.example/m.mjs"</script>'
        '<link rel="stylesheet" href="//cdn.example/s.css">'
        '<a href="https://docs.example/">a link in text is not a load</a>'
        '<img src="data:image/svg+xml;base64,AAAA">'
    )
    found = external_references(page)
    assert len(found) == 3
    assert not any("docs.example" in f for f in found)


@pytest.mark.slow
def test_overview_renders_self_contained(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    with sl.Store(db) as store:
        sl.ingest(store, BUNDLED)
    page = render_notebook(ROOT / "notebooks" / "00_overview.ipynb", tmp_path / "html", str(db))
    html = page.html.read_text(encoding="utf-8")
    assert page.svg_charts >= 1
    assert external_references(html) == []
    assert "Traceback" not in html and "Error loading script" not in html
    assert "recommended ordering" in html
