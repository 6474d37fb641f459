"""Price series as stored: change points that hold until the next point of their series.

Statistics here are time-weighted: each point weighs by how long it held (the last point of
a series holds until ``until``, by default the newest time in the selection).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from spotlab.store import Store

SERIES = ("provider", "zone", "spec")


def price_points(
    store: Store,
    spec: str | None = None,
    zone: str | None = None,
    since: datetime | str | None = None,
    provider: str | None = None,
) -> pl.DataFrame:
    """Change points of the stored spot price series, sorted by series and time."""
    where, params = ["TRUE"], []
    for col, val in (("spec", spec), ("zone", zone), ("provider", provider)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    if since is not None:
        where.append("ts >= CAST(? AS TIMESTAMPTZ)")
        params.append(str(since))
    return store.query(
        "SELECT provider, region, zone, spec, ts, spot_price, discount, on_demand_price, "
        f"currency, source_id FROM spot_prices WHERE {' AND '.join(where)} "
        "ORDER BY provider, zone, spec, ts",
        params,
    )


def with_durations(points: pl.DataFrame, until: datetime | None = None) -> pl.DataFrame:
    """Add ``held_s``: seconds each point held (the last one until ``until``)."""
    pts = points.sort([*SERIES, "ts"])
    end = until if until is not None else pts["ts"].max()
    nxt = pl.col("ts").shift(-1).over(SERIES)
    return pts.with_columns(
        held_s=(pl.coalesce(nxt, pl.lit(end).cast(pts.schema["ts"])) - pl.col("ts"))
        .dt.total_microseconds()
        .truediv(1e6)
        .clip(lower_bound=0.0)
    )


def price_summary(store: Store) -> pl.DataFrame:
    """One row per series: span, number of points, time-weighted mean, min and max price."""
    pts = price_points(store)
    if pts.height == 0:
        return pl.DataFrame(
            schema={
                "provider": pl.String, "zone": pl.String, "spec": pl.String,
                "currency": pl.String, "first": pl.Datetime("us", "UTC"),
                "last": pl.Datetime("us", "UTC"), "points": pl.UInt32, "min": pl.Float64,
                "tw_mean": pl.Float64, "max": pl.Float64, "on_demand": pl.Float64,
                "tw_mean_discount": pl.Float64,
            }
        )  # fmt: skip
    d = with_durations(pts)
    w = pl.col("held_s")
    return (
        d.group_by(SERIES)
        .agg(
            pl.col("currency").first(),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
            pl.len().alias("points"),
            pl.col("spot_price").min().alias("min"),
            (
                (pl.col("spot_price") * w).sum()
                / w.filter(pl.col("spot_price").is_not_null()).sum()
            ).alias("tw_mean"),
            pl.col("spot_price").max().alias("max"),
            pl.col("on_demand_price").drop_nulls().last().alias("on_demand"),
            (
                (pl.col("discount") * w).sum() / w.filter(pl.col("discount").is_not_null()).sum()
            ).alias("tw_mean_discount"),
        )
        .sort(SERIES)
    )
