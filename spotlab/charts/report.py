"""Charts of the report's front page: cost per month by deployment policy.

Pure builders: frames in, altair charts out.
"""

from __future__ import annotations

import altair as alt
import polars as pl


def policy_cost_chart(table: pl.DataFrame, currency: str, title: str) -> alt.TopLevelMixin:
    """Cost per month of each policy (bars, cheapest first) labelled with its availability.

    ``table``: ``policy, cost_per_month, availability`` (a share of time).
    """
    data = table.select("policy", "cost_per_month", "availability").with_columns(
        (pl.col("availability") * 100).round(2).cast(pl.String).alias("label") + "% of time"
    )
    order = data.sort("cost_per_month")["policy"].to_list()
    y = alt.Y("policy:N", sort=order, title=None)
    bars = (
        alt.Chart(data)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("cost_per_month:Q", title=f"cost per month ({currency})"),
            y=y,
            tooltip=[
                alt.Tooltip("policy:N"),
                alt.Tooltip("cost_per_month:Q", format=",.0f"),
                alt.Tooltip("availability:Q", format=".2%"),
            ],
        )
    )
    text = (
        alt.Chart(data)
        .mark_text(align="left", dx=4, color="#333333")
        .encode(x="cost_per_month:Q", y=y, text="label:N")
    )
    return (bars + text).properties(width=420, height=24 * data.height, title=title)
