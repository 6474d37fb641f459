"""Charts of the bid advisor: the market against the bids, the bid trade-off curve, and
the backtest summary.

Pure builders: frames from :mod:`spotlab.prices`, :mod:`spotlab.advise.bids` and
:mod:`spotlab.advise.backtest` in, altair charts out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import polars as pl

#: line name → (colour, dash); the legend order follows this
_LINES = {
    "on-demand": ("#444444", [1, 0]),
    "recommended bid": ("#d62728", [6, 3]),
    "20% rule": ("#ff7f0e", [2, 2]),
    "cost-optimal bid": ("#2ca02c", [8, 2, 2, 2]),
}

#: zone colours, kept apart from the bid lines' red, orange and green
_ZONES = ["#1f77b4", "#17becf", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]


def _levels(advice: Mapping[str, Any]) -> pl.DataFrame:
    rows = [
        ("on-demand", advice.get("on_demand")),
        ("recommended bid", advice.get("bid")),
        ("20% rule", advice.get("rule20_bid")),
        ("cost-optimal bid", advice.get("optimal_bid")),
    ]
    return pl.DataFrame(
        [{"line": n, "price": float(v)} for n, v in rows if v is not None],
        schema={"line": pl.String, "price": pl.Float64},
    )


def bid_chart(
    steps: pl.DataFrame, advice: Mapping[str, Any] | None = None, title: str | None = None
) -> alt.LayerChart:
    """The market step line (one colour per zone) with horizontal lines at on-demand, the
    recommended bid, the 20% rule and the cost-optimal bid.

    ``steps``: :func:`~spotlab.prices.price_steps` (``zone, ts, price``); ``advice``: a row
    of :func:`~spotlab.advise.bids.recommend_bids` (``on_demand, bid, rule20_bid,
    optimal_bid``), e.g. ``advice.specs.row(0, named=True)``.
    """
    market = (
        alt.Chart(steps.select("zone", "ts", "price"))
        .mark_line(interpolate="step-after", strokeWidth=1.5)
        .encode(
            x=alt.X("ts:T", title="time (UTC)"),
            y=alt.Y("price:Q", title="price per hour"),
            color=alt.Color("zone:N", title="market, zone", scale=alt.Scale(range=_ZONES)),
            tooltip=[
                alt.Tooltip("zone:N"),
                alt.Tooltip("ts:T", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("price:Q"),
            ],
        )
    )
    layers: list[Any] = [market]
    lines = _levels(advice or {})
    if lines.height:
        names = [n for n in _LINES if n in lines["line"].to_list()]
        layers.append(
            alt.Chart(lines)
            .mark_rule(strokeWidth=2)
            .encode(
                y="price:Q",
                stroke=alt.Stroke(
                    "line:N",
                    title="line",
                    scale=alt.Scale(domain=names, range=[_LINES[n][0] for n in names]),
                ),
                strokeDash=alt.StrokeDash(
                    "line:N",
                    title="line",
                    scale=alt.Scale(domain=names, range=[_LINES[n][1] for n in names]),
                ),
                tooltip=[alt.Tooltip("line:N"), alt.Tooltip("price:Q")],
            )
        )
    if title is None and steps.height:
        title = f"{steps['spec'][0]}: market price and bids"
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(title=title or "market price and bids", width=620, height=280)
    )


def bid_curve_chart(
    curve: pl.DataFrame, advice: Mapping[str, Any] | None = None
) -> alt.HConcatChart:
    """Time on spot, service availability and effective cost against the bid for one series
    (the trade-off the recommendation is read from), with a rule at the recommended bid.

    ``curve``: :func:`~spotlab.advise.bids.bid_curve` rows of one (zone, spec).
    """
    data = curve.select(
        "bid", "spot_share", "availability", "effective_cost", "crossings_per_day"
    ).unpivot(index=["bid", "effective_cost", "crossings_per_day"], variable_name="share_of")
    data = data.with_columns(
        pl.col("share_of").replace(
            {"spot_share": "time on spot", "availability": "service availability"}
        )
    )
    x = alt.X("bid:Q", title="bid per hour")
    shares = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("value:Q", title="share of time", scale=alt.Scale(zero=False)),
            color=alt.Color("share_of:N", title=None),
            tooltip=[
                alt.Tooltip("bid:Q"),
                alt.Tooltip("share_of:N"),
                alt.Tooltip("value:Q", format=".4%"),
                alt.Tooltip("crossings_per_day:Q", format=".2f"),
            ],
        )
        .properties(width=300, height=220, title="time on spot and service availability")
    )
    cost = (
        alt.Chart(data.filter(pl.col("share_of") == "time on spot"))
        .mark_line(interpolate="step-after", color="#2ca02c")
        .encode(
            x=x,
            y=alt.Y("effective_cost:Q", title="effective cost per hour"),
            tooltip=[alt.Tooltip("bid:Q"), alt.Tooltip("effective_cost:Q")],
        )
        .properties(width=300, height=220, title="effective cost vs bid")
    )
    if advice and advice.get("bid") is not None:
        rule_data = pl.DataFrame({"bid": [float(advice["bid"])]})
        rule = alt.Chart(rule_data).mark_rule(color="#d62728", strokeDash=[6, 3]).encode(x="bid:Q")
        return alt.hconcat(shares + rule, cost + rule)
    return alt.hconcat(shares, cost)


def backtest_chart(summary: pl.DataFrame, title: str = "out of sample") -> alt.HConcatChart:
    """Share of series that met the service availability target, and mean effective cost
    ÷ on-demand, per strategy (:class:`~spotlab.advise.backtest.BacktestResult`
    ``.summary``)."""
    data = summary.select("strategy", "share_series_met", "mean_cost_ratio")
    order = data["strategy"].to_list()
    y = alt.Y("strategy:N", sort=order, title=None)
    met = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "share_series_met:Q",
                title="share of series meeting the availability target",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=y,
            tooltip=[alt.Tooltip("strategy:N"), alt.Tooltip("share_series_met:Q", format=".1%")],
        )
        .properties(width=260, height=90)
    )
    cost = (
        alt.Chart(data)
        .mark_bar(color="#2ca02c")
        .encode(
            x=alt.X("mean_cost_ratio:Q", title="mean effective cost ÷ on-demand"),
            y=y,
            tooltip=[alt.Tooltip("strategy:N"), alt.Tooltip("mean_cost_ratio:Q", format=".3f")],
        )
        .properties(width=260, height=90)
    )
    return alt.hconcat(met, cost).properties(title=title)
