"""A scaling-plan widget: a traffic series in, capacity and prices as inputs; the plan's
floor, autoscaler, cron jobs and simulated cost out, as a table, charts and EAS JSON.

>>> from spotlab.widgets.fleet import PlanWidget
>>> PlanWidget(traffic).widget  # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w
import polars as pl
from IPython.display import display

from spotlab.charts.fleet import floor_cost_chart, plan_chart
from spotlab.errors import SpotlabError
from spotlab.fleet.scaling import ScalingPlan, scaling_plan
from spotlab.notebook import show


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
        dedicated_monthly_price: float = 1200.0,
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
