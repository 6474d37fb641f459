"""A bid explorer: spec, zone, window, target service availability and an optional budget
cap in; the recommendation, its reason and the market chart out, recomputed by
:func:`~spotlab.advise.bids.recommend_bids`.

>>> from spotlab.widgets.bids import BidExplorer
>>> BidExplorer(store).widget  # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import polars as pl
import polars.selectors as cs
from IPython.display import display

from spotlab.advise.bids import BidAdvice, recommend_bids
from spotlab.charts.bids import bid_chart
from spotlab.errors import SpotlabError
from spotlab.notebook import show
from spotlab.prices import price_steps
from spotlab.store import Store

ALL_ZONES = "(all zones: the spec's bid)"
WINDOWS = ("48h", "7d", "30d", "all")
_SHOWN = (
    "advice", "bid", "availability", "oos_availability", "spot_share", "crossings_per_day",
    "effective_cost", "oos_cost_ratio", "saving", "optimal_bid", "rule20_bid",
    "rule20_spot_share", "rule20_effective_cost",
)  # fmt: skip


class BidExplorer:
    """Controls → :func:`recommend_bids` → reason, table and chart.

    ``advice`` holds the last :class:`~spotlab.advise.bids.BidAdvice` and ``row`` the row
    shown (for tests and reuse); ``widget`` is what to display.
    """

    def __init__(
        self,
        store: Store,
        spec: str | None = None,
        window: str = "30d",
        target: float = 0.99,
        provider: str | None = "alibaba",
    ) -> None:
        self.store = store
        self._step_cache: dict[tuple[str, str, str], pl.DataFrame] = {}
        self.provider = provider
        where = "WHERE provider = ?" if provider else ""
        params = [provider] if provider else None
        listing = store.query(
            f"SELECT DISTINCT spec, zone FROM spot_prices {where} ORDER BY spec, zone", params
        )
        if listing.height == 0:
            raise SpotlabError("no spot prices in the store: ingest data first")
        self._zones = {
            s: g["zone"].to_list()
            for (s,), g in listing.group_by("spec", maintain_order=True)
        }  # fmt: skip
        specs = list(self._zones)
        style = {"description_width": "130px"}
        layout = w.Layout(width="440px")
        self.spec = w.Dropdown(options=specs, value=spec if spec in specs else specs[0],
                               description="spec", style=style, layout=layout)  # fmt: skip
        self.zone = w.Dropdown(description="zone", style=style, layout=layout)
        self.window = w.ToggleButtons(options=list(WINDOWS), value=window, description="window",
                                      style=style)  # fmt: skip
        self.target = w.FloatSlider(value=target, min=0.80, max=0.999, step=0.001,
                                    readout_format=".3f", description="target service avail.",
                                    style=style, layout=layout)  # fmt: skip
        self.max_price = w.BoundedFloatText(value=0.0, min=0.0, max=1e6, step=0.1,
                                            description="budget cap (0: none)", style=style,
                                            layout=layout)  # fmt: skip
        self.reason = w.HTML()
        self.table = w.Output()
        self.chart = w.Output()
        self.advice: BidAdvice | None = None
        self.row: dict[str, Any] | None = None
        self._set_zones()
        self.spec.observe(self._spec_changed, names="value")
        for control in (self.zone, self.window, self.target, self.max_price):
            control.observe(self._changed, names="value")
        inputs = w.VBox([self.spec, self.zone, self.window, self.target, self.max_price])
        self.widget = w.VBox([inputs, self.reason, self.table, self.chart])
        self.update()

    def _set_zones(self) -> None:
        self.zone.options = [ALL_ZONES, *self._zones[self.spec.value]]
        self.zone.value = ALL_ZONES

    def _spec_changed(self, _change: dict[str, Any]) -> None:
        with self.zone.hold_trait_notifications():
            self._set_zones()
        self.update()

    def _changed(self, _change: dict[str, Any]) -> None:
        self.update()

    def _steps(self, spec: str, zone: str, window: str) -> pl.DataFrame:
        """The market steps of the chart: they do not depend on the target or the cap."""
        key = (spec, zone, window)
        if key not in self._step_cache:
            self._step_cache[key] = price_steps(
                self.store, spec, None if zone == ALL_ZONES else zone, window,
                provider=self.provider,
            )  # fmt: skip
        return self._step_cache[key]

    def update(self) -> None:
        """Recompute the recommendation for the current inputs and redraw."""
        spec, zone = self.spec.value, self.zone.value
        try:
            cap = float(self.max_price.value) or None
            self.advice = recommend_bids(
                self.store, specs=spec, window=self.window.value, provider=self.provider,
                target_availability=self.target.value, max_price=cap,
            )  # fmt: skip
            steps = self._steps(spec, zone, self.window.value)
        except SpotlabError as exc:
            self.reason.value = f"<b>Cannot compute:</b> {html.escape(str(exc))}"
            return
        rows = (
            self.advice.specs
            if zone == ALL_ZONES
            else self.advice.zones.filter(pl.col("zone") == zone)
        )
        self.row = rows.row(0, named=True)
        flags = f"<br><i>{html.escape(self.row['flags'])}</i>" if self.row["flags"] else ""
        self.reason.value = f"<b>{html.escape(spec)}</b>: {html.escape(self.row['reason'])}{flags}"
        self.table.clear_output(wait=True)
        with self.table:
            display(rows.select(_SHOWN).with_columns(cs.float().round(4)))
        self.chart.clear_output(wait=True)
        with self.chart:
            show(bid_chart(steps, self.row))
