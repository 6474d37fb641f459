"""Fleet widgets.

- :class:`FleetWidget`: a stored availability trace in; the target, demand, prices and
  search bounds as inputs; the held-out policy table, spotlab's recommendation and why, a
  cost-vs-availability chart, and a button that exports the recommendation as EAS files.
- :class:`PlanWidget`: a traffic series in, capacity and prices as inputs; the plan's
  floor, autoscaler, cron jobs and simulated cost out, as a table, charts and EAS JSON.

>>> from spotlab.widgets.fleet import FleetWidget, PlanWidget
>>> FleetWidget(store, "g4dn.xlarge", 0.1578, 0.526).widget  # doctest: +SKIP
>>> PlanWidget(traffic).widget  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import ipywidgets as w
import polars as pl
from IPython.display import display

from spotlab.charts.fleet import floor_cost_chart, plan_chart, trace_policy_chart
from spotlab.errors import SpotlabError
from spotlab.fleet.config import FleetExport, export_choice
from spotlab.fleet.evaluate import Replay, replay_store
from spotlab.fleet.scaling import (
    DEDICATED_SHARE,
    ScalingPlan,
    assumed_dedicated_monthly_price,
    scaling_plan,
)
from spotlab.fleet.search import DEFAULT_TARGET, SearchSpace
from spotlab.fleet.startup import DEFAULT_MODEL_SIZE_GB, DEFAULT_SETUP, SETUPS, fleet_startup
from spotlab.notebook import show
from spotlab.store import Store

_STYLE = {"description_width": "190px"}
_LAYOUT = w.Layout(width="470px")


class FleetWidget:
    """Inputs → :func:`~spotlab.fleet.evaluate.replay_store` (the recommendation chosen on
    the training window for the target) → the held-out table, reasons and a chart; the
    *Export EAS config* button writes the recommendation through
    :func:`~spotlab.fleet.config.export_choice` (lint-checked).

    ``replay`` holds the last answer, ``exported`` the last export; ``widget`` is what to
    display. The start-up comes from the cold-start model for the *model size* and *start-up
    setup* inputs (default 14 GB, ``both``: cachefs + ACR acceleration, as on ``spotlab
    bids``/``order``), or is ``startup_seconds`` when given (the inputs are then disabled);
    the message says which was used.
    """

    def __init__(
        self,
        store: Store,
        spec: str,
        spot_price: float,
        regular_price: float,
        demand: int = 4,
        target: float = DEFAULT_TARGET,
        startup_seconds: float | None = None,
        train_share: float = 0.25,
        folder: str = "fleet-config",
        name: str = "fleet-service",
        image: str = "",
        eas_spec: str = "",
        setup: str = DEFAULT_SETUP,
        model_size_gb: float = DEFAULT_MODEL_SIZE_GB,
    ) -> None:
        self.store = store
        self.spec = spec
        self.startup_seconds = startup_seconds
        self.train_share = train_share

        def num(value: float, label: str) -> w.FloatText:
            return w.FloatText(value=value, description=label, style=_STYLE, layout=_LAYOUT)

        def text(value: str, label: str) -> w.Text:
            return w.Text(value=value, description=label, style=_STYLE, layout=_LAYOUT)

        self.target = w.BoundedFloatText(
            value=target, min=0.5, max=1.0, step=0.0005, description="target availability",
            style=_STYLE, layout=_LAYOUT,
        )  # fmt: skip
        self.demand = w.BoundedIntText(value=demand, min=1, max=64, description="replicas needed",
                                       style=_STYLE, layout=_LAYOUT)  # fmt: skip
        self.spot = num(spot_price, "spot price per hour")
        self.regular = num(regular_price, "regular price per hour")
        self.max_spare = w.BoundedIntText(value=demand, min=0, max=32, description="most spares",
                                          style=_STYLE, layout=_LAYOUT)  # fmt: skip
        self.max_dedicated = w.BoundedIntText(
            value=demand, min=0, max=32, description="largest dedicated group", style=_STYLE,
            layout=_LAYOUT,
        )  # fmt: skip
        self.dedicated_share = w.BoundedFloatText(
            value=DEDICATED_SHARE, min=0.0, max=2.0, step=0.01,
            description="dedicated ÷ regular price", style=_STYLE, layout=_LAYOUT,
        )  # fmt: skip
        given = startup_seconds is not None
        self.setup = w.Dropdown(options=list(SETUPS), value=setup, description="start-up setup",
                                style=_STYLE, layout=_LAYOUT, disabled=given)  # fmt: skip
        self.model_size = w.BoundedFloatText(
            value=model_size_gb, min=0.0, max=2000.0, description="model size (GB)",
            style=_STYLE, layout=_LAYOUT, disabled=given,
        )  # fmt: skip
        self.folder = text(folder, "export folder")
        self.name = text(name, "service name")
        self.image = text(image, "container image")
        self.eas_spec = text(eas_spec, "EAS spec to deploy on")
        self.resource = text("", "dedicated group id (eas-r-...)")
        self.button = w.Button(description="Export EAS config", button_style="primary")
        self.button.on_click(self.export)
        self.message = w.HTML()
        self.table = w.Output()
        self.chart = w.Output()
        self.export_out = w.HTML()
        self.replay: Replay | None = None
        self.exported: FleetExport | None = None
        inputs = [self.target, self.demand, self.spot, self.regular, self.max_spare,
                  self.max_dedicated, self.dedicated_share, self.setup,
                  self.model_size]  # fmt: skip
        for c in inputs:
            c.observe(self._changed, names="value")
        export_box = w.VBox([self.folder, self.name, self.image, self.eas_spec, self.resource,
                             self.button, self.export_out])  # fmt: skip
        self.widget = w.VBox([w.VBox(inputs), self.message, self.table, self.chart, export_box])
        self.update()

    def _changed(self, _change: dict[str, Any]) -> None:
        self.update()

    def update(self) -> None:
        """Search again for the current inputs and redraw."""
        try:
            space = SearchSpace(self.max_spare.value, self.max_dedicated.value)
            if self.startup_seconds is not None:
                startup = fleet_startup(self.startup_seconds)
            else:
                spec = self.eas_spec.value.strip() or self.spec
                startup = fleet_startup(None, self.model_size.value, None, self.setup.value,
                                        store=self.store, spec=spec)  # fmt: skip
            self.replay = replay_store(
                self.store, self.spec, demand=self.demand.value, spot_prices=self.spot.value,
                regular_price=self.regular.value, startup=startup,
                train_share=self.train_share, target=self.target.value, space=space,
                dedicated_share=self.dedicated_share.value,
            )  # fmt: skip
        except SpotlabError as exc:
            self.replay = None
            self.message.value = f"<b>Cannot recommend:</b> {html.escape(str(exc))}"
            return
        replay = self.replay
        table = replay.table()
        g = replay.goal(table)
        lines = [replay.startup.describe().capitalize() + ".", *replay.choice.reasons,
                 f"Held out: {g['note']}."]  # fmt: skip
        self.message.value = "<br>".join(html.escape(x) for x in lines)
        self.table.clear_output(wait=True)
        with self.table:
            display(table.select("policy", "cost_ratio", "availability", "regular_share",
                                 "eas_expressible"))  # fmt: skip
        self.chart.clear_output(wait=True)
        with self.chart:
            show(trace_policy_chart(table, replay.target, f"{self.spec}: held out"))

    def export(self, _button: Any = None) -> FleetExport | None:
        """Write the current recommendation's EAS files into the export folder."""
        if self.replay is None:
            self.export_out.value = "<b>Nothing to export:</b> no recommendation"
            return None
        if not self.image.value.strip() or not self.name.value.strip():
            self.export_out.value = "<b>Not exported:</b> set the service name and image"
            return None
        try:
            self.exported = export_choice(
                self.replay.choice, Path(self.folder.value), self.name.value.strip(),
                self.image.value.strip(), self.regular.value, self.eas_spec.value.strip() or None,
                self.resource.value.strip() or None, self.store, overwrite=True,
            )  # fmt: skip
        except SpotlabError as exc:
            self.export_out.value = f"<b>Not exported:</b> {html.escape(str(exc))}"
            return None
        paths = ", ".join(str(p) for p in self.exported.result.paths)
        self.export_out.value = "<br>".join(
            html.escape(x) for x in [f"wrote {paths}", *self.exported.bid_reasons]
        )
        return self.exported


class PlanWidget:
    """Inputs → :func:`~spotlab.fleet.scaling.scaling_plan` → summary, charts and JSON.

    ``traffic``: ``ts, qps`` of one service. ``startup_seconds`` is passed through (None:
    the cold-start model). ``plan`` holds the last answer; ``widget`` is what to display.
    """

    def __init__(
        self,
        traffic: pl.DataFrame,
        service: str = "service",
        qps_per_replica: float = 20.0,
        regular_price: float = 8.0,
        spot_price: float = 1.6,
        dedicated_monthly_price: float | None = None,
        startup_seconds: float | None = None,
        currency: str = "CNY",
    ) -> None:
        self.traffic = traffic
        self.service = service
        self.startup_seconds = startup_seconds
        self.currency = currency
        style = {"description_width": "190px"}
        layout = w.Layout(width="470px")

        def num(value: float, label: str) -> w.FloatText:
            return w.FloatText(value=value, description=label, style=style, layout=layout)

        self.qps = num(qps_per_replica, "QPS per replica")
        self.utilization = w.FloatSlider(
            value=0.8, min=0.3, max=1.0, step=0.05, description="target utilization",
            style=style, layout=layout,
        )  # fmt: skip
        self.regular = num(regular_price, f"regular {currency}/h")
        self.spot = num(spot_price, f"spot {currency}/h")
        if dedicated_monthly_price is None:  # the registry's assumption (plan.dedicated_share)
            dedicated_monthly_price = assumed_dedicated_monthly_price(regular_price)
        self.dedicated = num(dedicated_monthly_price, f"dedicated {currency}/month")
        self.stock = w.FloatSlider(
            value=0.95, min=0.0, max=1.0, step=0.01, description="spot stock probability",
            style=style, layout=layout,
        )  # fmt: skip
        self.time_zone = w.Dropdown(
            options=["Asia/Shanghai", "UTC", "Asia/Singapore", "Europe/Berlin", "US/Pacific"],
            value="Asia/Shanghai", description="cron time zone", style=style, layout=layout,
        )  # fmt: skip
        self.max_jobs = w.IntSlider(
            value=8, min=1, max=24, description="cron jobs per profile", style=style,
            layout=layout,
        )  # fmt: skip
        self.message = w.HTML()
        self.table = w.Output()
        self.charts = w.Output()
        self.configs = w.Output()
        self.plan: ScalingPlan | None = None
        controls = [
            self.qps, self.utilization, self.regular, self.spot, self.dedicated, self.stock,
            self.time_zone, self.max_jobs,
        ]  # fmt: skip
        for c in controls:
            c.observe(self._changed, names="value")
        self.widget = w.VBox(
            [w.VBox(controls), self.message, self.table, self.charts, self.configs]
        )
        self.update()

    def _changed(self, _change: dict[str, Any]) -> None:
        self.update()

    def update(self) -> None:
        """Recompute the plan from the current inputs and redraw."""
        try:
            self.plan = scaling_plan(
                self.traffic,
                qps_per_replica=self.qps.value,
                regular_price=self.regular.value,
                spot_price=self.spot.value,
                dedicated_monthly_price=self.dedicated.value,
                service=self.service,
                target_utilization=self.utilization.value,
                time_zone=self.time_zone.value,
                max_jobs=self.max_jobs.value,
                stock_probability=self.stock.value,
                startup_seconds=self.startup_seconds,
                currency=self.currency,
            )
        except SpotlabError as exc:
            self.message.value = f"<b>Cannot plan:</b> {exc}"
            return
        plan = self.plan
        self.message.value = "<br>".join(plan.notes)
        self.table.clear_output(wait=True)
        with self.table:
            display(plan.summary())
        self.charts.clear_output(wait=True)
        with self.charts:
            show(plan_chart(plan.replicas, plan.dedicated_floor))
            show(floor_cost_chart(plan.floor_costs, plan.dedicated_floor, plan.currency))
        self.configs.clear_output(wait=True)
        with self.configs:
            print("autoscaler.json")
            print(json.dumps(plan.to_autoscaler(), indent=2))
            print("cronscale.json")
            print(json.dumps(plan.to_cronscale(), indent=2))
