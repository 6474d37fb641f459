"""Adapters to the other advisors (bids, ordering, cold start, scaling), one function each.

The config code calls only these functions, so a change in an advisor's interface is a
change here. Each returns a neutral "no advice" value when its advisor is not installed or
cannot answer (no data), and the config is built from the caller's plain inputs instead.
"""

from __future__ import annotations

import importlib
import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from spotlab.errors import SpotlabError
from spotlab.store import Store

#: advised bids per (store, its newest source, specs, region): lint and build_config ask
#: for the same bids on every keystroke of the config form, and they only change on ingest
_BID_CACHE: weakref.WeakKeyDictionary[
    Store, dict[tuple[Any, tuple[str, ...], str | None], tuple[dict[str, float], str]]
] = weakref.WeakKeyDictionary()


def advised_bids(
    store: Store, specs: Sequence[str], region: str | None = None
) -> tuple[dict[str, float], str]:
    """The bid advisor's recommended bid per spec, and a label of where it came from."""
    version = store.query("SELECT max(source_id) AS v, count(*) AS n FROM sources").row(0)
    cache = _BID_CACHE.setdefault(store, {})
    key = (version, tuple(specs), region)
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = _advised_bids(store, specs, region)
    bids, label = cache[key]
    return dict(bids), label


def _advised_bids(
    store: Store, specs: Sequence[str], region: str | None
) -> tuple[dict[str, float], str]:
    try:
        bid_advisor = importlib.import_module("spotlab.advise.bids")
    except ImportError:
        return {}, ""
    try:
        result = bid_advisor.recommend_bids(store, specs=list(specs))
    except (SpotlabError, TypeError, ValueError):
        return {}, ""
    frame = getattr(result, "specs", result)  # BidAdvice.specs: one row per spec
    return bids_from_frame(frame, region), "bid advisor, 30-day window"


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
) -> dict[str, Any] | None:
    """What the cold-start model says faster starts save, or None when it is unavailable.

    Keys: ``model_s`` (seconds saved per cold start by the memory cache), ``image_s`` (by
    image acceleration), and with a reclaim rate ``cache_monthly``/``image_monthly`` (saving
    per month per replica) and ``currency``.
    """
    try:
        coldstart = importlib.import_module("spotlab.advise.coldstart")
    except ImportError:
        return None
    fn = getattr(coldstart, "coldstart_saving", None)
    if fn is None:
        return None
    kwargs: dict[str, Any] = {
        "model_size_gb": model_size_gb or 0.0,
        "provider": provider,
        "reclaims_per_month": reclaims_per_month or 0.0,
    }
    if image_size_gb is not None:
        kwargs["image_size_gb"] = image_size_gb
    try:
        result = fn(**kwargs)
    except (SpotlabError, TypeError, ValueError):
        return None
    return _savings(result, reclaims_per_month)


def _savings(result: Any, reclaims_per_month: float | None) -> dict[str, Any] | None:
    data = result.as_dict() if hasattr(result, "as_dict") else result
    if not isinstance(data, Mapping):
        return None
    out: dict[str, Any] = {}
    for key in ("model_s", "image_s"):
        val = data.get(key)
        if isinstance(val, int | float) and math.isfinite(val):
            out[key] = float(val)
    monthly = data.get("monthly_saving")
    if reclaims_per_month and isinstance(monthly, Mapping):
        for key, setup in (("cache_monthly", "cachefs"), ("image_monthly", "acr")):
            if isinstance(monthly.get(setup), int | float):
                out[key] = float(monthly[setup])
        out["currency"] = data.get("currency") or ""
    return out or None


def coldstart_cache_choice(result: Any) -> tuple[bool | None, float | None]:
    """Cold-start advice → (use a memory cache?, model size in GB); None when it does not say.

    Accepts a ``coldstart_saving`` result or a dict with ``best_setup`` ("plain", "cachefs",
    "acr", "both"), ``cache_fits_memory`` and ``model_size_gb``.
    """
    if result is None:
        return None, None
    data = result.as_dict() if hasattr(result, "as_dict") else result
    if not isinstance(data, Mapping):
        return None, None
    size = data.get("model_size_gb")
    size = float(size) if isinstance(size, int | float) and size > 0 else None
    if data.get("cache_fits_memory") is False:
        return False, size
    best = data.get("best_setup")
    if best in ("cachefs", "both"):
        return True, size
    if best in ("plain", "acr"):
        return False, size
    return None, size


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
