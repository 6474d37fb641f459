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


def _family(policy: pl.Expr) -> pl.Expr:
    return (
        pl.when(policy.str.starts_with("SpotHedge")).then(pl.lit("SpotHedge (k = 0, 1, ...)"))
        .when(policy == "spotlab recommended").then(pl.lit("spotlab recommended"))
        .when(policy.str.starts_with("spotlab")).then(pl.lit("spotlab: round 1, best with spot"))
        .when(policy.str.starts_with("EAS hindsight")).then(pl.lit("EAS hindsight (not a policy)"))
        .when(policy.str.starts_with("EAS")).then(pl.lit("EAS defaults"))
        .otherwise(pl.lit("other"))
    )  # fmt: skip


def trace_policy_chart(
    table: pl.DataFrame, target: float, title: str = "", width: int = 300, height: int = 200
) -> alt.LayerChart:
    """One trace's held-out table: cost ÷ all-regular (x) against availability (y), with
    SpotHedge's points joined in order of k, the target as a dashed line and SkyServe's
    published 0.57 as a dotted one; spotlab's recommendation drawn large (the first round's
    rule and the best spot-using setting beside a no-spot answer in orange).

    ``table``: rows with ``policy, cost_ratio, availability`` (e.g.
    :meth:`spotlab.fleet.evaluate.Replay.table`); a ``trace`` column, when present, makes one
    panel per trace (use :func:`traces_policy_chart`).
    """
    cols = ["policy", "cost_ratio", "availability"]
    data = table.select(*(["trace"] if "trace" in table.columns else []), *cols).with_columns(
        family=_family(pl.col("policy")),
        k=pl.col("policy").str.extract(r"k=(\d+)").cast(pl.Int64),
        big=pl.col("policy") == "spotlab recommended",
    )
    color = alt.Color(
        "family:N", title="policy",
        scale=alt.Scale(
            domain=["spotlab recommended", "spotlab: round 1, best with spot",
                    "SpotHedge (k = 0, 1, ...)", "EAS defaults", "EAS hindsight (not a policy)",
                    "other"],
            range=["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#bcbd22", "#7f7f7f"],
        ),
    )  # fmt: skip
    x = alt.X("cost_ratio:Q", title="cost ÷ all-regular", scale=alt.Scale(domain=[0, 1.05]))
    y = alt.Y("availability:Q", title="availability (held out)", scale=alt.Scale(zero=False))
    tooltip = ["policy:N", alt.Tooltip("cost_ratio:Q", format=".3f"),
               alt.Tooltip("availability:Q", format=".4f")]  # fmt: skip
    base = alt.Chart(data)
    line = (
        base.transform_filter("datum.k != null")
        .mark_line(color="#1f77b4", opacity=0.5)
        .encode(x=x, y=y, order="k:Q")
    )
    points = base.mark_point(filled=True).encode(
        x=x, y=y, color=color, tooltip=tooltip,
        size=alt.Size("big:N", scale=alt.Scale(domain=[False, True], range=[50, 220]),
                      legend=None),
        shape=alt.Shape("big:N", scale=alt.Scale(domain=[False, True],
                                                 range=["circle", "diamond"]), legend=None),
    )  # fmt: skip
    rules = pl.DataFrame({"availability": [target]})
    tgt = alt.Chart(rules).mark_rule(strokeDash=[5, 4], color="#d62728").encode(y="availability:Q")
    pub = (
        alt.Chart(pl.DataFrame({"cost_ratio": [SPOTHEDGE_PUBLISHED_RATIO]}))
        .mark_rule(strokeDash=[2, 3], color="gray")
        .encode(x="cost_ratio:Q")
    )
    return (pub + tgt + line + points).properties(
        width=width, height=height, title=title or "Held out: cost vs availability"
    )


def traces_policy_chart(rows: pl.DataFrame, target: float, columns: int = 3) -> alt.TopLevelMixin:
    """:func:`trace_policy_chart` for every trace of ``rows`` (with a ``trace`` column), one
    panel each, in a grid of ``columns``."""
    names = rows["trace"].unique(maintain_order=True).to_list()
    panels = [
        trace_policy_chart(rows.filter(pl.col("trace") == n), target, n, width=260, height=170)
        for n in names
    ]
    grid = [alt.hconcat(*panels[i : i + columns]) for i in range(0, len(panels), columns)]
    return alt.vconcat(*grid).resolve_scale(color="shared")


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
