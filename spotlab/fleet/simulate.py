"""Discrete-time fleet simulation: replay a market against a deployment policy.

Model (one tick = ``market.step_seconds``):

- The fleet starts warm: what the policy asks for at tick 0 is ready at tick 0.
- A replica launched later is *provisioned* (billed) at once and *ready* (serving) after
  its pool's start-up time, rounded up to whole ticks.
- When a pool's capacity falls below what it holds, the excess is reclaimed, newest
  replicas first (a launch still starting is the first to fail). A reclaim is announced
  ``warning_seconds`` ahead: from then on the policy no longer counts those replicas
  (they still serve until they go), so it can start replacements early; a pool being
  reclaimed gives no new replicas beyond the capacity it is falling to.
- In the Poisson model, reclaim shocks remove one replica each (see
  :class:`~spotlab.fleet.market.Shocks`).
- Launches learn a pool's stock at once: a failed attempt costs no time.
- Cost: every provisioned replica-hour at its pool's price; a dedicated group is billed for
  all its slots all the time. The all-regular baseline is demand × the first regular pool's
  price, integrated over time.

The loop visits only ticks where something can change (capacity, demand, a start-up
ending, a warning, a reclaim shock, a policy's periodic probe); between them the state is
constant, so timelines, costs and availability are integrated over segments with numpy.
``every_tick=True`` visits every tick instead (same result; used to check the shortcut).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl

from spotlab.errors import AnalysisError
from spotlab.fleet.market import Market, Pool


@dataclass(frozen=True)
class View:
    """What a policy sees at a decision tick (lists are per pool, in market order)."""

    t: int
    demand: int
    held: list[int]  # provisioned replicas
    ready: list[int]  # ready replicas not warned of a reclaim
    usable: list[int]  # provisioned replicas not warned of a reclaim
    room: list[int]  # how many more replicas the pool would accept now
    reclaimed: list[int]  # replicas reclaimed at this tick
    probe: bool  # a periodic probe tick (resource rebalancing)
    instant: list[bool]  # launches in this pool are ready at once (warm start, no start-up)

    @property
    def any_instant(self) -> bool:
        return any(self.instant)


class Policy(Protocol):
    """A deployment policy: ``plan`` returns the replicas wanted in each pool.

    A target below ``usable`` removes replicas (newest first); above it launches up to
    ``room`` more. Replicas warned of a reclaim are not counted and cannot be kept.
    """

    name: str
    #: decision ticks every this many seconds besides the event ticks (None: none)
    probe_seconds: float | None

    def reset(self, market: Market) -> None: ...

    def plan(self, view: View) -> Sequence[int]: ...


@dataclass
class FleetResult:
    """A simulation's timeline (per visited tick, holding until the next) and its totals."""

    policy: str
    market: Market
    ticks: np.ndarray  # (E,) tick of each segment's start
    held: np.ndarray  # (E, P) provisioned replicas
    ready: np.ndarray  # (E, P) ready replicas
    demand: np.ndarray  # (E,) replicas needed
    cost: float
    cost_by_pool: np.ndarray  # (P,)
    all_regular_cost: float
    reclaims: np.ndarray  # (P,) replicas reclaimed
    launches: np.ndarray  # (P,) replicas launched after tick 0

    @property
    def durations(self) -> np.ndarray:
        return np.diff(np.append(self.ticks, self.market.ticks))

    @property
    def hours(self) -> float:
        return self.market.hours

    @property
    def cost_ratio(self) -> float:
        """Cost ÷ the all-regular cost (NaN without a regular pool)."""
        if not self.all_regular_cost > 0:
            return math.nan
        return self.cost / self.all_regular_cost

    @property
    def availability(self) -> float:
        """Share of time with ready replicas >= demand."""
        ok = self.ready.sum(axis=1) >= self.demand
        return float((self.durations * ok).sum() / self.market.ticks)

    @property
    def replica_availability(self) -> float:
        """Ready replicas (capped at demand) ÷ demand, time-weighted."""
        dur = self.durations
        need = (dur * self.demand).sum()
        if need == 0:
            return 1.0
        got = (dur * np.minimum(self.ready.sum(axis=1), self.demand)).sum()
        return float(got / need)

    def part(self, first: int = 0, last: int | None = None) -> dict[str, float]:
        """Cost, all-regular cost, their ratio and availability over ticks ``first ..
        last-1`` of this run (e.g. the fit and validation parts of a training window,
        from one replay of the whole window)."""
        n_ticks = self.market.ticks
        last = n_ticks if last is None else last
        if not 0 <= first < last <= n_ticks:
            raise AnalysisError(f"part {first}..{last} outside 0..{n_ticks}")
        ends = np.append(self.ticks[1:], n_ticks)
        s, e = np.clip(self.ticks, first, last), np.clip(ends, first, last)
        dur = e - s
        ok = self.ready.sum(axis=1) >= self.demand
        prices = self.market.price_matrix()
        cum = np.concatenate([np.zeros((prices.shape[0], 1)), np.cumsum(prices, axis=1)], axis=1)
        step_h = self.market.step_seconds / 3600.0
        seg = (cum[:, e] - cum[:, s]).T * step_h  # (E, P) price-hours per segment
        by_pool = (self.held * seg).sum(axis=0).astype(float)
        for j, p in enumerate(self.market.pools):
            if p.kind == "dedicated":
                by_pool[j] = (p.slots or 0) * (cum[j, last] - cum[j, first]) * step_h
        regular = self.market.find(kind="regular")
        base = float((self.demand * seg[:, regular[0]]).sum()) if regular else math.nan
        cost = float(by_pool.sum())
        return {
            "cost": cost,
            "all_regular_cost": base,
            "cost_ratio": cost / base if base > 0 else math.nan,
            "availability": float((dur * ok).sum() / (last - first)),
        }

    def replica_hours(self, kind: str | None = None) -> float:
        cols = [i for i, p in enumerate(self.market.pools) if kind is None or p.kind == kind]
        if not cols:
            return 0.0
        h = (self.held[:, cols].sum(axis=1) * self.durations).sum()
        return float(h * self.market.step_seconds / 3600.0)

    @property
    def regular_share(self) -> float:
        """Regular replica-hours ÷ all provisioned replica-hours."""
        total = self.replica_hours()
        return self.replica_hours("regular") / total if total > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """One row of a policy table."""
        return {
            "policy": self.policy,
            "hours": round(self.hours, 3),
            "cost": self.cost,
            "all_regular_cost": self.all_regular_cost,
            "cost_ratio": self.cost_ratio,
            "saving": 1.0 - self.cost_ratio,
            "availability": self.availability,
            "replica_availability": self.replica_availability,
            "reclaims": int(self.reclaims.sum()),
            "launches": int(self.launches.sum()),
            "regular_share": self.regular_share,
        }

    def timeline(
        self, by: Sequence[str] = ("kind",), max_points: int | None = None
    ) -> pl.DataFrame:
        """Ready and provisioned replicas per group of pools (``kind``, ``spec``, ``zone``)
        over time, one row per segment and group, with the demand; ``hours`` from start.

        ``max_points`` keeps at most that many segments (the first of each stride), for
        charts of long runs.
        """
        pools = self.market.pools
        keys = [tuple(getattr(p, k) for k in by) for p in pools]
        groups = sorted(set(keys), key=keys.index)
        idx = np.arange(self.ticks.size)
        if max_points is not None and self.ticks.size > max_points:
            idx = np.unique(np.linspace(0, self.ticks.size - 1, max_points).astype(int))
        step_h = self.market.step_seconds / 3600.0
        frames = []
        for g in groups:
            cols = [i for i, k in enumerate(keys) if k == g]
            frames.append(
                pl.DataFrame(
                    {
                        "hours": self.ticks[idx] * step_h,
                        **{k: [v] * idx.size for k, v in zip(by, g, strict=True)},
                        "ready": self.ready[idx][:, cols].sum(axis=1),
                        "provisioned": self.held[idx][:, cols].sum(axis=1),
                        "demand": self.demand[idx],
                    }
                )
            )
        out = pl.concat(frames).with_columns(pl.lit(self.policy).alias("policy"))
        if self.market.start is not None:
            out = out.with_columns(
                ts=pl.lit(self.market.start) + pl.duration(microseconds=pl.col("hours") * 3.6e9)
            )
        return out


def demand_series(demand: int | Sequence[int] | np.ndarray, ticks: int) -> np.ndarray:
    """Replicas needed per tick, from a constant or a per-tick series."""
    if isinstance(demand, int | np.integer):
        if demand < 0:
            raise AnalysisError(f"demand must be >= 0, got {demand}")
        return np.full(ticks, int(demand), dtype=np.int64)
    arr = np.asarray(demand)
    if arr.shape != (ticks,):
        raise AnalysisError(f"the demand series has {arr.shape} values; the market {ticks} ticks")
    if arr.size and (arr.min() < 0 or not np.all(arr == np.round(arr))):
        raise AnalysisError("demand must be whole numbers of replicas >= 0")
    return arr.astype(np.int64)


def forward_window_min(arr: np.ndarray, w: int) -> np.ndarray:
    """``out[:, t] = min(arr[:, t .. t + w])`` (the window is cut at the end), in
    O(log w) vectorised passes."""
    out = arr.copy()
    n = arr.shape[1]
    span = 1
    while span * 2 <= w + 1 and span < n:
        out[:, :-span] = np.minimum(out[:, :-span], out[:, span:])
        span *= 2
    rest = w + 1 - span
    if 0 < rest < n:
        out[:, :-rest] = np.minimum(out[:, :-rest], out[:, rest:])
    return out


def _ticks(seconds: float, step: float) -> int:
    return max(0, math.ceil(seconds / step - 1e-9))


def simulate(
    market: Market,
    policy: Policy,
    demand: int | Sequence[int] | np.ndarray,
    warning_seconds: float = 0.0,
    every_tick: bool = False,
    provision: int | Sequence[int] | np.ndarray | None = None,
) -> FleetResult:
    """Replay ``market`` under ``policy`` for ``demand`` replicas (constant or per tick).

    ``provision`` (default: ``demand``) is what the policy is asked to run, e.g. a scaling
    plan's scheduled sizes; availability is always measured against ``demand``.

    >>> from spotlab.fleet.market import Pool, market_from_availability
    >>> from spotlab.fleet.policies import AllRegular
    >>> import numpy as np
    >>> from spotlab.fleet.market import Market
    >>> reg = Pool("p3.2xlarge", "us-east-1", "regular", 3.06)
    >>> m = Market((reg,), 3600.0, np.full((1, 24), 1 << 40), np.full((1, 24), 1 << 40))
    >>> round(simulate(m, AllRegular(), 2).cost, 2)  # 2 replicas x 3.06 USD/h x 24 h
    146.88
    """
    pools = market.pools
    n_pools, n_ticks = len(pools), market.ticks
    step = market.step_seconds
    need = demand_series(demand, n_ticks)
    asked = need if provision is None else demand_series(provision, n_ticks)
    warn = _ticks(warning_seconds, step)
    startup = [_ticks(p.startup_seconds, step) for p in pools]
    cap = market.capacity
    fmin = forward_window_min(cap, warn) if warn > 0 else cap
    lau = market.launchable

    change = np.zeros(n_ticks, dtype=bool)
    change[0] = True
    if n_ticks > 1:
        for arr in (cap, lau, fmin):
            change[1:] |= np.any(arr[:, 1:] != arr[:, :-1], axis=0)
        change[1:] |= need[1:] != need[:-1]
        change[1:] |= asked[1:] != asked[:-1]
    probe = np.zeros(n_ticks, dtype=bool)
    policy.reset(market)
    if policy.probe_seconds:
        probe[:: max(1, round(policy.probe_seconds / step))] = True
        change |= probe
    shock_map: dict[int, list[tuple[int, float]]] = {}
    ref = 1
    if market.shocks is not None and market.shocks.tick.size:
        sh = market.shocks
        ref = sh.ref
        change[sh.tick] = True
        for tk, p, u in zip(sh.tick.tolist(), sh.pool.tolist(), sh.u.tolist(), strict=True):
            shock_map.setdefault(tk, []).append((p, u))
    if every_tick:
        change[:] = True
    ev = np.flatnonzero(change)
    cap_ev = cap[:, ev].T.tolist()
    lau_ev = lau[:, ev].T.tolist()
    fmin_ev = fmin[:, ev].T.tolist()
    need_ev = asked[ev].tolist()
    probe_ev = probe[ev].tolist()
    ev_list = ev.tolist()

    held = [0] * n_pools
    ready = [0] * n_pools
    # per pool: [ready_tick, count] in launch order (one start-up time per pool, so also
    # in ready order)
    pending: list[list[list[int]]] = [[] for _ in range(n_pools)]
    reclaims = [0] * n_pools
    launches = [0] * n_pools
    rec_t: list[int] = []
    rec_h: list[list[int]] = []
    rec_r: list[list[int]] = []

    def remove_newest(p: int, k: int) -> None:
        q = pending[p]
        held[p] -= k
        while k and q:
            n = q[-1][1]
            if n <= k:
                q.pop()
                k -= n
            else:
                q[-1][1] = n - k
                k = 0
        ready[p] -= k

    def remove_index(p: int, idx: int) -> None:
        held[p] -= 1
        if idx < ready[p]:
            ready[p] -= 1
            return
        idx -= ready[p]
        q = pending[p]
        for j, entry in enumerate(q):
            if idx < entry[1]:
                entry[1] -= 1
                if entry[1] == 0:
                    del q[j]
                return
            idx -= entry[1]

    warm = [True] * n_pools
    no_startup = [s == 0 for s in startup]
    i = 0
    t = 0
    c = lc = fm = ev_list  # placeholders, set at tick 0 (always an event)
    dem = 0
    n_ev = len(ev_list)
    zeros = [0] * n_pools
    next_ready = n_ticks  # earliest tick a pending launch becomes ready
    while t < n_ticks:
        is_probe = False
        lost = zeros
        if i < n_ev and ev_list[i] == t:
            c, lc, fm, dem, is_probe = cap_ev[i], lau_ev[i], fmin_ev[i], need_ev[i], probe_ev[i]
            i += 1
            # capacity only drops at these ticks (launches never exceed it)
            for p in range(n_pools):
                if held[p] > c[p]:
                    if lost is zeros:
                        lost = [0] * n_pools
                    k = held[p] - c[p]
                    remove_newest(p, k)
                    lost[p] += k
            shocks_now = shock_map.get(t)
            if shocks_now:
                for p, u in shocks_now:
                    idx = int(u * ref)
                    if idx < held[p]:
                        if lost is zeros:
                            lost = [0] * n_pools
                        remove_index(p, idx)
                        lost[p] += 1
        if t >= next_ready:
            for p in range(n_pools):
                q = pending[p]
                while q and q[0][0] <= t:
                    ready[p] += q[0][1]
                    q.pop(0)
        usable = [h if h < f else f for h, f in zip(held, fm, strict=True)]
        rdy = [r if r < u else u for r, u in zip(ready, usable, strict=True)]
        room = [
            (a if a < f else f) - h if min(a, f) > h else 0
            for a, f, h in zip(lc, fm, held, strict=True)
        ]
        instant = warm if t == 0 else no_startup
        before = held[:]
        target = policy.plan(View(t, dem, before, rdy, usable, room, lost, is_probe, instant))
        for p, tp in enumerate(target):
            u = usable[p]
            if tp < u:
                remove_newest(p, held[p] - (tp if tp > 0 else 0))
            elif tp > u:
                n = min(tp - u, room[p])
                if n > 0:
                    held[p] += n
                    if t == 0 or startup[p] == 0:
                        ready[p] += n
                    else:
                        pending[p].append([t + startup[p], n])
                    if t > 0:
                        launches[p] += n
        if lost is not zeros:
            for p in range(n_pools):
                reclaims[p] += lost[p]
        rec_t.append(t)
        rec_h.append(held[:])
        rec_r.append(ready[:])
        nxt = ev_list[i] if i < n_ev else n_ticks
        if held != before and t + 1 < nxt:  # let the policy see the state it made
            nxt = t + 1
        next_ready = n_ticks
        for q in pending:
            if q and q[0][0] < next_ready:
                next_ready = q[0][0]
        t = nxt if nxt < next_ready else next_ready

    return _result(market, policy.name, need, rec_t, rec_h, rec_r, reclaims, launches)


def _result(
    market: Market,
    name: str,
    need: np.ndarray,
    rec_t: list[int],
    rec_h: list[list[int]],
    rec_r: list[list[int]],
    reclaims: list[int],
    launches: list[int],
) -> FleetResult:
    ticks = np.asarray(rec_t, dtype=np.int64)
    held = np.asarray(rec_h, dtype=np.int64).reshape(len(rec_t), len(market.pools))
    ready = np.asarray(rec_r, dtype=np.int64).reshape(held.shape)
    step_h = market.step_seconds / 3600.0
    n_ticks = market.ticks
    prices = market.price_matrix()
    ends = np.append(ticks[1:], n_ticks)
    if market.prices is None:
        dur = (ends - ticks)[:, None]
        const = prices[:, 0]
        by_pool = (held * dur).sum(axis=0) * step_h * const
        pool_total = const * n_ticks * step_h
    else:
        cum = np.concatenate([np.zeros((prices.shape[0], 1)), np.cumsum(prices, axis=1)], axis=1)
        seg = (cum[:, ends] - cum[:, ticks]).T * step_h  # (E, P) price-hours per segment
        by_pool = (held * seg).sum(axis=0)
        pool_total = cum[:, -1] * step_h
    by_pool = by_pool.astype(float)
    for j, p in enumerate(market.pools):
        if p.kind == "dedicated":
            by_pool[j] = (p.slots or 0) * pool_total[j]
    regular = market.find(kind="regular")
    if regular:
        ref = prices[regular[0]]
        baseline = float((need * ref).sum() * step_h)
    else:
        baseline = math.nan
    return FleetResult(
        policy=name, market=market, ticks=ticks, held=held, ready=ready, demand=need[ticks],
        cost=float(by_pool.sum()), cost_by_pool=by_pool, all_regular_cost=baseline,
        reclaims=np.asarray(reclaims), launches=np.asarray(launches),
    )  # fmt: skip


def pools_of(market: Market, kind: str) -> list[Pool]:
    return [p for p in market.pools if p.kind == kind]
