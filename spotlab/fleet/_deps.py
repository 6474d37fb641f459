"""The fleet simulation's links to other spotlab modules, one small function each.

Each wraps one call into the allocation, cold-start and interruption modules (imported
directly: a renamed function or parameter fails at import or in a test, never silently),
so a change there is fixed here and nowhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import polars as pl

from spotlab.advise.allocation import PoolEntry, allocate
from spotlab.advise.coldstart import predicted_startup_seconds
from spotlab.advise.interruptions import interruption_rates
from spotlab.errors import AnalysisError
from spotlab.store import Store


@functools.lru_cache(maxsize=32)
def startup_seconds(model_size_gb: float = 14.0, setup: str = "plain") -> float:
    """Seconds a replacement replica takes to serve, from the cold-start model (a 14 GB
    model, e.g. 7 B parameters in fp16, by default; computed once per argument)."""
    seconds = predicted_startup_seconds(model_size_gb, setup=setup)
    if not isinstance(seconds, float | int):  # a mapping only comes back per spec
        raise AnalysisError(f"the cold-start model gave {seconds!r}, not one number of seconds")
    return float(seconds)


def eas_allocation(
    n: int, dedicated_free: int, entries: Sequence[tuple[str, int | None, bool]]
) -> dict[str, int]:
    """Instances per entry type as EAS places ``n`` (dedicated group first, then the
    ordered ``(spec, stock or None for unlimited, is_spot)`` entries)."""
    pool = [PoolEntry(spec, stock, None, spot) for spec, stock, spot in entries]
    return allocate(n, dedicated_free, pool).counts()


def reclaim_rates(store: Store) -> dict[str, float]:
    """Spot reclaims per replica-hour from the interruption analytics (instance logs), keyed
    ``spec@zone`` and ``spec`` (the spec's rate over all its zones), for
    :func:`spotlab.fleet.market.poisson_market`'s ``reclaims_per_hour``. Uses the
    analytics' ``rate_used`` (the shrunk rate where the log is thin)."""
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
