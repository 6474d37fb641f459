"""Deployment policies for :func:`spotlab.fleet.simulate.simulate`.

=================================  ===========================================================
:class:`AllRegular`                every replica on the regular (pay-as-you-go) pool
:class:`OneSpot`                   every replica on one spot pool, no fallback
:class:`EasOrdered`                EAS's ordered instance list: new and replacement replicas
                                   take the first entry with stock; the regular entry last
``EasOrdered(rebalancing=True)``   plus ``metadata.resource_rebalancing``: every probe
                                   period, replicas move back up the list (new one first)
:func:`dedicated_floor`            a dedicated group first, then spot, then regular
:class:`SpotHedge`                 SkyServe's policy, as published: spot spread over zones,
                                   ``k`` extra spot replicas, on-demand covering the spot
                                   shortfall, an optional on-demand floor
:func:`recommended`                a given pool order and caps, run as EAS with rebalancing
:class:`EasService`                what EAS does with one exported service config: entries
                                   per *spec* (zones spread), ``metadata.instance`` = demand
                                   + spares, per-entry ``capacity``, a dedicated group first,
                                   ``resource_rebalancing`` on or off (the policy
                                   :mod:`spotlab.fleet.search` tunes)
=================================  ===========================================================

Policies never remove a ready replica while the replicas meant to replace it are still
starting and the demand needs it (make before break). Pools are named by their labels
(``kind:spec@zone``) or picked by kind; unnamed lists default to market order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from spotlab.errors import AnalysisError, did_you_mean
from spotlab.fleet.market import Market
from spotlab.fleet.simulate import View


def ready_after(plan: Sequence[int], view: View) -> list[int]:
    """Ready replicas per pool once ``plan`` is applied: what is ready and kept, plus
    launches that are ready at once (warm start, or a pool without start-up time)."""
    if not view.any_instant:
        return [w if w < r else r for w, r in zip(plan, view.ready, strict=True)]
    out = []
    for p, want in enumerate(plan):
        now = view.ready[p]
        if want > view.usable[p] and view.instant[p]:
            now += min(want - view.usable[p], view.room[p])
        out.append(min(want, now))
    return out


def make_before_break(
    ideal: list[int], view: View, preference: Sequence[int], need: int | None = None
) -> list[int]:
    """``ideal`` plus the ready replicas it drops that the demand (or ``need``, e.g. the
    demand plus spares) still needs until the replicas replacing them are ready (kept in
    ``preference`` order)."""
    target = list(ideal)
    short = (view.demand if need is None else need) - sum(ready_after(ideal, view))
    for p in preference:
        if short <= 0:
            break
        surplus = view.ready[p] - target[p]
        if surplus > 0:
            keep = min(surplus, short)
            target[p] += keep
            short -= keep
    return target


def fill_in_order(
    need: int, order: Sequence[int], reach: Sequence[int], base: list[int] | None = None
) -> list[int]:
    """Greedy fill: each pool in ``order`` takes what it can reach until ``need`` is met."""
    out = list(base) if base is not None else [0] * len(reach)
    left = need - sum(out)
    for p in order:
        if left <= 0:
            break
        add = min(left, reach[p] - out[p])
        if add > 0:
            out[p] += add
            left -= add
    return out


#: EAS's resource-rebalancing probe period (s): not documented and not a config field, so
#: an assumption of the model, never a parameter spotlab recommends
EAS_PROBE_SECONDS = 300.0
#: the probe periods a sensitivity run may assume instead (s)
PROBE_RANGE = (60.0, 3600.0)


@contextmanager
def assumed_probe_seconds(seconds: float) -> Iterator[None]:
    """Replay EAS rebalancing with another probe period inside the block: a sensitivity
    analysis of the one undocumented constant of the EAS replay (``python -m
    spotlab.fleet.evaluate --probe-seconds N``), never a setting spotlab recommends."""
    global EAS_PROBE_SECONDS
    lo, hi = PROBE_RANGE
    if not (isinstance(seconds, float | int) and math.isfinite(seconds) and lo <= seconds <= hi):
        raise AnalysisError(f"probe seconds must be in [{lo:g}, {hi:g}], got {seconds!r}")
    before, EAS_PROBE_SECONDS = EAS_PROBE_SECONDS, float(seconds)
    try:
        yield
    finally:
        EAS_PROBE_SECONDS = before


#: a capacity that never binds
_NO_CAP = 1 << 62


def _resolve(market: Market, labels: Sequence[str] | None, kind: str | None) -> list[int]:
    if labels is not None:
        return [market.index(x) for x in labels]
    return market.find(kind=kind) if kind is not None else list(range(len(market.pools)))


@dataclass
class AllRegular:
    """Every replica on one regular pool (default: the market's first regular pool)."""

    pool: str | None = None
    name: str = "all regular"
    probe_seconds: float | None = None
    _p: int = field(default=-1, init=False, repr=False)
    _n: int = field(default=0, init=False, repr=False)

    def reset(self, market: Market) -> None:
        found = _resolve(market, [self.pool] if self.pool else None, "regular")
        if not found:
            raise AnalysisError("the market has no regular pool for the all-regular policy")
        self._p, self._n = found[0], len(market.pools)

    def plan(self, view: View) -> list[int]:
        ideal = [0] * self._n
        ideal[self._p] = view.demand
        return make_before_break(ideal, view, [self._p])


@dataclass
class OneSpot:
    """Every replica on one spot pool, with no fallback (default: the first spot pool)."""

    pool: str | None = None
    name: str = "one spot pool"
    probe_seconds: float | None = None
    _p: int = field(default=-1, init=False, repr=False)
    _n: int = field(default=0, init=False, repr=False)

    def reset(self, market: Market) -> None:
        found = _resolve(market, [self.pool] if self.pool else None, "spot")
        if not found:
            raise AnalysisError("the market has no spot pool")
        self._p, self._n = found[0], len(market.pools)

    def plan(self, view: View) -> list[int]:
        ideal = [0] * self._n
        ideal[self._p] = view.demand
        return ideal


@dataclass
class EasOrdered:
    """EAS's ordered instance list (``cloud.computing.instances``).

    ``order`` lists pool labels, highest priority first (default: dedicated, then spot, then
    regular pools in market order); ``caps`` optionally limits entries (EAS ``capacity``).
    Without rebalancing replicas stay where they were placed: replacements and scale-ups go
    to the first entry with stock, scale-downs remove from the last entries first. With
    ``rebalancing`` EAS probes every ``probe_seconds`` and moves replicas to higher entries
    that have stock again (``metadata.resource_rebalancing: true``); the probe period is
    not documented (:data:`EAS_PROBE_SECONDS` assumed).
    """

    order: Sequence[str] | None = None
    rebalancing: bool = False
    caps: dict[str, int] | None = None
    name: str = ""
    probe_seconds: float | None = None
    _order: list[int] = field(default_factory=list, init=False, repr=False)
    _cap: list[int] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = "EAS ordered + rebalancing" if self.rebalancing else "EAS ordered"
        if self.rebalancing and self.probe_seconds is None:
            self.probe_seconds = EAS_PROBE_SECONDS

    def reset(self, market: Market) -> None:
        if self.order is not None:
            self._order = [market.index(x) for x in self.order]
        else:
            self._order = [i for k in ("dedicated", "spot", "regular") for i in market.find(kind=k)]
        if not self._order:
            raise AnalysisError("the ordered list is empty")
        big = 1 << 62
        self._cap = [big] * len(market.pools)
        for label, cap in (self.caps or {}).items():
            self._cap[market.index(label)] = int(cap)

    def plan(self, view: View) -> list[int]:
        order, cap = self._order, self._cap
        if self.caps:
            reach = [min(u + r, c) for u, r, c in zip(view.usable, view.room, cap, strict=True)]
        else:
            reach = [u + r for u, r in zip(view.usable, view.room, strict=True)]
        if self.rebalancing and view.probe:
            ideal = fill_in_order(view.demand, order, reach)
        else:
            keep = [0] * len(reach)
            left = view.demand
            usable = view.usable
            for p in order:  # keep what runs, highest priority first
                k = usable[p] if usable[p] < cap[p] else cap[p]
                if k > left:
                    k = left
                keep[p] = k
                left -= k
            ideal = fill_in_order(view.demand, order, reach, keep)
        return make_before_break(ideal, view, order)


def dedicated_floor(
    dedicated: str | None = None,
    spot: Sequence[str] | None = None,
    regular: str | None = None,
    rebalancing: bool = True,
    name: str = "dedicated floor + spot + regular",
) -> EasOrdered:
    """The seed's elastic layout: the dedicated group first, then spot entries in order,
    then the regular fallback; ``resource_rebalancing`` on by default (labels default to
    the market's pools of each kind)."""
    return _LayeredOrder(
        dedicated=dedicated, spot=list(spot) if spot is not None else None, regular=regular,
        rebalancing=rebalancing, name=name,
    )  # fmt: skip


@dataclass
class _LayeredOrder(EasOrdered):
    dedicated: str | None = None
    spot: list[str] | None = None
    regular: str | None = None

    def reset(self, market: Market) -> None:
        ded = _resolve(market, [self.dedicated] if self.dedicated else None, "dedicated")
        spot = _resolve(market, self.spot, "spot")
        reg = _resolve(market, [self.regular] if self.regular else None, "regular")
        self.order = [market.pools[i].label for i in [*ded, *spot, *reg[:1]]]
        super().reset(market)


@dataclass
class SpotHedge:
    """SkyServe's SpotHedge policy (EuroSys'25), as its artifact describes it.

    Spot target = demand + ``k``. New spot replicas go to *active* zones, a zone without a
    replica first, else the one with the fewest (SpotHedge picks at random among them; here
    ties go to market order, so runs are reproducible). A zone that lost replicas or could
    not deliver becomes *preempted*; it is active again once it keeps what it was given;
    when at most ``min(1, zones - 3)`` zones are active, all become active again. On-demand
    replicas cover ``min(demand, demand + k - ready spot)`` (dynamic fallback), at least
    ``od_floor`` (the optional fixed on-demand base). Scale-down removes spot replicas from
    the zones holding the most.
    """

    k: int = 1
    od_floor: int = 0
    spot: Sequence[str] | None = None
    regular: str | None = None
    name: str = ""
    probe_seconds: float | None = None
    _spot: list[int] = field(default_factory=list, init=False, repr=False)
    _od: int = field(default=-1, init=False, repr=False)
    _n: int = field(default=0, init=False, repr=False)
    _active: set[int] = field(default_factory=set, init=False, repr=False)
    _last: list[int] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.k < 0 or self.od_floor < 0:
            raise AnalysisError("SpotHedge needs k >= 0 and od_floor >= 0")
        if not self.name:
            floor = f", on-demand floor {self.od_floor}" if self.od_floor else ""
            self.name = f"SpotHedge (k={self.k}{floor})"

    def reset(self, market: Market) -> None:
        self._spot = _resolve(market, self.spot, "spot")
        reg = _resolve(market, [self.regular] if self.regular else None, "regular")
        if not self._spot or not reg:
            raise AnalysisError("SpotHedge needs spot pools and a regular (on-demand) pool")
        self._od, self._n = reg[0], len(market.pools)
        self._active = set(self._spot)
        self._last = [0] * self._n

    def plan(self, view: View) -> list[int]:
        spot, active = self._spot, self._active
        for p in spot:
            if view.reclaimed[p] > 0 or view.usable[p] < self._last[p]:
                active.discard(p)
            elif self._last[p] > 0 and view.usable[p] >= self._last[p]:
                active.add(p)
        if len(active) <= min(1, len(spot) - 3):
            active.update(spot)
        want = view.demand + self.k
        plan = [0] * self._n
        for p in spot:
            plan[p] = view.usable[p]
        have = sum(plan[p] for p in spot)
        if have > want:  # scale down from the fullest zones
            for _ in range(have - want):
                p = max(spot, key=lambda z: (plan[z], -spot.index(z)))
                plan[p] -= 1
        else:
            for _ in range(want - have):
                open_ = [p for p in spot if view.room[p] > plan[p] - view.usable[p]]
                if not open_:
                    break
                pick = [p for p in open_ if p in active] or open_
                empty = [p for p in pick if plan[p] == 0]
                p = (empty or sorted(pick, key=lambda z: plan[z]))[0]
                plan[p] += 1
        after = ready_after(plan, view)
        ready_spot = sum(after[p] for p in spot)
        od = max(min(view.demand, want - ready_spot), self.od_floor, 0)
        plan[self._od] = od
        self._last = plan[:]
        return make_before_break(plan, view, [*spot, self._od])


def recommended(
    order: Sequence[str], caps: dict[str, int] | None = None, name: str = "spotlab recommended"
) -> EasOrdered:
    """The ordering spotlab recommends (with its per-entry ``capacity`` caps), run as EAS
    with resource rebalancing."""
    return EasOrdered(order=list(order), rebalancing=True, caps=caps, name=name)


@dataclass
class EasService:
    """What EAS does with one service config, and only what a config can say.

    ``cloud.computing.instances`` has one entry per *spec*, not per zone: a spot entry
    ``{"type": spec, "spot_price_limit": bid, "capacity": cap}`` covers every zone of the
    spec the service reaches, and its replicas go to the zones with stock, spread (fewest
    first, ties in market order: ``metadata.scheduling.spread.policy: zone``). Entries, in
    order: the dedicated group when the market rents one (``{"type":
    "dedicated_resource", "capacity": slots}``), the ``spot`` specs (default: the market's,
    in order of first appearance) with ``spot_capacity`` caps (None: uncapped), then the
    ``regular`` spec (no ``spot_price_limit``) with ``regular_capacity``.

    EAS runs ``metadata.instance`` = demand + ``spare`` replicas. New and replacement
    replicas take the first entry with stock and room; without rebalancing running
    replicas stay where they are; with ``resource_rebalancing`` every probe (period not
    documented: :data:`EAS_PROBE_SECONDS` assumed) the fleet is refilled from the top,
    each new replica ready before the one it replaces goes. Unlike SpotHedge's on-demand
    fallback, the regular entry is not sized to the current shortfall: it holds what the
    entries before it cannot (up to its capacity).
    """

    spot: Sequence[str] | None = None
    spot_capacity: Sequence[int | None] | None = None
    regular: str | None = None
    regular_capacity: int | None = None
    spare: int = 0
    rebalancing: bool = True
    name: str = ""
    probe_seconds: float | None = None
    _entries: list[tuple[list[int], int]] = field(default_factory=list, init=False, repr=False)
    _order: list[int] = field(default_factory=list, init=False, repr=False)
    _n: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.spare < 0:
            raise AnalysisError(f"spare replicas must be >= 0, got {self.spare}")
        caps = [*(self.spot_capacity or []), self.regular_capacity]
        if any(c is not None and c < 0 for c in caps):
            raise AnalysisError(f"entry capacities must be >= 0, got {caps}")
        if not self.name:
            self.name = "EAS service" + (" + rebalancing" if self.rebalancing else "")
        if self.rebalancing and self.probe_seconds is None:
            self.probe_seconds = EAS_PROBE_SECONDS
        if not self.rebalancing:
            self.probe_seconds = None

    def reset(self, market: Market) -> None:
        spot_specs = list(dict.fromkeys(market.pools[i].spec for i in market.find(kind="spot")))
        specs = list(self.spot) if self.spot is not None else spot_specs
        caps = list(self.spot_capacity) if self.spot_capacity is not None else [None] * len(specs)
        if len(caps) != len(specs):
            raise AnalysisError(f"{len(caps)} spot capacities for {len(specs)} spot entries")
        entries: list[tuple[list[int], int]] = []
        dedicated = market.find(kind="dedicated")
        if dedicated:
            entries.append((dedicated, _NO_CAP))
        for spec, cap in zip(specs, caps, strict=True):
            pools = market.find(kind="spot", spec=spec)
            if not pools:
                raise AnalysisError(
                    f"no spot pools of {spec!r} in the market.{did_you_mean(spec, spot_specs)}"
                )
            entries.append((pools, _NO_CAP if cap is None else int(cap)))
        regular = market.find(kind="regular", spec=self.regular)
        if not regular:
            of = f" of {self.regular}" if self.regular else ""
            raise AnalysisError(f"the market has no regular pool{of} for the last entry")
        cap = self.regular_capacity
        entries.append(([regular[0]], _NO_CAP if cap is None else int(cap)))
        self._entries = entries
        self._order = [p for pools, _ in entries for p in pools]
        self._n = len(market.pools)

    def plan(self, view: View) -> list[int]:
        n = view.demand + self.spare if view.demand > 0 else 0
        usable = view.usable
        reach = [u + r for u, r in zip(usable, view.room, strict=True)]
        target = [0] * self._n
        left = n
        if self.rebalancing and view.probe:  # refill from the top, keeping what runs there
            for pools, cap in self._entries:
                want = min(cap, left)
                kept = _keep(target, pools, usable, want)
                left -= kept + _spread(target, pools, reach, want - kept)
        else:
            for pools, cap in self._entries:  # keep what runs, highest entry first
                left -= _keep(target, pools, usable, min(cap, left))
            for pools, cap in self._entries:  # replacements and new replicas, in order
                if left <= 0:
                    break
                room = cap - sum(target[p] for p in pools)
                left -= _spread(target, pools, reach, min(room, left))
        return make_before_break(target, view, self._order, need=n)


def _keep(target: list[int], pools: Sequence[int], usable: Sequence[int], k: int) -> int:
    """Keep up to ``k`` of the running replicas of ``pools`` in ``target``, trimming the
    fullest zone first (ties: the last in order); returns how many are kept."""
    for p in pools:
        target[p] = usable[p]
    have = sum(usable[p] for p in pools)
    k = max(k, 0)
    for _ in range(have - k):
        p = max(reversed(pools), key=lambda z: target[z])
        target[p] -= 1
    return min(have, k)


def _spread(target: list[int], pools: Sequence[int], reach: Sequence[int], add: int) -> int:
    """Add up to ``add`` replicas to ``pools``, each to the zone with the fewest that can
    take one (ties: the first in order), by water-filling; returns how many were added."""
    placed = 0
    while placed < add:
        open_ = [p for p in pools if target[p] < reach[p]]
        if not open_:
            break
        low = min(target[p] for p in open_)
        at_low = [p for p in open_ if target[p] == low]
        higher = [target[p] for p in open_ if target[p] > low]
        step = min([*higher, *(reach[p] for p in at_low)]) - low
        need = add - placed
        if step * len(at_low) <= need:
            for p in at_low:
                target[p] += step
            placed += step * len(at_low)
        else:
            q, r = divmod(need, len(at_low))
            for i, p in enumerate(at_low):
                target[p] += q + (1 if i < r else 0)
            placed = add
    return placed
