"""Adapters to the other advisors (bids, ordering, cold start, scaling), one function each.

The config code calls only these functions, so a change in an advisor's interface is a
change here. Each returns a neutral "no advice" value when its advisor is not installed or
cannot answer (no data), and the config is built from the caller's plain inputs instead.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from spotlab.errors import SpotlabError
from spotlab.store import Store

#: the seed's rule of thumb when no bid advice exists: bid 20% of the on-demand price
SEED_BID_FRACTION = 0.20


def advised_bids(
    store: Store, specs: Sequence[str], region: str | None = None
) -> tuple[dict[str, float], str]:
    """The bid advisor's recommended bid per spec, and a label of where it came from."""
    try:
        bid_advisor = importlib.import_module("spotlab.advise.bids")
    except ImportError:
        return {}, ""
    try:
        frame = bid_advisor.recommend_bids(store, specs=list(specs))
    except (SpotlabError, TypeError, ValueError):
        return {}, ""
    return bids_from_frame(frame, region), "bid advisor"


def bids_from_frame(frame: Any, region: str | None = None) -> dict[str, float]:
    """A recommend_bids frame (or any frame with ``spec`` and a bid column) → {spec: bid}.

    With several rows per spec (zones), the highest recommendation is kept: a bid must hold
    in the zone EAS allocates in, and EAS picks the zone.
    """
    import polars as pl

    if not isinstance(frame, pl.DataFrame) or frame.height == 0 or "spec" not in frame.columns:
        return {}
    col = next(
        (
            c
            for c in ("recommended_bid", "bid", "spot_price_limit", "recommended")
            if c in frame.columns
        ),
        None,
    )
    if col is None:
        return {}
    if region is not None and "region" in frame.columns:
        frame = frame.filter(pl.col("region") == region)
    agg = frame.filter(pl.col(col).is_not_null()).group_by("spec").agg(pl.col(col).max())
    return {r["spec"]: float(r[col]) for r in agg.to_dicts()}


def advised_ordering(store: Store, requirements: Any) -> Any:
    """The ordering advisor's result for these requirements, or None without it."""
    try:
        order_advisor = importlib.import_module("spotlab.advise.ordering")
    except ImportError:
        return None
    if requirements is None:
        return None
    try:
        return order_advisor.recommend_ordering(requirements, store=store)
    except (SpotlabError, TypeError, ValueError):
        return None


def ordering_instances(ordering: Any) -> list[dict[str, Any]]:
    """An ordering advice → the ordered ``cloud.computing.instances`` list of dicts.

    Accepts the ordering advisor's result (``to_instances()``) or a plain list of dicts.
    """
    if ordering is None:
        return []
    entries = ordering.to_instances() if hasattr(ordering, "to_instances") else ordering
    return [dict(e) for e in entries]


def coldstart_saving_s(
    model_size_gb: float | None,
    image_size_gb: float | None,
    reclaims_per_month: float | None = None,
    provider: str = "alibaba",
) -> dict[str, float] | None:
    """Seconds saved per cold start by the memory cache (``model_s``) and by image
    acceleration (``image_s``), from the cold-start model; None when it is unavailable."""
    try:
        coldstart = importlib.import_module("spotlab.advise.coldstart")
    except ImportError:
        return None
    fn = getattr(coldstart, "coldstart_saving", None)
    if fn is None:
        return None
    try:
        result = fn(
            model_size_gb=model_size_gb or 0.0,
            image_size_gb=image_size_gb or 0.0,
            provider=provider,
            reclaims_per_month=reclaims_per_month or 0.0,
        )
    except (SpotlabError, TypeError, ValueError):
        return None
    return _savings(result)


def _savings(result: Any) -> dict[str, float] | None:
    data = result if isinstance(result, Mapping) else getattr(result, "__dict__", {})
    out = {}
    for key in ("model_s", "image_s", "total_s"):
        val = data.get(key)
        if isinstance(val, int | float) and math.isfinite(val):
            out[key] = float(val)
    return out or None


def scaling_files(plan: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A scaling plan → (standalone autoscaler dict, cron-scaling dict); either may be None.

    Accepts the fleet advisor's plan (``to_autoscaler()`` / ``to_cronscale()``) or a dict
    ``{"autoscaler": {...}, "cronscale": {...}}``.
    """
    if plan is None:
        return None, None
    if isinstance(plan, Mapping):
        return plan.get("autoscaler"), plan.get("cronscale")
    auto = plan.to_autoscaler() if hasattr(plan, "to_autoscaler") else None
    cron = plan.to_cronscale() if hasattr(plan, "to_cronscale") else None
    return auto, cron
