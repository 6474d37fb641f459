"""The overview's two controls: a spec picker that redraws the market with its bid, and
an "export config" button that asks for the image and model path and writes the
advised EAS files.

Both only collect input, call the library and draw.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import polars as pl

from spotlab.charts.bids import bid_chart
from spotlab.domain import HOURS_PER_MONTH
from spotlab.eas import export
from spotlab.errors import SpotlabError
from spotlab.notebook import show
from spotlab.overview import Overview, overview_config
from spotlab.prices import price_steps
from spotlab.store import Store


class SpecPicker:
    """A dropdown of the bid advice's specs → the market chart and the advice sentence."""

    def __init__(self, store: Store, ov: Overview, window: str = "30d") -> None:
        self.store = store
        self.ov = ov
        self.window = window
        self.rows = {r["spec"]: r for r in ov.bids.specs.iter_rows(named=True)}
        if not self.rows:
            raise SpotlabError("no bid advice to show: ingest spot prices first")
        first = ov.ordering.entries[0].spec if ov.ordering.entries else next(iter(self.rows))
        self.spec = w.Dropdown(
            options=sorted(self.rows),
            value=first if first in self.rows else sorted(self.rows)[0],
            description="spec",
            layout=w.Layout(width="420px"),
        )
        self.summary = w.HTML()
        self.chart = w.Output()
        self.spec.observe(self._changed, names="value")
        self.widget = w.VBox([self.spec, self.summary, self.chart])
        self.refresh()

    def _changed(self, _: Any = None) -> None:
        self.refresh()

    def refresh(self) -> None:
        row = self.rows[self.spec.value]
        cur = html.escape(row.get("currency") or self.ov.currency)
        cost = (
            f" Expected cost <b>{row['effective_cost']:.2f} {cur}/h</b> vs "
            f"{row['on_demand']:.2f} on demand, about "
            f"<b>{row['effective_cost'] * HOURS_PER_MONTH:,.0f} {cur}/month</b> per replica."
            if row.get("effective_cost") is not None and row.get("on_demand") is not None
            else ""
        )
        self.summary.value = (
            f"<b>{html.escape(row['spec'])}</b>: recommended bid "
            f"<b class='spotlab-bid'>{row['bid']}</b> {cur}/h.{cost} {html.escape(row['reason'])}"
        )
        steps = price_steps(self.store, row["spec"], window=self.window, provider="alibaba")
        self.chart.clear_output(wait=True)
        with self.chart:
            show(bid_chart(steps, row, title=f"{row['spec']}: market, {self.window}"))


class ExportButton:
    """Writes the overview's advised config (service, autoscaler, cron files) to a folder.

    It asks for the container image and the model's OSS path first (nothing is written
    until an image is given; an empty model path writes no model mount and says so), and
    it never replaces existing files without a second click on "replace the files".
    """

    def __init__(self, store: Store, ov: Overview, out_dir: str | Path = "out/config") -> None:
        self.store = store
        self.ov = ov
        style = {"description_width": "130px"}
        layout = w.Layout(width="640px")
        self.image = w.Text(
            value="", description="container image", style=style, layout=layout,
            placeholder="<registry-vpc domain>/<namespace>/<app>:<tag> (required)",
        )  # fmt: skip
        self.model_oss = w.Text(
            value="", description="model OSS path", style=style, layout=layout,
            placeholder="oss://<bucket>/<path>/ (empty: no model mount)",
        )  # fmt: skip
        self.folder = w.Text(value=str(out_dir), description="folder", style=style, layout=layout)
        self.button = w.Button(description="export config", icon="download")
        self.replace = w.Button(
            description="replace the files", button_style="danger",
            layout=w.Layout(display="none"),
        )  # fmt: skip
        self.result = w.HTML()
        self.paths: list[Path] = []
        self.button.on_click(self._clicked)
        self.replace.on_click(self._replace_clicked)
        self.widget = w.VBox(
            [self.image, self.model_oss, self.folder, w.HBox([self.button, self.replace]),
             self.result]
        )  # fmt: skip

    @property
    def out_dir(self) -> Path:
        return Path(self.folder.value.strip() or ".")

    def _clicked(self, _: Any = None) -> None:
        self.export()

    def _replace_clicked(self, _: Any = None) -> None:
        self.export(overwrite=True)

    def export(self, overwrite: bool = False) -> list[Path]:
        """Write the files; with files already there, only when ``overwrite``."""
        self.replace.layout.display = "none"
        self.paths = []
        image = self.image.value.strip()
        if not image:
            self.result.value = (
                "<b>Nothing written:</b> enter the container image first (its registry "
                "reference, e.g. an ACR Enterprise VPC domain)."
            )
            return []
        folder = self.out_dir
        try:
            bundle = overview_config(self.ov, self.store, image, self.model_oss.value)
            existing = [n for n in bundle.files() if (folder / n).exists()]
            if existing and not overwrite:
                self.replace.layout.display = None
                self.result.value = (
                    f"<b>Nothing written:</b> {html.escape(', '.join(existing))} already "
                    f"exist in <code>{html.escape(str(folder))}</code>. Press "
                    "<i>replace the files</i> to overwrite them, or change the folder."
                )
                return []
            written = export(bundle, folder, overwrite=overwrite, store=self.store)
        except SpotlabError as exc:
            self.result.value = f"<pre>{html.escape(str(exc))}</pre>"
            return []
        self.paths = list(written.paths)
        names = ", ".join(p.name for p in self.paths)
        mount = (
            ""
            if self.model_oss.value.strip()
            else " No model mount: the model OSS path is empty (add it and export again)."
        )
        self.result.value = (
            f"wrote {html.escape(names)} to <code>{html.escape(str(folder))}</code>.{mount}"
        )
        return self.paths


def findings_table(findings: list[Any]) -> pl.DataFrame:
    from spotlab.eas import findings_frame

    return findings_frame(findings)
