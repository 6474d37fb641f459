"""Which bid to set (``spot_price_limit``): a decision in the cost model.

You pay the market price, not the bid; the instance is kept while market ≤ bid, and when it
is reclaimed EAS moves the replica to the next entry of the list (a regular instance of the
same spec unless ``fallback_price`` says otherwise). The model
(:mod:`spotlab.advise.costmodel`) prices that over a window of the history: the time on spot
and on the fallback, the restarts and the downtime they cause.

**The cost-optimal bid.** While the market is below the fallback's price, staying on spot is
cheaper than moving (moving costs that price plus a restart), so the bid is never below it.
Above it, a higher bid saves restarts and downtime (valued at ``value_per_replica_hour``,
default the fallback price) and costs the excess over the fallback while the market is
there: the bid is the candidate (the fallback price, or a price level above it) with the
lowest total cost whose **service availability** meets ``target_availability``. When the
market never rose above the fallback's price, that is the **pay-as-you-go price** itself:
on ECS the ``SpotAsPriceGo`` strategy, on EAS ``spot_price_limit`` = the pay-as-you-go price
(EAS's ``cloud.computing.instances`` has no other bid field; domain.md §2-3).

The bid is rounded **up** to the price tick (:func:`spotlab.domain.round_bid_up`), so it is
never below the level its reason names; the reason and the table show the same number. A
``max_price`` (budget cap per hour) lowers the bid to the cap, with its cost and
availability beside the cost-optimal ones. The seed's 20 % rule is scored beside it.

**"Use a regular instance"** only when the model says spot with its fallback costs more
than regular at the target service availability: no bid meets the target (reclaims ×
start-up beyond the warning leave the service short too often), or the expected total cost
is not below the fallback's price (the market stayed above it).

**Across zones.** EAS deploys a service in one region and picks the zone, so the per-spec
row (one per provider, region, spec) must hold in every zone: each candidate is scored by
its worst zone.

**In and out of sample.** The figures of a bid are measured on the window it was chosen
on (in sample). Each row also carries an out-of-sample check on the store's own history:
the same rule applied to the window before (as long; for ``"all"``, the first half of the
history) and scored on this window (``oos_*`` columns), for headlines to show beside the
in-sample figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from spotlab.advise import costmodel as cm
from spotlab.advise.costmodel import DEFAULT_STARTUP_SECONDS, CostParams, PerKey, Range
from spotlab.domain import RULE_FRACTION, bid_text, round_bid_up_expr
from spotlab.errors import AnalysisError, NoDataError, did_you_mean
from spotlab.prices import (
    _EPOCH,
    SERIES,
    Levels,
    PriceSource,
    _as_list,
    _Source,
    catalog_on_demand,
    check_selection,
    flags_expr,
    open_source,
    parse_window,
    series_levels,
    to_utc,
    window_label,
)

__all__ = ["DEFAULT_STARTUP_SECONDS", "BidAdvice", "BidParams", "bid_curve", "recommend_bids"]

_EPS = 1e-9


@dataclass(frozen=True)
class BidParams:
    """Everything that decides a bid besides the data (the cost model's assumptions).

    - ``target_availability``: the **service** availability to meet, in (0, 1] (the
      service runs on the fallback while spot is lost).
    - ``max_price``: optional budget cap per hour, one number or per spec.
    - ``startup_seconds`` / ``startup_range``, ``lead_seconds``, ``fallback_price``,
      ``value_per_replica_hour``, ``reclaims_per_hour`` / ``reclaims_range``: see
      :class:`~spotlab.advise.costmodel.CostParams`.
    - ``price_tick``: bid rounding step, one number or per currency (default
      :data:`spotlab.domain.PRICE_TICK`, :data:`~spotlab.domain.SMALL_PRICE_TICK` under 1).
    - ``holdout``: compute the out-of-sample check (``oos_*`` columns); ``intervals``:
      compute the intervals (``*_low/_high``). Each costs about one more pass over the
      window's points.
    """

    target_availability: float = 0.99
    max_price: PerKey = None
    startup_seconds: PerKey = None
    startup_range: Range = None
    lead_seconds: PerKey = None
    fallback_price: PerKey = None
    value_per_replica_hour: PerKey = None
    reclaims_per_hour: PerKey = None
    reclaims_range: Range = None
    price_tick: float | Mapping[str, float] | None = None
    holdout: bool = True
    intervals: bool = True

    def __post_init__(self) -> None:
        t = self.target_availability
        if not (isinstance(t, int | float) and 0 < t <= 1):
            raise AnalysisError(
                f"target_availability must be in (0, 1], got {t!r} (0.99 means the service "
                "is up 99% of the time)"
            )
        for v in cm._values(self.max_price):
            cm._check_number("max_price", v)
        tick = self.price_tick
        ticks = list(tick.values()) if isinstance(tick, Mapping) else [tick]
        for step in ticks:
            if step is not None and not (cm._check_number("price_tick", float(step)) > 0):
                raise AnalysisError("price_tick must be positive")
        self.cost()  # checks the model's assumptions

    def cost(self) -> CostParams:
        """The cost model's part of these parameters."""
        return CostParams(
            startup_seconds=self.startup_seconds,
            startup_range=self.startup_range,
            lead_seconds=self.lead_seconds,
            fallback_price=self.fallback_price,
            value_per_replica_hour=self.value_per_replica_hour,
            reclaims_per_hour=self.reclaims_per_hour,
            reclaims_range=self.reclaims_range,
        )

    @classmethod
    def build(cls, params: BidParams | None, options: Mapping[str, Any]) -> BidParams:
        """``params`` with ``options`` (field names) replaced; unknown names fail with a hint."""
        names = [f.name for f in dataclasses.fields(cls)]
        for k in options:
            if k not in names:
                raise AnalysisError(
                    f"unknown bid parameter {k!r}.{did_you_mean(k, names)} "
                    f"Known: {', '.join(names)}"
                )
        given = {k: v for k, v in options.items() if v is not None or k == "max_price"}
        return dataclasses.replace(params or cls(), **given)


# -- groups: one series, or a spec across its zones ------------------------------------------


def _zone_groups(win: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    w = win.filter(pl.col("seconds").is_not_null())
    members = w.select(pl.col("wid").alias("gid"), "wid")
    info = w.select(pl.col("wid").alias("gid"), "spec", "fallback", "on_demand", "max", "tick")
    return members, info


def _spec_groups(win: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    keys = ["provider", "region", "spec"]
    w = win.filter(pl.col("seconds").is_not_null())
    groups = w.select(*keys).unique().sort(keys).with_row_index("gid")
    groups = groups.with_columns(pl.col("gid").cast(pl.Int64))
    w = w.join(groups, on=keys)
    members = w.select("gid", "wid")
    info = w.group_by("gid").agg(
        spec=pl.col("spec").first(),
        fallback=pl.col("fallback").min(),
        on_demand=pl.col("on_demand").min(),
        max=pl.col("max").max(),
        tick=pl.col("tick").min(),
    )
    return members, info, groups


_ASKED = ("bid", "optimal", "rule20", "fallback")


def _advise_groups(
    cv: cm.Curves, members: pl.DataFrame, info: pl.DataFrame, p: BidParams
) -> pl.DataFrame:
    """Per group: the decision, the recommended, cost-optimal, 20 % and fallback-price bids
    and each one's worst-zone figures (prefixed but the recommended one's)."""
    choice = cm.decide_bids(cv, members, info, p.target_availability)
    g = info.join(choice, on="gid", how="left")
    regular = pl.col("level").is_null() | (
        pl.col("fallback").is_not_null() & (pl.col("total_cost") >= pl.col("fallback") - _EPS)
    )
    optimal = round_bid_up_expr(pl.col("level"), pl.col("tick"))
    cap = cm.per_key(p.max_price, "spec", pl.lit(None, pl.Float64))
    g = g.with_columns(
        advice=pl.when(regular).then(pl.lit("regular")).otherwise(pl.lit("spot")),
        optimal=pl.when(~regular).then(optimal),
        cap=cap,
    ).with_columns(
        bid=pl.when(pl.col("cap").is_not_null() & (pl.col("cap") < pl.col("optimal")))
        .then("cap")
        .otherwise("optimal"),
        capped=pl.col("cap").is_not_null() & (pl.col("cap") < pl.col("optimal")),
        rule20=(RULE_FRACTION * pl.col("on_demand")).round(9),
    )
    asks = pl.concat([g.select("gid", strategy=pl.lit(n), at=pl.col(n)) for n in _ASKED])
    scored = cm.score_groups(cv, members, asks)
    wide = g.select(
        "gid", "advice", "level", "basis", "capped", "bid", "best_level", "best_availability",
        optimal_bid="optimal", rule20_bid="rule20",
        verdict_total=pl.col("total_cost"),
    )  # fmt: skip
    for n in _ASKED:
        part = scored.filter(pl.col("strategy") == n).select(
            "gid", *[pl.col(m).alias(m if n == "bid" else f"{n}_{m}") for m in cm.FIGURES]
        )
        wide = wide.join(part, on="gid", how="left")
    return wide


def _interval_asks(
    zone_adv: pl.DataFrame, spec_adv: pl.DataFrame, spec_members: pl.DataFrame
) -> pl.DataFrame:
    z = zone_adv.select(tag=pl.lit("zone"), wid="gid", at="bid")
    s = spec_adv.select("gid", "bid").join(spec_members, on="gid")
    s = s.select(tag=pl.lit("spec"), wid="wid", at="bid")
    return pl.concat([z, s]).filter(pl.col("at").is_not_null())


_LOW_HIGH = [f"{m}_{e}" for m in cm.INTERVAL_FIGURES for e in ("low", "high")]
#: how a spec's interval ends follow from its zones' (the figure is the worst zone's)
_WORST_BOUND = {
    "spot_share": "min",
    "availability": "min",
    "crossings_per_day": "max",
    "effective_cost": "max",
}


def _spec_intervals(iv: pl.DataFrame, spec_members: pl.DataFrame) -> pl.DataFrame:
    s = iv.filter(pl.col("tag") == "spec").join(spec_members, on="wid")
    aggs = []
    for m, how in _WORST_BOUND.items():
        for e in ("low", "high"):
            c = pl.col(f"{m}_{e}")
            aggs.append((c.min() if how == "min" else c.max()).alias(f"{m}_{e}"))
    return s.group_by("gid").agg(*aggs)


# -- the out-of-sample check -------------------------------------------------------------------


def _spotlab_bids(
    cv: cm.Curves, members: pl.DataFrame, info: pl.DataFrame, p: BidParams
) -> pl.DataFrame:
    """Per group: ``bid`` (null: regular) from the decision on ``cv``."""
    choice = cm.decide_bids(cv, members, info, p.target_availability)
    g = info.join(choice, on="gid", how="left")
    regular = pl.col("level").is_null() | (
        pl.col("fallback").is_not_null() & (pl.col("total_cost") >= pl.col("fallback") - _EPS)
    )
    bid = round_bid_up_expr(pl.col("level"), pl.col("tick"))
    cap = cm.per_key(p.max_price, "spec", pl.lit(None, pl.Float64))
    return g.select("gid", bid=pl.when(~regular).then(pl.min_horizontal(bid, cap.fill_null(bid))))


def _holdout(
    source: PriceSource,
    specs: Sequence[str] | None,
    zones: Sequence[str] | None,
    cv: cm.Curves,
    groups: Mapping[str, tuple[pl.DataFrame, pl.DataFrame]],
    length: timedelta | None,
    p: BidParams,
) -> dict[str, pl.DataFrame]:
    """Per kind of group ("zone", "spec"): ``gid`` and ``oos_bid, oos_advice,
    oos_availability, oos_spot_share, oos_effective_cost, oos_cost_ratio, oos_start,
    oos_origin``: the rule applied to the window before this one (as long; for ``"all"``,
    the first half of each provider's history), scored on this one (the second half)."""
    w = cv.windows.filter(pl.col("seconds").is_not_null())
    span = w.group_by("provider").agg(
        first=pl.col("start").min(), w_start=pl.col("w_start").min(), w_end=pl.col("w_end").max()
    )
    if length is not None:
        train = span.select(
            "provider", w_start=pl.col("w_start") - pl.lit(length), w_end="w_start", tag=pl.lit(0)
        )
        test_bounds = None
    else:
        mid = pl.col("first") + (pl.col("w_end") - pl.col("first")) / 2
        train = span.select(
            "provider", w_start=pl.lit(_EPOCH).cast(pl.Datetime("us", "UTC")), w_end=mid,
            tag=pl.lit(0),
        )  # fmt: skip
        test_bounds = span.select("provider", w_start=mid, w_end="w_end", tag=pl.lit(1))
    tlv, tkeys = cm.levels_between(source, specs, zones, train)
    empty = {k: pl.DataFrame(schema={"gid": pl.Int64}) for k in groups}
    if tlv.levels.height == 0:
        return empty
    tcv = cm.curves(tlv, p.cost(), p.price_tick)
    if test_bounds is None:
        test_cv, test_map = cv, w.select("wid", *SERIES).with_columns(test_wid=pl.col("wid"))
    else:
        elv, ekeys = cm.levels_between(source, specs, zones, test_bounds)
        if elv.levels.height == 0:
            return empty
        test_cv = cm.curves(elv, p.cost(), p.price_tick)
        test_map = ekeys.select(pl.col("wid").alias("test_wid"), *SERIES).join(
            w.select("wid", *SERIES), on=list(SERIES)
        )
    train_map = tkeys.select(pl.col("wid").alias("train_wid"), *SERIES).join(
        w.select("wid", *SERIES), on=list(SERIES)
    )
    tw = tcv.windows.filter(pl.col("seconds").is_not_null()).select("wid")
    origin = span.select("provider", oos_start=train["w_start"], oos_origin=train["w_end"])
    out = {}
    for kind, (members, _info) in groups.items():
        m_tr = members.join(train_map, on="wid").join(tw, left_on="train_wid", right_on="wid")
        m_te = members.join(test_map.select("wid", "test_wid"), on="wid")
        # a group is checked when every zone has data in both windows
        n = members.group_by("gid").agg(n=pl.len())
        ok = (
            m_tr.group_by("gid").agg(a=pl.len())
            .join(m_te.group_by("gid").agg(b=pl.len()), on="gid")
            .join(n, on="gid")
            .filter((pl.col("a") == pl.col("n")) & (pl.col("b") == pl.col("n")))
            .select("gid")
        )  # fmt: skip
        tr_members = m_tr.join(ok, on="gid").select("gid", wid="train_wid")
        te_members = m_te.join(ok, on="gid").select("gid", wid="test_wid")
        if tr_members.height == 0:
            out[kind] = pl.DataFrame(schema={"gid": pl.Int64})
            continue
        info = (
            tr_members.join(tcv.windows, on="wid")
            .group_by("gid")
            .agg(
                spec=pl.col("spec").first(),
                provider=pl.col("provider").first(),
                fallback=pl.col("fallback").min(),
                on_demand=pl.col("on_demand").min(),
                max=pl.col("max").max(),
                tick=pl.col("tick").min(),
            )
        )
        bids = _spotlab_bids(tcv, tr_members, info, p)
        scored = cm.score_groups(
            test_cv, te_members, bids.select("gid", strategy=pl.lit("spotlab"), at="bid")
        )
        fb = (
            te_members.join(test_cv.windows.select("wid", "fallback"), on="wid")
            .group_by("gid")
            .agg(fb=pl.col("fallback").min())
        )
        regular = pl.col("bid").is_null()
        out[kind] = (
            bids.join(scored, on="gid", how="left")
            .join(fb, on="gid", how="left")
            .join(info.select("gid", "provider"), on="gid")
            .join(origin, on="provider", how="left")
            .select(
                "gid",
                oos_bid="bid",
                oos_advice=pl.when(regular).then(pl.lit("regular")).otherwise(pl.lit("spot")),
                oos_availability=pl.when(regular).then(1.0).otherwise("availability"),
                oos_spot_share=pl.when(regular).then(0.0).otherwise("spot_share"),
                oos_effective_cost=pl.when(regular).then("fb").otherwise("effective_cost"),
                oos_cost_ratio=pl.when(regular)
                .then(pl.col("fb") / pl.col("on_demand"))
                .otherwise(pl.col("effective_cost") / pl.col("on_demand")),
                oos_start="oos_start",
                oos_origin="oos_origin",
            )
        )
    return out


# -- reasons ------------------------------------------------------------------------------------


def _money(x: float | None, tick: float | None = None) -> str:
    return "n/a" if x is None else bid_text(x, tick)


def _pct(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 1 - 1e-12:
        return "100%"
    if x >= 0.9995:
        return f"{100 * x:.3f}%"
    return f"{100 * x:.1f}%" if x < 0.995 else f"{100 * x:.2f}%"


def _where(r: Mapping[str, Any]) -> str:
    region = r.get("region") or "?"
    zones = r.get("zones")
    zone = r.get("zone")
    head = f"{r.get('provider')} {region}"
    if zones and "," in zones:
        return f"{head} (worst of zones {zones})"
    if zone and zone != region:
        return f"{head} zone {zone}"
    if zones and zones != region:
        return f"{head} zone {zones}"
    return head


def _payg_note(provider: str | None, bid: str) -> str:
    """How a bid at the pay-as-you-go price is expressed (domain.md §2-4)."""
    if provider == "alibaba":
        return f"ECS: the SpotAsPriceGo strategy; EAS: spot_price_limit = {bid}"
    if provider == "aws":
        return "AWS: no max price set, which defaults to on-demand (AWS advises not to set one)"
    if provider == "gcp":
        return "GCP takes no bids: read as the price at which to move to a regular instance"
    return f"a maximum price of {bid}"


def _bid_sentence(r: Mapping[str, Any], tick: float | None, label: str) -> str:
    od, fb = r["on_demand"], r["fallback_price"]
    m = lambda x: _money(x, tick)  # noqa: E731
    basis = r["bid_basis"]
    level = m(r["decision_level"])
    rounded = ""
    if r["optimal_bid"] is not None and abs(r["optimal_bid"] - r["decision_level"]) > 1e-12:
        level = f"{r['decision_level']:.6g}"
        rounded = f" rounded up to the {tick:g} tick"
    if basis == "fallback price" and od is not None and fb is not None and abs(fb - od) < _EPS:
        return (
            f"bid {m(r['optimal_bid'])} = the pay-as-you-go price {level}{rounded} "
            f"({_payg_note(r.get('provider'), m(r['optimal_bid']))}): below it spot is "
            "always cheaper than the regular fallback, and the market never rose above it in "
            f"the last {label} (highest {m(r['max'])})"
        )
    if basis == "fallback price":
        return (
            f"bid {m(r['optimal_bid'])} = the next entry's price {level}{rounded}: below it "
            "staying on spot is cheaper than moving down the list"
        )
    if basis == "above the fallback price":
        return (
            f"bid {m(r['optimal_bid'])} (level {level}{rounded}), above the fallback's "
            f"{m(fb)}: over the last {label} the market rose above {m(fb)} only in short "
            "spells, and paying the excess there cost less than the restarts and downtime "
            f"a bid at {m(fb)} causes ({m(r['fallback_effective_cost'])}/h effective, "
            f"availability {_pct(r['fallback_availability'])})"
        )
    if basis == "below the fallback price":
        why = (
            f"reclaims that come at any bid ({r['reclaims_day']:.2f} a day on spot, each "
            f"{r['downtime_per_reclaim_s']:.0f} s short of a replica) make more time on spot "
            "cost more than it saves, or miss the availability target"
            if (r.get("reclaims_day") or 0) > 0
            else f"the market hovered around {m(fb)}, and leaving spot below it saves the "
            f"repeated reclaims a bid at {m(fb)} causes "
            f"({r['fallback_crossings_per_day']:.2f} a day)"
        )
        return (
            f"bid {m(r['optimal_bid'])} (level {level}{rounded}), below the fallback's "
            f"{m(fb)}: {why}; at this bid the service moves to the fallback while the market "
            "is above it"
        )
    return (
        f"no on-demand price known: bid {m(r['optimal_bid'])} = the highest price of the "
        f"last {label}{rounded} (load a specs catalog to weigh the regular fallback)"
    )


def _reason(r: Mapping[str, Any], p: BidParams, label: str, oos_label: str) -> str:
    tick = r.get("tick")
    m = lambda x: _money(x, tick)  # noqa: E731
    cur = r.get("currency") or ""
    where = _where(r)
    stale = ""
    if "stale" in (r.get("flag_codes") or ""):
        age = (r["w_end"] - r["newest_ts"]).total_seconds() / 86400
        stale = (
            f"stale: the newest price point is {age:.0f} days old (change points: the price "
            "may simply not have changed); the figures assume it still holds; "
        )
    if r["advice"] == "no data":
        return f"{where}: no price point in the window: widen the window or ingest newer data"
    if r["advice"] == "regular":
        if r["decision_level"] is None:
            why = (
                f"no bid meets the {_pct(p.target_availability)} service availability target: "
                f"the most available one ({m(r['best_level'])}) gives "
                f"{_pct(r['best_availability'])} ({r['reclaims_day']:.2f} capacity reclaims "
                f"and its price reclaims a day, each short of a replica for "
                f"{r['downtime_per_reclaim_s']:.0f} s: {r['startup_seconds']:.0f} s start-up "
                f"beyond the {r['lead_seconds']:.0f} s warning)"
            )
        else:
            why = (
                f"spot with its fallback would cost {m(r['verdict_total'])} {cur}/h (incl. "
                f"downtime valued at {m(r['value_per_replica_hour'])}/h) over the last {label}, "
                f"not below the regular {m(r['fallback_price'])} {cur}/h (spot held "
                f"{_pct(r['fallback_spot_share'])} at a bid of {m(r['fallback_price'])})"
            )
        return f"{where}: {stale}{why}: use a regular instance for this spec"
    text = f"{where}: {stale}" + _bid_sentence(r, tick, label)
    iv = ""
    lo, hi = r.get("availability_low"), r.get("availability_high")
    if lo is not None and not (_pct(lo) == _pct(hi) == _pct(r["availability"])):
        iv = f" (90%: {_pct(lo)}-{_pct(hi)})"
    text += (
        f". Service availability {_pct(r['availability'])}{iv}, spot held "
        f"{_pct(r['spot_share'])}, {r['crossings_per_day']:.2f} price reclaims/day, effective "
        f"{m(r['effective_cost'])} {cur}/h"
    )
    if r.get("effective_cost_low") is not None:
        text += f" (90%: {m(r['effective_cost_low'])}-{m(r['effective_cost_high'])})"
    if r["on_demand"] is not None:
        text += f", {_pct(r['saving'])} below on-demand {m(r['on_demand'])}"
    text += f", in sample (last {label})"
    if r.get("capped"):
        text += (
            f". Budget cap {m(r['bid'])}: availability {_pct(r['availability'])} and "
            f"{m(r['effective_cost'])}/h vs {_pct(r['optimal_availability'])} and "
            f"{m(r['optimal_effective_cost'])}/h at the cost-optimal {m(r['optimal_bid'])}"
        )
    if r["rule20_bid"] is not None:
        text += (
            f". The 20% rule ({m(r['rule20_bid'])}) held spot {_pct(r['rule20_spot_share'])} "
            f"at {m(r['rule20_effective_cost'])}/h"
        )
    if r.get("oos_availability") is not None:
        ratio = r.get("oos_cost_ratio")
        cost = f"{ratio:.3f} × on-demand" if ratio is not None else m(r["oos_effective_cost"])
        oos_bid = m(r["oos_bid"]) if r.get("oos_bid") is not None else "regular"
        text += (
            f". Out of sample ({oos_label}): bid {oos_bid}, service availability "
            f"{_pct(r['oos_availability'])} at {cost}"
        )
    elif p.holdout:
        text += ". Out of sample: no history before the window to check on"
    return text


# -- public API ---------------------------------------------------------------------------------


@dataclass
class BidAdvice:
    """The result of :func:`recommend_bids`.

    - ``zones``: one row per (provider, zone, spec);
    - ``specs``: one row per (provider, region, spec) across its zones (worst zone).

    Columns (both): the series keys, ``currency, start, end, hours, points, on_demand,
    on_demand_estimated, fallback_price, market_mean, market_max, advice`` ("spot",
    "regular" or "no data"), ``bid`` (recommended, rounded up; the cap when one binds),
    ``bid_basis``, ``decision_level`` (before rounding), ``optimal_bid`` and, at the
    recommended bid, :data:`~spotlab.advise.costmodel.FIGURES` (``availability`` is the
    **service** availability), ``interruptions_per_day`` (price + capacity reclaims),
    ``saving`` and ``cost_ratio`` vs on-demand, each interval ``*_low/_high``; the same
    figures prefixed ``optimal_`` (the cost-optimal bid), ``rule20_`` (the seed's 20 %
    rule, with ``rule20_bid``) and ``fallback_`` (a bid at the fallback price); the
    out-of-sample check ``oos_bid, oos_advice, oos_availability, oos_spot_share,
    oos_effective_cost, oos_cost_ratio, oos_start, oos_origin``; the assumptions
    ``startup_seconds, lead_seconds, downtime_per_reclaim_s, value_per_replica_hour,
    reclaims_per_hour, restart_cost``; ``flags`` (text), ``flag_codes`` (``short``,
    ``stale``, ``no-od``, ``od-est``, ``no-data``) and a ``reason`` naming the region.
    """

    zones: pl.DataFrame
    specs: pl.DataFrame
    params: BidParams = field(default_factory=BidParams)
    window: str = "30d"
    label: str = "30 days"
    oos_label: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "target_availability": self.params.target_availability,
            "out_of_sample": self.oos_label,
            "specs": self.specs.to_dicts(),
            "zones": self.zones.to_dicts(),
        }


_FIG = [m for m in cm.FIGURES]
_OUT = (
    "advice", "bid", "bid_basis", "capped", "decision_level", "optimal_bid",
    *_FIG, "interruptions_per_day", "saving", "cost_ratio", *_LOW_HIGH,
    *[f"optimal_{m}" for m in _FIG], "rule20_bid", *[f"rule20_{m}" for m in _FIG],
    *[f"fallback_{m}" for m in _FIG],
    "oos_bid", "oos_advice", "oos_availability", "oos_spot_share", "oos_effective_cost",
    "oos_cost_ratio", "oos_start", "oos_origin",
    "startup_seconds", "lead_seconds", "downtime_per_reclaim_s", "value_per_replica_hour",
    "reclaims_per_hour", "restart_cost", "verdict_total", "best_level", "best_availability",
)  # fmt: skip
_HIDDEN = ("verdict_total", "best_level", "best_availability", "capped")


def _flag_codes() -> pl.Expr:
    f = pl.col("flags").fill_null("")
    parts = [
        pl.when(f.str.contains("no price point")).then(pl.lit("no-data")),
        pl.when(f.str.contains("short history")).then(pl.lit("short")),
        pl.when(f.str.contains("stale")).then(pl.lit("stale")),
        pl.when(f.str.contains("no on-demand")).then(pl.lit("no-od")),
        pl.when(pl.col("on_demand_estimated").fill_null(False)).then(pl.lit("od-est")),
    ]
    text = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(text != "").then(text).alias("flag_codes")


def _finish(
    frame: pl.DataFrame, keys: Sequence[str], p: BidParams, label: str, oos_label: str
) -> pl.DataFrame:
    f = frame.with_columns(
        advice=pl.when(pl.col("seconds").is_null())
        .then(pl.lit("no data"))
        .otherwise(pl.col("advice")),
        # without an on-demand price the highest price of the window stands in for the
        # fallback (costmodel.with_costs)
        bid_basis=pl.when(pl.col("on_demand").is_null() & (pl.col("basis") == "fallback price"))
        .then(pl.lit("highest price seen"))
        .otherwise(pl.col("basis")),
        decision_level=pl.col("level"),
        interruptions_per_day=pl.col("crossings_per_day") + pl.col("reclaims_per_day"),
        saving=1.0 - pl.col("effective_cost") / pl.col("on_demand"),
        cost_ratio=pl.col("effective_cost") / pl.col("on_demand"),
        startup_seconds=pl.col("startup_s"),
        lead_seconds=pl.col("lead_s"),
        downtime_per_reclaim_s=(pl.col("startup_s") - pl.col("lead_s")).clip(lower_bound=0.0),
        value_per_replica_hour=pl.col("value"),
        reclaims_per_hour=pl.col("reclaim_rate"),
        reclaims_day=pl.col("reclaim_rate") * 24.0,
        restart_cost=pl.col("startup_s")
        / 3600.0
        * (pl.col("fallback") + pl.col("mean_paid").fill_null(pl.col("fallback"))),
        fallback_price=pl.col("fallback"),
    )
    f = (
        f.with_columns(flags_expr())
        .with_columns(
            flags=pl.concat_str(
                [
                    pl.col("flags"),
                    pl.when(pl.col("on_demand_estimated").fill_null(False)).then(
                        pl.lit("on-demand price is a catalog estimate")
                    ),
                ],
                separator="; ",
                ignore_nulls=True,
            )
        )
        .with_columns(
            flags=pl.when(pl.col("flags") != "").then("flags"),
        )
        .with_columns(_flag_codes())
    )
    for c in _OUT:
        if c not in f.columns:
            f = f.with_columns(pl.lit(None).alias(c))
    rows = f.to_dicts()
    reasons = [_reason(r, p, label, oos_label) for r in rows]
    return f.with_columns(reason=pl.Series(reasons, dtype=pl.String)).select(
        *keys,
        "currency",
        "start",
        pl.col("w_end").alias("end"),
        "hours",
        "points",
        "on_demand",
        pl.col("on_demand_estimated").fill_null(False),
        "fallback_price",
        pl.col("mean").alias("market_mean"),
        pl.col("max").alias("market_max"),
        *[c for c in _OUT if c not in _HIDDEN],
        "tick",
        "flags",
        "flag_codes",
        "reason",
    )


def _estimates(src: _Source, windows: pl.DataFrame, from_points: pl.DataFrame) -> pl.DataFrame:
    """``on_demand_estimated``: the on-demand price came from a catalog row marked as an
    estimate (``specs.price_is_estimate``)."""
    if not src.catalog:
        return windows.with_columns(on_demand_estimated=pl.lit(False))
    est = src.con.sql(
        "SELECT provider, region, spec, bool_or(coalesce(price_is_estimate, false)) AS _est "
        "FROM specs WHERE on_demand_price IS NOT NULL GROUP BY ALL"
    ).pl()
    return (
        windows.join(from_points, on="wid", how="left")
        .join(est, on=["provider", "region", "spec"], how="left")
        .with_columns(
            on_demand_estimated=pl.col("on_demand").is_not_null()
            & ~pl.col("_own_od").fill_null(False)
            & pl.col("_est").fill_null(False)
        )
        .drop("_own_od", "_est")
    )


def _window_length(
    window: str | timedelta | None, start: datetime | str | None, end: datetime | str | None
) -> timedelta | None:
    if start is not None:
        s, e = to_utc(start), to_utc(end)
        return (e - s) if (s is not None and e is not None) else None
    return parse_window(window)


def recommend_bids(
    source: PriceSource,
    specs: str | Sequence[str] | None = None,
    zones: str | Sequence[str] | None = None,
    window: str | timedelta | None = "30d",
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
    params: BidParams | None = None,
    **options: Any,
) -> BidAdvice:
    """Recommend ``spot_price_limit`` per (spec, zone) and per spec across its zones.

    ``source`` is a :class:`~spotlab.store.Store` or a frame of price points; ``window``
    is ``"48h"``, ``"7d"``, ``"30d"``, ``"all"`` or a timedelta ending at ``end`` (default:
    the provider's newest point). ``params`` (a :class:`BidParams`) and/or its fields as
    keywords (``target_availability=0.995``, ``max_price=5.0``, ``startup_seconds=...``)
    set the model. See the module docstring and :class:`BidAdvice` for the columns.

    >>> advice = recommend_bids(store, specs="ecs.gn8is.2xlarge")  # doctest: +SKIP
    >>> advice.specs.select("spec", "bid", "availability", "oos_availability")  # doctest: +SKIP
    """
    p = BidParams.build(params, options)
    specs_l, zones_l = _as_list(specs), _as_list(zones)
    label = window_label(window) if start is None else "window"
    length = _window_length(window, start, end)
    with open_source(source, specs_l, zones_l, provider) as src:
        index, lv = series_levels(src, window, start, end)
        check_selection(src, index, specs_l, zones_l)
        own = lv.windows.select("wid", _own_od=pl.col("on_demand").is_not_null())
        win = _estimates(src, catalog_on_demand(src, lv.windows), own)
        if lv.levels.height == 0:
            lo, hi = str(win["w_start"].min()), str(win["w_end"].max())
            raise AnalysisError(
                f"no price point in the window {lo} .. {hi} for the selected series: widen "
                "the window (e.g. window='all') or pick another end"
            )
        cv = cm.curves(Levels(windows=win, levels=lv.levels), p.cost(), p.price_tick)
        zm, zi = _zone_groups(cv.windows)
        sm, si, sgroups = _spec_groups(cv.windows)
        zone_adv = _advise_groups(cv, zm, zi, p)
        spec_adv = _advise_groups(cv, sm, si, p)
        asks = _interval_asks(zone_adv, spec_adv, sm)
        carry = index.select("provider", "zone", "spec", "carry_price")
        sums = cm.part_sums(src, cv, asks, carry=carry) if p.intervals else None
    if sums is not None:
        iv = cm.interval_figures(cv, asks, sums)
    else:
        iv = pl.DataFrame(
            schema={"tag": pl.String, "wid": pl.Int64, **dict.fromkeys(_LOW_HIGH, pl.Float64)}
        )
    if p.holdout:
        oos = _holdout(
            source, specs_l, zones_l, cv, {"zone": (zm, zi), "spec": (sm, si)}, length, p
        )
    else:
        oos = {k: pl.DataFrame(schema={"gid": pl.Int64}) for k in ("zone", "spec")}
    oos_zone = oos["zone"].rename({"gid": "wid"})
    oos_spec = oos["spec"]
    oos_label = (
        f"the rule applied to the {label} before, scored on the last {label}"
        if length is not None
        else "the rule applied to the first half of the history, scored on the second"
    )
    zone_iv = iv.filter(pl.col("tag") == "zone").drop("tag")
    zrows = (
        cv.windows.join(zone_adv, left_on="wid", right_on="gid", how="left")
        .join(zone_iv, on="wid", how="left")
        .join(oos_zone, on="wid", how="left")
        .with_columns(
            hours=(pl.col("w_end") - pl.col("start")).dt.total_seconds() / 3600,
            zones=pl.col("zone"),
        )
    )
    zone_rows = _finish(zrows, ("provider", "region", "zone", "spec"), p, label, oos_label).sort(
        "provider", "spec", "zone"
    )
    spec_rows = _spec_rows(
        cv.windows, sgroups, spec_adv, _spec_intervals(iv, sm), oos_spec, p, label, oos_label
    )
    return BidAdvice(
        zones=zone_rows,
        specs=spec_rows,
        params=p,
        window=str(window) if start is None else f"{start} .. {end or 'now'}",
        label=label,
        oos_label=oos_label if p.holdout else "",
    )


def _spec_rows(
    win: pl.DataFrame,
    groups: pl.DataFrame,
    adv: pl.DataFrame,
    intervals: pl.DataFrame,
    oos: pl.DataFrame,
    p: BidParams,
    label: str,
    oos_label: str,
) -> pl.DataFrame:
    keys = ["provider", "region", "spec"]
    w = win.filter(pl.col("seconds").is_not_null()).join(groups, on=keys)
    info = w.group_by("gid").agg(
        *[pl.col(k).first() for k in keys],
        zones=pl.col("zone").sort().str.join(", "),
        currency=pl.col("currency").drop_nulls().first(),
        on_demand=pl.col("on_demand").min(),
        on_demand_estimated=pl.col("on_demand_estimated").any(),
        fallback=pl.col("fallback").min(),
        tick=pl.col("tick").min(),
        max=pl.col("max").max(),
        mean=pl.col("mean").max(),
        seconds=pl.col("seconds").min(),
        start=pl.col("start").max(),
        w_end=pl.col("w_end").max(),
        newest_ts=pl.col("newest_ts").min(),
        points=pl.col("points").sum(),
        startup_s=pl.col("startup_s").max(),
        lead_s=pl.col("lead_s").min(),
        value=pl.col("value").max(),
        reclaim_rate=pl.col("reclaim_rate").max(),
    )
    out = (
        info.join(adv, on="gid", how="left")
        .join(intervals, on="gid", how="left")
        .join(oos, on="gid", how="left")
        .with_columns(hours=(pl.col("w_end") - pl.col("start")).dt.total_seconds() / 3600)
    )
    return _finish(out, (*keys, "zones"), p, label, oos_label).sort("provider", "spec", "region")


def bid_curve(
    source: PriceSource,
    specs: str | Sequence[str] | None = None,
    zones: str | Sequence[str] | None = None,
    window: str | timedelta | None = "30d",
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
    params: BidParams | None = None,
    **options: Any,
) -> pl.DataFrame:
    """Every candidate bid (distinct price level) of each series with its figures
    (:data:`~spotlab.advise.costmodel.FIGURES`, ``saving``, ``cost_ratio``): the trade-off
    behind :func:`recommend_bids`, for charts and checks."""
    p = BidParams.build(params, options)
    specs_l, zones_l = _as_list(specs), _as_list(zones)
    with open_source(source, specs_l, zones_l, provider) as src:
        index, lv = series_levels(src, window, start, end)
        check_selection(src, index, specs_l, zones_l)
        lv = Levels(windows=catalog_on_demand(src, lv.windows), levels=lv.levels)
    if lv.levels.height == 0:
        raise NoDataError("no price point in the window: widen the window")
    cv = cm.curves(lv, p.cost(), p.price_tick)
    keys = cv.windows.select("wid", "provider", "zone", "spec", "currency", "on_demand", "fallback")
    return (
        cv.curve.join(keys, on="wid")
        .select(
            "provider",
            "zone",
            "spec",
            "currency",
            pl.col("level").alias("bid"),
            *cm.FIGURES,
            "saving",
            "cost_ratio",
            "on_demand",
            "fallback",
        )
        .sort("provider", "spec", "zone", "bid")
    )


# -- the table people read ----------------------------------------------------------------------

#: (column, header, priority): the lower the priority, the longer a column stays when the
#: table must fit a narrow terminal (priority 0 never goes)
TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("spec", "spec", 0),
    ("region", "region", 1),
    ("zones", "zones", 7),
    ("currency", "cur", 0),
    ("advice", "advice", 0),
    ("bid", "bid", 0),
    ("effective_cost", "cost/h (in)", 3),
    ("availability", "avail (in)", 2),
    ("oos_availability", "avail (OOS)", 2),
    ("oos_cost_ratio", "cost÷OD (OOS)", 4),
    ("saving", "saving", 6),
    ("rule20_bid", "20% rule", 5),
    ("flag_codes", "flags", 0),
    ("provider", "provider", 8),
)


def bid_table(
    advice: BidAdvice, per_zone: bool = False, width: int | None = None, wide: bool = False
) -> pl.DataFrame:
    """The rows of ``advice`` as text columns for a terminal: money in the row's tick
    (the bid exactly as the reason names it), shares as percentages, the in-sample and
    out-of-sample figures labelled. With ``width`` (characters) columns are dropped, least
    important first, until the table fits; ``wide`` keeps them all."""
    rows = advice.zones if per_zone else advice.specs
    cols = [(c if not (per_zone and c == "zones") else "zone", h, pr) for c, h, pr in TABLE_COLUMNS]
    if not per_zone and rows.height and (rows["zones"] == rows["region"]).all():
        cols = [x for x in cols if x[0] != "zones"]  # one zone per region (GCP): no news
    text: dict[str, list[str]] = {}
    recs = rows.to_dicts()
    for c, h, _ in cols:
        vals = []
        for r in recs:
            v = r.get(c)
            if c in ("bid", "effective_cost", "rule20_bid"):
                vals.append("–" if v is None else _money(v, r.get("tick")))
            elif c in ("availability", "oos_availability", "saving"):
                vals.append("–" if v is None else _pct(v))
            elif c == "oos_cost_ratio":
                vals.append("–" if v is None else f"{v:.3f}")
            else:
                vals.append("" if v is None else str(v))
        text[h] = vals
    frame = pl.DataFrame(text, schema={h: pl.String for _, h, _ in cols})
    if wide or width is None:
        return frame
    order = sorted(((pr, i) for i, (_, _, pr) in enumerate(cols)), reverse=True)

    def fits(f: pl.DataFrame) -> bool:
        widths = [max([len(c), *[len(v) for v in f[c].to_list()]]) + 3 for c in f.columns]
        return sum(widths) + 1 <= (width or 0)

    for pr, i in order:
        if fits(frame) or pr == 0:
            break
        frame = frame.drop(cols[i][1])
    return frame
