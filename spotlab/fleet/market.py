"""What a fleet simulation replays: pools of instances, their capacity and prices over time.

A *pool* is one place replicas can run: a spot market (spec in a zone), a regular
(pay-as-you-go) spec, or a dedicated resource group of fixed size. Time is a grid of ticks of
``step_seconds``. For every pool and tick the market holds:

- ``capacity``: the most replicas the pool lets you hold; replicas above it are reclaimed
  (spot stock from a trace; :data:`UNLIMITED` for regular; the group size for dedicated);
- ``launchable``: the most the pool may hold after new launches (equal to ``capacity`` for
  trace replay; 0 while out of stock in the Poisson model, where reclaims are random shocks
  instead of capacity drops);
- ``prices``: USD (or any one currency) per replica-hour, constant per pool or a series.

Builders: :func:`market_from_availability` replays measured traces (the
``spot_availability`` table or a frame with ``zone, spec, ts, available``);
:func:`poisson_market` draws stock outages and reclaims from rates, deterministically for a
seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import polars as pl

from spotlab.errors import AnalysisError, did_you_mean

#: capacity that never binds (regular pools, available single-node trace zones)
UNLIMITED = 1 << 40
#: the most ticks a market may have (memory: a few int64 rows per pool and tick)
MAX_TICKS = 2_000_000

Kind = Literal["spot", "regular", "dedicated"]
KINDS: tuple[str, ...] = ("dedicated", "spot", "regular")


@dataclass(frozen=True)
class Pool:
    """One place replicas can run. ``price_per_hour`` is per replica; a dedicated pool of
    ``slots`` replicas is billed for every slot all the time (a monthly price ÷ 730 h)."""

    spec: str
    zone: str
    kind: Kind
    price_per_hour: float
    startup_seconds: float = 0.0
    slots: int | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.spec}@{self.zone}"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AnalysisError(f"pool kind must be one of {KINDS}, got {self.kind!r}")
        if self.price_per_hour < 0 or self.startup_seconds < 0:
            raise AnalysisError(f"pool {self.label}: price and start-up must be >= 0")
        if self.kind == "dedicated" and (self.slots is None or self.slots < 0):
            raise AnalysisError(f"dedicated pool {self.label} needs slots >= 0")


@dataclass(frozen=True)
class Shocks:
    """Random reclaims (Poisson model): at ``tick[i]`` pool ``pool[i]`` loses its replica
    number ``floor(u[i] * ref)`` (0-based, oldest first) if it holds that many.

    Drawing at rate ``ref × λ`` and keeping a shock with probability held/ref thins the
    process to ``held × λ`` (a per-replica hazard) while the draws stay the same for every
    policy: policies are compared on common random numbers.
    """

    tick: np.ndarray
    pool: np.ndarray
    u: np.ndarray
    ref: int


@dataclass(frozen=True)
class Market:
    pools: tuple[Pool, ...]
    step_seconds: float
    capacity: np.ndarray
    launchable: np.ndarray
    prices: np.ndarray | None = None
    shocks: Shocks | None = None
    start: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        p, t = self.capacity.shape
        if p != len(self.pools) or self.launchable.shape != (p, t):
            raise AnalysisError(
                f"capacity {self.capacity.shape} and launchable {self.launchable.shape} must "
                f"be (pools={len(self.pools)}, ticks)"
            )
        if self.prices is not None and self.prices.shape != (p, t):
            raise AnalysisError(f"prices must be (pools, ticks) = {(p, t)}")
        if self.step_seconds <= 0 or t == 0:
            raise AnalysisError("a market needs a positive step and at least one tick")

    @property
    def ticks(self) -> int:
        return int(self.capacity.shape[1])

    @property
    def hours(self) -> float:
        return self.ticks * self.step_seconds / 3600.0

    def find(
        self, kind: str | None = None, zone: str | None = None, spec: str | None = None
    ) -> list[int]:
        """Indices of the pools matching every given attribute, in market order."""
        return [
            i
            for i, p in enumerate(self.pools)
            if (kind is None or p.kind == kind)
            and (zone is None or p.zone == zone)
            and (spec is None or p.spec == spec)
        ]

    def index(self, label: str) -> int:
        labels = [p.label for p in self.pools]
        if label not in labels:
            raise AnalysisError(f"no pool {label!r}.{did_you_mean(label, labels)}")
        return labels.index(label)

    def price_matrix(self) -> np.ndarray:
        """Prices per replica-hour as (pools, ticks)."""
        if self.prices is not None:
            return self.prices
        const = np.array([p.price_per_hour for p in self.pools], dtype=float)
        return np.broadcast_to(const[:, None], self.capacity.shape)

    def window(self, first: int, last: int | None = None) -> Market:
        """The ticks ``first .. last-1`` as a market of their own (e.g. a held-out part)."""
        last = self.ticks if last is None else last
        if not 0 <= first < last <= self.ticks:
            raise AnalysisError(f"window {first}..{last} outside 0..{self.ticks}")
        shocks = None
        if self.shocks is not None:
            keep = (self.shocks.tick >= first) & (self.shocks.tick < last)
            shocks = replace(
                self.shocks,
                tick=self.shocks.tick[keep] - first,
                pool=self.shocks.pool[keep],
                u=self.shocks.u[keep],
            )
        start = None
        if self.start is not None:
            start = self.start + timedelta(seconds=first * self.step_seconds)
        return replace(
            self,
            capacity=self.capacity[:, first:last],
            launchable=self.launchable[:, first:last],
            prices=None if self.prices is None else self.prices[:, first:last],
            shocks=shocks,
            start=start,
        )


def _fixed_rows(pools: Sequence[Pool], ticks: int) -> np.ndarray:
    rows = np.empty((len(pools), ticks), dtype=np.int64)
    for i, p in enumerate(pools):
        rows[i] = (p.slots or 0) if p.kind == "dedicated" else UNLIMITED
    return rows


def market_from_availability(
    availability: pl.DataFrame,
    spot_prices: dict[str, float] | float,
    others: Sequence[Pool] = (),
    step_seconds: float = 60.0,
    startup_seconds: dict[str, float] | float = 0.0,
    binary: bool | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Market:
    """A market replaying measured spot availability.

    ``availability`` has ``zone, spec, ts, available`` (e.g. the ``spot_availability``
    table); each series is one spot pool, in the order of first appearance. Each sample
    holds until the next; the grid runs from ``start`` (default: the earliest sample) to
    ``end`` (default: the latest sample plus its series' smallest sampling gap).
    ``binary=True`` reads counts as available/unavailable (a single-node probe that got an
    instance says nothing about how many more there were: the zone is taken as unlimited);
    ``None`` picks binary when no count exceeds 1. ``spot_prices`` is keyed by zone or by
    ``spec@zone``; ``others`` are the regular and dedicated pools, appended after the spot
    pools.
    """
    check_step(step_seconds)
    need = {"zone", "spec", "ts", "available"}
    if not need <= set(availability.columns):
        raise AnalysisError(
            f"availability frame lacks {sorted(need - set(availability.columns))}; "
            "expected columns zone, spec, ts, available"
        )
    if availability.height == 0:
        raise AnalysisError("no availability rows to replay")
    frame = availability.select("zone", "spec", "ts", "available").sort("zone", "spec", "ts")
    series = (
        availability.select("zone", "spec").unique(maintain_order=True).rows()
    )  # order of first appearance
    t_first: datetime = _as_datetime(frame["ts"].min()) if start is None else start
    gaps = (
        frame.with_columns(gap=pl.col("ts").diff().over("zone", "spec"))
        .filter(pl.col("gap") > pl.duration(seconds=0))
        .group_by("zone", "spec")
        .agg(pl.col("gap").min())
    )
    min_gap: timedelta | None = gaps["gap"].min() if gaps.height else None  # type: ignore[assignment]
    if end is None:
        last = _as_datetime(frame["ts"].max())
        end = last + min_gap if min_gap is not None else last
    span_s = (end - t_first).total_seconds()
    ticks = int(np.floor(span_s / step_seconds + 1e-9))
    if ticks <= 0:
        raise AnalysisError(f"the replay window is empty ({t_first} .. {end})")
    check_ticks(ticks, step_seconds)
    if binary is None:
        binary = int(frame["available"].cast(pl.Int64).max() or 0) <= 1  # type: ignore[arg-type]
    tick_s = np.arange(ticks, dtype=np.float64) * step_seconds
    cap = np.zeros((len(series), ticks), dtype=np.int64)
    ts_all = frame.with_columns(
        _s=(pl.col("ts") - pl.lit(t_first).cast(frame.schema["ts"])).dt.total_microseconds() / 1e6
    ).partition_by("zone", "spec", as_dict=True)
    spot_pools: list[Pool] = []
    for i, (zone, spec) in enumerate(series):
        part = ts_all[(zone, spec)]
        secs = part["_s"].to_numpy()
        vals = part["available"].to_numpy().astype(np.int64)
        idx = np.searchsorted(secs, tick_s, side="right") - 1
        row = np.where(idx >= 0, vals[np.clip(idx, 0, None)], 0)
        cap[i] = np.where(row > 0, UNLIMITED, 0) if binary else row
        price = _lookup(spot_prices, zone, spec, "spot price")
        startup = _lookup(startup_seconds, zone, spec, "start-up seconds")
        spot_pools.append(Pool(spec, zone, "spot", price, startup))
    rest = _fixed_rows(others, ticks)
    capacity = np.vstack([cap, rest]) if len(others) else cap
    mode = "available/unavailable" if binary else "counts as capacity"
    notes = (
        f"{len(series)} spot series replayed every {step_seconds:g} s from {t_first} "
        f"({ticks} ticks, {mode})",
    )
    return Market(
        tuple(spot_pools) + tuple(others), step_seconds, capacity, capacity.copy(),
        start=t_first, notes=notes,
    )  # fmt: skip


def check_step(step_seconds: float) -> None:
    """A simulation step must be a positive, finite number of seconds."""
    if not (
        isinstance(step_seconds, float | int) and np.isfinite(step_seconds) and step_seconds > 0
    ):
        raise AnalysisError(f"the step must be a number of seconds > 0, got {step_seconds!r}")


def check_ticks(ticks: int, step_seconds: float) -> None:
    """At most :data:`MAX_TICKS` ticks (a larger step replays the same span)."""
    if ticks > MAX_TICKS:
        raise AnalysisError(
            f"a {step_seconds:g} s step makes {ticks} ticks, over the {MAX_TICKS} a replay may "
            "have: use a larger step"
        )


def _as_datetime(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise AnalysisError(f"availability ts must be timestamps, got {type(value).__name__}")
    return value


def _lookup(table: dict[str, float] | float, zone: str, spec: str, what: str) -> float:
    if not isinstance(table, dict):
        return float(table)
    for key in (f"{spec}@{zone}", zone, spec):
        if key in table:
            return float(table[key])
    raise AnalysisError(
        f"no {what} for {spec} in {zone}.{did_you_mean(zone, list(table))} "
        "Key the mapping by zone, spec or spec@zone"
    )


def poisson_market(
    pools: Sequence[Pool],
    ticks: int,
    step_seconds: float = 60.0,
    reclaims_per_hour: dict[str, float] | float = 0.01,
    stock_probability: dict[str, float] | float = 1.0,
    mean_outage_hours: float = 2.0,
    max_replicas: int = 100,
    seed: int = 0,
    start: datetime | None = None,
) -> Market:
    """A market drawn from rates, the same for the same seed.

    Each spot pool's stock is an on/off process: out of stock a share
    ``1 - stock_probability`` of the time, in outages of mean ``mean_outage_hours``
    (exponential); nothing can be launched in an outage, running replicas stay. Running spot
    replicas are reclaimed at ``reclaims_per_hour`` each (Poisson; e.g. an interruption
    rate of 5 % per instance-month is 0.05 / 730 per hour). Rates are keyed by pool label,
    zone or spec, or one number for all.
    """
    if ticks <= 0 or max_replicas <= 0:
        raise AnalysisError("ticks and max_replicas must be positive")
    check_step(step_seconds)
    check_ticks(ticks, step_seconds)
    rng = np.random.default_rng(seed)
    capacity = _fixed_rows(pools, ticks)
    launchable = capacity.copy()
    shock_t: list[np.ndarray] = []
    shock_p: list[np.ndarray] = []
    step_h = step_seconds / 3600.0
    for i, p in enumerate(pools):
        if p.kind != "spot":
            continue
        q = _rate(stock_probability, p)
        if not 0.0 <= q <= 1.0:
            raise AnalysisError(f"stock probability for {p.label} must be in [0, 1], got {q}")
        launchable[i] = _on_off(rng, ticks, q, mean_outage_hours / step_h) * UNLIMITED
        lam = _rate(reclaims_per_hour, p)
        if lam < 0:
            raise AnalysisError(f"reclaim rate for {p.label} must be >= 0")
        n = int(rng.poisson(lam * max_replicas * ticks * step_h))
        shock_t.append(np.sort(rng.integers(0, ticks, size=n)))
        shock_p.append(np.full(n, i, dtype=np.int64))
    if shock_t:
        tick = np.concatenate(shock_t)
        pool = np.concatenate(shock_p)
        order = np.argsort(tick, kind="stable")
        tick, pool = tick[order], pool[order]
    else:
        tick = pool = np.zeros(0, dtype=np.int64)
    shocks = Shocks(tick=tick, pool=pool, u=rng.random(tick.size), ref=max_replicas)
    note = (
        f"Poisson model (seed {seed}): {tick.size} reclaim shocks over {ticks} ticks of "
        f"{step_seconds:g} s",
    )
    return Market(tuple(pools), step_seconds, capacity, launchable, shocks=shocks,
                  start=start, notes=note)  # fmt: skip


def _rate(table: dict[str, float] | float, pool: Pool) -> float:
    if not isinstance(table, dict):
        return float(table)
    for key in (pool.label, f"{pool.spec}@{pool.zone}", pool.zone, pool.spec):
        if key in table:
            return float(table[key])
    raise AnalysisError(f"no rate for {pool.label}.{did_you_mean(pool.spec, list(table))}")


def _on_off(rng: np.random.Generator, ticks: int, q: float, mean_off_ticks: float) -> np.ndarray:
    """A 0/1 array: on a share ``q`` of the time, off in runs of mean ``mean_off_ticks``."""
    if q >= 1.0:
        return np.ones(ticks, dtype=np.int64)
    if q <= 0.0:
        return np.zeros(ticks, dtype=np.int64)
    mean_off = max(mean_off_ticks, 1.0)
    mean_on = mean_off * q / (1.0 - q)
    # Alternate exponential run lengths, starting in the stationary state.
    first_on = rng.random() < q
    n = int(2 * ticks / (mean_on + mean_off)) + 8
    while True:
        on_runs = rng.exponential(mean_on, n)
        off_runs = rng.exponential(mean_off, n)
        runs = np.empty(2 * n)
        runs[0::2], runs[1::2] = (on_runs, off_runs) if first_on else (off_runs, on_runs)
        edges = np.cumsum(runs)
        if edges[-1] >= ticks:
            break
        n *= 2  # pragma: no cover - the first n is generous
    state = np.searchsorted(edges, np.arange(ticks) + 0.5) % 2
    on = state == 0 if first_on else state == 1
    return on.astype(np.int64)


def with_pools(market: Market, extra: Sequence[Pool]) -> Market:
    """The market with more regular or dedicated pools appended (a dedicated group is
    billed whole, so it belongs only in the markets of policies that rent one)."""
    if any(p.kind == "spot" for p in extra):
        raise AnalysisError("with_pools adds regular or dedicated pools; spot pools need traces")
    rows = _fixed_rows(extra, market.ticks)
    prices = market.prices
    if prices is not None:
        add = np.array([[p.price_per_hour] for p in extra], dtype=float)
        prices = np.vstack([prices, np.broadcast_to(add, (len(extra), market.ticks))])
    return replace(
        market,
        pools=market.pools + tuple(extra),
        capacity=np.vstack([market.capacity, rows]),
        launchable=np.vstack([market.launchable, rows]),
        prices=prices,
    )


def with_price_points(market: Market, points: pl.DataFrame) -> Market:
    """The market with spot prices from change points (``zone, spec, ts, spot_price``, e.g.
    :func:`spotlab.prices.price_points`): each point holds until the next of its series;
    before a series' first point, and for pools without points, the pool's constant price.
    Matched by zone and spec, or by spec alone when ``zone`` is the pool's region
    (GCP prices are per region)."""
    if market.start is None:
        raise AnalysisError("the market has no start time to align price points with")
    need = {"zone", "spec", "ts", "spot_price"}
    if not need <= set(points.columns):
        raise AnalysisError(f"price points lack {sorted(need - set(points.columns))}")
    prices = np.array(market.price_matrix(), dtype=float, copy=True)
    tick_s = np.arange(market.ticks, dtype=np.float64) * market.step_seconds
    start = pl.lit(market.start).cast(points.schema["ts"])
    pts = points.drop_nulls("spot_price").with_columns(
        _s=(pl.col("ts") - start).dt.total_microseconds() / 1e6
    )
    for i, p in enumerate(market.pools):
        if p.kind != "spot":
            continue
        mine = pts.filter(
            (pl.col("spec") == p.spec)
            & ((pl.col("zone") == p.zone) | pl.lit(p.zone).str.starts_with(pl.col("zone")))
        ).sort("_s")
        if mine.height == 0:
            continue
        secs = mine["_s"].to_numpy()
        vals = mine["spot_price"].to_numpy()
        idx = np.searchsorted(secs, tick_s, side="right") - 1
        prices[i] = np.where(idx >= 0, vals[np.clip(idx, 0, None)], prices[i])
    return replace(market, prices=prices)
