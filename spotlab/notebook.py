"""One call at the top of every notebook: offline charts and a store with data in it.

>>> import spotlab as sl
>>> store = sl.notebook.setup()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spotlab.store import DEFAULT_PATH, ENV_VAR, NOTEBOOK_WAIT_SECONDS, Store

#: the bundled sample data, shipped with the repository
BUNDLED_DATA = Path(__file__).resolve().parents[1] / "data"


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
