"""The fleet simulation's links to other spotlab modules, one small function each.

Each wraps one call into the allocation and interruption modules (imported directly: a
renamed function or parameter fails at import or in a test, never silently), so a change
there is fixed here and nowhere else. The cold-start model's start-up goes through
:mod:`spotlab.fleet.startup`.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from spotlab.advise.allocation import PoolEntry, allocate
from spotlab.advise.interruptions import interruption_rates
from spotlab.store import Store


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
