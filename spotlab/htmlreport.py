"""Notebooks as self-contained HTML pages for people: executed headless, code hidden,
charts inline as SVG, widgets drawn in their default state, no CDN.

``spotlab report`` runs every notebook in ``notebooks/`` with nbclient against the report's
database (``SPOTLAB_DB``) and with :data:`spotlab.notebook.REPORT_ENV` set, so
:func:`spotlab.notebook.setup` renders charts to SVG in the kernel (vl-convert) and polars
frames as labelled tables. Each widget a cell displays is then drawn from its stored state
as static HTML (its inputs as text, its tables and charts as they were first drawn), never
as a Python repr. The page hides the code behind a "show code" switch, drops every script a
CDN would serve, and is checked to load nothing from outside.

Robustness: each kernel talks over Unix sockets in its own folder (no TCP ports to race for
when two reports run at once, and no unencrypted-TCP warning) and the client waits for its
messages in one-second slices (:mod:`spotlab._kernel_client`: a message whose wake-up was
missed is read within a second, not at the end of the cell timeout); it must start within
:data:`KERNEL_STARTUP_SECONDS` and each cell finish within :data:`CELL_TIMEOUT_SECONDS`, or
the report stops with an error naming the notebook and cell; the kernel's own output goes to
a log whose end is quoted in that error (and kept beside the page), not to the terminal.
"""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotlab.bundled import bundled
from spotlab.domain import HOURS_PER_MONTH
from spotlab.errors import SpotlabError
from spotlab.notebook import REPORT_ENV
from spotlab.store import ENV_VAR

NOTEBOOKS = bundled("notebooks")
#: seconds a kernel may take to start and answer before the report gives up
KERNEL_STARTUP_SECONDS = 45
#: seconds one cell may run (a lost kernel reply is waited for this long, not 10 minutes;
#: the slowest cell takes about 5 s on an idle 2-core machine)
CELL_TIMEOUT_SECONDS = 300
#: src/href values, or module imports, that would load from off the machine
_EXTERNAL = re.compile(
    r"""(?:(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*)|(?:\bfrom\s+["']https?://[^"']*)""",
    re.IGNORECASE,
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


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


# -- widgets drawn from their stored state ------------------------------------------------

#: control models shown as "description: value"
_CONTROLS = {
    "DropdownModel", "ToggleButtonsModel", "RadioButtonsModel", "SelectModel",
    "SelectMultipleModel", "FloatSliderModel", "IntSliderModel", "FloatTextModel",
    "IntTextModel", "BoundedFloatTextModel", "BoundedIntTextModel", "TextModel",
    "TextareaModel", "CheckboxModel", "FloatLogSliderModel", "SelectionSliderModel",
    "FloatRangeSliderModel", "IntRangeSliderModel", "ToggleButtonModel",
}  # fmt: skip
_BOXES = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel"}
_STATIC_CSS = """
.spotlab-widget{display:flex;flex-direction:column;gap:6px;margin:4px 0}
.spotlab-widget.row{flex-direction:row;flex-wrap:wrap;gap:16px}
.spotlab-inputs{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;color:#333;
 background:#f6f8fa;border:1px solid #e1e4e8;border-radius:4px;padding:6px 10px}
.spotlab-inputs b{font-weight:600;color:#555}
.spotlab-inputs .caption{width:100%;color:#777;font-size:12px}
"""


def _ref(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        return value[len("IPY_MODEL_") :]
    return None


def _control_value(name: str, s: Mapping[str, Any]) -> str:
    labels = s.get("_options_labels")
    if labels is not None:
        idx = s.get("index")
        if isinstance(idx, list | tuple):
            return ", ".join(str(labels[i]) for i in idx) or "(none)"
        return str(labels[idx]) if isinstance(idx, int) and 0 <= idx < len(labels) else ""
    value = s.get("value")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        from spotlab.tables import format_value

        return format_value(value)
    if isinstance(value, list | tuple):
        return " – ".join(str(v) for v in value)
    return str(value) if value not in (None, "") else "(empty)"


def _output_html(output: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    """One stored output (a widget's or a cell's) as static HTML."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"<pre>{html_lib.escape(''.join(output.get('text', '')))}</pre>"
    if kind == "error":
        return f"<pre>{html_lib.escape(output.get('ename', ''))}: error</pre>"
    data = output.get("data", {})
    if _WIDGET_VIEW in data:
        return static_widget(data[_WIDGET_VIEW].get("model_id", ""), state)
    for mime in ("image/svg+xml", "text/html"):
        if mime in data:
            value = data[mime]
            return "".join(value) if isinstance(value, list) else str(value)
    if "image/png" in data:
        return f"<img src='data:image/png;base64,{data['image/png']}'>"
    if "text/plain" in data:
        text = data["text/plain"]
        return f"<pre>{html_lib.escape(''.join(text) if isinstance(text, list) else text)}</pre>"
    return ""


def static_widget(model_id: str, state: Mapping[str, Any]) -> str:
    """A widget (and its children) drawn from nbclient's stored widget state: boxes as
    rows or columns, controls as "description: value" text, HTML as it is, an Output's
    stored outputs (charts, tables, text) as they were drawn; buttons, hidden widgets and
    unknown models are left out. Never a Python repr."""
    entry = state.get(model_id)
    if entry is None:
        return ""
    name, s = entry.get("model_name"), entry.get("state", {})
    layout = state.get(_ref(s.get("layout")) or "", {}).get("state", {})
    if layout.get("display") == "none" or layout.get("visibility") == "hidden":
        return ""
    if name in _BOXES:
        kids = [c for c in (_ref(x) for x in s.get("children", [])) if c]
        controls = [k for k in kids if state.get(k, {}).get("model_name") in _CONTROLS]
        if controls and len(controls) == len(kids):
            items = "".join(static_widget(k, state) for k in kids)
            return f"<div class='spotlab-inputs'>{items}</div>"
        parts = [static_widget(k, state) for k in kids]
        row = " row" if name == "HBoxModel" else ""
        return f"<div class='spotlab-widget{row}'>{''.join(p for p in parts if p)}</div>"
    if name in _CONTROLS:
        label = html_lib.escape(str(s.get("description") or "value"))
        return f"<span><b>{label}</b> {html_lib.escape(_control_value(name, s))}</span>"
    if name in {"HTMLModel", "HTMLMathModel"}:
        return f"<div>{s.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{html_lib.escape(str(s.get('value', '')))}</div>"
    if name == "OutputModel":
        return "".join(_output_html(o, state) for o in s.get("outputs", []))
    return ""  # buttons, progress bars, layouts, models spotlab does not draw


def freeze_widgets(nb: Any) -> int:
    """Replace every widget output of an executed notebook by its static drawing (see
    :func:`static_widget`); returns how many were drawn. Drops the widget state."""
    widgets = nb.metadata.pop("widgets", None) or {}
    state = widgets.get(_WIDGET_STATE, {}).get("state", {})
    drawn = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if _WIDGET_VIEW not in data:
                kept.append(out)
                continue
            markup = static_widget(data[_WIDGET_VIEW].get("model_id", ""), state)
            if markup:
                out["data"] = {"text/html": f"<style>{_STATIC_CSS}</style>{markup}"}
                kept.append(out)
                drawn += 1
        cell["outputs"] = kept
    return drawn


# -- the page -----------------------------------------------------------------------------

_PAGE_CSS = """
body:not(.spotlab-code) .jp-CodeCell .jp-Cell-inputWrapper{display:none}
body:not(.spotlab-code) .jp-CodeCell.jp-mod-noOutputs{display:none}
.spotlab-bar{position:sticky;top:0;z-index:10;display:flex;gap:16px;align-items:center;
 padding:6px 16px;background:#fff;border-bottom:1px solid #ddd;font:14px sans-serif}
.spotlab-bar button{font:13px sans-serif;padding:2px 10px}
"""
_PAGE_JS = (
    "document.getElementById('spotlab-code').addEventListener('click',function(){"
    "var on=document.body.classList.toggle('spotlab-code');"
    "this.textContent=on?'hide code':'show code';});"
)


def _bar(index_href: str | None) -> str:
    back = f"<a href='{index_href}'>← the report</a>" if index_href else ""
    return (
        f"<style>{_PAGE_CSS}</style><div class='spotlab-bar'>{back}"
        "<button id='spotlab-code' type='button'>show code</button></div>"
    )


def _finish_page(body: str, index_href: str | None) -> str:
    """Code hidden behind a switch, a link back to the report, notebook links to pages."""
    body = _drop_cdn_scripts(body)
    # links between notebooks point at their pages
    body = re.sub(r'href="([0-9A-Za-z_\-]+)\.ipynb"', r'href="\1.html"', body)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _bar(index_href), body, count=1)
    return body.replace("</body>", f"<script>{_PAGE_JS}</script></body>", 1)


def _kernel_log_tail(path: Path, lines: int = 15) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    tail = "\n".join(text.strip().splitlines()[-lines:])
    return f"\nkernel log ({path}):\n{tail}" if tail else ""


def kernel_config(folder: Path) -> Any:
    """The kernel manager's config for one notebook: Unix sockets in ``folder`` (no TCP port
    two reports could both pick) and a client that waits for messages in short slices
    (:mod:`spotlab._kernel_client`: a missed wake-up would otherwise hold a finished cell for
    the whole cell timeout)."""
    from traitlets.config import Config

    return Config(
        {
            "KernelManager": {
                "transport": "ipc",
                "ip": str(folder / "k"),
                "client_class": "spotlab._kernel_client.SlicedWaitClient",
            }
        }
    )


def execute_notebook(
    path: Path, db: str, timeout: int = CELL_TIMEOUT_SECONDS, log: Path | None = None
) -> Any:
    """Run a notebook in a fresh kernel (report mode, ``SPOTLAB_DB=db``) and return the
    executed notebook; a failed, stuck or unstartable kernel raises a SpotlabError naming
    the notebook, with the end of the kernel's log (kept at ``log`` when given)."""
    import atexit

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    folder = Path(tempfile.mkdtemp(prefix="spotlab-kernel-"))
    log = log or folder / "kernel.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {REPORT_ENV: "1", ENV_VAR: db, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    ipc = kernel_config(folder)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        config=ipc,
        timeout=timeout,
        startup_timeout=KERNEL_STARTUP_SECONDS,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
    )
    failed = True
    try:
        with _env(env), log.open("w", encoding="utf-8") as sink:
            client.execute(stdout=sink, stderr=sink)
        failed = False
    except CellTimeoutError as exc:
        raise SpotlabError(
            f"{path.name}: a cell did not finish within {timeout} s (a lost kernel reply "
            f"waits this long); rerun, or raise --cell-timeout-seconds{_kernel_log_tail(log)}"
        ) from exc
    except DeadKernelError as exc:
        raise SpotlabError(f"{path.name}: the kernel died ({exc}){_kernel_log_tail(log)}") from exc
    except CellExecutionError as exc:
        raise SpotlabError(f"{path.name} failed while building the report: {exc}") from exc
    except RuntimeError as exc:  # jupyter_client: the kernel did not start or answer
        raise SpotlabError(
            f"{path.name}: the kernel did not start within {KERNEL_STARTUP_SECONDS} s "
            f"({exc}){_kernel_log_tail(log)}"
        ) from exc
    finally:
        # nbclient leaves its exit-time cleanup registered when the kernel failed to start
        atexit.unregister(client._cleanup_kernel)
        if not failed and log.parent != folder:
            log.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    return nb


def render_notebook(
    path: Path,
    out_dir: Path,
    db: str,
    timeout: int = CELL_TIMEOUT_SECONDS,
    index_href: str | None = "../index.html",
) -> RenderedNotebook:
    """Execute one notebook (in its own folder) and write ``<name>.html`` into ``out_dir``:
    code hidden (a switch shows it), widgets drawn statically, charts inline."""
    from nbconvert import HTMLExporter

    t0 = time.perf_counter()
    nb = execute_notebook(path, db, timeout, log=out_dir / f"{path.stem}.kernel.log")
    seconds = time.perf_counter() - t0
    freeze_widgets(nb)
    exporter = HTMLExporter(
        template_name="lab",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        mathjax_url="",
        require_js_url="",
        jquery_url="",
        widget_renderer_url="",
        jupyter_widgets_base_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    body = _finish_page(body, index_href)
    outside = external_references(body)
    if outside:
        raise SpotlabError(f"{path.name}: the HTML would load from outside: {outside[:3]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"{path.stem}.html"
    html.write_text(body, encoding="utf-8")
    charts = body.count('data-mime-type="image/svg+xml"') + body.count('<svg class="marks"')
    return RenderedNotebook(path, html, seconds, charts)


def notebook_paths(names: Sequence[str] | None = None) -> list[Path]:
    """``notebooks/*.ipynb``, or the ones named (a stem such as ``00_overview``, a file
    name or a path); an unknown name fails with a suggestion."""
    from spotlab.errors import did_you_mean

    found = sorted(NOTEBOOKS.glob("*.ipynb"))
    if not names:
        if not found:
            raise SpotlabError(f"no notebooks found in {NOTEBOOKS}")
        return found
    by_stem = {p.stem: p for p in found}
    out = []
    for name in names:
        p = Path(name)
        if p.suffix == ".ipynb" and p.exists():
            out.append(p)
        elif p.stem in by_stem:
            out.append(by_stem[p.stem])
        else:
            raise SpotlabError(
                f"no notebook {name!r}.{did_you_mean(p.stem, by_stem)} Known: {', '.join(by_stem)}"
            )
    return out


def render_notebooks(
    out_dir: str | Path,
    db: str,
    notebooks: Sequence[str | Path] | None = None,
    timeout: int = CELL_TIMEOUT_SECONDS,
    progress: Callable[[str], None] | None = None,
) -> list[RenderedNotebook]:
    """Execute every notebook (default: ``notebooks/*.ipynb``) and write HTML files;
    ``progress`` gets one line as each notebook starts and one when it is done."""
    paths = notebook_paths([str(p) for p in notebooks] if notebooks else None)
    db_path = db if db == ":memory:" else str(Path(db).resolve())
    pages = []
    for i, p in enumerate(paths, 1):
        if progress:
            progress(f"notebook {i}/{len(paths)} {p.name}: running")
        page = render_notebook(p, Path(out_dir), db_path, timeout)
        if progress:
            progress(
                f"notebook {i}/{len(paths)} {p.name}: {page.seconds:.1f} s, "
                f"{page.svg_charts} charts"
            )
        pages.append(page)
    return pages


# -- the front page (out/index.html) and the overview's cards ----------------------------

_CARDS_CSS = """
.spotlab-cards{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0;font-family:sans-serif}
.spotlab-card{flex:1 1 200px;max-width:320px;border:1px solid #d0d7de;border-radius:6px;
 padding:10px 14px;background:#fff;box-sizing:border-box}
.spotlab-card .label{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.03em}
.spotlab-card .figure{font-size:24px;font-weight:600;margin:2px 0;white-space:nowrap}
.spotlab-card .sub{font-size:12px;color:#57606a;overflow-wrap:anywhere}
.spotlab-card.good .figure{color:#1a7f37}
.spotlab-deploy{font-family:sans-serif;font-size:14px;margin:6px 0 10px;padding-left:18px}
.spotlab-deploy li{margin:2px 0;overflow-wrap:anywhere}
.spotlab-note{font:12px sans-serif;color:#57606a;margin:4px 0}
"""


def _card(label: str, figure: str, sub: str = "", good: bool = False) -> str:
    return (
        f"<div class='spotlab-card{' good' if good else ''}'><div class='label'>"
        f"{html_lib.escape(label)}</div><div class='figure'>{html_lib.escape(figure)}</div>"
        f"<div class='sub'>{html_lib.escape(sub)}</div></div>"
    )


def money_html(ov: Any, current_monthly_cost: float | None = None) -> str:
    """The money as cards: cost per month now and as advised, the saving with its
    out-of-sample range, the availability; a line says what each figure is."""
    money = ov.money(current_monthly_cost)
    if money is None:
        return (
            f"<style>{_CARDS_CSS}</style><p class='spotlab-note'>No scaling plan, so no "
            "monthly figures: ingest a traffic series (service, ts, qps).</p>"
        )
    cur = money.currency
    span = ""
    if money.saving_low is not None and money.saving_high is not None:
        span = f"out of sample {money.saving_low:,.0f} to {money.saving_high:,.0f}"
    cards = "".join(
        [
            _card("cost per month now", f"{money.now_per_month:,.0f} {cur}", money.now_label),
            _card(
                "cost per month advised",
                f"{money.advised_per_month:,.0f} {cur}",
                "simulated plan: dedicated floor + spot + regular fallback",
            ),
            _card(
                "saving per month",
                f"{money.saving_per_month:,.0f} {cur}",
                f"{money.saving_share:.0%} less; {span}"
                if span
                else f"{money.saving_share:.0%} less",
                good=money.saving_per_month > 0,
            ),
            _card(
                "availability",
                f"{money.availability:.2%}",
                "share of time with the replicas the traffic needs",
            ),
        ]
    )
    note = (
        f"A month is {HOURS_PER_MONTH:g} h. The plan is replayed on a seeded synthetic spot "
        f"market; the saving's range: {money.range_note}."
    )
    return (
        f"<style>{_CARDS_CSS}</style><div class='spotlab-cards'>{cards}</div>"
        f"<p class='spotlab-note'>{html_lib.escape(note)}</p>"
    )


def deployment_html(ov: Any) -> str:
    """The advised deployment in words, one line per part."""
    items = "".join(
        f"<li><b>{html_lib.escape(k)}</b>: {html_lib.escape(v)}</li>" for k, v in ov.deployment()
    )
    return f"<style>{_CARDS_CSS}</style><ul class='spotlab-deploy'>{items}</ul>"


def overview_html(ov: Any, current_monthly_cost: float | None = None) -> str:
    """The overview's answer first: the money cards, then the advised deployment."""
    return (
        money_html(ov, current_monthly_cost)
        + "<h3 style='font-family:sans-serif;margin:8px 0 2px'>Advised deployment</h3>"
        + deployment_html(ov)
    )


def chart_svg(chart: Any) -> str:
    """An altair chart as inline SVG, rendered here by vl-convert (no script, no CDN)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_dict()))


_INDEX_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
 margin:0 auto;padding:16px 24px;color:#1f2328;line-height:1.45}
h1{font-size:26px;margin:4px 0}h2{font-size:19px;margin:22px 0 6px;border-bottom:1px solid
 #d8dee4;padding-bottom:3px}
.first-line{font-size:15px;background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;
 padding:6px 10px}
figure{margin:10px 0}figure svg{max-width:100%;height:auto}
figcaption{font-size:13px;color:#57606a}
.flags li{margin:3px 0}.flag-synthetic,.flag-estimate{color:#9a6700}
.links li{margin:2px 0}
"""


def index_page(
    first_line: str,
    ov: Any | None,
    charts: Sequence[tuple[str, str]],
    assumptions: Any,
    flags: Sequence[Any],
    links: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    notes: Sequence[str] = (),
    current_monthly_cost: float | None = None,
) -> str:
    """The report's front page as one self-contained HTML document: first line, money,
    advised deployment, charts (``(caption, svg)``), assumptions table, data-quality flags,
    links (``(heading, [(text, href)])``) and notes."""
    from spotlab.tables import html_table

    esc = html_lib.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>spotlab report</title><style>{_INDEX_CSS}</style></head><body>",
        "<h1>spotlab report</h1>",
        f"<p class='first-line'>{esc(first_line)}</p>",
    ]
    if ov is not None:
        parts += ["<h2>The money</h2>", money_html(ov, current_monthly_cost)]
        parts += ["<h2>Advised deployment</h2>", deployment_html(ov)]
    for caption, svg in charts:
        parts.append(f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>")
    if charts:
        parts.insert(len(parts) - len(charts), "<h2>Charts</h2>")
    parts += [
        "<h2>Assumptions behind these figures</h2>",
        html_table(assumptions, max_rows=200),
        "<h2>Data quality</h2><ul class='flags'>",
        *[f"<li class='flag-{esc(f.kind)}'>{esc(f.text)}</li>" for f in flags],
        "</ul>",
    ]
    if notes:
        parts += ["<h2>Notes</h2><ul>", *[f"<li>{esc(n)}</li>" for n in notes], "</ul>"]
    for heading, items in links:
        parts.append(f"<h2>{esc(heading)}</h2><ul class='links'>")
        parts += [f"<li><a href='{esc(href)}'>{esc(text)}</a></li>" for text, href in items]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
