"""What a spot bid does, and which bid to set (``spot_price_limit``).

You pay the market price, not the bid; the instance is kept while market ≤ bid. On a
change-point price series, over a window (see :mod:`spotlab.prices` for the convention):

- ``availability(b)``: share of time with market ≤ b;
- ``interruptions_per_day(b)``: up-crossings of b (market goes from ≤ b to > b) per day;
- ``mean_paid(b)``: time-weighted mean market price while held;
- ``effective_cost(b)`` per hour = availability × mean_paid + (1 − availability) × fallback
  price + interruptions per hour × restart cost, where the fallback price defaults to the
  on-demand price (a regular instance takes over) and the restart cost = replacement
  start-up seconds × on-demand price / 3600 (paying for an instance that does not serve
  yet).

Candidate bids are the distinct price levels of the series (availability, up-crossings and
mean paid only change at levels), so every level is evaluated at once from running sums.

**Which bid.** When the fallback is on-demand, raising the bid never raises the expected
cost (a held hour costs the market price, below on-demand), so in the window the cheapest
bid is the highest level seen. A bid is also the most you can be charged per hour, and the
past only bounds the future loosely. So spotlab takes the *lowest* level that meets the
availability target (and the interruption cap) whose effective cost is within
``cost_tolerance`` × on-demand of the cheapest such level (``target_level``), adds
``headroom`` × on-demand against price rises, rounds up to the price tick and never goes
above on-demand. When no bid up to on-demand meets the target, the answer is a regular
instance. The default headroom (10% of on-demand) comes from the rolling-origin backtest on
the real GCP GPU history (README, "Bids"): without it, 43% of series met a 99% target out
of sample, as with the max-observed bid; with it, 99%, at a lower mean effective cost.

**Across zones.** EAS deploys a service in one region and picks the zone, so the per-spec
row (one per provider, region, spec) must hold in every zone: each candidate bid is scored
by its *worst* zone (lowest availability, most interruptions, highest mean paid and
effective cost), and the recommended spec bid is chosen on that worst-zone curve. If any
zone cannot meet the target at on-demand, the spec gets "regular".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from spotlab.domain import PRICE_TICK, RULE_FRACTION, SMALL_PRICE_TICK, round_bid_up_expr
from spotlab.errors import AnalysisError, NoDataError
from spotlab.prices import (
    Levels,
    PriceSource,
    _as_list,
    catalog_on_demand,
    check_selection,
    cumulative,
    flags_expr,
    open_source,
    series_levels,
    value_at,
    window_label,
)

#: Seconds from a reclaim to a serving replacement, when no cold-start model supplies
#: one: image pull 36 s + application start 38 s (the vendor's figures for a 1.34 GB image
#: without ACR acceleration) + 49 s model load (median of the seed's nine OSS-mounted
#: Stable Diffusion checkpoints, 16-90 s). Scheduling and warm-up are not included.
DEFAULT_STARTUP_SECONDS = 36.0 + 38.0 + 49.0
#: the recommended bid may cost this share of on-demand per hour more than the cheapest
#: bid meeting the target, in exchange for a lower cap on the price paid
DEFAULT_COST_TOLERANCE = 0.01
#: share of on-demand added to the target level before rounding (never above on-demand);
#: chosen from the GCP backtest (see the module docstring)
DEFAULT_HEADROOM = 0.1

_EPS = 1e-9
STRATEGIES = ("bid", "rule20", "optimal")


@dataclass(frozen=True)
class BidParams:
    """Everything that decides a bid besides the data.

    - ``target_availability``: the share of time the spot instance must be held (0-1].
    - ``max_interruptions_per_day``: optional cap on up-crossings per day.
    - ``startup_seconds``: seconds to a serving replacement, one number or per spec
      (:data:`DEFAULT_STARTUP_SECONDS` for specs not given).
    - ``fallback_price``: price per hour while not on spot, one number or per spec
      (default: the spec's on-demand price).
    - ``price_tick``: bid rounding step, one number or per currency (default
      :data:`PRICE_TICK`, :data:`SMALL_PRICE_TICK` under 1).
    - ``cost_tolerance``: see the module docstring (share of on-demand per hour).
    - ``rule_fraction``: the seed's rule of thumb (20% of on-demand).
    """

    target_availability: float = 0.99
    max_interruptions_per_day: float | None = None
    startup_seconds: float | Mapping[str, float] | None = None
    fallback_price: float | Mapping[str, float] | None = None
    price_tick: float | Mapping[str, float] | None = None
    cost_tolerance: float = DEFAULT_COST_TOLERANCE
    headroom: float = DEFAULT_HEADROOM
    rule_fraction: float = RULE_FRACTION

    def __post_init__(self) -> None:
        t = self.target_availability
        if not (isinstance(t, int | float) and 0 < t <= 1):
            raise AnalysisError(
                f"target_availability must be in (0, 1], got {t!r} (0.99 means 99% of time)"
            )
        m = self.max_interruptions_per_day
        if m is not None and (not math.isfinite(m) or m < 0):
            raise AnalysisError(f"max_interruptions_per_day must be >= 0, got {m!r}")
        if not 0 <= self.headroom <= 1:
            raise AnalysisError(f"headroom must be in [0, 1], got {self.headroom!r}")
        if self.cost_tolerance < 0:
            raise AnalysisError(f"cost_tolerance must be >= 0, got {self.cost_tolerance!r}")
        if not 0 < self.rule_fraction <= 1:
            raise AnalysisError(f"rule_fraction must be in (0, 1], got {self.rule_fraction!r}")
        for name in ("startup_seconds", "fallback_price", "price_tick"):
            value = getattr(self, name)
            values = value.values() if isinstance(value, Mapping) else [value]
            for v in values:
                if v is not None and (not math.isfinite(float(v)) or float(v) < 0):
                    raise AnalysisError(f"{name} must be >= 0, got {v!r}")
        tick = self.price_tick
        ticks = tick.values() if isinstance(tick, Mapping) else [tick]
        if any(v is not None and float(v) == 0 for v in ticks):
            raise AnalysisError("price_tick must be positive")


def _per_key(value: float | Mapping[str, float] | None, col: str, default: pl.Expr) -> pl.Expr:
    if value is None:
        return default
    if isinstance(value, Mapping):
        mapping = {str(k): float(v) for k, v in value.items()}
        return (
            pl.col(col)
            .replace_strict(mapping, default=None, return_dtype=pl.Float64)
            .fill_null(default)
        )
    return pl.lit(float(value), dtype=pl.Float64)


def with_costs(windows: pl.DataFrame, params: BidParams) -> pl.DataFrame:
    """Add ``startup_seconds, fallback, restart_cost, tick`` to windows (which carry
    ``spec, currency, on_demand``)."""
    od = pl.col("on_demand")
    return windows.with_columns(
        startup_seconds=_per_key(
            params.startup_seconds, "spec", pl.lit(DEFAULT_STARTUP_SECONDS, dtype=pl.Float64)
        ),
        fallback=_per_key(params.fallback_price, "spec", od),
    ).with_columns(
        restart_cost=pl.col("startup_seconds") * od / 3600.0,
        tick=_per_key(
            params.price_tick,
            "currency",
            pl.when(od.fill_null(pl.col("max")) < 1)
            .then(pl.lit(SMALL_PRICE_TICK))
            .otherwise(pl.lit(PRICE_TICK)),
        ),
    )


def metrics(frame: pl.DataFrame) -> pl.DataFrame:
    """Bid metrics from running sums: needs ``cum_seconds, cum_price_seconds, ups`` (at the
    bid; null = below every level) and the window's ``seconds, on_demand, fallback,
    restart_cost``."""
    held = pl.col("cum_seconds").fill_null(0.0)
    ups = pl.col("ups").fill_null(0).cast(pl.Float64)
    a = held / pl.col("seconds")
    mean_paid = pl.when(held > 0).then(pl.col("cum_price_seconds") / held)
    ipd = ups / (pl.col("seconds") / 86400.0)
    cost = (
        a * mean_paid.fill_null(0.0)
        + (1.0 - a) * pl.col("fallback")
        + ups / (pl.col("seconds") / 3600.0) * pl.col("restart_cost")
    )
    return frame.with_columns(
        availability=a,
        interruptions_per_day=ipd,
        mean_paid=mean_paid,
        effective_cost=cost,
        saving=1.0 - cost / pl.col("on_demand"),
    )


_METRICS = ("availability", "interruptions_per_day", "mean_paid", "effective_cost", "saving")
_WORST = {
    "availability": pl.col("availability").min(),
    "interruptions_per_day": pl.col("interruptions_per_day").max(),
    "mean_paid": pl.col("mean_paid").max(),
    "effective_cost": pl.col("effective_cost").max(),
    "saving": pl.col("saving").min(),
}
_CUM = ("cum_seconds", "cum_price_seconds", "ups")
_WIN = ("seconds", "on_demand", "fallback", "restart_cost")


def evaluate(
    cum: pl.DataFrame, windows: pl.DataFrame, bids: pl.DataFrame, key: str = "wid"
) -> pl.DataFrame:
    """Metrics of arbitrary bids: ``bids`` has ``wid`` and ``at`` (the bid) plus any other
    columns, which are kept. ``cum`` is :func:`spotlab.prices.cumulative` output."""
    at = value_at(cum, bids.select(key, "at"), list(_CUM), key=key).drop(key, "at")
    out = pl.concat([bids, at], how="horizontal").join(
        windows.select(key, *_WIN), on=key, how="left"
    )
    return metrics(out)


@dataclass
class _Curves:
    windows: pl.DataFrame  # per wid, with costs
    cum: pl.DataFrame  # per (wid, level): running sums
    curve: pl.DataFrame  # per (wid, level): metrics


def _curves(lv: Levels, params: BidParams) -> _Curves:
    win = with_costs(lv.windows, params)
    cum = cumulative(lv.levels)
    curve = metrics(cum.join(win.select("wid", *_WIN), on="wid", how="left"))
    return _Curves(windows=win, cum=cum, curve=curve)


def _select(curve: pl.DataFrame, info: pl.DataFrame, params: BidParams) -> pl.DataFrame:
    """Per group (``gid``): ``rec_level`` (lowest feasible level within the cost tolerance
    of the cheapest feasible one) and ``opt_level`` (the cheapest feasible level, lowest
    on ties). ``curve`` has gid, level and the metrics; ``info`` gid and on_demand."""
    c = curve.join(info.select("gid", "on_demand"), on="gid", how="left")
    ok = (pl.col("on_demand").is_null() | (pl.col("level") <= pl.col("on_demand") + _EPS)) & (
        pl.col("availability") >= params.target_availability - _EPS
    )
    if params.max_interruptions_per_day is not None:
        ok = ok & (pl.col("interruptions_per_day") <= params.max_interruptions_per_day + _EPS)
    feasible = c.filter(ok)
    best = feasible.group_by("gid").agg(
        min_cost=pl.col("effective_cost").min(),
        opt_level=pl.col("level").sort_by("effective_cost", "level").first(),
    )
    tol = pl.col("min_cost") + params.cost_tolerance * pl.col("on_demand") + _EPS
    rec = (
        feasible.join(best, on="gid")
        .filter(pl.col("min_cost").is_null() | (pl.col("effective_cost") <= tol))
        .group_by("gid")
        .agg(rec_level=pl.col("level").min())
    )
    return (
        best.join(rec, on="gid", how="left")
        .with_columns(opt_level=pl.when(pl.col("min_cost").is_not_null()).then("opt_level"))
        .drop("min_cost")
    )


def _advise(
    cv: _Curves, members: pl.DataFrame, info: pl.DataFrame, params: BidParams
) -> pl.DataFrame:
    """Bids and their metrics per group. ``members``: gid, wid (the zones of a group);
    ``info``: gid, on_demand, tick, max (market max). Metrics are worst over members."""
    single = members.group_by("gid").len()["len"].max() == 1
    if single:
        curve = cv.curve.join(members, on="wid").drop("wid")
    else:
        # availability is monotone in the bid: only levels at or above every member's
        # lowest level meeting the target can be feasible on the worst-zone curve
        floor = (
            cv.curve.filter(pl.col("availability") >= params.target_availability - _EPS)
            .group_by("wid")
            .agg(floor=pl.col("level").min())
        )
        floors = (
            members.join(floor, on="wid", how="left")
            .group_by("gid")
            .agg(floor=pl.when(pl.col("floor").is_not_null().all()).then(pl.col("floor").max()))
        )
        cands = (
            cv.cum.select("wid", "level")
            .join(members, on="wid")
            .join(floors, on="gid")
            .filter(pl.col("level") >= pl.col("floor"))
            .select("gid", pl.col("level").alias("at"))
            .unique()
        )
        per_zone = evaluate(cv.cum, cv.windows, cands.join(members, on="gid"))
        curve = per_zone.group_by("gid", pl.col("at").alias("level")).agg(**_WORST)
    choice = _select(curve, info, params)
    g = info.join(choice, on="gid", how="left").with_columns(
        bid=pl.when(pl.col("rec_level").is_not_null()).then(
            pl.min_horizontal(
                round_bid_up_expr(
                    pl.col("rec_level") + params.headroom * pl.col("on_demand").fill_null(0.0),
                    pl.col("tick"),
                ),
                "on_demand",
            )
        ),
        rule20=(params.rule_fraction * pl.col("on_demand")).round(9),
        optimal=pl.col("opt_level"),
        ceiling=pl.coalesce("on_demand", "max"),
    )
    names = ("bid", "rule20", "optimal", "ceiling")
    asks = pl.concat(
        [g.select("gid", pl.lit(n).alias("strategy"), pl.col(n).alias("at")) for n in names]
    ).join(members, on="gid")
    scored = (
        evaluate(cv.cum, cv.windows, asks)
        .group_by("gid", "strategy")
        .agg(**_WORST, _has_bid=pl.col("at").is_not_null().all())
        .with_columns([pl.when("_has_bid").then(pl.col(m)).alias(m) for m in _METRICS])
    )
    wide = g.select("gid", *names, target_level="rec_level")
    for n in names:
        part = scored.filter(pl.col("strategy") == n).select(
            "gid", *[pl.col(m).alias(m if n == "bid" else f"{n}_{m}") for m in _METRICS]
        )
        wide = wide.join(part, on="gid", how="left")
    return wide.rename({"rule20": "rule20_bid", "optimal": "optimal_bid"})


# -- reasons -------------------------------------------------------------------------------


def _money(x: float | None, tick: float | None = None) -> str:
    if x is None:
        return "n/a"
    decimals = 3 if (tick is not None and tick < 0.01) or abs(x) < 1 else 2
    return f"{x:.{decimals}f}"


def _pct(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.1f}%" if x < 0.9995 or x >= 1 else f"{100 * x:.2f}%"


def _reason(r: dict[str, Any], params: BidParams, label: str) -> str:
    tick = r.get("tick")
    od = r.get("on_demand")
    where = f"in the worst of zones {r['zones']}, " if r.get("zones") and "," in r["zones"] else ""
    if r["advice"] == "no data":
        return "no price point in the window: widen the window or ingest newer data"
    if r["advice"] == "regular":
        cap = "on-demand" if od is not None else "the highest price seen"
        text = (
            f"{where}even a bid at {cap} {_money(r['ceiling'], tick)} keeps only "
            f"{_pct(r['ceiling_availability'])} availability over the last {label}"
        )
        if (r["ceiling_availability"] or 0) >= params.target_availability - _EPS:
            text = (
                f"{where}a bid at {cap} {_money(r['ceiling'], tick)} keeps "
                f"{_pct(r['ceiling_availability'])} availability but "
                f"{r['ceiling_interruptions_per_day']:.2f} interruptions/day over the last "
                f"{label} (cap {params.max_interruptions_per_day:g})"
            )
        return (
            text + f" (target {_pct(params.target_availability)}): "
            "use a regular instance for this spec"
        )
    bid = _money(r["bid"], tick)
    held = (
        f"{bid} keeps {_pct(r['availability'])} availability with "
        f"{r['interruptions_per_day']:.2f} interruptions/day"
    )
    if r["bid"] is not None and r["target_level"] is not None and r["bid"] > r["target_level"]:
        held = (
            f"{_money(r['target_level'], tick)} met the {_pct(params.target_availability)} "
            f"target and {bid} (with headroom) " + held.split(" ", 1)[1]
        )
    if od is None:
        return (
            f"{where}no on-demand price known: {held} over the last {label} "
            "(load a specs catalog to weigh costs)"
        )
    rule = _money(r["rule20_bid"], tick)
    above = 1.0 - (r["rule20_availability"] or 0.0)
    delta = (r["effective_cost"] or 0.0) - (r["rule20_effective_cost"] or 0.0)
    return (
        f"{where}market exceeded {rule} (the 20% rule) for {_pct(above)} of the last "
        f"{label}; {held} at an effective {_money(r['effective_cost'], tick)}/h "
        f"({_pct(r['saving'])} below on-demand {_money(od, tick)}), "
        f"{delta:+.{3 if abs(delta) < 0.01 else 2}f}/h vs the 20% bid"
    )


# -- public API ----------------------------------------------------------------------------


@dataclass
class BidAdvice:
    """The result of :func:`recommend_bids`.

    - ``zones``: one row per (provider, zone, spec);
    - ``specs``: one row per (provider, region, spec) across its zones (worst zone).

    Columns (both): the series keys, ``currency, start, end, hours, points, on_demand,
    market_mean, market_max, advice`` ("spot", "regular" or "no data"), then for the
    recommended ``bid``, the seed's ``rule20_bid`` and the cost-``optimal_bid``: each bid
    and its ``availability, interruptions_per_day, mean_paid, effective_cost, saving``
    (vs on-demand; un-prefixed for the recommended bid), ``max_availability`` (bidding
    on-demand), ``restart_cost``, ``flags`` and a one-sentence ``reason``.
    """

    zones: pl.DataFrame
    specs: pl.DataFrame
    params: BidParams = field(default_factory=BidParams)
    window: str = "30d"

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "target_availability": self.params.target_availability,
            "specs": self.specs.to_dicts(),
            "zones": self.zones.to_dicts(),
        }


_OUT = (
    "bid",
    "availability",
    "interruptions_per_day",
    "mean_paid",
    "effective_cost",
    "saving",
    *[f"{n}_{m}" for n in ("rule20", "optimal") for m in ("bid", *_METRICS)],
)


def _finish(
    frame: pl.DataFrame, keys: Sequence[str], params: BidParams, label: str
) -> pl.DataFrame:
    advice = (
        pl.when(pl.col("seconds").is_null())
        .then(pl.lit("no data"))
        .when(pl.col("bid").is_null())
        .then(pl.lit("regular"))
        .otherwise(pl.lit("spot"))
    )
    f = frame.with_columns(advice=advice)
    reasons = [_reason(r, params, label) for r in f.to_dicts()]
    return f.with_columns(reason=pl.Series(reasons, dtype=pl.String)).select(
        *keys,
        "currency",
        "start",
        "end",
        "hours",
        "points",
        "on_demand",
        pl.col("mean").alias("market_mean"),
        pl.col("max").alias("market_max"),
        "advice",
        "target_level",
        *_OUT,
        pl.col("ceiling_availability").alias("max_availability"),
        "restart_cost",
        "flags",
        "reason",
    )


def _zone_rows(cv: _Curves, params: BidParams, label: str) -> pl.DataFrame:
    win = cv.windows.with_columns(flags_expr())
    members = win.select(pl.col("wid").alias("gid"), "wid")
    info = win.select(pl.col("wid").alias("gid"), "on_demand", "tick", "max")
    adv = _advise(cv, members, info, params)
    out = win.join(adv, left_on="wid", right_on="gid", how="left").with_columns(
        end=pl.col("w_end"),
        hours=(pl.col("w_end") - pl.col("start")).dt.total_seconds() / 3600,
        zones=pl.col("zone"),
    )
    return _finish(out, ("provider", "region", "zone", "spec"), params, label).sort(
        "provider", "spec", "zone"
    )


def _spec_rows(cv: _Curves, params: BidParams, label: str) -> pl.DataFrame:
    win = cv.windows.with_columns(flags_expr()).filter(pl.col("seconds").is_not_null())
    keys = ["provider", "region", "spec"]
    groups = win.select(*keys).unique().sort(keys).with_row_index("gid")
    groups = groups.with_columns(pl.col("gid").cast(pl.Int64))
    w = win.join(groups, on=keys)
    members = w.select("gid", "wid")
    info = w.group_by("gid").agg(
        *keys,
        zones=pl.col("zone").sort().str.join(", "),
        currency=pl.col("currency").drop_nulls().first(),
        on_demand=pl.col("on_demand").min(),
        tick=pl.col("tick").min(),
        max=pl.col("max").max(),
        mean=pl.col("mean").max(),
        seconds=pl.col("seconds").min(),
        start=pl.col("start").max(),
        end=pl.col("w_end").max(),
        points=pl.col("points").sum(),
        restart_cost=pl.col("restart_cost").max(),
        flags=pl.concat_str(pl.col("zone"), pl.lit(": "), pl.col("flags"))
        .drop_nulls()
        .str.join("; "),
    )
    for k in keys:
        info = info.with_columns(pl.col(k).list.first())
    info = info.with_columns(
        hours=(pl.col("end") - pl.col("start")).dt.total_seconds() / 3600,
        flags=pl.when(pl.col("flags") != "").then("flags"),
    )
    adv = _advise(cv, members, info.select("gid", "on_demand", "tick", "max"), params)
    out = info.join(adv, on="gid", how="left")
    return _finish(out, (*keys, "zones"), params, label).sort("provider", "spec", "region")


def _load(
    source: PriceSource,
    specs: str | Sequence[str] | None,
    zones: str | Sequence[str] | None,
    window: str | timedelta | None,
    start: datetime | str | None,
    end: datetime | str | None,
    provider: str | None,
    params: BidParams,
) -> _Curves:
    specs_l, zones_l = _as_list(specs), _as_list(zones)
    with open_source(source, specs_l, zones_l, provider) as src:
        index, lv = series_levels(src, window, start, end)
        check_selection(src, index, specs_l, zones_l)
        lv = Levels(windows=catalog_on_demand(src, lv.windows), levels=lv.levels)
    if lv.levels.height == 0:
        w = lv.windows
        lo, hi = str(w["w_start"].min()), str(w["w_end"].max())
        raise NoDataError(
            f"no price point in the window {lo} .. {hi} for "
            "the selected series: widen the window (e.g. window='all') or pick another end"
        )
    return _curves(lv, params)


def recommend_bids(
    source: PriceSource,
    specs: str | Sequence[str] | None = None,
    zones: str | Sequence[str] | None = None,
    window: str | timedelta | None = "30d",
    target_availability: float = 0.99,
    max_interruptions_per_day: float | None = None,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
    startup_seconds: float | Mapping[str, float] | None = None,
    fallback_price: float | Mapping[str, float] | None = None,
    price_tick: float | Mapping[str, float] | None = None,
    cost_tolerance: float = DEFAULT_COST_TOLERANCE,
    headroom: float = DEFAULT_HEADROOM,
    params: BidParams | None = None,
) -> BidAdvice:
    """Recommend ``spot_price_limit`` per (spec, zone) and per spec across its zones.

    ``source`` is a :class:`~spotlab.store.Store` or a frame of price points; ``window``
    is ``"48h"``, ``"7d"``, ``"30d"``, ``"all"`` or a timedelta ending at ``end`` (default:
    the provider's newest point). ``params`` (a :class:`BidParams`) overrides the keyword
    arguments. See the module docstring for the model and :class:`BidAdvice` for columns.

    >>> advice = recommend_bids(store, specs="ecs.gn8is.2xlarge")  # doctest: +SKIP
    >>> advice.specs.select("spec", "bid", "availability", "reason")  # doctest: +SKIP
    """
    p = params or BidParams(
        target_availability=target_availability,
        max_interruptions_per_day=max_interruptions_per_day,
        startup_seconds=startup_seconds,
        fallback_price=fallback_price,
        price_tick=price_tick,
        cost_tolerance=cost_tolerance,
        headroom=headroom,
    )
    cv = _load(source, specs, zones, window, start, end, provider, p)
    label = window_label(window) if start is None else "window"
    return BidAdvice(
        zones=_zone_rows(cv, p, label),
        specs=_spec_rows(cv, p, label),
        params=p,
        window=str(window) if start is None else f"{start} .. {end or 'now'}",
    )


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
) -> pl.DataFrame:
    """Every candidate bid (distinct price level) of each series with its
    ``availability, interruptions_per_day, mean_paid, effective_cost, saving``: the
    trade-off curve behind :func:`recommend_bids`, for charts and checks."""
    p = params or BidParams()
    cv = _load(source, specs, zones, window, start, end, provider, p)
    keys = cv.windows.select("wid", "provider", "zone", "spec", "currency", "on_demand")
    return (
        cv.curve.join(keys, on="wid")
        .select(
            "provider",
            "zone",
            "spec",
            "currency",
            pl.col("level").alias("bid"),
            *_METRICS,
            "on_demand",
        )
        .sort("provider", "spec", "zone", "bid")
    )
