"""The cost model of an ordered spec list with its fallback: what spotlab's advice is decided
in and scored by (bids, the backtest, the ordering, the overview, the fleet's policy).

**What EAS does with the list** (seed §1, domain.md §2). ``cloud.computing.instances`` is an
ordered list of entries: spot entries, each with a bid (``spot_price_limit``), and a regular
(pay-as-you-go) entry last. A replica runs on the first entry it can get. A spot entry is
*held* while its market price is at or below its bid; you pay the market, not the bid.

- **Price reclaims** happen only above the bid: each up-crossing of the bid by the market
  reclaims the entry's replicas, which move down the list. When the price comes back under
  the bid, EAS moves them back (``resource_rebalancing``), starting the new instance before
  stopping the old one (no downtime).
- **Capacity reclaims** happen at any bid: the rate (per instance-hour) comes from your logs
  (:mod:`spotlab.advise.interruptions`) or the providers' feeds; the replacement is taken on
  the same entry. Logged rates count every reclaim as a capacity one, so a log taken at a
  low bid double-counts its price reclaims with those the history shows (conservative).
- **Each reclaim** starts a replacement as soon as the warning comes
  (:func:`spotlab.domain.warning_lead_seconds`): the service is short of that replica for
  ``downtime = max(0, start-up − warning lead)``, and the replacement is billed for its
  start-up. Start-up seconds come from the cold-start model
  (:func:`spotlab.advise.coldstart.predicted_startup_seconds`) or
  :data:`DEFAULT_STARTUP_SECONDS`.

**Figures, per replica-hour, over a window** (time-weighted over change points):

- ``spot_share``: share of time on a spot entry (held);
- ``crossings_per_day``: price reclaims (up-crossings of the bid);
- ``effective_cost``: what is billed = Σ share × price paid (market while on spot, the
  fallback's price otherwise) + billed start-ups (a move down at the new entry's price, the
  move back at the entry's mean price paid, a capacity replacement at the mean price paid);
- ``availability``: **service** availability = 1 − downtime share (the service keeps running
  on the next entry while spot is lost; it is short only while a replacement starts beyond
  the warning);
- ``total_cost``: effective cost + downtime × ``value_per_replica_hour`` (what an hour short
  of a replica costs you; default the fallback's on-demand price, as the cold-start advice
  values it). The bid decisions minimise this.

**Intervals** (columns ``*_low``, ``*_high``; :data:`CONFIDENCE` 90 %): the window is cut into
:data:`INTERVAL_PARTS` equal parts and each figure computed on each part; the market part of
the interval is the prediction interval for a future period as long as the window, mean of
the parts ± t(0.95, parts − 1) × sd × √(1/parts + 1/parts) (parts assumed exchangeable). The
parameter part recomputes the figure with the reclaim rate and the start-up at their
interval ends (the interruption log's drift interval or a feed's band; the cold-start
model's range). The interval is the envelope of both. Neither constant is fitted to data.

**Two evaluators of the one model**: :func:`curve_figures` scores one spot entry followed by
its fallback at every price level at once (running sums over levels, for bids and
backtests); :func:`evaluate_entries` scores any ordered list from the joint history (shares
per entry, moves between entries, capacity caps). On one spot entry and a regular fallback
they agree (a test checks it).

**The bid decision** (:func:`decide_bids`): holding a spot entry at a market price below the
next entry's expected price is always cheaper than moving (moving costs that price plus a
restart), so the cost-optimal bid is never below it. Above it, a higher bid avoids restarts
and downtime at the cost of paying the excess: the bid is the candidate (the next entry's
price, or a price level above it) with the lowest total cost meeting the target service
availability. When the next entry is the regular one and the market never exceeded its
price, that is the **pay-as-you-go price** itself: on ECS the ``SpotAsPriceGo`` strategy, on
EAS ``spot_price_limit`` = the pay-as-you-go price (domain.md §2-3; EAS has no other field).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from spotlab.domain import (
    DEFAULT_WARNING_LEAD_SECONDS,
    PRICE_TICK,
    RULE_FRACTION,
    SMALL_PRICE_TICK,
    WARNING_LEAD_SECONDS,
    round_bid_up_expr,
)
from spotlab.errors import AnalysisError, wrap_errors
from spotlab.prices import (
    SERIES,
    Levels,
    PriceSource,
    _in_runs,
    _Source,
    catalog_on_demand,
    cumulative,
    open_source,
    price_steps,
    series_levels,
    to_utc,
    value_at,
)

#: Seconds from a reclaim to a serving replacement when no cold-start model supplies one:
#: image pull 36 s + application start 38 s (the vendor's figures for a 1.34 GB image
#: without ACR acceleration) + 49 s model load (median of the seed's nine OSS-mounted
#: Stable Diffusion checkpoints, 16-90 s). Scheduling and warm-up are not included.
DEFAULT_STARTUP_SECONDS = 36.0 + 38.0 + 49.0
#: equal parts of a window behind the market part of every interval
INTERVAL_PARTS = 4
#: two-sided confidence of every interval
CONFIDENCE = 0.90
#: the previous spotlab heuristic, kept only as a reference strategy for the record: the
#: lowest level holding spot ≥ the target, within 1 % of on-demand of the cheapest such
#: level, + 10 % of on-demand (tuned on the GCP history; issue #13)
PREVIOUS_COST_TOLERANCE = 0.01
PREVIOUS_HEADROOM = 0.10

_EPS = 1e-9

#: the figures of a bid, as columns
FIGURES = (
    "spot_share",
    "crossings_per_day",
    "reclaims_per_day",
    "mean_paid",
    "effective_cost",
    "availability",
    "downtime_cost",
    "total_cost",
)
#: each figure's worst value over the zones of a spec
WORST: dict[str, pl.Expr] = {
    "spot_share": pl.col("spot_share").min(),
    "crossings_per_day": pl.col("crossings_per_day").max(),
    "reclaims_per_day": pl.col("reclaims_per_day").max(),
    "mean_paid": pl.col("mean_paid").max(),
    "effective_cost": pl.col("effective_cost").max(),
    "availability": pl.col("availability").min(),
    "downtime_cost": pl.col("downtime_cost").max(),
    "total_cost": pl.col("total_cost").max(),
}
#: figures that get an interval
INTERVAL_FIGURES = ("spot_share", "crossings_per_day", "effective_cost", "availability")

PerKey = float | Mapping[str, float] | None
Range = tuple[float, float] | Mapping[str, tuple[float, float]] | None


# -- the stated assumptions -----------------------------------------------------------------


@dataclass(frozen=True)
class CostParams:
    """The model's assumptions besides the data (none is fitted to prices).

    - ``startup_seconds``: seconds to a serving replacement, one number or per spec
      (default :data:`DEFAULT_STARTUP_SECONDS`); ``startup_range``: (low, high) seconds,
      one pair or per spec (e.g. the cold-start model's ``total_seconds_lo/hi``) for the
      intervals.
    - ``lead_seconds``: reclaim warning, one number or per provider (default
      :data:`spotlab.domain.WARNING_LEAD_SECONDS`).
    - ``fallback_price``: the next entry's price per hour, one number or per spec (default:
      the spec's on-demand price, i.e. a regular entry of the same spec).
    - ``value_per_replica_hour``: what an hour short of one replica costs you, one number or
      per spec (default: the fallback price).
    - ``reclaims_per_hour``: capacity reclaims per instance-hour on spot, one number or per
      spec (default 0); ``reclaims_range``: its (low, high) interval.
    """

    startup_seconds: PerKey = None
    startup_range: Range = None
    lead_seconds: PerKey = None
    fallback_price: PerKey = None
    value_per_replica_hour: PerKey = None
    reclaims_per_hour: PerKey = None
    reclaims_range: Range = None

    def __post_init__(self) -> None:
        for name in (
            "startup_seconds", "lead_seconds", "fallback_price", "value_per_replica_hour",
            "reclaims_per_hour",
        ):  # fmt: skip
            for v in _values(getattr(self, name)):
                _check_number(name, v)
        for name in ("startup_range", "reclaims_range"):
            value = getattr(self, name)
            pairs = value.values() if isinstance(value, Mapping) else [value]
            for pair in pairs:
                if pair is None:
                    continue
                if not (isinstance(pair, tuple | list) and len(pair) == 2):
                    raise AnalysisError(f"{name} must be (low, high), got {pair!r}")
                lo, hi = (_check_number(name, float(x)) for x in pair)
                if lo > hi:
                    raise AnalysisError(f"{name} low {lo:g} is above high {hi:g}")

    def describe(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items()}


def _values(value: PerKey) -> list[float]:
    if value is None:
        return []
    return [float(v) for v in value.values()] if isinstance(value, Mapping) else [float(value)]


def _check_number(name: str, v: float) -> float:
    if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
        raise AnalysisError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


def per_key(value: PerKey, col: str, default: pl.Expr) -> pl.Expr:
    """One number, or a mapping looked up in ``col`` (``default`` where it has no key)."""
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


def _range_end(value: Range, col: str, end: int, default: pl.Expr) -> pl.Expr:
    if value is None:
        return default
    if isinstance(value, Mapping):
        return per_key({k: v[end] for k, v in value.items()}, col, default)
    return pl.lit(float(value[end]), dtype=pl.Float64)


def with_costs(
    windows: pl.DataFrame,
    params: CostParams,
    price_tick: float | Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Add the per-window model inputs to windows carrying ``provider, spec, currency,
    on_demand`` (and ``max``): ``startup_s, startup_lo, startup_hi, lead_s, fallback,
    value, reclaim_rate, reclaim_lo, reclaim_hi, tick``. Without an on-demand price the
    fallback is the window's highest price (a stand-in, flagged by the callers)."""
    od = pl.col("on_demand")
    leads = params.lead_seconds
    lead_default = pl.col("provider").replace_strict(
        WARNING_LEAD_SECONDS, default=DEFAULT_WARNING_LEAD_SECONDS, return_dtype=pl.Float64
    )
    startup = per_key(
        params.startup_seconds, "spec", pl.lit(DEFAULT_STARTUP_SECONDS, dtype=pl.Float64)
    )
    rate = per_key(params.reclaims_per_hour, "spec", pl.lit(0.0, dtype=pl.Float64))
    out = windows.with_columns(
        startup_s=startup,
        lead_s=per_key(leads, "provider", lead_default),
        fallback=per_key(params.fallback_price, "spec", pl.coalesce(od, pl.col("max"))),
        reclaim_rate=rate,
    ).with_columns(
        startup_lo=_range_end(params.startup_range, "spec", 0, pl.col("startup_s")),
        startup_hi=_range_end(params.startup_range, "spec", 1, pl.col("startup_s")),
        reclaim_lo=_range_end(params.reclaims_range, "spec", 0, pl.col("reclaim_rate")),
        reclaim_hi=_range_end(params.reclaims_range, "spec", 1, pl.col("reclaim_rate")),
        value=per_key(params.value_per_replica_hour, "spec", pl.col("fallback")),
        tick=per_key(
            price_tick,
            "currency",
            pl.when(pl.coalesce(od, pl.col("max")) < 1)
            .then(pl.lit(SMALL_PRICE_TICK))
            .otherwise(pl.lit(PRICE_TICK)),
        ),
    )
    return out.with_columns(
        startup_lo=pl.min_horizontal("startup_lo", "startup_s"),
        startup_hi=pl.max_horizontal("startup_hi", "startup_s"),
        reclaim_lo=pl.min_horizontal("reclaim_lo", "reclaim_rate"),
        reclaim_hi=pl.max_horizontal("reclaim_hi", "reclaim_rate"),
    )


#: per-window inputs the curve figures read
WINDOW_INPUTS = (
    "seconds", "on_demand", "fallback", "value", "lead_s", "startup_s", "startup_lo",
    "startup_hi", "reclaim_rate", "reclaim_lo", "reclaim_hi",
)  # fmt: skip
_CUM = ("cum_seconds", "cum_price_seconds", "ups")


# -- one spot entry and its fallback, at every bid ----------------------------------------


def _figure_exprs(startup: str = "startup_s", rate: str = "reclaim_rate") -> dict[str, pl.Expr]:
    """The figures from running sums at a bid (``cum_seconds, cum_price_seconds, ups``: null
    = below every level) and the window inputs, with the given start-up and reclaim rate."""
    hours = pl.col("seconds") / 3600.0
    held = pl.col("cum_seconds").fill_null(0.0)
    share = held / pl.col("seconds")
    paid = pl.when(held > 0).then(pl.col("cum_price_seconds") / held)
    ups = pl.col("ups").fill_null(0).cast(pl.Float64)
    fb = pl.col("fallback")
    crossings_h = ups / hours
    capacity_h = pl.col(rate) * share
    start_h = pl.col(startup) / 3600.0
    down_h = (pl.col(startup) - pl.col("lead_s")).clip(lower_bound=0.0) / 3600.0
    billed = (
        share * paid.fill_null(0.0)
        + (1.0 - share) * fb
        + crossings_h * start_h * (fb + paid.fill_null(fb))
        + capacity_h * start_h * paid.fill_null(0.0)
    )
    downtime = ((crossings_h + capacity_h) * down_h).clip(upper_bound=1.0)
    return {
        "spot_share": share,
        "crossings_per_day": crossings_h * 24.0,
        "reclaims_per_day": capacity_h * 24.0,
        "mean_paid": paid,
        "effective_cost": billed,
        "availability": 1.0 - downtime,
        "downtime_cost": downtime * pl.col("value"),
        "total_cost": billed + downtime * pl.col("value"),
    }


def curve_figures(frame: pl.DataFrame) -> pl.DataFrame:
    """Add :data:`FIGURES` (and ``saving``, ``cost_ratio`` vs on-demand) to rows carrying
    running sums at a bid and the window inputs (:data:`WINDOW_INPUTS`)."""
    exprs = _figure_exprs()
    return frame.with_columns(**exprs).with_columns(
        saving=1.0 - pl.col("effective_cost") / pl.col("on_demand"),
        cost_ratio=pl.col("effective_cost") / pl.col("on_demand"),
    )


def figures_at(
    cum: pl.DataFrame,
    windows: pl.DataFrame,
    asks: pl.DataFrame,
    key: str = "wid",
    top: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The figures of arbitrary bids: ``asks`` has ``wid`` and ``at`` (the bid) plus any
    other columns, which are kept; ``cum`` is :func:`spotlab.prices.cumulative` output and
    ``windows`` carries :data:`WINDOW_INPUTS`. ``top`` (each window's last running sums,
    :attr:`Curves.top`) answers bids at or above a window's highest level without a join."""
    asks = asks.with_row_index("_ask")
    if top is not None:
        hi = asks.join(top.select(key, "_top", *_CUM), on=key, how="left")
        is_top = pl.col("at").is_not_null() & (pl.col("at") >= pl.col("_top") - 1e-12)
        direct = hi.filter(is_top).drop("_top")
        rest = asks.join(direct.select("_ask"), on="_ask", how="anti")
    else:
        direct, rest = None, asks
    at = value_at(cum, rest.select(key, "at"), list(_CUM), key=key).drop(key, "at")
    parts = [pl.concat([rest, at], how="horizontal")]
    if direct is not None and direct.height:
        parts.append(direct.select(parts[0].columns))
    out = (
        pl.concat(parts, how="vertical_relaxed")
        .sort("_ask")
        .drop("_ask")
        .join(windows.select(key, *WINDOW_INPUTS), on=key, how="left")
    )
    return curve_figures(out)


@dataclass
class Curves:
    """Levels of a set of windows with the model inputs: ``windows`` (per wid), ``cum``
    (per wid and price level, running sums), ``curve`` (the figures at every level) and
    ``top`` (per wid: the highest level ``_top`` and the running sums there)."""

    windows: pl.DataFrame
    cum: pl.DataFrame
    top: pl.DataFrame
    _curve: pl.DataFrame | None = field(default=None, repr=False)

    @property
    def curve(self) -> pl.DataFrame:
        """The figures at every level (computed on first use)."""
        if self._curve is None:
            self._curve = curve_figures(
                self.cum.join(self.windows.select("wid", *WINDOW_INPUTS), on="wid", how="left")
            )
        return self._curve

    def at(self, asks: pl.DataFrame) -> pl.DataFrame:
        """:func:`figures_at` on these curves."""
        return figures_at(self.cum, self.windows, asks, top=self.top)


def curves(
    lv: Levels, params: CostParams, price_tick: float | Mapping[str, float] | None = None
) -> Curves:
    """:class:`Curves` of :class:`~spotlab.prices.Levels`."""
    win = with_costs(lv.windows, params, price_tick)
    cum = cumulative(lv.levels)
    top = cum.group_by("wid").agg(pl.col("level").last().alias("_top"), pl.col(_CUM).last())
    return Curves(windows=win, cum=cum, top=top)


# -- the bid decision -------------------------------------------------------------------------


def decide_bids(
    cv: Curves,
    members: pl.DataFrame,
    info: pl.DataFrame,
    target_availability: float,
) -> pl.DataFrame:
    """The cost-optimal bid of each group (a spec across its zones, or one series).

    ``members``: ``gid, wid``; ``info``: ``gid, fallback`` (the next entry's price; null =
    unknown). Candidates are the fallback price and every price level of any member (the
    highest level when the fallback is unknown); each is scored in every member and the
    group takes the worst zone's figures; the bid is the cheapest candidate in total cost
    (effective cost + valued downtime) whose service availability meets the target, the
    lowest on ties. A level below the fallback price wins only when reclaims that happen at
    any bid (capacity, while on spot) or crossings of the fallback price cost more than the
    time on spot saves.

    Returns per gid: ``level`` (the chosen candidate, null when none meets the target),
    its ``total_cost`` and ``availability``, ``basis`` (``"fallback price"``, ``"above the
    fallback price"``, ``"below the fallback price"``, ``"highest price seen"`` or null),
    ``best_level`` and ``best_availability`` (the most available candidate, for the
    reasons), ``candidates``.
    """
    levels = cv.cum.select("wid", "level").join(members, on="wid")
    f = info.select("gid", "fallback")
    known = levels.join(f.filter(pl.col("fallback").is_not_null()), on="gid")
    is_above = pl.col("level") > pl.col("fallback") + _EPS
    above = known.filter(is_above).select(
        "gid", at=pl.col("level"), kind=pl.lit("above the fallback price")
    )
    at_fallback = f.filter(pl.col("fallback").is_not_null()).select(
        "gid", at="fallback", kind=pl.lit("fallback price")
    )
    unknown = (
        levels.join(f.filter(pl.col("fallback").is_null()), on="gid")
        .group_by("gid")
        .agg(at=pl.col("level").max())
        .with_columns(kind=pl.lit("highest price seen"))
    )
    first = pl.concat([at_fallback, above, unknown]).unique(
        ["gid", "at"], keep="first", maintain_order=True
    )
    group = _worst_candidates(cv, members, first)
    # Levels below the fallback price can win only where reclaims come at any bid, where
    # the market crosses the fallback price, or where nothing above meets the target:
    # otherwise the held time below it is paid at prices <= the fallback price, so a bid
    # at it costs no more in any zone (and holds longer)
    rates = members.join(cv.windows.select("wid", "reclaim_hi"), on="wid").group_by("gid")
    crossing = group.filter(pl.col("kind") == "fallback price").select(
        "gid", _cross=pl.col("crossings_per_day") > 0
    )
    feasible = group.group_by("gid").agg(
        _ok=(pl.col("availability") >= target_availability - _EPS).any()
    )
    need = (
        rates.agg(_rate=(pl.col("reclaim_hi") > 0).any())
        .join(crossing, on="gid", how="left")
        .join(feasible, on="gid", how="left")
        .filter(
            pl.col("_rate") | pl.col("_cross").fill_null(False) | ~pl.col("_ok").fill_null(False)
        )
        .select("gid")
    )
    # Pruning: in every zone, total(b) >= share(b) × paid(b) + (1 - share(b)) × fallback,
    # which does not rise with b; a bid below the lowest level where that bound is under
    # the best feasible cost found so far cannot win (for the group: the highest such
    # level over its zones)
    best_so_far = (
        group.filter(pl.col("availability") >= target_availability - _EPS)
        .group_by("gid")
        .agg(_best=pl.col("total_cost").min())
    )
    bound = (
        cv.curve.join(members, on="wid")
        .join(need, on="gid")
        .join(best_so_far, on="gid", how="left")
        .with_columns(
            _lb=pl.col("spot_share") * pl.col("mean_paid").fill_null(0.0)
            + (1.0 - pl.col("spot_share")) * pl.col("fallback")
        )
        .filter(pl.col("_best").is_null() | (pl.col("_lb") <= pl.col("_best") + _EPS))
        .group_by("gid", "wid")
        .agg(_b0=pl.col("level").min())
        .group_by("gid")
        .agg(_b0=pl.col("_b0").max())
    )
    below = (
        known.join(bound, on="gid")
        .filter(
            ~is_above
            & (pl.col("level") < pl.col("fallback") - _EPS)
            & (pl.col("level") >= pl.col("_b0") - _EPS)
        )
        .select("gid", at=pl.col("level"), kind=pl.lit("below the fallback price"))
        .unique(["gid", "at"], maintain_order=True)
    )
    if below.height:
        group = pl.concat([group, _worst_candidates(cv, members, below)], how="vertical_relaxed")
    ok = pl.col("availability") >= target_availability - _EPS
    # near-equal costs (within 1e-9 per hour) prefer a bid at or above the fallback
    # price: below it, out of sample, holding spot is the cheaper side of a tie
    group = group.with_columns(
        _cost=pl.col("total_cost").round(9),
        _below=pl.col("kind") == "below the fallback price",
    )
    order = ("_cost", "_below", "at")
    best = (
        group.filter(ok)
        .group_by("gid")
        .agg(
            level=pl.col("at").sort_by(*order).first(),
            basis=pl.col("kind").sort_by(*order).first(),
            total_cost=pl.col("total_cost").sort_by(*order).first(),
            availability=pl.col("availability").sort_by(*order).first(),
        )
    )
    most_order = dict(by=["availability", "total_cost"], descending=[True, False])
    most = group.group_by("gid").agg(
        best_level=pl.col("at").sort_by(**most_order).first(),  # type: ignore[arg-type]
        best_availability=pl.col("availability").max(),
        candidates=pl.len(),
    )
    return info.select("gid").join(best, on="gid", how="left").join(most, on="gid", how="left")


def _worst_candidates(cv: Curves, members: pl.DataFrame, cands: pl.DataFrame) -> pl.DataFrame:
    """Worst-zone figures of candidate bids (``gid, at, kind``)."""
    scored = cv.at(cands.join(members, on="gid"))
    return scored.group_by("gid", "at", "kind").agg(**WORST)


def score_groups(
    cv: Curves, members: pl.DataFrame, asks: pl.DataFrame, name: str = "strategy"
) -> pl.DataFrame:
    """Worst-zone figures of group bids: ``asks`` has ``gid, <name>, at`` (null ``at``: no
    bid); one row per (gid, name) with :data:`FIGURES` (null when ``at`` is null)."""
    full = asks.join(members, on="gid")
    scored = cv.at(full.select("wid", "at", "gid", name))
    return (
        scored.group_by("gid", name)
        .agg(**WORST, _has=pl.col("at").is_not_null().all(), on_demand=pl.col("on_demand").min())
        .with_columns([pl.when("_has").then(pl.col(m)).alias(m) for m in FIGURES])
        .drop("_has")
    )


def reference_bids(
    cv: Curves, members: pl.DataFrame, info: pl.DataFrame, target_availability: float
) -> pl.DataFrame:
    """The simple rules a user could apply without spotlab, per group: ``rule20`` (20 % of
    on-demand), ``max_observed`` (the highest price of the window, at most on-demand),
    ``on_demand`` (bid the pay-as-you-go price), ``lowest_level`` (the lowest level that
    held spot ≥ the target share of the window in every zone, at most on-demand) and
    ``previous`` (spotlab's previous heuristic: that level within 1 % of on-demand of the
    cheapest such one + 10 % of on-demand, rounded up, at most on-demand).

    ``info``: ``gid, on_demand, max, tick``. Returns ``gid`` and one column per rule."""
    od = pl.col("on_demand")
    # the old effective cost: held × paid + rest × on-demand + crossings × start-up × OD
    old = cv.curve.join(members, on="wid").with_columns(
        _old=pl.col("spot_share") * pl.col("mean_paid").fill_null(0.0)
        + (1 - pl.col("spot_share")) * pl.col("on_demand")
        + pl.col("crossings_per_day") / 24.0 * pl.col("startup_s") * pl.col("on_demand") / 3600
    )
    zone_floor = (
        old.filter(pl.col("spot_share") >= target_availability - _EPS)
        .group_by("gid", "wid")
        .agg(floor=pl.col("level").min())
    )
    n_members = members.group_by("gid").agg(n=pl.len())
    floors = (
        zone_floor.group_by("gid")
        .agg(floor=pl.col("floor").max(), k=pl.len())
        .join(n_members, on="gid")
        .filter(pl.col("k") == pl.col("n"))
        .select("gid", "floor")
    )
    worst = (
        old.join(floors, on="gid")
        .filter(pl.col("level") >= pl.col("floor") - _EPS)
        .select("gid", "wid", at=pl.col("level"))
    )
    if worst.height:
        worst_old = (
            cv.at(worst.select("wid", "at", "gid"))
            .with_columns(
                _old=pl.col("spot_share") * pl.col("mean_paid").fill_null(0.0)
                + (1 - pl.col("spot_share")) * pl.col("on_demand")
                + pl.col("crossings_per_day")
                / 24.0
                * pl.col("startup_s")
                * pl.col("on_demand")
                / 3600
            )
            .group_by("gid", "at")
            .agg(share=pl.col("spot_share").min(), cost=pl.col("_old").max())
            .join(info.select("gid", "on_demand"), on="gid")
            .filter(
                (pl.col("share") >= target_availability - _EPS)
                & (pl.col("on_demand").is_null() | (pl.col("at") <= pl.col("on_demand") + _EPS))
            )
        )
        lowest = worst_old.group_by("gid").agg(lowest_level=pl.col("at").min())
        tol = (
            worst_old.with_columns(
                _min=pl.col("cost").min().over("gid"),
            )
            .filter(
                pl.col("cost")
                <= pl.col("_min")
                + PREVIOUS_COST_TOLERANCE * pl.col("on_demand").fill_null(0)
                + _EPS
            )
            .group_by("gid")
            .agg(_prev_level=pl.col("at").min())
        )
    else:
        lowest = pl.DataFrame(schema={"gid": pl.Int64, "lowest_level": pl.Float64})
        tol = pl.DataFrame(schema={"gid": pl.Int64, "_prev_level": pl.Float64})
    out = (
        info.select("gid", "on_demand", "max", "tick")
        .join(lowest, on="gid", how="left")
        .join(tol, on="gid", how="left")
    )
    return out.select(
        "gid",
        rule20=(RULE_FRACTION * od).round(9),
        max_observed=pl.min_horizontal("max", od.fill_null(pl.col("max"))),
        on_demand=od,
        lowest_level="lowest_level",
        previous=pl.min_horizontal(
            round_bid_up_expr(
                pl.col("_prev_level") + PREVIOUS_HEADROOM * od.fill_null(0.0), pl.col("tick")
            ),
            od.fill_null(pl.col("_prev_level") + 1e300),
        ),
    )


REFERENCES = ("rule20", "max_observed", "on_demand", "lowest_level", "previous")
REFERENCE_LABELS = {
    "spotlab": "spotlab (cost model)",
    "rule20": "20% rule",
    "max_observed": "max observed",
    "on_demand": "bid = on-demand",
    "lowest_level": "lowest level meeting the target (spot held)",
    "previous": "previous spotlab heuristic (+10% headroom)",
}


# -- intervals --------------------------------------------------------------------------------


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student t quantile: ``t((1 + confidence) / 2, dof)``."""
    from scipy.stats import t

    return float(t.ppf((1.0 + confidence) / 2.0, dof))


def levels_between(
    source: PriceSource,
    specs: Sequence[str] | None,
    zones: Sequence[str] | None,
    bounds: pl.DataFrame,
) -> tuple[Levels, pl.DataFrame]:
    """Levels of every selected series over per-provider windows: ``bounds`` has
    ``provider, w_start, w_end`` and a ``tag`` per row (several rows per provider are fine).
    Each row is one fast pass (:func:`spotlab.prices.series_levels`). Returns the levels
    (``wid`` 0..n-1) and ``wid, tag, provider, zone, spec``."""
    wins, levs, keys = [], [], []
    offset = 0
    for b in bounds.iter_rows(named=True):
        with open_source(source, specs, zones, b["provider"]) as src:
            _, lv = series_levels(src, None, b["w_start"], b["w_end"])
            w = catalog_on_demand(src, lv.windows)
        w = w.with_columns(pl.col("wid") + offset)
        wins.append(w)
        levs.append(lv.levels.with_columns(pl.col("wid") + offset))
        keys.append(w.select("wid", *SERIES).with_columns(tag=pl.lit(b["tag"])))
        offset += w.height
    if not wins:
        empty = pl.DataFrame(schema={"wid": pl.Int64})
        return Levels(windows=empty, levels=empty), empty
    return (
        Levels(
            windows=pl.concat(wins, how="vertical_relaxed"),
            levels=pl.concat(levs, how="vertical_relaxed"),
        ),
        pl.concat(keys, how="vertical_relaxed"),
    )


_PART_SCHEMA: dict[str, Any] = {
    "tag": pl.String, "wid": pl.Int64, "part": pl.Int64, "seconds": pl.Float64,
    "cum_seconds": pl.Float64, "cum_price_seconds": pl.Float64, "ups": pl.Int64,
}  # fmt: skip


def part_sums(
    src: _Source,
    cv: Curves,
    asks: pl.DataFrame,
    parts: int = INTERVAL_PARTS,
    carry: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Running sums at each ask's bid on each of ``parts`` equal parts of its window, in one
    pass over the window's points: ``tag, wid, part, seconds, cum_seconds, cum_price_seconds,
    ups`` (DuckDB reads the points, polars shifts them). Parts split each provider's span
    (its first covered time to the window end); a point holds until the next one or the
    window end, the point in effect at the span's start is carried in, and a rise across the
    bid counts in the part it happens in. ``asks``: ``tag, wid, at`` on ``cv``'s windows.
    ``carry`` (``provider, zone, spec, carry_price``: the point in effect at the window
    start, as :func:`spotlab.prices.series_levels` gives it) saves a pass where the span
    starts at the window start."""
    w = cv.windows.filter(pl.col("seconds").is_not_null())
    span = w.group_by("provider").agg(
        a=pl.col("start").min(), b=pl.col("w_end").max(), w0=pl.col("w_start").min()
    )
    a = asks.filter(pl.col("at").is_not_null()).join(w.select("wid", *SERIES), on="wid")
    if a.height == 0 or span.height == 0:
        return pl.DataFrame(schema=_PART_SCHEMA)
    # per-provider span bounds as parameters (a CASE on the provider, no join per row)
    params: dict[str, object] = {}
    a_case, b_case = "CASE s.provider", "CASE s.provider"
    for i, r in enumerate(span.iter_rows(named=True)):
        params |= {f"p{i}": r["provider"], f"a{i}": r["a"], f"b{i}": r["b"]}
        a_case += f" WHEN $p{i} THEN $a{i}::TIMESTAMPTZ"
        b_case += f" WHEN $p{i} THEN $b{i}::TIMESTAMPTZ"
    a_case, b_case = a_case + " END", b_case + " END"
    series = w.select(*SERIES).unique()
    name = f"_sl_ps_{uuid.uuid4().hex[:8]}"
    src.con.register(name, series)
    try:
        with wrap_errors("computing the interval parts"):
            keys = src.con.sql(f"SELECT *, hash(provider, zone, spec) AS h FROM {name}").pl()
            at_start = span.filter(pl.col("a") == pl.col("w0"))["provider"].to_list()
            if carry is not None and len(at_start) == span.height:
                carried_price = carry.select(*SERIES, price=pl.col("carry_price"))
            else:
                carried_price = src.con.sql(
                    f"""
                    WITH src AS ({src.sql})
                    SELECT s.provider, s.zone, s.spec,
                        arg_max(s.price, s.ts) FILTER (WHERE s.ts <= {a_case}) AS price
                    FROM src s WHERE s.ts < {b_case} GROUP BY ALL
                    """,
                    params=params,
                ).pl()
            inside = src.con.sql(
                f"""
                WITH src AS ({src.sql})
                SELECT hash(s.provider, s.zone, s.spec) AS h, epoch_us(s.ts) AS t,
                    s.price::DOUBLE AS price
                FROM src s WHERE s.ts > {a_case} AND s.ts < {b_case}
                """,
                params=params,
            ).pl()
    finally:
        src.con.unregister(name)
    us = span.select("provider", a=pl.col("a").dt.epoch("us"), b=pl.col("b").dt.epoch("us"))
    keys = (
        keys.join(us, on="provider")
        .join(carried_price, on=list(SERIES), how="left")
        .select("h", *SERIES, "a", "b", carry=pl.col("price").cast(pl.Float64))
    )
    ask_h = a.join(keys.select("h", *SERIES), on=list(SERIES)).select("tag", "wid", "at", "h")
    pairs = ask_h.select("h", "at").unique().sort("h", "at")
    ins = inside.select("h", "t", "price")
    if not _in_runs(ins["h"], ins["t"]):
        ins = ins.sort("h", "t")
    # every series is scored once per distinct bid: rounds in which each series has one;
    # rows go through in chunks of whole series (memory stays bounded on long windows)
    pairs = pairs.with_columns(_round=pl.int_range(pl.len()).over("h"))
    rounds = pairs.group_by("_round").len().height
    out = []
    for lo, hi in _series_chunks(ins["h"], PART_CHUNK_ROWS):
        chunk = ins.slice(lo, hi - lo)
        inside_h = chunk["h"].unique()
        for k in range(rounds):
            rnd = pairs.filter((pl.col("_round") == k) & pl.col("h").is_in(inside_h.implode()))
            if rnd.height:
                out.append(_part_round(chunk, keys, rnd, parts, with_alone=False))
    # series without a point inside the span: the carried-in price throughout
    alone = pairs.join(ins.select("h").unique(), on="h", how="anti")
    for k in range(alone.group_by("_round").len().height):
        rnd = alone.filter(pl.col("_round") == k)
        out.append(_part_round(ins.clear(), keys, rnd, parts, with_alone=True))
    per = pl.concat(out) if out else pl.DataFrame(schema={"h": pl.UInt64, "at": pl.Float64})
    long = ask_h.join(per, on=["h", "at"]).select(
        "tag", pl.col("wid").cast(pl.Int64), "part", "seconds", "cum_seconds",
        "cum_price_seconds", "ups",
    )  # fmt: skip
    return long.filter(pl.col("seconds") > 0)


#: rows of points per chunk of the interval parts' pass
PART_CHUNK_ROWS = 2_000_000


def _series_chunks(h: pl.Series, size: int) -> list[tuple[int, int]]:
    """Row ranges of at most about ``size`` rows that do not split a series' run."""
    n = h.len()
    if n == 0:
        return []
    starts = ((h != h.shift(1)).fill_null(True)).arg_true().to_list()
    out, lo = [], 0
    for s0 in starts[1:]:
        if s0 - lo >= size:
            out.append((lo, s0))
            lo = s0
    out.append((lo, n))
    return out


def _part_round(
    ins: pl.DataFrame, keys: pl.DataFrame, pairs: pl.DataFrame, parts: int, with_alone: bool
) -> pl.DataFrame:
    """:func:`part_sums` for bids with one per series: ``h, at, part`` and the sums. Rows
    come in runs per series; per-series values are gathered by run, never joined per row,
    and the sums are grouped on one integer key (run × parts + part)."""
    h = ins["h"]
    first = (h != h.shift(1)).fill_null(True)
    last = (h != h.shift(-1)).fill_null(True)
    run = first.cast(pl.Int64).cum_sum() - 1
    runs = (
        pl.DataFrame({"h": h.filter(first)})
        .join(keys.select("h", "a", "b", "carry"), on="h", how="left", maintain_order="left")
        .join(pairs.select("h", "at"), on="h", how="left", maintain_order="left")
        .with_row_index("run")
        .with_columns(pl.col("run").cast(pl.Int64))
    )
    g = {c: runs[c].gather(run) for c in ("a", "b", "carry", "at")}
    t = ins["t"]
    seg = pl.DataFrame(
        {
            "run": run,
            "t": t,
            "price": ins["price"],
            "a": g["a"],
            "b": g["b"],
            "at": g["at"],
            "t1": pl.select(pl.when(last).then(g["b"]).otherwise(t.shift(-1))).to_series(),
            "prev": pl.select(
                pl.when(first).then(g["carry"]).otherwise(ins["price"].shift(1))
            ).to_series(),
        }
    ).filter(pl.col("at").is_not_null())
    # the carried-in price holds from the span's start to the first point inside; a series
    # without a point inside gets a run of its own holding the carry to the end
    heads = runs.select("h", "run", t1=t.filter(first))
    extra = keys.filter(pl.col("carry").is_not_null()).join(pairs.select("h", "at"), on="h")
    alone = (
        extra.join(heads, on="h", how="anti")
        .filter(pl.lit(with_alone))
        .with_row_index("run", offset=runs.height)
        .with_columns(pl.col("run").cast(pl.Int64), t1=pl.col("b"))
    )
    cols = ["run", "t", "price", "a", "b", "at", "t1", "prev"]
    carried = pl.concat(
        [
            extra.join(heads, on="h").select(
                "run", t="a", price="carry", a="a", b="b", at="at", t1="t1",
                prev=pl.lit(None, pl.Float64),
            ),
            alone.select(
                "run", t="a", price="carry", a="a", b="b", at="at", t1="t1",
                prev=pl.lit(None, pl.Float64),
            ),
        ],
        how="vertical_relaxed",
    ).select(cols)  # fmt: skip
    names = pl.concat(
        [runs.select("run", "h", "at"), alone.select("run", "h", "at")], how="vertical_relaxed"
    )
    q = pl.concat([carried, seg.select(carried.columns)], how="vertical_relaxed")
    # a segment's part (integer arithmetic on microseconds): most segments lie inside one
    # part; the few crossing a boundary are split
    span = pl.col("b") - pl.col("a")

    def part_of(x: pl.Expr) -> pl.Expr:
        return ((x - pl.col("a")) * parts // span).clip(0, parts - 1)

    q = q.with_columns(
        k0=part_of(pl.col("t")),
        k1=part_of(pl.col("t1") - 1),
        held=pl.col("price") <= pl.col("at"),
        rise=(
            (pl.col("prev") <= pl.col("at")).fill_null(False) & (pl.col("price") > pl.col("at"))
        ).cast(pl.Int64),
    )
    inner = q.filter(pl.col("k0") == pl.col("k1")).select(
        "run", part="k0", dur=(pl.col("t1") - pl.col("t")).cast(pl.Float64) / 1e6,
        price="price", held="held", rise="rise",
    )  # fmt: skip
    cross = (
        q.filter(pl.col("k0") != pl.col("k1"))
        .with_columns(part=pl.int_ranges("k0", pl.col("k1") + 1))
        .explode("part")
    )
    lo = pl.col("a") + span * pl.col("part") // parts
    hi = (
        pl.when(pl.col("part") == parts - 1)
        .then(pl.col("b"))
        .otherwise(pl.col("a") + span * (pl.col("part") + 1) // parts)
    )
    cross = cross.select(
        "run", "part",
        dur=(pl.min_horizontal("t1", hi) - pl.max_horizontal("t", lo)).clip(lower_bound=0)
        .cast(pl.Float64) / 1e6,
        price="price", held="held",
        rise=pl.when(pl.col("part") == pl.col("k0")).then("rise").otherwise(0),
    )  # fmt: skip
    segs = pl.concat([inner, cross], how="vertical_relaxed")
    held_s = pl.when("held").then("dur").otherwise(0.0)
    per = (
        segs.select(
            key=pl.col("run") * parts + pl.col("part"),
            dur="dur",
            _hs=held_s,
            _hp=held_s * pl.col("price"),
            rise="rise",
        )
        .group_by("key")
        .agg(
            seconds=pl.col("dur").sum(),
            cum_seconds=pl.col("_hs").sum(),
            cum_price_seconds=pl.col("_hp").sum(),
            ups=pl.col("rise").sum().cast(pl.Int64),
        )
    )
    out = per.select(
        (pl.col("key") // parts).alias("run"),
        (pl.col("key") % parts).alias("part"),
        "seconds",
        "cum_seconds",
        "cum_price_seconds",
        "ups",
    )
    return out.join(names, on="run").drop("run")


_VARIANTS = {"": ("startup_s", "reclaim_rate"), "_plo": ("startup_lo", "reclaim_lo"),
             "_phi": ("startup_hi", "reclaim_hi")}  # fmt: skip


def _variant_figures(rows: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """:data:`INTERVAL_FIGURES` at the central (``""``), low (``_plo``) and high
    (``_phi``) start-up and reclaim rate, for rows with running sums and window inputs."""
    cols = []
    for v, (startup, rate) in _VARIANTS.items():
        ex = _figure_exprs(startup, rate)
        cols += [ex[m].alias(f"{m}{v}") for m in INTERVAL_FIGURES]
    return rows.select(*keys, *cols)


def interval_figures(
    cv: Curves,
    asks: pl.DataFrame,
    sums: pl.DataFrame,
    parts: int = INTERVAL_PARTS,
    confidence: float = CONFIDENCE,
) -> pl.DataFrame:
    """The intervals of the figures of ``asks`` (``tag, wid, at``: a bid per window of
    ``cv``): ``tag, wid`` and ``{figure}_low, {figure}_high`` for :data:`INTERVAL_FIGURES`
    (see the module docstring for the method), from the parts' running sums ``sums``
    (:func:`part_sums`)."""
    asks = asks.filter(pl.col("at").is_not_null())
    keys = ("tag", "wid")
    whole = _variant_figures(cv.at(asks.select("wid", "at", "tag")), keys)
    if sums.height:
        inputs = cv.windows.select("wid", *[c for c in WINDOW_INPUTS if c != "seconds"])
        prow = _variant_figures(sums.join(inputs, on="wid", how="left"), keys)
        value_cols = [c for c in prow.columns if c not in keys]
        stats = prow.group_by(keys).agg(
            pl.len().alias("n"),
            *[pl.col(c).mean().alias(f"{c}__mean") for c in value_cols],
            *[pl.col(c).std().fill_null(0.0).alias(f"{c}__sd") for c in value_cols],
        )
    else:
        stats = pl.DataFrame(schema={"tag": pl.String, "wid": pl.Int64, "n": pl.UInt32})
    mult = {n: t_quantile(confidence, n - 1) * math.sqrt(2.0 / n) for n in range(2, parts + 1)}
    out = whole.join(stats, on=list(keys), how="left")
    k = pl.col("n").replace_strict(mult, default=None, return_dtype=pl.Float64)
    exprs = []
    for m in INTERVAL_FIGURES:
        # cost rises with start-up and reclaims, availability falls; shares and crossings
        # do not depend on them
        lo_v, hi_v = {
            "effective_cost": ("_plo", "_phi"),
            "availability": ("_phi", "_plo"),
        }.get(m, ("", ""))
        if stats.height:
            lo_pi = pl.col(f"{m}{lo_v}__mean") - k * pl.col(f"{m}{lo_v}__sd")
            hi_pi = pl.col(f"{m}{hi_v}__mean") + k * pl.col(f"{m}{hi_v}__sd")
            lo = pl.min_horizontal(pl.col(f"{m}{lo_v}"), lo_pi)
            hi = pl.max_horizontal(pl.col(f"{m}{hi_v}"), hi_pi)
        else:
            lo, hi = pl.col(f"{m}{lo_v}"), pl.col(f"{m}{hi_v}")
        if m in ("spot_share", "availability"):
            lo, hi = lo.clip(0.0, 1.0), hi.clip(0.0, 1.0)
        else:
            lo = lo.clip(lower_bound=0.0)
        exprs += [lo.alias(f"{m}_low"), hi.alias(f"{m}_high")]
    return out.select(*keys, *exprs)


# -- any ordered list, from the joint history --------------------------------------------------


@dataclass(frozen=True)
class ListEntry:
    """One entry of an ordered list, as EAS reads ``cloud.computing.instances``.

    ``spot`` entries are held while their market (the highest of their ``zones``, all zones
    when None) is at or below ``bid`` (None: no limit, as ``SpotAsPriceGo``); a regular
    entry costs ``price`` per hour (default: its on-demand price from the points or the
    store's catalog) and is always available. ``capacity_share`` caps the share of the
    service's replicas on the entry (None: no cap). ``startup_seconds`` (default
    :data:`DEFAULT_STARTUP_SECONDS`) and its ``startup_range``; ``reclaims_per_hour``
    (capacity reclaims per instance-hour, spot only) and its ``reclaims_range``;
    ``throughput``: replicas one instance serves (cost per replica-hour = price ÷ it).
    """

    spec: str
    spot: bool = True
    bid: float | None = None
    zones: tuple[str, ...] | None = None
    capacity_share: float | None = None
    price: float | None = None
    startup_seconds: float | None = None
    startup_range: tuple[float, float] | None = None
    reclaims_per_hour: float = 0.0
    reclaims_range: tuple[float, float] | None = None
    throughput: float = 1.0

    def __post_init__(self) -> None:
        for name in ("bid", "price", "startup_seconds", "reclaims_per_hour"):
            v = getattr(self, name)
            if v is not None:
                _check_number(f"{self.spec}: {name}", v)
        c = self.capacity_share
        if c is not None and not (math.isfinite(c) and 0 < c <= 1):
            raise AnalysisError(f"{self.spec}: capacity_share must be in (0, 1], got {c!r}")
        if not (math.isfinite(self.throughput) and self.throughput > 0):
            raise AnalysisError(f"{self.spec}: throughput must be > 0, got {self.throughput!r}")
        for name in ("startup_range", "reclaims_range"):
            pair = getattr(self, name)
            if pair is not None and (len(pair) != 2 or pair[0] > pair[1]):
                raise AnalysisError(f"{self.spec}: {name} must be (low, high), got {pair!r}")


@dataclass
class ListCost:
    """What :func:`evaluate_entries` measured on the window.

    ``entries``: one row per entry in order: ``position, spec, spot, bid, capacity_share,
    price`` (regular) / ``mean_paid`` (spot, while held), ``share`` (of replica-time),
    ``moves_in_per_day``, ``price_reclaims_per_day`` (share of the service moved off the
    entry by the market rising above its bid, per day), ``capacity_reclaims_per_day``,
    ``cost_share`` (its part of the effective cost). ``figures``: ``effective_cost``,
    ``availability`` (service), ``spot_share``, ``crossings_per_day`` (price reclaims of the
    whole list), each with ``_low``/``_high``, and ``downtime_cost``, ``total_cost``,
    ``unserved_share`` (time no entry could take a replica: no uncapped regular entry).
    """

    entries: pl.DataFrame
    figures: dict[str, float | None]
    start: datetime
    end: datetime
    currency: str | None
    assumptions: dict[str, Any] = field(default_factory=dict)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "hours": self.hours,
            "currency": self.currency,
            "figures": self.figures,
            "entries": self.entries.to_dicts(),
            "assumptions": self.assumptions,
        }


def evaluate_entries(
    source: PriceSource,
    entries: Sequence[ListEntry],
    window: str | timedelta | None = "30d",
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
    lead_seconds: float | None = None,
    value_per_replica_hour: float | None = None,
    confidence: float = CONFIDENCE,
) -> ListCost:
    """Cost per replica-hour and service availability of an ordered list over a window.

    The public entry point of the model for any ordered list (the ordering, the fleet's
    recommended policy): from the joint price history of the spot entries, at each moment
    the service's replicas fill the entries in order (each up to its ``capacity_share``;
    a spot entry only while held); every change moves replicas between entries (a move off
    a spot entry whose price rose above its bid is a reclaim: downtime beyond the warning;
    a move back is started before the old instance stops). Capacity reclaims take
    ``reclaims_per_hour`` × the replicas on each spot entry. See the module docstring for
    the figures and their intervals.

    >>> evaluate_entries(store, [ListEntry("ecs.gn8is.2xlarge", bid=14.4),
    ...                          ListEntry("ecs.gn8is.2xlarge", spot=False)])  # doctest: +SKIP
    """
    if not entries:
        raise AnalysisError("an ordered list needs at least one entry")
    spot_specs = sorted({e.spec for e in entries if e.spot})
    steps: list[pl.DataFrame] = []
    for i, e in enumerate(entries):
        if not e.spot:
            continue
        s = price_steps(source, e.spec, None, window, start=start, end=end, provider=provider)
        if e.zones is not None:
            s = s.filter(pl.col("zone").is_in(list(e.zones)))
        if s.height == 0:
            raise AnalysisError(
                f"entry #{i + 1} ({e.spec}, spot) has no price points in the window"
                + (f" in zones {', '.join(e.zones)}" if e.zones else "")
            )
        steps.append(s.with_columns(entry=pl.lit(i, dtype=pl.Int64)))
    providers = sorted({p for s in steps for p in s["provider"].unique().to_list()})
    if len(providers) > 1:
        raise AnalysisError(
            f"the spot entries come from several providers ({', '.join(providers)}): an EAS "
            "list lives in one region; pass provider="
        )
    prov = providers[0] if providers else (provider or "alibaba")
    lead = float(lead_seconds) if lead_seconds is not None else _lead(prov)
    prices = _regular_prices(source, entries, steps, provider)
    currency = _currency(source, spot_specs, steps)
    w_start: datetime
    w_end: datetime
    if steps:
        times = pl.concat([s.select("ts") for s in steps])["ts"]
        w_start, w_end = times.min(), times.max()  # type: ignore[assignment]
    else:
        w_start, w_end = _bounds_without_spot(source, window, start, end, provider)
    if w_end <= w_start:
        raise AnalysisError("the window holds no time to evaluate the list on")
    span = w_end - w_start
    bounds = [w_start + span * k / INTERVAL_PARTS for k in range(INTERVAL_PARTS)] + [w_end]
    grid = _joint_grid(steps, bounds)
    n = len(entries)
    caps = [e.capacity_share if e.capacity_share is not None else 1.0 for e in entries]
    f = grid
    avail: list[pl.Expr] = []
    price: list[pl.Expr] = []
    for i, e in enumerate(entries):
        if e.spot:
            p = pl.col(f"p{i}")
            a = p.is_not_null() & (p <= (e.bid if e.bid is not None else math.inf) + _EPS)
        else:
            p = pl.lit(prices[i], dtype=pl.Float64)
            a = pl.lit(True)
        avail.append(a)
        price.append(p)
    f = f.with_columns(*[a.alias(f"a{i}") for i, a in enumerate(avail)])
    rem: pl.Expr = pl.lit(1.0)
    shares = []
    for i in range(n):
        share = (
            pl.when(pl.col(f"a{i}")).then(pl.min_horizontal(pl.lit(caps[i]), rem)).otherwise(0.0)
        )
        shares.append(share.alias(f"f{i}"))
        rem = rem - share
    f = f.with_columns(*shares).with_columns(
        unserved=(1.0 - pl.sum_horizontal(*[pl.col(f"f{i}") for i in range(n)])).clip(0.0, 1.0)
    )
    f = f.with_columns(
        *[
            (pl.col(f"f{i}") - pl.col(f"f{i}").shift(1)).fill_null(0.0).alias(f"d{i}")
            for i in range(n)
        ],
        *[
            (pl.col(f"a{i}").shift(1).fill_null(False) & ~pl.col(f"a{i}")).alias(f"lost{i}")
            for i in range(n)
        ],
    )
    hours_col = pl.col("dur") / 3600.0
    # mean price paid on each entry over the window (billed start-ups of moves onto it)
    mean_paid: list[float | None] = []
    for i in range(n):
        num = f.select((pl.col(f"f{i}") * price[i] * hours_col).sum()).item()
        den = f.select((pl.col(f"f{i}") * hours_col).sum()).item()
        mean_paid.append(float(num) / float(den) if den else prices[i])
    value = (
        float(value_per_replica_hour)
        if value_per_replica_hour is not None
        else _default_value(entries, prices)
    )
    startup = [
        e.startup_seconds if e.startup_seconds is not None else DEFAULT_STARTUP_SECONDS
        for e in entries
    ]
    variants = {
        "": (startup, [e.reclaims_per_hour for e in entries]),
        "_plo": (
            [
                min(s, e.startup_range[0]) if e.startup_range else s
                for s, e in zip(startup, entries, strict=True)
            ],
            [
                min(e.reclaims_per_hour, e.reclaims_range[0])
                if e.reclaims_range
                else e.reclaims_per_hour
                for e in entries
            ],
        ),
        "_phi": (
            [
                max(s, e.startup_range[1]) if e.startup_range else s
                for s, e in zip(startup, entries, strict=True)
            ],
            [
                max(e.reclaims_per_hour, e.reclaims_range[1])
                if e.reclaims_range
                else e.reclaims_per_hour
                for e in entries
            ],
        ),
    }
    thr = [e.throughput for e in entries]
    spot_idx = [i for i, e in enumerate(entries) if e.spot]
    per_seg = []
    for v, (st, rates) in variants.items():
        down_h = [max(0.0, s - lead) / 3600.0 for s in st]
        cost_rate = pl.sum_horizontal(
            *[pl.col(f"f{i}") * price[i].fill_null(0.0) / thr[i] for i in range(n)]
        )
        ups = [pl.col(f"d{i}").clip(lower_bound=0.0) for i in range(n)]
        up_total = pl.sum_horizontal(*ups)
        forced = pl.sum_horizontal(
            *[
                pl.when(pl.col(f"lost{i}"))
                .then(-pl.col(f"d{i}"))
                .otherwise(0.0)
                .clip(lower_bound=0.0)
                for i in range(n)
            ]
        )
        dest_down = (
            pl.when(up_total > 0)
            .then(pl.sum_horizontal(*[ups[i] * down_h[i] for i in range(n)]) / up_total)
            .otherwise(0.0)
        )
        billed_moves = pl.sum_horizontal(
            *[ups[i] * st[i] / 3600.0 * (mean_paid[i] or 0.0) / thr[i] for i in range(n)]
        )
        cap_events = [pl.col(f"f{i}") * rates[i] * hours_col for i in spot_idx]
        cap_billed = pl.sum_horizontal(
            pl.lit(0.0),
            *[
                cap_events[k] * st[i] / 3600.0 * (mean_paid[i] or 0.0) / thr[i]
                for k, i in enumerate(spot_idx)
            ],
        )
        cap_down = pl.sum_horizontal(
            pl.lit(0.0), *[cap_events[k] * down_h[i] for k, i in enumerate(spot_idx)]
        )
        per_seg += [
            (cost_rate * hours_col + billed_moves + cap_billed).alias(f"cost{v}"),
            (forced * dest_down + cap_down + pl.col("unserved") * hours_col).alias(f"down{v}"),
        ]
    spot_frac = pl.sum_horizontal(pl.lit(0.0), *[pl.col(f"f{i}") for i in spot_idx])
    forced_any = pl.sum_horizontal(
        pl.lit(0.0),
        *[
            pl.when(pl.col(f"lost{i}")).then(-pl.col(f"d{i}")).otherwise(0.0).clip(lower_bound=0.0)
            for i in spot_idx
        ],
    )
    f = f.with_columns(*per_seg, spot_h=spot_frac * hours_col, forced=forced_any, h=hours_col)
    agg = [
        pl.col(c).sum()
        for c in ("h", "spot_h", "forced", *[f"{k}{v}" for v in variants for k in ("cost", "down")])
    ]
    whole = f.select(agg).row(0, named=True)
    parts = f.filter(pl.col("part").is_not_null()).group_by("part").agg(agg).filter(pl.col("h") > 0)

    def figs(r: Mapping[str, Any], v: str) -> dict[str, float]:
        h = r["h"]
        return {
            "effective_cost": r[f"cost{v}"] / h,
            "availability": 1.0 - min(1.0, r[f"down{v}"] / h),
            "spot_share": r["spot_h"] / h,
            "crossings_per_day": r["forced"] / h * 24.0,
        }

    point = {v: figs(whole, v) for v in variants}
    part_rows = [{v: figs(r, v) for v in variants} for r in parts.iter_rows(named=True)]
    k = len(part_rows)
    mult = t_quantile(confidence, k - 1) * math.sqrt(2.0 / k) if k >= 2 else 0.0
    out: dict[str, float | None] = {}
    for m in INTERVAL_FIGURES:
        lo_v, hi_v = {"effective_cost": ("_plo", "_phi"), "availability": ("_phi", "_plo")}.get(
            m, ("", "")
        )
        lo, hi = point[lo_v][m], point[hi_v][m]
        if k >= 2:
            lo_vals = [p[lo_v][m] for p in part_rows]
            hi_vals = [p[hi_v][m] for p in part_rows]
            lo = min(lo, _mean(lo_vals) - mult * _sd(lo_vals))
            hi = max(hi, _mean(hi_vals) + mult * _sd(hi_vals))
        if m in ("spot_share", "availability"):
            lo, hi = max(0.0, min(1.0, lo)), max(0.0, min(1.0, hi))
        else:
            lo = max(0.0, lo)
        out[m] = point[""][m]
        out[f"{m}_low"], out[f"{m}_high"] = lo, hi
    downtime = 1.0 - point[""]["availability"]
    out["downtime_cost"] = downtime * value
    out["total_cost"] = point[""]["effective_cost"] + downtime * value
    out["unserved_share"] = f.select((pl.col("unserved") * hours_col).sum()).item() / whole["h"]
    rows = []
    for i, e in enumerate(entries):
        on = f.select((pl.col(f"f{i}") * hours_col).sum()).item()
        moved_in = f.select(pl.col(f"d{i}").clip(lower_bound=0.0).sum()).item()
        lost = f.select(
            pl.when(pl.col(f"lost{i}"))
            .then(-pl.col(f"d{i}"))
            .otherwise(0.0)
            .clip(lower_bound=0.0)
            .sum()
        ).item()
        cost_i = (
            f.select((pl.col(f"f{i}") * price[i].fill_null(0.0) * hours_col).sum()).item() / thr[i]
        )
        rows.append(
            {
                "position": i + 1,
                "spec": e.spec,
                "spot": e.spot,
                "bid": e.bid,
                "capacity_share": e.capacity_share,
                "price": None if e.spot else prices[i],
                "mean_paid": mean_paid[i] if e.spot and on else None,
                "share": on / whole["h"],
                "moves_in_per_day": moved_in / whole["h"] * 24.0,
                "price_reclaims_per_day": lost / whole["h"] * 24.0,
                "capacity_reclaims_per_day": (e.reclaims_per_hour * on / whole["h"] * 24.0)
                if e.spot
                else 0.0,
                "cost_share": cost_i / whole["h"] / point[""]["effective_cost"]
                if point[""]["effective_cost"]
                else None,
            }
        )
    return ListCost(
        entries=pl.DataFrame(rows, schema=_LIST_SCHEMA),
        figures=out,
        start=w_start,
        end=w_end,
        currency=currency,
        assumptions={
            "provider": prov,
            "lead_seconds": lead,
            "value_per_replica_hour": value,
            "startup_seconds": dict(
                zip([f"#{i + 1} {e.spec}" for i, e in enumerate(entries)], startup, strict=True)
            ),
            "interval": f"{confidence:.0%}: {INTERVAL_PARTS} equal parts of the window and the "
            "reclaim and start-up ranges (spotlab.advise.costmodel)",
        },
    )


_LIST_SCHEMA: dict[str, Any] = {
    "position": pl.Int64, "spec": pl.String, "spot": pl.Boolean, "bid": pl.Float64,
    "capacity_share": pl.Float64, "price": pl.Float64, "mean_paid": pl.Float64,
    "share": pl.Float64, "moves_in_per_day": pl.Float64, "price_reclaims_per_day": pl.Float64,
    "capacity_reclaims_per_day": pl.Float64, "cost_share": pl.Float64,
}  # fmt: skip


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _sd(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0


def _lead(provider: str) -> float:
    return WARNING_LEAD_SECONDS.get(provider.lower(), DEFAULT_WARNING_LEAD_SECONDS)


def _default_value(entries: Sequence[ListEntry], prices: Sequence[float | None]) -> float:
    """The last regular entry's price per replica-hour (what a stand-in hour costs)."""
    for i in range(len(entries) - 1, -1, -1):
        if not entries[i].spot and prices[i] is not None:
            return float(prices[i]) / entries[i].throughput  # type: ignore[arg-type]
    raise AnalysisError(
        "no regular entry with a price to value a lost replica-hour: pass value_per_replica_hour"
    )


def _regular_prices(
    source: PriceSource,
    entries: Sequence[ListEntry],
    steps: Sequence[pl.DataFrame],
    provider: str | None,
) -> list[float | None]:
    """Each regular entry's price: given, else its on-demand price in the points, else the
    store's catalog."""
    from spotlab.store import Store

    out: list[float | None] = []
    for i, e in enumerate(entries):
        if e.spot:
            out.append(None)
            continue
        if e.price is not None:
            out.append(float(e.price))
            continue
        od = None
        for s in steps:
            hit = s.filter((pl.col("spec") == e.spec) & pl.col("on_demand").is_not_null())
            if hit.height:
                od = float(hit.sort("ts")["on_demand"][-1])
        if od is None and isinstance(source, Store):
            where = "spec = ? AND on_demand_price IS NOT NULL"
            args: list[Any] = [e.spec]
            if provider is not None:
                where += " AND provider = ?"
                args.append(provider)
            cat = source.query(f"SELECT min(on_demand_price) AS od FROM specs WHERE {where}", args)
            od = cat["od"][0]
        if od is None and isinstance(source, pl.DataFrame) and "on_demand_price" in source.columns:
            hit = source.filter(
                (pl.col("spec") == e.spec) & pl.col("on_demand_price").is_not_null()
            )
            od = float(hit["on_demand_price"][-1]) if hit.height else None
        if od is None:
            raise AnalysisError(
                f"entry #{i + 1} ({e.spec}, regular) has no price: pass ListEntry(price=...) "
                "or load a specs catalog"
            )
        out.append(float(od))
    return out


def _currency(
    source: PriceSource, specs: Sequence[str], steps: Sequence[pl.DataFrame]
) -> str | None:
    from spotlab.store import Store

    if isinstance(source, Store) and specs:
        got = source.query(
            "SELECT any_value(currency) AS c FROM spot_prices WHERE spec IN (SELECT unnest(?))",
            [list(specs)],
        )["c"][0]
        return str(got) if got is not None else None
    if isinstance(source, pl.DataFrame) and "currency" in source.columns:
        got = source["currency"].drop_nulls()
        return str(got[0]) if got.len() else None
    return None


def _bounds_without_spot(
    source: PriceSource,
    window: str | timedelta | None,
    start: datetime | str | None,
    end: datetime | str | None,
    provider: str | None,
) -> tuple[datetime, datetime]:
    """A window for a list of regular entries only (no market to read): [start, end)."""
    from spotlab.prices import parse_window

    e, s = to_utc(end), to_utc(start)
    length = parse_window(window)
    if e is None or (s is None and length is None):
        raise AnalysisError("a list of regular entries needs end= and window= (or start=)")
    return (s if s is not None else e - length), e  # type: ignore[operator]


def _joint_grid(steps: Sequence[pl.DataFrame], bounds: Sequence[datetime]) -> pl.DataFrame:
    """The joint step series of the spot entries: one row per change of any of them (and
    per interval part boundary), ``ts, dur`` (seconds to the next row), ``part`` and
    ``p{entry}`` (the entry's market: the highest of its zones with a price)."""
    times = pl.concat(
        [pl.Series("ts", list(bounds), dtype=pl.Datetime("us", "UTC"))]
        + [s["ts"].cast(pl.Datetime("us", "UTC")) for s in steps]
    )
    grid = pl.DataFrame({"ts": times}).unique().sort("ts")
    grid = grid.filter((pl.col("ts") >= bounds[0]) & (pl.col("ts") <= bounds[-1]))
    b = pl.Series("b", list(bounds[:-1]), dtype=pl.Datetime("us", "UTC"))
    part = (b.search_sorted(grid["ts"], side="right") - 1).cast(pl.Int64)
    grid = grid.with_columns(
        dur=(pl.col("ts").shift(-1) - pl.col("ts")).dt.total_microseconds().fill_null(0) / 1e6,
        part=pl.when(pl.col("ts") < bounds[-1]).then(part),
    )
    for s in steps:
        i = int(s["entry"][0])
        per_zone = []
        for (zone,), z in s.sort("ts").group_by("zone", maintain_order=True):
            hit = grid.select("ts").join_asof(
                z.select(pl.col("ts").cast(pl.Datetime("us", "UTC")), "price"),
                on="ts",
                strategy="backward",
                check_sortedness=False,
            )
            per_zone.append(hit["price"].alias(f"z{zone}"))
        grid = grid.with_columns(pl.max_horizontal(*per_zone).alias(f"p{i}"))
    return grid
