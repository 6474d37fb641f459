"""The overview notebook in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium.

Runs every cell, checks that charts render as SVG with no CDN (no "Error loading script"),
changes a widget and sees its output change, clicks "export config", and saves a
screenshot under out/. Needs /usr/bin/chromium (``make test`` installs Debian's package).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "out" / "overview_screenshot.png"

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


def test_overview_runs_offline_in_chromium(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, work = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
            ],
        )  # fmt: skip
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
            page.wait_for_selector("button:has-text('export config')", timeout=90_000)
            page.wait_for_selector(".jp-OutputArea svg.marks", timeout=60_000)
            assert page.locator(".jp-OutputArea svg.marks").count() >= 2
            assert "Error loading script" not in page.content()
            assert page.locator(".jp-OutputArea-output[data-mime-type*='error']").count() == 0

            # change the spec: the advice sentence and the chart follow
            select = page.locator(".widget-dropdown select").first
            current = select.input_value()
            values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
            options = [v for v in values if v != current]
            select.select_option(value=options[0])
            page.wait_for_selector(f"b:has-text('{options[0]}')", timeout=30_000)
            page.wait_for_selector(f"text={options[0]}: market", timeout=30_000)

            page.click("button:has-text('export config')")
            page.wait_for_selector("text=wrote service.json", timeout=30_000)
            assert (work.parent / "out" / "config" / "service.json").exists()

            with contextlib.suppress(PlaywrightTimeout):  # the news prompt covers a corner
                page.click(".jp-Notification-Toast button:has-text('No')", timeout=2_000)
            page.locator(".spotlab-bid").first.scroll_into_view_if_needed()
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
