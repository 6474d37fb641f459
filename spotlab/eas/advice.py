"""The config code's calls into the other advisors (bids, ordering, cold start, scaling).

Each function calls its advisor directly and lets its errors surface: a renamed parameter or
a broken advisor fails here, loudly, instead of turning into "no advice". The one outcome
that is not an error is **no data** (:class:`~spotlab.errors.NoDataError`: nothing stored to
advise from), which gives the neutral value the config is then built without.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from spotlab.advise.bids import BidAdvice, recommend_bids
from spotlab.advise.coldstart import ColdstartSaving, coldstart_saving
from spotlab.advise.ordering import Ordering, recommend_ordering
from spotlab.errors import NoDataError
from spotlab.fleet.scaling import ScalingPlan
from spotlab.requirements import Requirements
from spotlab.store import Store

#: advised bids per (store, its newest source, specs, region): lint and build_config ask
#: for the same bids on every keystroke of the config form, and they only change on ingest
_BID_CACHE: weakref.WeakKeyDictionary[
    Store, dict[tuple[Any, tuple[str, ...], str | None], tuple[dict[str, float], str]]
] = weakref.WeakKeyDictionary()
#: the bid advisor's look-back for the bids a config gets
BID_WINDOW = "30d"


def advised_bids(
    store: Store, specs: Sequence[str], region: str | None = None
) -> tuple[dict[str, float], str]:
    """The bid advisor's recommended bid per spec, and a label of where it came from;
    ``({}, "")`` when the store holds no price points for these specs."""
    version = store.query("SELECT max(source_id) AS v, count(*) AS n FROM sources").row(0)
    cache = _BID_CACHE.setdefault(store, {})
    key = (version, tuple(specs), region)
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = _advised_bids(store, specs, region)
    bids, label = cache[key]
    return dict(bids), label


def priced_specs(store: Store, specs: Sequence[str], region: str | None = None) -> list[str]:
    """The specs among ``specs`` with at least one stored spot price point (in ``region``)."""
    if not specs or "spot_prices" not in store.tables():
        return []
    where = "" if region is None else " AND region = ?"
    rows = store.query(
        f"SELECT DISTINCT spec FROM spot_prices WHERE spec IN (SELECT unnest(?::VARCHAR[])){where}",
        [list(specs)] + ([region] if region is not None else []),
    )
    found = set(rows["spec"].to_list())
    return [s for s in specs if s in found]


def _advised_bids(
    store: Store, specs: Sequence[str], region: str | None
) -> tuple[dict[str, float], str]:
    priced = priced_specs(store, specs, region)
    if not priced:
        return {}, ""  # nothing stored to advise from
    try:
        result = recommend_bids(store, specs=priced, window=BID_WINDOW)
    except NoDataError:  # e.g. no point inside the window
        return {}, ""
    return bids_from_frame(result.specs, region), f"bid advisor, {BID_WINDOW} window"


def bids_from_frame(frame: pl.DataFrame, region: str | None = None) -> dict[str, float]:
    """A recommend_bids frame (or any frame with ``spec`` and a bid column) → {spec: bid}.

    With several rows per spec (zones), the highest recommendation is kept: a bid must hold
    in the zone EAS allocates in, and EAS picks the zone.
    """
    if frame.height == 0 or "spec" not in frame.columns:
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


def bids_map(bids: Mapping[str, float] | BidAdvice | pl.DataFrame) -> dict[str, float]:
    """Bids given to :func:`~spotlab.eas.export.build_config`: {spec: bid}, a
    :class:`~spotlab.advise.bids.BidAdvice` (its per-spec frame) or a frame."""
    if isinstance(bids, BidAdvice):
        return bids_from_frame(bids.specs)
    if isinstance(bids, pl.DataFrame):
        return bids_from_frame(bids)
    return {str(k): float(v) for k, v in bids.items()}


def advised_ordering(
    store: Store, requirements: Requirements | Mapping[str, Any] | None
) -> Ordering | None:
    """The ordering advisor's result for these requirements; None without requirements or
    when the store holds no catalog to order from. Every other failure surfaces (no spec
    meeting the requirements, say)."""
    if requirements is None:
        return None
    try:
        return recommend_ordering(requirements, store=store)
    except NoDataError:
        return None


def ordering_instances(ordering: Ordering | Sequence[Mapping[str, Any]] | None) -> list[dict]:
    """An ordering advice (or a plain list of dicts) → ``cloud.computing.instances``."""
    if ordering is None:
        return []
    entries = ordering.to_instances() if isinstance(ordering, Ordering) else ordering
    return [dict(e) for e in entries]


def coldstart_saving_s(
    model_size_gb: float | None,
    image_size_gb: float | None,
    reclaims_per_month: float | None = None,
    provider: str = "alibaba",
) -> dict[str, Any]:
    """What the cold-start model says faster starts save.

    Keys: ``model_s`` (seconds saved per cold start by the memory cache), ``image_s`` (by
    image acceleration), and with a reclaim rate ``cache_monthly``/``image_monthly`` (saving
    per month per replica) and ``currency``.
    """
    kwargs: dict[str, Any] = {}
    if image_size_gb is not None:
        kwargs["image_size_gb"] = image_size_gb
    result = coldstart_saving(
        model_size_gb or 0.0, provider=provider, reclaims_per_month=reclaims_per_month or 0.0,
        **kwargs,
    )  # fmt: skip
    out: dict[str, Any] = {
        key: float(val)
        for key, val in (("model_s", result.model_s), ("image_s", result.image_s))
        if math.isfinite(val)
    }
    if reclaims_per_month:
        out["cache_monthly"] = float(result.monthly_saving["cachefs"])
        out["image_monthly"] = float(result.monthly_saving["acr"])
        out["currency"] = result.currency
    return out


def coldstart_cache_choice(
    result: ColdstartSaving | Mapping[str, Any] | None,
) -> tuple[bool | None, float | None]:
    """Cold-start advice → (use a memory cache?, model size in GB); None when it does not say.

    Accepts a ``coldstart_saving`` result or a dict with ``best_setup`` ("plain", "cachefs",
    "acr", "both"), ``cache_fits_memory`` and ``model_size_gb``.
    """
    if result is None:
        return None, None
    data = result.as_dict() if isinstance(result, ColdstartSaving) else result
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


def scaling_files(
    plan: ScalingPlan | Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A scaling plan → (standalone autoscaler dict, cron-scaling dict); either may be None.

    Accepts the fleet advisor's :class:`~spotlab.fleet.scaling.ScalingPlan` or a dict
    ``{"autoscaler": {...}, "cronscale": {...}}``.
    """
    if plan is None:
        return None, None
    if isinstance(plan, ScalingPlan):
        return plan.to_autoscaler(), plan.to_cronscale()
    return plan.get("autoscaler"), plan.get("cronscale")
