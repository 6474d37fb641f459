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
:func:`recommended`                the ordering spotlab recommends (see
                                   :mod:`spotlab.fleet.evaluate`), run as EAS with rebalancing
=================================  ===========================================================

Policies never remove a ready replica while the replicas meant to replace it are still
starting and the demand needs it (make before break). Pools are named by their labels
(``kind:spec@zone``) or picked by kind; unnamed lists default to market order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from spotlab.errors import AnalysisError
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


def make_before_break(ideal: list[int], view: View, preference: Sequence[int]) -> list[int]:
    """``ideal`` plus the ready replicas it drops that the demand still needs until the
    replicas replacing them are ready (kept in ``preference`` order)."""
    target = list(ideal)
    short = view.demand - sum(ready_after(ideal, view))
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
    not documented (300 s assumed).
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
            self.probe_seconds = 300.0

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
