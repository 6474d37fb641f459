"""The fleet simulation's links to other spotlab modules, one small function each.

Each wraps one call into the allocation, ordering and cold-start modules, so a change
there is fixed here and nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from spotlab.domain import warning_lead_seconds
from spotlab.store import Store


@functools.lru_cache(maxsize=32)
def startup_seconds(model_size_gb: float = 14.0, setup: str = "plain") -> float:
    """Seconds a replacement replica takes to serve, from the cold-start model (a 14 GB
    model, e.g. 7 B parameters in fp16, by default; computed once per argument)."""
    from spotlab.advise.coldstart import predicted_startup_seconds

    return float(predicted_startup_seconds(model_size_gb, setup=setup))  # type: ignore[arg-type]


def warning_seconds(provider: str) -> float:
    """The provider's reclaim warning lead time (:data:`spotlab.domain.WARNING_LEAD_SECONDS`)."""
    return warning_lead_seconds(provider)


def eas_allocation(
    n: int, dedicated_free: int, entries: Sequence[tuple[str, int | None, bool]]
) -> dict[str, int]:
    """Instances per entry type as EAS places ``n`` (dedicated group first, then the
    ordered ``(spec, stock or None for unlimited, is_spot)`` entries)."""
    from spotlab.advise.allocation import PoolEntry, allocate

    pool = [PoolEntry(spec, stock, None, spot) for spec, stock, spot in entries]
    return allocate(n, dedicated_free, pool).counts()


@dataclass(frozen=True)
class Recommendation:
    """Pool labels in the recommended order (spot pools only; the caller appends its
    regular fallback), EAS ``capacity`` caps per label, and the advisor's reasons."""

    order: list[str]
    caps: dict[str, int]
    reasons: list[str]


def recommended_order(
    candidates: pl.DataFrame, replicas: int, options: Mapping[str, Any] | None = None
) -> Recommendation:
    """The spot pools in the order spotlab recommends, via
    :func:`spotlab.advise.ordering.recommend_ordering`.

    ``candidates``: one row per spot pool with ``label, spec, zone, spot_price,
    on_demand_price, interruptions_per_hour, available_share, startup_seconds`` measured on
    a training window. Each pool is presented to the advisor as a spec of its own: the bid
    advisor's figures are replaced by the measured ones (availability = stock share,
    interruptions = capacity drops, mean paid = the spot price, restart cost = start-up
    hours x on-demand price, as the bid advisor defines it) and the pool's region stands for
    the family, so the advisor's diversity rule spreads entries over regions. ``options``
    go to ``recommend_ordering`` (e.g. ``max_spot``, ``max_share``).
    """
    from spotlab.advise.ordering import recommend_ordering

    c = candidates
    od = pl.col("on_demand_price")
    restart = pl.col("startup_seconds") / 3600.0 * od
    avail = pl.col("available_share").clip(0.0, 1.0)
    catalog = c.select(
        pl.lit("trace").alias("provider"),
        pl.lit("trace").alias("region"),
        pl.col("label").alias("spec"),
        pl.col("zone").str.replace(r"-?[a-z]$", "").alias("family"),
        pl.lit(1).alias("vcpu"),
        pl.lit(1.0).alias("memory_gib"),
        pl.lit("gpu").alias("gpu_model"),
        pl.lit(1).alias("gpu_count"),
        pl.lit(1.0).alias("gpu_memory_gib"),
        od,
        pl.lit("USD").alias("currency"),
        pl.lit(False).alias("price_is_estimate"),
    )
    spot = c.select(
        pl.lit("trace").alias("provider"),
        pl.lit("trace").alias("region"),
        pl.col("label").alias("spec"),
        pl.lit("spot").alias("advice"),
        pl.col("spot_price").alias("bid"),
        avail.alias("availability"),
        (pl.col("interruptions_per_hour") * 24.0).alias("interruptions_per_day"),
        pl.col("spot_price").alias("mean_paid"),
        (
            avail * pl.col("spot_price")
            + (1.0 - avail) * od
            + pl.col("interruptions_per_hour") * restart
        ).alias("effective_cost"),
        restart.alias("restart_cost"),
        pl.lit("measured on the training window of the trace").alias("bid_reason"),
    )
    ordering = recommend_ordering(
        {"gpus": 1, "gpu_memory_gib": 0.0, "provider": "trace", "region": "trace"},
        catalog=catalog,
        spot=spot,
        replicas=max(replicas, 1),
        **dict(options or {}),
    )
    entries = [e for e in ordering.entries if e.spot]
    caps = {e.spec: int(e.capacity) for e in entries if isinstance(e.capacity, int)}
    return Recommendation([e.spec for e in entries], caps, [e.reason for e in ordering.entries])


def reclaim_rates(store: Store) -> dict[str, float]:
    """Spot reclaims per replica-hour from the interruption analytics (instance logs), keyed
    ``spec@zone`` and ``spec`` (the spec's rate over all its zones), for
    :func:`spotlab.fleet.market.poisson_market`'s ``reclaims_per_hour``. Uses the
    analytics' ``rate_used`` (the shrunk rate where the log is thin)."""
    from spotlab.advise.interruptions import interruption_rates

    out: dict[str, float] = {}
    for by in (("spec", "zone", "is_spot"), ("spec", "is_spot")):
        rates = interruption_rates(store, by=by).filter(pl.col("is_spot").fill_null(True))
        rate = pl.coalesce("rate_used", "rate_per_hour")
        for row in rates.with_columns(rate.alias("_r")).drop_nulls("_r").iter_rows(named=True):
            key = f"{row['spec']}@{row['zone']}" if "zone" in by else row["spec"]
            if "zone" in by and row["zone"] is None:
                continue
            out[key] = float(row["_r"])
    return out
