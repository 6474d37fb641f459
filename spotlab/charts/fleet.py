"""Charts of fleet simulations and scaling plans.

Pure builders: frames from :mod:`spotlab.fleet` in, altair charts out.
"""

from __future__ import annotations

import altair as alt
import polars as pl

#: SkyServe / SpotHedge (EuroSys'25): 43 % cheaper than on-demand on average
SPOTHEDGE_PUBLISHED_RATIO = 0.57

_KIND_ORDER = ["dedicated", "spot", "regular"]
_KIND_COLORS = ["#7f7f7f", "#2ca02c", "#d62728"]


def policy_comparison_chart(table: pl.DataFrame, title: str = "") -> alt.TopLevelMixin:
    """Cost ratio vs all-regular (x) against availability (y), one point per policy and
    trace; the dashed line is SkyServe's published 43 % saving (ratio 0.57).

    ``table``: rows of :meth:`~spotlab.fleet.simulate.FleetResult.summary` with ``policy``
    and, when several traces are compared, ``trace``.
    """
    cols = ["policy", "cost_ratio", "availability", "replica_availability", "regular_share"]
    has_trace = "trace" in table.columns
    data = table.select(*(["trace"] if has_trace else []), *cols)
    x = alt.X("cost_ratio:Q", title="cost ÷ all-regular cost", scale=alt.Scale(domain=[0, 1.05]))
    y = alt.Y("availability:Q", title="share of time ready ≥ demand", scale=alt.Scale(zero=False))
    tooltip = [*(["trace:N"] if has_trace else []), "policy:N",
               alt.Tooltip("cost_ratio:Q", format=".3f"),
               alt.Tooltip("availability:Q", format=".4f"),
               alt.Tooltip("replica_availability:Q", format=".4f"),
               alt.Tooltip("regular_share:Q", format=".3f")]  # fmt: skip
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=90)
        .encode(
            x=x,
            y=y,
            color=alt.Color("policy:N", title="policy"),
            shape=alt.Shape("trace:N", title="trace") if has_trace else alt.Undefined,
            tooltip=tooltip,
        )
    )
    rule = (
        alt.Chart(pl.DataFrame({"cost_ratio": [SPOTHEDGE_PUBLISHED_RATIO]}))
        .mark_rule(strokeDash=[5, 4], color="gray")
        .encode(x="cost_ratio:Q")
    )
    label = (
        alt.Chart(
            pl.DataFrame({"cost_ratio": [SPOTHEDGE_PUBLISHED_RATIO], "text": ["SkyServe -43%"]})
        )
        .mark_text(align="left", dx=4, dy=-6, color="gray")
        .encode(x="cost_ratio:Q", y=alt.value(8), text="text:N")
    )
    return (rule + label + points).properties(
        width=520, height=320, title=title or "Policies: cost vs availability"
    )


def timeline_chart(timeline: pl.DataFrame, title: str = "") -> alt.TopLevelMixin:
    """Ready replicas stacked by kind over time, with the demand as a black step line.

    ``timeline``: :meth:`~spotlab.fleet.simulate.FleetResult.timeline` (``by=("kind",)``):
    ``hours, kind, ready, provisioned, demand``. Each row holds until the next.
    """
    data = timeline.select("hours", "kind", "ready", "provisioned", "demand")
    area = (
        alt.Chart(data)
        .mark_area(interpolate="step-after", opacity=0.8)
        .encode(
            x=alt.X("hours:Q", title="hours from start"),
            y=alt.Y("ready:Q", stack="zero", title="ready replicas"),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=_KIND_ORDER, range=_KIND_COLORS),
                title="kind",
            ),
            order=alt.Order("kind:N"),
            tooltip=[
                alt.Tooltip("hours:Q"),
                alt.Tooltip("kind:N"),
                alt.Tooltip("ready:Q"),
                alt.Tooltip("provisioned:Q"),
                alt.Tooltip("demand:Q"),
            ],
        )
    )
    demand = (
        alt.Chart(data.unique(["hours"], keep="first").sort("hours"))
        .mark_line(interpolate="step-after", color="black", strokeWidth=1.5)
        .encode(x="hours:Q", y="demand:Q")
    )
    return (area + demand).properties(width=620, height=220, title=title or "Ready replicas")


def plan_chart(replicas: pl.DataFrame, floor: int, title: str = "") -> alt.TopLevelMixin:
    """A scaling plan over time: replicas needed (from QPS), replicas planned (cron sizes
    and the autoscaler), and the dedicated floor.

    ``replicas``: :attr:`~spotlab.fleet.scaling.ScalingPlan.replicas` (``ts, qps,
    replicas, planned``).
    """
    long = replicas.select("ts", "replicas", "planned").unpivot(
        index="ts", variable_name="series", value_name="count"
    ).with_columns(
        pl.col("series").replace({"replicas": "needed (QPS ÷ threshold)",
                                  "planned": "planned (cron + autoscaler)"})
    )  # fmt: skip
    lines = (
        alt.Chart(long)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("ts:T", title="time"),
            y=alt.Y("count:Q", title="replicas"),
            color=alt.Color("series:N", title=""),
        )
    )
    rule = (
        alt.Chart(pl.DataFrame({"floor": [floor], "text": [f"dedicated floor {floor}"]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(y="floor:Q")
    )
    return (lines + rule).properties(width=620, height=220, title=title or "Scaling plan")


def floor_cost_chart(floor_costs: pl.DataFrame, best: int, currency: str = "") -> alt.TopLevelMixin:
    """Cost over the traffic span of each dedicated floor size; the chosen one marked.

    ``floor_costs``: :attr:`~spotlab.fleet.scaling.ScalingPlan.floor_costs`.
    """
    data = floor_costs.with_columns((pl.col("floor") == best).alias("chosen"))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("floor:O", title="dedicated floor (replicas)"),
            y=alt.Y("cost:Q", title=f"cost over the span {currency}".strip()),
            # a plain colour scale, not alt.condition: altair re-validates condition dicts
            # on every build, which cost ~50 ms per redraw of the plan widget
            color=alt.Color(
                "chosen:N",
                scale=alt.Scale(domain=[True, False], range=["#1f77b4", "#c7c7c7"]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("floor:O"),
                alt.Tooltip("cost:Q", format=",.2f"),
                alt.Tooltip("elastic_replica_hours:Q"),
            ],
        )
        .properties(width=420, height=180, title="Cost by dedicated floor size")
    )
