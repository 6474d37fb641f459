"""Charts of interruptions, spec orderings and EAS allocations.

Pure builders: frames and results from :mod:`spotlab.advise.interruptions`,
:mod:`spotlab.advise.ordering` and :mod:`spotlab.advise.allocation` in, altair charts out.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from spotlab.advise.allocation import Allocation
from spotlab.advise.ordering import Ordering
from spotlab.domain import HOURS_PER_MONTH


def _cell_label(rates: pl.DataFrame) -> pl.Expr:
    parts = [
        pl.col(c).cast(pl.String).fill_null("?")
        for c in ("provider", "spec", "zone")
        if c in rates.columns
    ]
    spot = (
        [
            pl.when(pl.col("is_spot").fill_null(True))
            .then(pl.lit("spot"))
            .otherwise(pl.lit("regular"))
        ]
        if "is_spot" in rates.columns
        else []
    )
    return pl.concat_str([*parts, *spot], separator=" · ").alias("cell")


def rates_chart(rates: pl.DataFrame) -> alt.LayerChart:
    """Interruptions per instance-month per cell: the point estimate, its exact 90%
    interval (dark) and the wider drift interval (light: overdispersion-aware, for a period
    as long as the log), with the modelled rate the advice may use as a red diamond.

    ``rates``: :func:`~spotlab.advise.interruptions.interruption_rates`.
    """
    data = rates.filter(pl.col("exposure_hours") > 0).with_columns(
        _cell_label(rates),
        (pl.col("rate_used") * HOURS_PER_MONTH).alias("used_per_month"),
        (pl.col("rate_low_drift") * HOURS_PER_MONTH).alias("drift_low_per_month"),
        (pl.col("rate_high_drift") * HOURS_PER_MONTH).alias("drift_high_per_month"),
    ).select(
        "cell", "interruptions", "exposure_hours", "per_month", "per_month_low",
        "per_month_high", "drift_low_per_month", "drift_high_per_month", "used_per_month",
        "used",
    )  # fmt: skip
    y = alt.Y("cell:N", title=None, sort=None, axis=alt.Axis(labelLimit=360))
    tip = [
        "cell:N", "interruptions:Q", alt.Tooltip("exposure_hours:Q", format=",.1f"),
        alt.Tooltip("per_month:Q", format=".3g"), alt.Tooltip("per_month_low:Q", format=".3g"),
        alt.Tooltip("per_month_high:Q", format=".3g"),
        alt.Tooltip("drift_low_per_month:Q", format=".3g"),
        alt.Tooltip("drift_high_per_month:Q", format=".3g"), "used:N",
    ]  # fmt: skip
    base = alt.Chart(data)
    drift = base.mark_rule(strokeWidth=6, opacity=0.25).encode(
        x="drift_low_per_month:Q", x2="drift_high_per_month:Q", y=y, tooltip=tip
    )
    interval = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("per_month_low:Q", title="interruptions per instance-month (90% interval)"),
        x2="per_month_high:Q",
        y=y,
        tooltip=tip,
    )
    point = base.mark_point(filled=True, size=70).encode(x="per_month:Q", y=y, tooltip=tip)
    used = base.mark_point(shape="diamond", size=90, color="#d62728").encode(
        x="used_per_month:Q", y=y, tooltip=tip
    )
    return (drift + interval + point + used).properties(
        title="Interruption rate, exact 90% interval (dark) and drift interval (light); red "
        "diamond: rate the advice uses",
        width=520,
    )


def bands_chart(bands: pl.DataFrame) -> alt.LayerChart:
    """The logs' monthly interruption share beside the providers' bands.

    ``bands``: :func:`~spotlab.advise.interruptions.bands_beside_logs`. Bars span each
    band (or the logs' 90% interval); points mark a published rate or the logs' estimate.
    """
    data = bands.with_columns(
        pl.concat_str(
            [pl.col("source"), pl.col("region").fill_null("any region"), pl.col("zone")],
            separator=" · ",
            ignore_nulls=True,
        ).alias("row"),
        (pl.col("source") == "logs").alias("is_logs"),
    ).select("spec", "row", "low_pct", "high_pct", "monthly_pct", "band_label", "is_logs")
    y = alt.Y("row:N", title=None, sort=None, axis=alt.Axis(labelLimit=360))
    color = alt.Color(
        "is_logs:N", title="from the logs", scale=alt.Scale(range=["#9ecae1", "#e6550d"])
    )
    tip = ["spec:N", "row:N", "band_label:N", "low_pct:Q", "high_pct:Q", "monthly_pct:Q"]
    bar = (
        alt.Chart(data)
        .mark_bar(height=10)
        .encode(
            x=alt.X(
                "low_pct:Q",
                title="% of instances interrupted per month",
                scale=alt.Scale(domain=[0, 100]),
            ),
            x2="high_pct:Q",
            y=y,
            color=color,
            tooltip=tip,
        )
    )
    dot = (
        alt.Chart(data.filter(pl.col("monthly_pct").is_not_null()))
        .mark_point(filled=True, color="black")
        .encode(x="monthly_pct:Q", y=y, tooltip=tip)
    )
    return (bar + dot).properties(
        title="Your logs beside the providers' interruption bands", width=520
    )


def lead_time_chart(leads: pl.DataFrame) -> alt.Chart:
    """Histogram of warning → reclaim lead seconds, one colour per provider and kind.

    ``leads``: :func:`~spotlab.advise.interruptions.lead_times`.
    """
    data = leads.with_columns(
        pl.concat_str(["provider", "kind"], separator=": ").alias("series")
    ).select("series", "lead_s")
    return (
        alt.Chart(data)
        .mark_bar(opacity=0.8)
        .encode(
            x=alt.X("lead_s:Q", bin=alt.Bin(maxbins=30), title="lead time (s)"),
            y=alt.Y("count():Q", title="interruptions"),
            color=alt.Color("series:N", title=None),
        )
        .properties(title="Notice before a reclaim", width=520)
    )


def hour_of_day_chart(profile: pl.DataFrame) -> alt.Chart:
    """Interruptions per instance-hour by hour of day.

    ``profile``: :func:`~spotlab.advise.interruptions.hour_of_day`.
    """
    return (
        alt.Chart(profile)
        .mark_bar()
        .encode(
            x=alt.X("hour:O", title="hour of day"),
            y=alt.Y("rate_per_hour:Q", title="interruptions per instance-hour"),
            tooltip=[
                alt.Tooltip("hour:O"),
                alt.Tooltip("interruptions:Q"),
                alt.Tooltip("exposure_hours:Q", format=".1f"),
            ],
        )
        .properties(title="When interruptions happen", width=520)
    )


def ordering_chart(ordering: Ordering) -> alt.Chart:
    """Expected cost per replica-hour of each entry, in EAS order (regular last)."""
    f = ordering.frame().with_columns(
        pl.format("#{} {}", "position", "spec").alias("entry"),
        pl.when(pl.col("spot")).then(pl.lit("spot")).otherwise(pl.lit("regular")).alias("kind"),
    )
    cur = str(f["currency"].drop_nulls().first() or "")
    return (
        alt.Chart(f.select("entry", "kind", "cost_per_replica_hour", "spot_price_limit", "reason"))
        .mark_bar()
        .encode(
            y=alt.Y("entry:N", sort=None, title=None),
            x=alt.X("cost_per_replica_hour:Q", title=f"expected {cur} per replica-hour"),
            color=alt.Color(
                "kind:N", scale=alt.Scale(domain=["spot", "regular"], range=["#31a354", "#756bb1"])
            ),
            tooltip=[
                alt.Tooltip("entry:N"),
                alt.Tooltip("kind:N"),
                alt.Tooltip("cost_per_replica_hour:Q"),
                alt.Tooltip("spot_price_limit:Q"),
            ],
        )
        .properties(title="Spec ordering: expected cost per replica-hour", width=520)
    )


def allocation_chart(allocation: Allocation) -> alt.Chart:
    """Where each instance went: one stacked bar in placement order (dedicated group first),
    with the count on each segment; unplaced instances in grey."""
    rows = [
        {"position": p.position, "entry": p.type, "count": p.count}
        for p in allocation.placements
        if p.count
    ]
    if allocation.unplaced:
        rows.append({"position": 10_000, "entry": "unplaced", "count": allocation.unplaced})
    data = pl.DataFrame(rows, schema={"position": pl.Int64, "entry": pl.String, "count": pl.Int64})
    data = data.with_columns(
        pl.col("count").cum_sum().alias("end"),
    ).with_columns((pl.col("end") - pl.col("count")).alias("start"))
    data = data.with_columns(((pl.col("start") + pl.col("end")) / 2).alias("mid"))
    order = data["entry"].to_list()
    color = alt.Color("entry:N", sort=order, title="placed on")
    bars = (
        alt.Chart(data)
        .mark_bar(height=34)
        .encode(
            x=alt.X("start:Q", title=f"instances (of {allocation.needed} needed)"),
            x2="end:Q",
            color=color,
            tooltip=[alt.Tooltip("entry:N"), alt.Tooltip("count:Q")],
        )
    )
    text = (
        alt.Chart(data)
        .mark_text(color="white", fontWeight="bold")
        .encode(x="mid:Q", text="count:Q")
    )
    return (bars + text).properties(
        title="EAS allocation: dedicated group first, then the pool in order",
        width=520,
        height=60,
    )
