"""Notebook pages of the report: executed, code hidden, widgets drawn statically, charts
inline, nothing loaded from outside; kernels that start fast or fail clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import spotlab as sl
import spotlab.htmlreport as hr
from spotlab.htmlreport import external_references, freeze_widgets, render_notebook, static_widget
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


def _model(name: str, **state: object) -> dict[str, object]:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


STATE = {
    "box": _model("VBoxModel", children=["IPY_MODEL_inputs", "IPY_MODEL_html", "IPY_MODEL_out",
                                         "IPY_MODEL_go", "IPY_MODEL_hidden"]),
    "inputs": _model("VBoxModel", children=["IPY_MODEL_spec", "IPY_MODEL_target", "IPY_MODEL_m"]),
    "spec": _model("DropdownModel", description="spec", index=1, _options_labels=["a", "b"]),
    "target": _model("FloatSliderModel", description="target", value=0.99),
    "m": _model("SelectMultipleModel", description="specs", index=[0, 1],
                _options_labels=["x", "y"]),
    "html": _model("HTMLModel", value="<b>bid 2.88</b>"),
    "out": _model("OutputModel", outputs=[
        {"output_type": "display_data", "metadata": {},
         "data": {"image/svg+xml": "<svg class='marks'></svg>", "text/plain": "<Chart>"}},
        {"output_type": "stream", "name": "stdout", "text": "autoscaler.json\n"},
    ]),
    "go": _model("ButtonModel", description="export config"),
    "hidden": _model("HTMLModel", value="secret", layout="IPY_MODEL_lay"),
    "lay": {"model_name": "LayoutModel", "state": {"display": "none"}},
}  # fmt: skip


def test_a_widget_is_drawn_from_its_state_never_as_a_repr() -> None:
    html = static_widget("box", STATE)
    assert "<span><b>spec</b> b</span>" in html
    assert "<b>target</b> 0.99" in html and "<b>specs</b> x, y" in html
    assert "spotlab-inputs" in html  # a box of controls is one line of inputs
    assert "<b>bid 2.88</b>" in html and "<svg class='marks'>" in html
    assert "<pre>autoscaler.json\n</pre>" in html
    assert "export config" not in html  # a button does nothing on a static page
    assert "secret" not in html  # display: none stays hidden
    assert "<Chart>" not in html and "VBox(" not in html


def test_freeze_widgets_replaces_views_and_drops_the_state() -> None:
    nb = nbformat.v4.new_notebook()
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result", {"text/plain": "VBox(children=(...))", hr._WIDGET_VIEW: view}
        )
    ]
    nb.cells = [cell]
    nb.metadata["widgets"] = {hr._WIDGET_STATE: {"state": STATE}}
    assert freeze_widgets(nb) == 1
    data = nb.cells[0].outputs[0]["data"]
    assert set(data) == {"text/html"} and "spotlab-inputs" in data["text/html"]
    assert "widgets" not in nb.metadata


def test_pages_hide_code_behind_a_switch_and_link_notebook_pages() -> None:
    body = '<html><body><a href="02_bid_advisor.ipynb">02</a></body></html>'
    page = hr._finish_page(body, "../index.html")
    assert 'href="02_bid_advisor.html"' in page
    assert "show code" in page and "href='../index.html'" in page
    assert "body:not(.spotlab-code) .jp-CodeCell .jp-Cell-inputWrapper{display:none}" in page
    assert external_references(page) == []


def test_a_kernel_that_does_not_start_fails_fast_and_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(hr, "KERNEL_STARTUP_SECONDS", 0)
    with pytest.raises(sl.SpotlabError, match="the kernel did not start within 0 s"):
        hr.execute_notebook(ROOT / "notebooks" / "06_export_config.ipynb", ":memory:")


def test_unknown_notebook_names_fail_with_a_hint() -> None:
    with pytest.raises(sl.SpotlabError, match="Did you mean '00_overview'"):
        hr.notebook_paths(["00_overveiw"])


@pytest.fixture(scope="module")
def bundled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("db") / "r.duckdb"
    with sl.Store(db) as store:
        sl.ingest(store, BUNDLED)
    return db


@pytest.mark.slow
def test_overview_renders_self_contained(bundled_db: Path, tmp_path: Path) -> None:
    page = render_notebook(
        ROOT / "notebooks" / "00_overview.ipynb", tmp_path / "html", str(bundled_db)
    )
    html = page.html.read_text(encoding="utf-8")
    assert page.svg_charts >= 2  # the price-and-bid chart inside the picker, the plan
    assert "spotlab-bid" in html and "spotlab-cards" in html
    assert external_references(html) == []
    assert "Traceback" not in html and "Error loading script" not in html
    for repr_ in ("VBox(children", "Dropdown(", "Output(", "HBox(", "<polars"):
        assert repr_ not in html
    assert "┆ ---" not in html and "│ str" not in html  # no polars text frames or dtype rows
    assert not (tmp_path / "html" / "00_overview.kernel.log").exists()  # kept only on failure


@pytest.mark.slow
def test_two_reports_at_once_on_one_machine(bundled_db: Path, tmp_path: Path) -> None:
    """Kernels use Unix sockets in their own folders: two reports never race for ports."""
    env = {k: v for k, v in os.environ.items() if k != "SPOTLAB_DB"}
    env["COLUMNS"] = "120"
    cmd = [sys.executable, "-m", "spotlab.cli", "--db", str(bundled_db), "report",
           "--notebook", "06_export_config", "--notebook", "00_overview"]  # fmt: skip
    runs = [
        subprocess.Popen([*cmd, "--out", str(tmp_path / f"r{i}")], env=env, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]  # fmt: skip
    results = [r.communicate(timeout=900) for r in runs]
    for r, (_out, err) in zip(runs, results, strict=True):
        assert r.returncode == 0, err[-2000:]
        assert "notebook 2/2 00_overview.ipynb:" in err  # a progress line per notebook
        assert "WARNING" not in err  # kernel warnings stay in the kernel log
    for i in range(2):
        assert (tmp_path / f"r{i}" / "notebooks" / "00_overview.html").exists()
        assert (tmp_path / f"r{i}" / "index.html").exists()
