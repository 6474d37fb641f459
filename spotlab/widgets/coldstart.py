"""A cold-start savings calculator: sizes, provider, reclaim rate and prices in; the four
setups' seconds, downtime and monthly saving out, as a table and two charts.

>>> from spotlab.widgets.coldstart import ColdstartCalculator
>>> ColdstartCalculator().widget  # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import polars as pl

from spotlab.advise.coldstart import (
    DEFAULT_RECLAIMS_PER_MONTH,
    SEED_ON_DEMAND_CNY,
    SEED_SPOT_BID_CNY,
    VENDOR_IMAGE_GB,
    LoadFit,
    coldstart_report,
    default_load_fits,
)
from spotlab.charts.coldstart import savings_chart, timeline_chart
from spotlab.errors import SpotlabError
from spotlab.notebook import show, show_table

_COLUMNS = (
    "setup", "total_seconds", "downtime_seconds", "billed_startup_seconds", "monthly_cost",
    "monthly_saving", "status",
)  # fmt: skip
_NAMES = {
    "plain": "plain", "cachefs": "cachefs memory cache", "acr": "ACR image acceleration",
    "both": "cachefs + ACR acceleration",
}  # fmt: skip


class ColdstartCalculator:
    """Inputs → :func:`~spotlab.advise.coldstart.coldstart_report` → table and charts.

    ``load_fits`` defaults to the seed's fits; price and lost value default to the
    registry's (:mod:`spotlab.assumptions`). A setup whose cache does not fit the spec's
    memory is shown as unavailable, with the reason, and never as the best. ``report``
    holds the last answer (for tests and reuse in the notebook); ``widget`` is displayed.
    """

    def __init__(
        self,
        load_fits: Mapping[str, LoadFit] | None = None,
        model_size_gb: float = 7.2,
        image_size_gb: float = VENDOR_IMAGE_GB,
        reclaims_per_month: float = DEFAULT_RECLAIMS_PER_MONTH,
        memory_gib: float | None = None,
    ) -> None:
        self.load_fits = dict(load_fits) if load_fits is not None else default_load_fits()
        style = {"description_width": "170px"}
        layout = w.Layout(width="460px")
        self.model_size = w.FloatSlider(
            value=model_size_gb, min=0.5, max=80.0, step=0.1, description="model size (GB)",
            style=style, layout=layout,
        )  # fmt: skip
        self.image_size = w.FloatSlider(
            value=image_size_gb, min=0.1, max=40.0, step=0.1, description="image size (GB)",
            style=style, layout=layout,
        )  # fmt: skip
        self.provider = w.Dropdown(
            options=[("Alibaba (300 s warning)", "alibaba"), ("AWS (120 s warning)", "aws")],
            value="alibaba", description="provider", style=style, layout=layout,
        )  # fmt: skip
        self.reclaims = w.FloatSlider(
            value=reclaims_per_month, min=0.0, max=100.0, step=1.0,
            description="reclaims per month", style=style, layout=layout,
        )  # fmt: skip
        self.price = w.FloatText(
            value=SEED_SPOT_BID_CNY, description="spot price per hour", style=style,
            layout=layout,
        )  # fmt: skip
        self.value = w.FloatText(
            value=SEED_ON_DEMAND_CNY, description="lost replica-hour", style=style,
            layout=layout,
        )  # fmt: skip
        self.memory = w.FloatText(
            value=memory_gib or 0.0, description="spec memory GiB (0: ?)", style=style,
            layout=layout,
        )  # fmt: skip
        self.message = w.HTML()
        self.table = w.Output()
        self.charts = w.Output()
        self.report: Any = None
        for control in (
            self.model_size, self.image_size, self.provider, self.reclaims, self.price,
            self.value, self.memory,
        ):  # fmt: skip
            control.observe(self._changed, names="value")
        inputs = w.VBox(
            [
                self.model_size, self.image_size, self.provider, self.reclaims, self.price,
                self.value, self.memory,
            ]
        )  # fmt: skip
        self.widget = w.VBox([inputs, self.message, self.table, self.charts])
        self.update()

    def _changed(self, _change: dict[str, Any]) -> None:
        self.update()

    def update(self) -> None:
        """Recompute from the current inputs and redraw."""
        try:
            self.report = coldstart_report(
                self.model_size.value,
                self.image_size.value,
                self.provider.value,
                self.reclaims.value,
                price_per_hour=self.price.value,
                value_per_replica_hour=self.value.value,
                currency="CNY" if self.provider.value == "alibaba" else "USD",
                memory_gib=self.memory.value or None,
                load_fits=self.load_fits,
            )
        except SpotlabError as exc:
            self.message.value = f"<b>Cannot compute:</b> {exc}"
            return
        a = self.report.assumptions
        setups = self.report.setups
        cur = a["currency"]
        ok = setups.filter(pl.col("available"))
        best = ok.sort(["monthly_saving", "total_seconds"], descending=[True, False]).row(
            0, named=True
        )
        plain = setups.filter(pl.col("setup") == "plain").row(0, named=True)
        off = setups.filter(~pl.col("available"))
        lines = [
            f"<b>Best available: {html.escape(_NAMES[best['setup']])}</b>, saves "
            f"<b>{best['monthly_saving']:,.2f} {cur}/month</b> per replica against plain "
            f"(cold starts cost {plain['monthly_cost']:,.2f} {cur}/month plain, "
            f"{best['monthly_cost']:,.2f} with it; {a['reclaims_per_month']:g} reclaims a "
            f"month); a replacement serves after {best['total_seconds']:.0f} s "
            f"(plain {plain['total_seconds']:.0f} s), warning lead {a['lead_seconds']:g} s.",
            *[
                f"<b>{html.escape(r['setup'])}: unavailable</b> — "
                f"{html.escape(r['unavailable_reason'] or '')}"
                for r in off.iter_rows(named=True)
            ],
        ]
        self.message.value = "<br>".join(lines)
        shown = setups.with_columns(
            pl.when(pl.col("available"))
            .then(pl.lit("available"))
            .otherwise(pl.lit("unavailable: ") + pl.col("unavailable_reason"))
            .alias("status"),
            pl.when(pl.col("available")).then(pl.col("monthly_saving")).alias("monthly_saving"),
        ).select(_COLUMNS)
        self.table.clear_output(wait=True)
        with self.table:
            show_table(shown, currency=cur)
        self.charts.clear_output(wait=True)
        with self.charts:
            show(timeline_chart(setups))
            show(savings_chart(setups))
