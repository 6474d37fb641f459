"""The overview's two controls: a spec picker that redraws the market with its bid, and
an "export config" button that writes the advised EAS files.

Both only collect input, call the library and draw.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import polars as pl

from spotlab.charts.bids import bid_chart
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
        self.summary.value = (
            f"<b>{html.escape(row['spec'])}</b>: recommended bid "
            f"<b class='spotlab-bid'>{row['bid']}</b> per hour; {html.escape(row['reason'])}"
        )
        steps = price_steps(self.store, row["spec"], window=self.window, provider="alibaba")
        self.chart.clear_output(wait=True)
        with self.chart:
            show(bid_chart(steps, row, title=f"{row['spec']}: market, {self.window}"))


class ExportButton:
    """Writes the overview's advised config (service, autoscaler, cron files) to a folder."""

    def __init__(self, store: Store, ov: Overview, out_dir: str | Path = "out/config") -> None:
        self.store = store
        self.ov = ov
        self.out_dir = Path(out_dir)
        self.button = w.Button(description="export config", icon="download")
        self.result = w.HTML()
        self.paths: list[Path] = []
        self.button.on_click(self.export)
        self.widget = w.VBox([self.button, self.result])

    def export(self, _: Any = None) -> list[Path]:
        from spotlab.eas import export

        try:
            bundle = overview_config(self.ov, self.store)
            written = export(bundle, self.out_dir, overwrite=True, store=self.store)
        except SpotlabError as exc:
            self.result.value = f"<pre>{html.escape(str(exc))}</pre>"
            return []
        self.paths = list(written.paths)
        names = ", ".join(p.name for p in self.paths)
        self.result.value = f"wrote {html.escape(names)} to <code>{self.out_dir}</code>"
        return self.paths


def findings_table(findings: list[Any]) -> pl.DataFrame:
    from spotlab.eas import findings_frame

    return findings_frame(findings)
