"""Which specs EAS should try, in what order: ranked spot specs, then a regular fallback.

:func:`recommend_ordering` takes what one replica needs (GPU memory, GPUs, vCPU, memory,
optionally a relative throughput per spec) and returns an :class:`Ordering`:

1. **Eligibility** from the ``specs`` catalog: enough GPUs, GPU memory per GPU ≥ the need
   ÷ GPUs, enough vCPU and memory, a known on-demand price; one provider and region (EAS
   deploys a service in one region).
2. **Expected effective cost per replica-hour** of each eligible spec on spot, from the bid
   advisor (:func:`spotlab.advise.bids.recommend_bids`, per spec across its zones):
   ``effective_cost`` = availability × mean price paid + (1 − availability) × fallback
   price (time on fallback) + bid crossings per hour × restart cost; plus, when the
   instance logs (:mod:`spotlab.advise.interruptions`) or a provider's feed
   (``interruption_bands``) report more reclaims per hour than the bid crossings, the
   excess × restart cost. (Logs and feeds count price and capacity reclaims alike, so the
   larger of the two rates is used, not their sum.) Divided by the spec's relative
   throughput (replicas per instance; default 1).
3. **Order**: spot specs by that cost (ties by name); a spec whose family repeats the
   previous entry's yields to the cheapest spec of another family costing at most
   ``diversity_tolerance`` (10%) more; at most ``max_spot`` spot entries, only those
   cheaper than the regular fallback unless that leaves fewer than 2 spot specs while 2
   are viable. Spot entries get ``capacity`` = ``max_share`` of the service (a count when
   ``replicas`` is given, else a percentage) so no one spot spec carries the service.
4. **Regular fallback last**: the cheapest eligible spec at its on-demand price, without a
   cap, so a deployment never fails for lack of spot stock (the seed's rule).

Each entry carries its reason with the figures. :meth:`Ordering.to_instances` gives
``cloud.computing.instances``; :meth:`Ordering.pool_entries` feeds
:func:`spotlab.advise.allocation.allocate`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from spotlab.advise.allocation import PoolEntry
from spotlab.advise.costmodel import ListCost, ListEntry, evaluate_entries
from spotlab.domain import HOURS_PER_MONTH, bid_text
from spotlab.errors import AnalysisError, NoDataError, did_you_mean
from spotlab.requirements import Requirements
from spotlab.store import Store

DEFAULT_PROVIDER = "alibaba"
DEFAULT_MAX_SPOT = 3
DEFAULT_MAX_SHARE = 0.5
DEFAULT_DIVERSITY_TOLERANCE = 0.10


# -- the result ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderingEntry:
    """One entry of the ordered list: a spot spec with its bid, or the regular fallback."""

    position: int
    spec: str
    spot: bool
    spot_price_limit: float | None
    capacity: int | str | None
    cost_per_replica_hour: float
    currency: str | None
    family: str | None
    on_demand_price: float | None
    price_is_estimate: bool
    throughput: float
    availability: float | None
    price_interruptions_per_day: float | None
    reclaims_per_hour: float | None
    reclaim_source: str | None
    reason: str
    #: share of the window the spot entry was held (its market at or below the bid)
    spot_share: float | None = None
    #: expected cost per replica-hour with downtime valued (what the order ranks by)
    total_cost: float | None = None
    #: why the bid is what it is (spotlab.advise.costmodel.decide_bids)
    bid_basis: str | None = None

    def instance(self) -> dict[str, Any]:
        """This entry as one item of ``cloud.computing.instances``."""
        out: dict[str, Any] = {"type": self.spec}
        if self.spot:
            out["spot_price_limit"] = self.spot_price_limit
        if self.capacity is not None:
            out["capacity"] = self.capacity
        return out


@dataclass
class Ordering:
    """The ordered entries (spot first, the regular fallback last), the specs left out
    with their reasons (``excluded``), and notes about the choice."""

    requirements: Requirements
    entries: list[OrderingEntry]
    excluded: pl.DataFrame
    provider: str
    region: str
    notes: list[str] = field(default_factory=list)
    #: the whole list scored by the cost model over the window (None without a store)
    evaluation: ListCost | None = None

    def frame(self) -> pl.DataFrame:
        """One row per entry, in order."""
        rows = [asdict(e) for e in self.entries]
        for r in rows:
            r["capacity"] = None if r["capacity"] is None else str(r["capacity"])
        return pl.DataFrame(rows, schema=_ENTRY_SCHEMA)

    def to_instances(self, dedicated: int | None = None) -> list[dict[str, Any]]:
        """``cloud.computing.instances``: ``{"type", "spot_price_limit"?, "capacity"?}``
        in order, the regular entry (no ``spot_price_limit``) last. ``dedicated`` prepends
        ``{"type": "dedicated_resource", "capacity": dedicated}``."""
        head = [] if not dedicated else [{"type": "dedicated_resource", "capacity": dedicated}]
        return head + [e.instance() for e in self.entries]

    def pool_entries(self) -> list[PoolEntry]:
        """The entries as allocation pool entries (unlimited stock; give stock to
        :func:`~spotlab.advise.allocation.allocate` with its ``stock`` argument)."""
        return [PoolEntry(e.spec, None, e.capacity, e.spot) for e in self.entries]

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "region": self.region,
            "requirements": asdict(self.requirements),
            "instances": self.to_instances(),
            "entries": [asdict(e) for e in self.entries],
            "excluded": self.excluded.to_dicts(),
            "notes": self.notes,
            "evaluation": self.evaluation.as_dict() if self.evaluation is not None else None,
        }


_ENTRY_SCHEMA: dict[str, Any] = {
    "position": pl.Int64,
    "spec": pl.String,
    "spot": pl.Boolean,
    "spot_price_limit": pl.Float64,
    "capacity": pl.String,
    "cost_per_replica_hour": pl.Float64,
    "currency": pl.String,
    "family": pl.String,
    "on_demand_price": pl.Float64,
    "price_is_estimate": pl.Boolean,
    "throughput": pl.Float64,
    "availability": pl.Float64,
    "price_interruptions_per_day": pl.Float64,
    "reclaims_per_hour": pl.Float64,
    "reclaim_source": pl.String,
    "reason": pl.String,
    "spot_share": pl.Float64,
    "total_cost": pl.Float64,
    "bid_basis": pl.String,
}


# -- inputs --------------------------------------------------------------------------------


def spot_figures(
    store: Store,
    specs: Sequence[str],
    provider: str,
    window: str,
    target_availability: float,
    startup_seconds: float | Mapping[str, float] | None,
    reclaims: pl.DataFrame | None = None,
    fallback_price: Mapping[str, float] | None = None,
    value_per_replica_hour: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """The bid advisor's per-spec figures (one row per provider, region, spec).

    The one link to :mod:`spotlab.advise.bids`: columns ``provider, region, spec, zones,
    advice, bid, availability`` (service), ``spot_share, interruptions_per_day, mean_paid,
    effective_cost, total_cost, restart_cost, bid_basis`` and the advisor's sentence
    (``bid_reason``). ``reclaims`` (:func:`reclaim_rates`) feed the cost model as reclaims
    at any bid; ``fallback_price`` (per spec) is the next entry's price (default: the
    spec's on-demand price). Specs without price points are left out.
    """
    from spotlab.advise.bids import recommend_bids

    priced = store.query(
        "SELECT DISTINCT spec FROM spot_prices WHERE provider = ? AND spec IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [provider, list(specs)],
    )["spec"].to_list()
    if not priced:
        return pl.DataFrame(schema=_SPOT_SCHEMA)
    rates: dict[str, float] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for r in (reclaims if reclaims is not None else pl.DataFrame()).iter_rows(named=True):
        if r["spec"] in priced and r["reclaims_per_hour"] is not None:
            rates[r["spec"]] = float(r["reclaims_per_hour"])
            lo = r.get("reclaims_low")
            hi = r.get("reclaims_high")
            ranges[r["spec"]] = (
                float(lo if lo is not None else r["reclaims_per_hour"]),
                float(hi if hi is not None else r["reclaims_per_hour"]),
            )
    advice = recommend_bids(
        store,
        specs=sorted(priced),
        window=window,
        provider=provider,
        target_availability=target_availability,
        startup_seconds=startup_seconds,
        reclaims_per_hour=rates or None,
        reclaims_range=ranges or None,
        fallback_price=dict(fallback_price) if fallback_price else None,
        value_per_replica_hour=dict(value_per_replica_hour) if value_per_replica_hour else None,
        holdout=False,
        intervals=False,
    )
    return advice.specs.select(
        *[pl.col(c).cast(t) for c, t in _SPOT_SCHEMA.items() if c != "bid_reason"],
        pl.col("reason").alias("bid_reason"),
    )


_SPOT_SCHEMA: dict[str, Any] = {
    "provider": pl.String,
    "region": pl.String,
    "spec": pl.String,
    "zones": pl.String,
    "advice": pl.String,
    "bid": pl.Float64,
    "availability": pl.Float64,
    "spot_share": pl.Float64,
    "interruptions_per_day": pl.Float64,
    "mean_paid": pl.Float64,
    "effective_cost": pl.Float64,
    "total_cost": pl.Float64,
    "restart_cost": pl.Float64,
    "bid_basis": pl.String,
    "bid_reason": pl.String,
}


_RECLAIM_SCHEMA: dict[str, Any] = {
    "spec": pl.String,
    "reclaims_per_hour": pl.Float64,
    "reclaims_low": pl.Float64,
    "reclaims_high": pl.Float64,
    "reclaim_source": pl.String,
}


def reclaim_rates(store: Store, provider: str, region: str | None) -> pl.DataFrame:
    """Reclaims per instance-hour per spec: from the instance logs when they cover the spec,
    else from the providers' feeds (worst zone of the newest observation).

    Columns ``spec, reclaims_per_hour, reclaims_low, reclaims_high`` (the logs' drift
    interval, or the feed's band bounds) and ``reclaim_source`` (a short description). The
    cost model takes them as reclaims that happen at any bid.
    """
    out = []
    if store.query("SELECT count(*) AS n FROM instance_events")["n"][0]:
        from spotlab.advise.interruptions import interruption_rates

        rates = interruption_rates(store, by=("provider", "spec", "is_spot"))
        logs = rates.filter(
            (pl.col("provider") == provider)
            & pl.col("is_spot").fill_null(True)
            & pl.col("spec").is_not_null()
            & pl.col("rate_used").is_not_null()
        ).select(
            "spec",
            pl.col("rate_used").alias("reclaims_per_hour"),
            pl.min_horizontal("rate_used", pl.coalesce("rate_low_drift", "rate_low")).alias(
                "reclaims_low"
            ),
            pl.max_horizontal("rate_used", pl.coalesce("rate_high_drift", "rate_high")).alias(
                "reclaims_high"
            ),
            pl.format(
                "logs: {} reclaims over {} instance-hours ({} rate)",
                "interruptions",
                pl.col("exposure_hours").round(1),
                "used",
            ).alias("reclaim_source"),
        )
        out.append(logs)
    bands = store.query(
        "SELECT * FROM interruption_bands WHERE provider = ? "
        "AND (? IS NULL OR region = ?) "
        "QUALIFY observed_at = max(observed_at) OVER (PARTITION BY spec)",
        [provider, region, region],
    )
    if bands.height:
        pct = pl.coalesce(
            "rate_pct", (pl.col("band_low_pct") + pl.col("band_high_pct")) / 2.0
        ).clip(0.0, 99.9)
        feed = (
            bands.filter(pl.col("os").is_null() | (pl.col("os") == "Linux"))
            .with_columns(
                pct.alias("_pct"),
                pl.when(pl.col("rate_pct").is_not_null())
                .then(pl.lit("rate"))
                .otherwise(pl.lit("band midpoint"))
                .alias("_kind"),
            )
            .sort("_pct", descending=True)
            .group_by("spec", maintain_order=True)
            .first()
            .select(
                "spec",
                (-(1.0 - pl.col("_pct") / 100.0).log() / HOURS_PER_MONTH).alias(
                    "reclaims_per_hour"
                ),
                (
                    -(1.0 - pl.coalesce("band_low_pct", "_pct").clip(0.0, 99.9) / 100.0).log()
                    / HOURS_PER_MONTH
                ).alias("reclaims_low"),
                (
                    -(1.0 - pl.coalesce("band_high_pct", "_pct").clip(0.0, 99.9) / 100.0).log()
                    / HOURS_PER_MONTH
                ).alias("reclaims_high"),
                pl.format(
                    "feed: {}% of instances a month ({} {}, worst of its zones, {} {})",
                    pl.col("_pct").round(1),
                    "_kind",
                    "band_label",
                    "provider",
                    pl.col("observed_at").dt.strftime("%Y-%m-%d"),
                ).alias("reclaim_source"),
            )
        )
        out.append(feed)
    if not out:
        return pl.DataFrame(schema=_RECLAIM_SCHEMA)
    # logs first: a spec the logs cover ignores the feed
    return pl.concat(out).unique("spec", keep="first", maintain_order=True)


# -- the ordering --------------------------------------------------------------------------


def eligible_specs(catalog: pl.DataFrame, req: Requirements) -> pl.DataFrame:
    """The catalog with ``eligible`` and ``why_not`` (the first unmet requirement)."""
    per_gpu = req.gpu_memory_gib / req.gpus if req.gpus else 0.0
    gmem = pl.col("gpu_memory_gib")
    why = (
        pl.when((pl.lit(req.gpus) > 0) & (pl.col("gpu_count").fill_null(0) < req.gpus))
        .then(pl.format("{} GPUs < {} needed", pl.col("gpu_count").fill_null(0), pl.lit(req.gpus)))
        .when((pl.lit(per_gpu) > 0) & gmem.is_null())
        .then(pl.lit("GPU memory unknown in the catalog"))
        .when(gmem < per_gpu)
        .then(pl.format("{} GiB per GPU < {} GiB needed", gmem, pl.lit(round(per_gpu, 2))))
        .when((pl.lit(req.vcpu) > 0) & (pl.col("vcpu").fill_null(0) < req.vcpu))
        .then(pl.format("{} vCPU < {}", pl.col("vcpu"), pl.lit(req.vcpu)))
        .when((pl.lit(req.memory_gib) > 0) & (pl.col("memory_gib").fill_null(0) < req.memory_gib))
        .then(pl.format("{} GiB memory < {}", pl.col("memory_gib"), pl.lit(req.memory_gib)))
        .when(pl.col("on_demand_price").is_null())
        .then(pl.lit("no on-demand price in the catalog"))
    )
    return catalog.with_columns(why.alias("why_not")).with_columns(
        pl.col("why_not").is_null().alias("eligible")
    )


def recommend_ordering(
    requirements: Requirements | Mapping[str, Any] | Any,
    store: Store | None = None,
    *,
    catalog: pl.DataFrame | None = None,
    spot: pl.DataFrame | None = None,
    reclaims: pl.DataFrame | None = None,
    window: str = "30d",
    target_availability: float = 0.99,
    startup_seconds: float | Mapping[str, float] | None = None,
    max_spot: int = DEFAULT_MAX_SPOT,
    max_share: float | None = DEFAULT_MAX_SHARE,
    replicas: int | None = None,
    diversity_tolerance: float = DEFAULT_DIVERSITY_TOLERANCE,
) -> Ordering:
    """Ranked spot specs and a regular fallback for a service (see the module docstring).

    From a ``store``, the catalog, the bid advisor's figures and the reclaim rates are read
    there; without one, pass ``catalog`` (the ``specs`` table's columns), ``spot`` (as
    :func:`spot_figures` returns) and optionally ``reclaims`` (as :func:`reclaim_rates`).
    ``startup_seconds`` (one number, or per spec) is the time to a serving replacement; by
    default the bid advisor's :data:`~spotlab.advise.bids.DEFAULT_STARTUP_SECONDS` (123 s)
    until the cold-start model supplies one. ``max_share`` of None or 1 leaves spot
    entries uncapped.

    >>> o = recommend_ordering({"gpu_memory_gib": 24}, store)  # doctest: +SKIP
    >>> o.to_instances()  # doctest: +SKIP
    """
    req = Requirements.from_any(requirements)
    if max_spot < 1:
        raise AnalysisError(f"max_spot must be >= 1, got {max_spot}")
    if max_share is not None and not 0 < max_share <= 1:
        raise AnalysisError(f"max_share must be in (0, 1], got {max_share}")
    if replicas is not None and replicas < 1:
        raise AnalysisError(f"replicas must be >= 1, got {replicas}")
    if diversity_tolerance < 0:
        raise AnalysisError(f"diversity_tolerance must be >= 0, got {diversity_tolerance}")
    if catalog is None:
        if store is None:
            raise AnalysisError("recommend_ordering needs a store or a catalog frame")
        catalog = store.query("SELECT * FROM specs")
    if catalog.height == 0:
        raise NoDataError("the specs catalog is empty: ingest one (e.g. data/specs_catalog.csv)")
    provider, region, notes = _place(catalog, req)
    cat = eligible_specs(
        catalog.filter((pl.col("provider") == provider) & (pl.col("region") == region)), req
    )
    ok = cat.filter("eligible")
    if ok.height == 0:
        raise AnalysisError(
            f"no spec in the {provider} {region} catalog meets the requirements "
            f"({_describe(req)}); closest misses: "
            + "; ".join(f"{r['spec']}: {r['why_not']}" for r in cat.head(3).to_dicts())
        )
    names = ok["spec"].to_list()
    if spot is None:
        if store is None:
            spot = pl.DataFrame(schema=_SPOT_SCHEMA)
        else:
            spot = spot_figures(
                store, names, provider, window, target_availability, startup_seconds
            )
    if reclaims is None:
        reclaims = (
            reclaim_rates(store, provider, region)
            if store is not None
            else pl.DataFrame(
                schema={
                    "spec": pl.String,
                    "reclaims_per_hour": pl.Float64,
                    "reclaim_source": pl.String,
                }
            )
        )
    table = _score(ok, spot, reclaims, req, provider, region)
    entries, left_out = _choose(
        table, req, max_spot, max_share, replicas, diversity_tolerance, window
    )
    evaluation = None
    if store is not None and any(e.spot for e in entries):
        entries, dropped = _bids_down_the_list(
            store, entries, table, provider, window, target_availability, startup_seconds,
            reclaims, max_share,
        )  # fmt: skip
        left_out = pl.concat([left_out, dropped])
        evaluation = _evaluate(store, entries, table, provider, window, replicas, startup_seconds)
        notes.append(_evaluation_note(evaluation, window))
    excluded = pl.concat(
        [
            cat.filter(~pl.col("eligible")).select("spec", pl.col("why_not").alias("reason")),
            left_out,
        ]
    ).sort("spec")
    return Ordering(req, entries, excluded, provider, region, notes, evaluation)


def _bids_down_the_list(
    store: Store,
    entries: list[OrderingEntry],
    table: pl.DataFrame,
    provider: str,
    window: str,
    target_availability: float,
    startup_seconds: float | Mapping[str, float] | None,
    reclaims: pl.DataFrame,
    max_share: float | None,
) -> tuple[list[OrderingEntry], pl.DataFrame]:
    """Each spot entry's bid decided against the next entry (issue #13): from the last spot
    entry up, the fallback is the next entry's expected cost per replica-hour (the regular
    entry's price for the last one) × the spec's throughput, and a lost replica-hour is
    valued at the regular price. An entry never cheaper than the next one is dropped."""
    regular = entries[-1]
    value = regular.cost_per_replica_hour
    next_cost = value
    rows = {r["spec"]: r for r in table.to_dicts()}
    out: list[OrderingEntry] = [regular]
    dropped: list[tuple[str, str]] = []
    for e in reversed(entries[:-1]):
        thr = e.throughput
        fig = spot_figures(
            store, [e.spec], provider, window, target_availability, startup_seconds, reclaims,
            fallback_price={e.spec: next_cost * thr}, value_per_replica_hour={e.spec: value * thr},
        )  # fmt: skip
        r = fig.row(0, named=True) if fig.height else None
        if r is None or r["advice"] != "spot":
            dropped.append(
                (e.spec, f"not listed: never cheaper than the next entry's {_money(next_cost)} "
                 f"per replica-hour ({r['bid_reason'] if r else 'no prices'})")
            )  # fmt: skip
            continue
        c = {**rows[e.spec], **r}
        c["spot_cost"] = r["effective_cost"] / thr
        c["rank_cost"] = r["total_cost"] / thr
        why = e.reason.split("); ", 1)[1] if "); " in e.reason else ""
        why = why.split("; capacity ")[0]
        out.append(_spot_entry(e.position, c, why, e.capacity, max_share, window))
        next_cost = c["rank_cost"]
    spot = list(reversed(out[1:]))
    renum = [dataclasses.replace(x, position=i + 1) for i, x in enumerate(spot)]
    renum = [_renumber(x) for x in renum]
    final = [
        *renum,
        dataclasses.replace(_renumber(dataclasses.replace(regular, position=len(renum) + 1))),
    ]
    excluded = pl.DataFrame(
        {"spec": [a for a, _ in dropped], "reason": [b for _, b in dropped]},
        schema={"spec": pl.String, "reason": pl.String},
    )
    return final, excluded


def _renumber(e: OrderingEntry) -> OrderingEntry:
    """The reason's "#n" follows the entry's position."""
    head, _, rest = e.reason.partition(" ")
    return dataclasses.replace(
        e, reason=f"#{e.position} {rest}" if head.startswith("#") else e.reason
    )


def _evaluate(
    store: Store,
    entries: list[OrderingEntry],
    table: pl.DataFrame,
    provider: str,
    window: str,
    replicas: int | None,
    startup_seconds: float | Mapping[str, float] | None,
) -> ListCost:
    """The ordered list scored by the cost model over the window."""
    zones = {r["spec"]: r["zones"] for r in table.to_dicts()}
    rates = {r["spec"]: r for r in table.to_dicts()}
    items = []
    for e in entries:
        share = _cap_share(e.capacity, replicas)
        startup = (
            startup_seconds.get(e.spec) if isinstance(startup_seconds, Mapping) else startup_seconds
        )
        r = rates.get(e.spec, {})
        rate = float(r.get("reclaims_per_hour") or 0.0) if e.spot else 0.0
        lo, hi = r.get("reclaims_low"), r.get("reclaims_high")
        items.append(
            ListEntry(
                spec=e.spec,
                spot=e.spot,
                bid=e.spot_price_limit if e.spot else None,
                zones=tuple(z.strip() for z in zones[e.spec].split(","))
                if e.spot and zones.get(e.spec)
                else None,
                capacity_share=share,
                price=e.on_demand_price if not e.spot else None,
                startup_seconds=float(startup) if startup is not None else None,
                reclaims_per_hour=rate,
                reclaims_range=(float(lo), float(hi))
                if e.spot and lo is not None and hi is not None
                else None,
                throughput=e.throughput,
            )
        )
    return evaluate_entries(store, items, window, provider=provider)


def _cap_share(capacity: int | str | None, replicas: int | None) -> float | None:
    if capacity is None:
        return None
    if isinstance(capacity, str) and capacity.endswith("%"):
        return float(capacity[:-1]) / 100.0
    if replicas:
        return min(1.0, float(capacity) / replicas)
    return None


def _evaluation_note(ev: ListCost, window: str) -> str:
    f = ev.figures
    cur = ev.currency or ""
    return (
        f"the list as a whole over the last {window} (cost model, in sample): "
        f"{_money(f['effective_cost'])} {cur} per replica-hour (90%: "
        f"{_money(f['effective_cost_low'])}-{_money(f['effective_cost_high'])}), service "
        f"availability {f['availability']:.3%} (90%: {f['availability_low']:.3%}-"
        f"{f['availability_high']:.3%}), {f['spot_share']:.1%} of replica-time on spot"
    )


def _describe(req: Requirements) -> str:
    parts = []
    if req.gpu_memory_gib:
        parts.append(f"{req.gpu_memory_gib:g} GiB GPU memory over {req.gpus} GPU(s)")
    elif req.gpus:
        parts.append(f"{req.gpus} GPU(s)")
    if req.vcpu:
        parts.append(f"{req.vcpu:g} vCPU")
    if req.memory_gib:
        parts.append(f"{req.memory_gib:g} GiB memory")
    return ", ".join(parts) or "no minimum"


def _place(catalog: pl.DataFrame, req: Requirements) -> tuple[str, str, list[str]]:
    """The provider and region to order in (EAS deploys a service in one region)."""
    notes: list[str] = []
    providers = sorted(set(catalog["provider"].drop_nulls()))
    provider = req.provider or (DEFAULT_PROVIDER if DEFAULT_PROVIDER in providers else None)
    if provider is None:
        if len(providers) != 1:
            raise AnalysisError(f"several providers in the catalog ({providers}): pick one")
        provider = providers[0]
    if provider not in providers:
        raise AnalysisError(
            f"no {provider!r} specs in the catalog.{did_you_mean(provider, providers)}"
        )
    rows = catalog.filter(pl.col("provider") == provider)
    regions = sorted(set(rows["region"].drop_nulls()))
    if req.region is not None:
        if req.region not in regions:
            raise AnalysisError(
                f"no {provider} specs in region {req.region!r}.{did_you_mean(req.region, regions)}"
            )
        return provider, req.region, notes
    if len(regions) == 1:
        return provider, regions[0], notes
    fit = eligible_specs(rows, req).filter("eligible").group_by("region").len()
    fit = fit.sort(["len", "region"], descending=[True, False])
    region = fit["region"][0] if fit.height else regions[0]
    notes.append(
        f"region {region} chosen (most eligible specs of {len(regions)}); pass region= to pick"
    )
    return provider, region, notes


def _score(
    ok: pl.DataFrame,
    spot: pl.DataFrame,
    reclaims: pl.DataFrame,
    req: Requirements,
    provider: str,
    region: str,
) -> pl.DataFrame:
    thr = dict(req.throughput or {})
    # a caller's own figures may lack the newer columns: the billed cost stands in for the
    # total, the service availability for the time held
    for c, dtype in _SPOT_SCHEMA.items():
        if c not in spot.columns:
            spot = spot.with_columns(pl.lit(None, dtype).alias(c))
    spot = spot.with_columns(
        total_cost=pl.coalesce("total_cost", "effective_cost"),
        spot_share=pl.coalesce("spot_share", "availability"),
    )
    s = spot.filter((pl.col("provider") == provider) & (pl.col("region") == region)).drop(
        "provider", "region"
    )
    t = ok.select(
        "spec",
        "family",
        "on_demand_price",
        "currency",
        pl.col("price_is_estimate").fill_null(False),
        pl.col("spec").replace_strict(thr, default=1.0, return_dtype=pl.Float64).alias("thr"),
    )
    t = t.join(s, on="spec", how="left").join(
        reclaims.select(*[c for c in _RECLAIM_SCHEMA if c in reclaims.columns]),
        on="spec",
        how="left",
    )
    # the cost model already prices reclaims at any bid (capacity) and at the bid (price):
    # effective cost = billed per instance-hour; total = + downtime valued
    return t.with_columns(
        (pl.col("effective_cost") / pl.col("thr")).alias("spot_cost"),
        (pl.col("total_cost") / pl.col("thr")).alias("rank_cost"),
        (pl.col("on_demand_price") / pl.col("thr")).alias("regular_cost"),
    )


def _money(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    return bid_text(x)


def _choose(
    table: pl.DataFrame,
    req: Requirements,
    max_spot: int,
    max_share: float | None,
    replicas: int | None,
    tolerance: float,
    window: str,
) -> tuple[list[OrderingEntry], pl.DataFrame]:
    regular = table.sort("regular_cost", "spec").row(0, named=True)
    viable = table.filter((pl.col("advice") == "spot") & pl.col("rank_cost").is_not_null())
    cands = viable.sort("rank_cost", "spec").to_dicts()
    left: list[tuple[str, str]] = []
    for r in table.filter(~pl.col("spec").is_in(viable["spec"].implode())).to_dicts():
        if r["advice"] == "regular":
            left.append((r["spec"], "spot not advised: " + str(r["bid_reason"])))
        else:
            left.append((r["spec"], f"no spot price history in the {window} window"))
    cheaper = [c for c in cands if c["rank_cost"] < regular["regular_cost"]]
    want = min(max_spot, max(len(cheaper), min(2, len(cands))))
    chosen: list[tuple[dict[str, Any], str]] = []
    pool = list(cands)
    while pool and len(chosen) < want:
        best = pool[0]
        why = "cheapest remaining" if chosen else "cheapest eligible spot spec"
        if chosen and best["family"] is not None and best["family"] == chosen[-1][0]["family"]:
            limit = best["rank_cost"] * (1.0 + tolerance)
            alt = next(
                (c for c in pool if c["family"] != best["family"] and c["rank_cost"] <= limit),
                None,
            )
            if alt is not None:
                more = alt["rank_cost"] / best["rank_cost"] - 1.0
                why = (
                    f"placed before {best['spec']} (same family {best['family']} as the "
                    f"previous entry) for diversity; costs {more:.1%} more"
                )
                best = alt
        if best["rank_cost"] >= regular["regular_cost"]:
            why += "; kept for a second spot option although not cheaper than the fallback"
        pool.remove(best)
        chosen.append((best, why))
    for c in pool:
        reason = (
            f"not listed: at most {max_spot} spot entries"
            if c["rank_cost"] < regular["regular_cost"]
            else f"not listed: expected {_money(c['rank_cost'])} per replica-hour on spot "
            "(downtime valued at the fallback's price) is not below the regular fallback's "
            f"{_money(regular['regular_cost'])}"
        )
        left.append((c["spec"], reason))
    cap: int | str | None = None
    if max_share is not None and max_share < 1:
        cap = (
            max(1, math.floor(max_share * replicas + 1e-9))
            if replicas is not None
            else f"{round(max_share * 100):d}%"
        )
    entries = [
        _spot_entry(i, c, why, cap, max_share, window) for i, (c, why) in enumerate(chosen, 1)
    ]
    entries.append(_regular_entry(len(entries) + 1, regular, len(table)))
    excluded = pl.DataFrame(
        {"spec": [s for s, _ in left], "reason": [r for _, r in left]},
        schema={"spec": pl.String, "reason": pl.String},
    )
    return entries, excluded


def _spot_entry(
    pos: int,
    c: dict[str, Any],
    why: str,
    cap: int | str | None,
    max_share: float | None,
    window: str,
) -> OrderingEntry:
    cur = c["currency"] or ""
    per = "replica-hour" if c["thr"] == 1 else f"replica-hour ({c['thr']:g} replicas/instance)"
    src = c["reclaim_source"] or "no reclaim log or feed for this spec"
    cap_s = (
        ""
        if cap is None
        else f"; capacity {cap} so it carries at most {max_share:.0%} of the service"
    )
    basis = {
        "fallback price": "the next entry's price",
        "above the fallback price": "above the next entry's price (short spikes)",
        "below the fallback price": "below the next entry's price, see spotlab bids",
    }.get(c.get("bid_basis") or "", c.get("bid_basis") or "")
    reason = (
        f"#{pos} spot {c['spec']}: expected {_money(c['spot_cost'])} {cur} per {per} "
        f"(bid {_money(c['bid'])}, {basis}: spot held {c['spot_share']:.1%} of the last "
        f"{window}, {c['interruptions_per_day']:.2f} reclaims/day, service availability "
        f"{c['availability']:.3%}, mean paid {_money(c['mean_paid'])}; reclaims at any bid: "
        f"{src}); {why}{cap_s}"
    )
    return OrderingEntry(
        position=pos,
        spec=c["spec"],
        spot=True,
        spot_price_limit=c["bid"],
        capacity=cap,
        cost_per_replica_hour=c["spot_cost"],
        currency=c["currency"],
        family=c["family"],
        on_demand_price=c["on_demand_price"],
        price_is_estimate=bool(c["price_is_estimate"]),
        throughput=c["thr"],
        availability=c["availability"],
        price_interruptions_per_day=c["interruptions_per_day"],
        reclaims_per_hour=c["reclaims_per_hour"],
        reclaim_source=c["reclaim_source"],
        reason=reason,
        spot_share=c["spot_share"],
        total_cost=c["rank_cost"],
        bid_basis=c.get("bid_basis"),
    )


def _regular_entry(pos: int, r: dict[str, Any], n: int) -> OrderingEntry:
    est = " (estimated catalog price)" if r["price_is_estimate"] else ""
    reason = (
        f"#{pos} regular fallback {r['spec']}: {_money(r['regular_cost'])} {r['currency'] or ''} "
        f"per replica-hour on demand{est}, the cheapest of {n} eligible specs; no spot price "
        "limit and no cap, so the service can always be placed when spot stock runs out"
    )
    return OrderingEntry(
        position=pos,
        spec=r["spec"],
        spot=False,
        spot_price_limit=None,
        capacity=None,
        cost_per_replica_hour=r["regular_cost"],
        currency=r["currency"],
        family=r["family"],
        on_demand_price=r["on_demand_price"],
        price_is_estimate=bool(r["price_is_estimate"]),
        throughput=r["thr"],
        availability=None,
        price_interruptions_per_day=None,
        reclaims_per_hour=None,
        reclaim_source=None,
        reason=reason,
    )
