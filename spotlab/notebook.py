"""One call at the top of every notebook: offline charts and a store with data in it.

>>> import spotlab as sl
>>> store = sl.notebook.setup()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spotlab.bundled import bundled
from spotlab.store import DEFAULT_PATH, ENV_VAR, NOTEBOOK_WAIT_SECONDS, Store

#: the bundled sample data (in the checkout, or shipped inside the wheel)
BUNDLED_DATA = bundled("data")


#: set by ``spotlab report``: charts become static SVG so the HTML needs no script at all
REPORT_ENV = "SPOTLAB_REPORT"


def enable_offline_charts() -> None:
    """Render altair charts without any CDN.

    In JupyterLab the ``jupyter`` renderer with ``offline=True`` ships vega inside the
    anywidget bundle (the default renderer and ``mimetype`` load scripts from a CDN or crash
    nbclient), drawing SVG. Under ``spotlab report`` charts are rendered to SVG by
    vl-convert in the kernel, so the exported HTML is self-contained.
    """
    import altair as alt

    if os.environ.get(REPORT_ENV):
        alt.renderers.enable("svg")
    else:
        alt.renderers.register("spotlab", _jupyter_chart_renderer)
        alt.renderers.enable("spotlab", embed_options={"renderer": "svg", "actions": False})
    alt.data_transformers.disable_max_rows()


def _jupyter_chart_renderer(spec: dict[str, Any], **metadata: Any) -> Any:
    """altair's offline ``jupyter`` renderer without its second schema validation.

    The stock renderer rebuilds the chart from the already validated spec with
    ``Chart.from_dict``, which validates every nested object again and took about 0.7 s
    per chart here: most of a widget's redraw time. This hands the spec straight to the
    same anywidget (vega bundled by vl-convert, no CDN).
    """
    return _chart_widget(spec, metadata.get("embed_options"))._repr_mimebundle_()


def _chart_widget(spec: dict[str, Any], embed_options: dict[str, Any] | None) -> Any:
    from altair import JupyterChart

    JupyterChart.enable_offline(offline=True)
    widget = JupyterChart(chart=None, embed_options=embed_options)  # type: ignore[arg-type]
    widget.spec = spec
    return widget


def show(chart: Any) -> None:
    """Display an altair chart from a widget callback.

    The chart's spec is built without altair's schema validation (spotlab's chart builders
    are validated by their tests), which saves ~50 ms per redraw; under ``spotlab report``
    or another renderer it is a plain ``display``.
    """
    import altair as alt
    from IPython.display import display

    if os.environ.get(REPORT_ENV) or alt.renderers.active != "spotlab":
        display(chart)
        return
    options = alt.renderers.options.get("embed_options")
    display(_chart_widget(chart.to_dict(validate=False), options))


def show_table(
    frame: Any,
    units: Mapping[str, str] | None = None,
    currency: str | None = None,
    caption: str | None = None,
    max_rows: int = 60,
) -> None:
    """Display a polars frame as a labelled HTML table: units and currency in the headers,
    values rounded, no dtype row (:func:`spotlab.tables.html_table`)."""
    from IPython.display import HTML, display

    from spotlab.tables import html_table

    display(HTML(html_table(frame, max_rows, units, caption, currency)))


def show_html(markup: str) -> None:
    """Display an HTML fragment (cards, sentences) built by the library."""
    from IPython.display import HTML, display

    display(HTML(markup))


def enable_table_display() -> None:
    """Show every polars frame a cell returns or displays as :func:`show_table` does (the
    plain-text form, used by ``print``, is unchanged)."""
    import polars as pl
    from IPython import get_ipython

    from spotlab.tables import html_table

    shell = get_ipython()
    if shell is None:  # plain Python: nothing displays HTML
        return
    shell.display_formatter.formatters["text/html"].for_type(pl.DataFrame, html_table)


def find_database(start: Path | None = None) -> Path | None:
    """``$SPOTLAB_DB``, else ``spotlab.duckdb`` in the working folder or a parent."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_PATH
        if candidate.exists():
            return candidate
    return None


def setup(db: str | Path | None = None, charts: bool = True) -> Store:
    """Enable offline charts and return a store.

    ``db`` (or ``$SPOTLAB_DB``, or a ``spotlab.duckdb`` found upwards from here) is opened
    read-only, one query at a time: the store holds the file only while a query runs (and
    never between cells), so ``spotlab ingest`` in a terminal works while the notebook is
    open, and the notebook's next query sees what it loaded. While an ingest writes, a
    query waits for it (up to ``NOTEBOOK_WAIT_SECONDS``). With no database anywhere, an
    in-memory store is filled from the bundled sample data (``data/``).
    """
    if charts:
        enable_offline_charts()
    enable_table_display()
    path = Path(db) if db is not None else find_database()
    if path is not None and str(path) != ":memory:" and path.exists():
        store = Store(path, read_only=True, keep_open=False, wait_seconds=NOTEBOOK_WAIT_SECONDS)
        _release_after_each_cell(store)
        return store
    store = Store(":memory:")
    from spotlab.ingest import ingest

    ingest(store, BUNDLED_DATA)
    return store


def _release_after_each_cell(store: Store) -> None:
    """In IPython, let go of the file after every cell, also when a cell used
    ``store.con`` directly (the store's own queries let go when they end)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.events.register("post_execute", store.release)


@contextmanager
def progress(label: str) -> Iterator[None]:
    """Show that a long step is running, then how long it took.

    In JupyterLab a bar runs while the block does; under ``spotlab report`` (static HTML)
    a line of text says the time instead.
    """
    from IPython.display import display

    t0 = time.perf_counter()
    if os.environ.get(REPORT_ENV):
        yield
        print(f"{label}: {time.perf_counter() - t0:.1f} s")
        return
    import ipywidgets as w

    bar = w.IntProgress(value=0, min=0, max=1, description=label, bar_style="info")
    bar.style.description_width = "initial"
    display(bar)
    try:
        yield
    except BaseException:
        bar.bar_style = "danger"
        raise
    bar.value = 1
    bar.bar_style = "success"
    bar.description = f"{label}: {time.perf_counter() - t0:.1f} s"


def show_overview(
    ov: Any, store: Store | None = None, current_monthly_cost: float | None = None
) -> None:
    """The overview's answer first: the data's period and nature (with a store), the
    money as cards, the advised deployment in words."""
    from spotlab.htmlreport import overview_html

    head = ""
    if store is not None:
        import html

        from spotlab.report import build_report, data_nature

        line = html.escape(data_nature(store, build_report(store), ov))
        head = (
            "<p style='font:14px sans-serif;background:#fff8c5;border:1px solid #d4a72c;"
            f"border-radius:6px;padding:6px 10px'>{line}</p>"
        )
    show_html(head + overview_html(ov, current_monthly_cost))


def show_flags(store: Store, ov: Any | None = None) -> None:
    """The data-quality flags (synthetic, estimated prices, stale series, rejected rows)."""
    import html

    from spotlab.report import build_report, data_flags

    items = "".join(
        f"<li>{html.escape(f.text)}</li>" for f in data_flags(store, build_report(store), ov)
    )
    show_html(f"<ul style='font:14px sans-serif'>{items}</ul>")


# -- the committed form of the shipped notebooks ---------------------------------------------

#: the kernel spec JupyterLab writes for ipykernel's ``python3`` kernel
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: a code cell starting with this keeps its printed output in git (nbval checks it)
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
#: notebook metadata key marking a notebook kept in its committed form on every save
COMMITTED_FORM = "spotlab"


def normalize_notebook(nb: Any) -> Any:
    """A notebook in the form it is committed in, whatever ran it (JupyterLab, nbclient):
    the kernel spec JupyterLab writes, ``language_info`` without the Python version, no
    widget state or cell timings, and outputs only in ``# NBVAL_CHECK_OUTPUT`` cells (their
    printed text; execution counts as a fresh Run All gives them). Returns ``nb``."""
    meta = nb["metadata"]
    meta["kernelspec"] = dict(KERNELSPEC)
    meta.get("language_info", {}).pop("version", None)
    meta.pop("widgets", None)
    meta[COMMITTED_FORM] = {"outputs": "checked cells only"}
    count = 0
    for cell in nb["cells"]:
        cell["metadata"].pop("execution", None)
        if cell["cell_type"] != "code":
            continue
        count += 1
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if source.lstrip().startswith(CHECK_MARK):
            cell["outputs"] = [o for o in cell["outputs"] if o.get("output_type") == "stream"]
            cell["execution_count"] = count  # nbval wants a count on a cell with output
        else:
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def pre_save_hook(model: dict[str, Any], path: str = "", **_: Any) -> None:
    """Jupyter's pre-save hook (``make lab`` sets it): a shipped notebook (marked
    :data:`COMMITTED_FORM`) is saved in its committed form, so running it in JupyterLab
    leaves the tracked file unchanged; other notebooks are saved as they are."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    if COMMITTED_FORM in model["content"].get("metadata", {}):
        normalize_notebook(model["content"])
