"""The overview notebook and the report in a real browser: JupyterLab on 127.0.0.1 and the
report's pages from disk, in Debian's Chromium.

Runs every cell of 00_overview, checks that the money comes first as cards, that charts
render as SVG with no CDN (no "Error loading script"), changes a widget and sees its output
change, fills in the image and clicks "export config", saves the notebook and checks the
tracked file is unchanged. Then opens ``out/index.html`` and the report's overview page and
checks the money figures and the price-and-bid chart are there and no widget is a Python
repr. Screenshots go under out/. Needs /usr/bin/chromium (``make test`` installs Debian's).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spotlab as sl
from tests.conftest import BUNDLED, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "out" / "overview_screenshot.png"
INDEX_SHOT = ROOT / "out" / "report_index_screenshot.png"
PAGE_SHOT = ROOT / "out" / "report_overview_screenshot.png"
IMAGE = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/llm/serving:1.0"
#: what a widget looks like when a page shows its Python repr instead of drawing it
REPRS = ("VBox(children", "HBox(children", "Dropdown(", "Output(", "IntProgress(")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed (make test installs it with apt-get)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on a copy of notebooks/ (so runs never write into the repo)."""
    work = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", work)
    bindir = Path(sys.executable).parent
    subprocess.run(
        [str(bindir / "jupyter"), "trust", str(work / "00_overview.ipynb")],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "SPOTLAB_DB"}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            str(bindir / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0", "--allow-root",
            "--IdentityProvider.token=", "--ServerApp.password=",
            f"--ServerApp.root_dir={work}", "--LabApp.news_url=",
            "--ContentsManager.pre_save_hook=spotlab.notebook.pre_save_hook",  # as make lab
        ],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "jupyter lab did not start: " + (tmp_path / "lab.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", work
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def money() -> Any:
    """The overview's money on the bundled data, as the notebook computes it."""
    from spotlab.overview import overview

    store = sl.Store(":memory:")
    sl.ingest(store, BUNDLED)
    got = overview(store, requirements={"gpu_memory_gib": 24}, model_size_gb=7.2,
                   image_size_gb=12.0).money()  # fmt: skip
    assert got is not None
    return got


def _figures(m: Any) -> list[str]:
    return [f"{v:,.0f} {m.currency}" for v in (m.now_per_month, m.advised_per_month,
                                               m.saving_per_month)]  # fmt: skip


def test_overview_runs_offline_in_chromium(lab: tuple[str, Path], money: Any) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, work = lab
    committed = (work / "00_overview.ipynb").read_bytes()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{url}/lab/tree/00_overview.ipynb", timeout=60_000)
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            with contextlib.suppress(PlaywrightTimeout):  # it may ask which kernel to start
                page.click(".jp-Dialog button:has-text('Select')", timeout=10_000)
            page.wait_for_selector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
            )
            page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=15_000)
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=15_000)
            # the export button is the last widget: every cell before it has run
            page.wait_for_selector("button:has-text('export config')", timeout=120_000)
            page.wait_for_selector(".jp-OutputArea svg.marks", timeout=60_000)
            assert page.locator(".jp-OutputArea svg.marks").count() >= 2
            assert "Error loading script" not in page.content()
            assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0
            # the answer first: the money as cards in the first code cell's output
            page.locator(".spotlab-card").first.scroll_into_view_if_needed()
            cards = page.locator(".spotlab-card").all_text_contents()
            assert len(cards) == 4
            text = " ".join(cards)
            for figure in _figures(money):
                assert figure in text
            body = page.locator(".jp-Notebook").first.text_content() or ""
            assert not [r for r in REPRS if r in body]

            # change the spec: the advice sentence and the chart follow
            select = page.locator(".widget-dropdown select").first
            current = select.input_value()
            values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
            options = [v for v in values if v != current]
            select.select_option(value=options[0])
            page.wait_for_selector(f"b:has-text('{options[0]}')", timeout=30_000)
            page.wait_for_selector(f"text={options[0]}: market", timeout=30_000)

            # export asks for the image first, then writes; a second export asks to replace
            page.click("button:has-text('export config')")
            page.wait_for_selector("text=enter the container image first", timeout=30_000)
            assert not (work.parent / "out" / "config" / "service.json").exists()
            page.fill("input[placeholder*='registry-vpc domain']", IMAGE)
            page.click("button:has-text('export config')")
            page.wait_for_selector("text=wrote service.json", timeout=30_000)
            assert (work.parent / "out" / "config" / "service.json").exists()
            page.click("button:has-text('export config')")
            page.wait_for_selector("text=already exist", timeout=30_000)
            page.wait_for_selector("button:has-text('replace the files')", timeout=10_000)

            with contextlib.suppress(PlaywrightTimeout):  # the news prompt covers a corner
                page.click(".jp-Notification-Toast button:has-text('No')", timeout=2_000)
            # save: the tracked notebook is unchanged (committed form, make lab's hook)
            saved_at = (work / "00_overview.ipynb").stat().st_mtime_ns
            page.locator(".jp-Notebook").first.click()
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while (work / "00_overview.ipynb").stat().st_mtime_ns == saved_at:
                assert time.monotonic() < deadline, "the notebook was not saved"
                time.sleep(0.3)
            time.sleep(0.5)
            after = (work / "00_overview.ipynb").read_bytes()
            if after != committed:
                diff = difflib.unified_diff(
                    committed.decode().splitlines(), after.decode().splitlines(), lineterm=""
                )
                raise AssertionError("saving changed the notebook:\n" + "\n".join(list(diff)[:60]))

            page.locator(".spotlab-card").first.scroll_into_view_if_needed()
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)
        except Exception:
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT.with_name("overview_failure.png")))
            raise
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith(("http://127.0.0.1", "data:", "blob:"))]
    assert not outside, f"requests left the machine: {outside[:5]}"


def test_report_pages_in_chromium(tmp_path: Path, money: Any) -> None:
    """out/index.html and the report's overview page, opened from disk: the money, the
    price-and-bid chart, no widget repr, nothing loaded from outside."""
    from playwright.sync_api import sync_playwright

    from spotlab.htmlreport import render_notebook
    from spotlab.report import write_index, write_report

    db = tmp_path / "r.duckdb"
    with sl.Store(db) as store:
        sl.ingest(store, BUNDLED)
    out = tmp_path / "out"
    with sl.Store(db, read_only=True) as store:
        rep = write_report(store, out)
        write_index(store, rep, out, notebooks=["00_overview"])
    render_notebook(ROOT / "notebooks" / "00_overview.ipynb", out / "notebooks", str(db))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "index.html").as_uri())
            body = page.inner_text("body")
            assert body.index("Prices 2026-10-28") < body.index("The money")
            for figure in _figures(money):
                assert figure in body
            assert page.locator("figure svg").count() == 3
            assert not [r for r in REPRS if r in body]
            INDEX_SHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(INDEX_SHOT), full_page=False)

            page.click("a:has-text('00 · Overview')")
            page.wait_for_selector(".spotlab-bid", timeout=30_000)
            body = page.inner_text("body")
            for figure in _figures(money):
                assert figure in body
            assert not [r for r in REPRS if r in body]
            assert not page.locator(".jp-CodeCell .jp-Cell-inputWrapper").first.is_visible()
            chart = page.locator(".spotlab-widget svg.marks").first  # the picker's chart
            chart.scroll_into_view_if_needed()
            assert chart.is_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 200
            page.locator(".spotlab-bid").first.scroll_into_view_if_needed()
            page.screenshot(path=str(PAGE_SHOT), full_page=False)
            page.click("button:has-text('show code')")  # code is there, hidden by default
            assert page.locator(".jp-CodeCell .jp-Cell-inputWrapper").first.is_visible()
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith(("file://", "data:", "blob:"))]
    assert not outside, f"requests left the machine: {outside[:5]}"
