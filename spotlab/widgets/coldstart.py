"""A cold-start savings calculator: sizes, provider, reclaim rate and prices in; the four
setups' seconds, downtime and monthly saving out, as a table and two charts.

>>> from spotlab.widgets.coldstart import ColdstartCalculator
>>> ColdstartCalculator().widget  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import polars as pl
from IPython.display import display

from spotlab.advise.coldstart import (
    VENDOR_IMAGE_GB,
    LoadFit,
    coldstart_report,
    default_load_fits,
)
from spotlab.charts.coldstart import savings_chart, timeline_chart
from spotlab.errors import SpotlabError
from spotlab.notebook import show

_COLUMNS = (
    "setup", "total_seconds", "downtime_seconds", "billed_startup_seconds", "monthly_cost",
    "monthly_saving", "cache_fits_memory",
)  # fmt: skip


class ColdstartCalculator:
    """Inputs → :func:`~spotlab.advise.coldstart.coldstart_report` → table and charts.

    ``load_fits`` defaults to the seed's fits. ``report`` holds the last answer (for tests
    and for reuse in the notebook); ``widget`` is what to display.
    """

    def __init__(
        self,
        load_fits: Mapping[str, LoadFit] | None = None,
        model_size_gb: float = 7.2,
        image_size_gb: float = VENDOR_IMAGE_GB,
        reclaims_per_month: float = 10.0,
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
            value=2.88, description="spot price per hour", style=style, layout=layout
        )
        self.value = w.FloatText(
            value=14.4, description="lost replica-hour", style=style, layout=layout
        )
        self.memory = w.FloatText(
            value=0.0, description="spec memory GiB (0: ?)", style=style, layout=layout
        )
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
        self.message.value = (
            f"Warning lead {a['lead_seconds']:g} s; the replacement serves after the "
            "total; the service is short of a replica for the downtime."
        )
        setups = self.report.setups
        shown = setups.select(_COLUMNS).with_columns(
            pl.col("^.*seconds$").round(1), pl.col("^monthly_.*$").round(2)
        )
        self.table.clear_output(wait=True)
        with self.table:
            display(shown)
        self.charts.clear_output(wait=True)
        with self.charts:
            show(timeline_chart(setups))
            show(savings_chart(setups))
