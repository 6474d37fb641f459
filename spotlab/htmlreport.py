"""Notebooks as self-contained HTML: executed headless, charts inline as SVG, no CDN.

``spotlab report`` runs every notebook in ``notebooks/`` with nbclient against the report's
database (``SPOTLAB_DB``) and with :data:`spotlab.notebook.REPORT_ENV` set, so
:func:`spotlab.notebook.setup` renders charts to SVG in the kernel (vl-convert). The HTML
export then leaves out every script a CDN would serve (require.js, MathJax, the widget
renderer) and is checked to load nothing from outside.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spotlab.errors import SpotlabError
from spotlab.notebook import REPORT_ENV
from spotlab.store import ENV_VAR

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: src/href values, or module imports, that would load from off the machine
_EXTERNAL = re.compile(
    r"""(?:(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*)|(?:\bfrom\s+["']https?://[^"']*)""",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class RenderedNotebook:
    notebook: Path
    html: Path
    seconds: float
    svg_charts: int


@contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def external_references(html: str) -> list[str]:
    """What an HTML page would load from off the machine: src/href attributes and module
    imports inside its scripts and links (links in text are not loads)."""
    tags = [m.group(0) for m in _SCRIPT.finditer(html)]
    tags += re.findall(r"<(?:link|img|iframe)\b[^>]*>", html, flags=re.IGNORECASE)
    return [m.group(0) for t in tags for m in _EXTERNAL.finditer(t)]


def _drop_cdn_scripts(html: str) -> str:
    """Remove scripts that only fetch from a CDN (MathJax, mermaid) or have no source."""

    def keep(m: re.Match[str]) -> str:
        tag = m.group(0)
        if 'src=""' in tag or _EXTERNAL.search(tag) or "mermaid" in tag:
            return ""
        return tag

    return _SCRIPT.sub(keep, html)


def render_notebook(path: Path, out_dir: Path, db: str, timeout: int = 600) -> RenderedNotebook:
    """Execute one notebook (in its own folder) and write ``<name>.html`` into ``out_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    with _env({REPORT_ENV: "1", ENV_VAR: db}):
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            store_widget_state=True,
        )
        try:
            client.execute()
        except CellExecutionError as exc:
            raise SpotlabError(f"{path.name} failed while building the report: {exc}") from exc
    seconds = time.perf_counter() - t0
    nb.metadata.pop("widgets", None)
    exporter = HTMLExporter(
        template_name="lab",
        mathjax_url="",
        require_js_url="",
        jquery_url="",
        widget_renderer_url="",
        jupyter_widgets_base_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    body = _drop_cdn_scripts(body)
    outside = external_references(body)
    if outside:
        raise SpotlabError(f"{path.name}: the HTML would load from outside: {outside[:3]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{path.stem}.html"
    html.write_text(body, encoding="utf-8")
    charts = body.count('data-mime-type="image/svg+xml"')
    return RenderedNotebook(path, html, seconds, charts)


def render_notebooks(
    out_dir: str | Path,
    db: str,
    notebooks: Sequence[str | Path] | None = None,
    timeout: int = 600,
) -> list[RenderedNotebook]:
    """Execute every notebook (default: ``notebooks/*.ipynb``) and write HTML files."""
    paths = [Path(p) for p in notebooks] if notebooks else sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        raise SpotlabError(f"no notebooks found in {NOTEBOOKS}")
    db_path = db if db == ":memory:" else str(Path(db).resolve())
    return [render_notebook(p, Path(out_dir), db_path, timeout) for p in paths]
