"""The recommended deployment: EAS settings chosen on a training window to meet a service
availability target at the least cost.

**What is chosen** (:class:`EasSetting`; each one a field of the exported config, see
:meth:`EasSetting.fields`): the order of the spot specs (``cloud.computing.instances``),
each entry's ``capacity`` (a spot entry capped below the fleet puts the rest on the
regular entry, a permanent regular base), the regular entry's ``capacity``, spare replicas
(``metadata.instance`` = demand + spares: spares run on spot, and on regular only as far
as its capacity lets them), ``metadata.resource_rebalancing`` on or off, and the size of
a dedicated group listed first (``{"type": "dedicated_resource", "capacity": N}``).
Replayed by :class:`~spotlab.fleet.policies.EasService`: entries per spec, replicas
spread over the zones with stock. Not chosen, because EAS has no field for them: the
zone of a replica and the rebalancing probe period (300 s assumed); the bid is not
replayed (availability traces carry no prices; see :data:`BID_RULE`).

**How** (:class:`FleetSearch`, :func:`recommend_fleet`):

1. The training window is cut into :data:`FOLDS` (3) equal blocks. Every candidate is
   replayed once over the whole window (warm at its start); the figures of every block,
   of every union of blocks and of the whole window come from that one replay
   (:meth:`~spotlab.fleet.simulate.FleetResult.part`), and replays are cached, so each
   candidate costs at most one simulation whatever the searches below ask.
2. Each search is branch and bound: candidates are visited cheapest lower bound first
   (every replica-hour costs at least the cheapest spot price; the dedicated slots, the
   regular base and the replicas the capacities guarantee are counted exactly) and the
   search stops as soon as no unvisited candidate's bound can beat the best feasible cost.
3. The safety margin is set by blocked cross-validation inside the window: for each
   margin in :data:`MARGINS` (0 first) and each block, the cheapest candidate reaching
   target + margin on the *other* blocks is replayed on that block; the pooled availability
   of the blocks, each scored by a choice that never saw it, estimates what the procedure
   delivers on time it was not chosen on. The first margin whose pooled availability meets
   the target is kept; when none does, the one with the highest pooled availability (the
   smallest among equals: a margin that changes nothing out of sample is not paid for).
   ``validation="last"`` is the first round's rule (only the last block validated, the
   first two as the fit part): one split, so one hard
   stretch at the end of the window sets the margin alone (and when no margin validates,
   the largest is used).
4. Only settings whose regular entry can hold the whole demand beside the dedicated group
   are recommended (:attr:`SearchSpace.fallback_holds_demand`: the seed's regular fallback).
5. The recommendation is the cheapest candidate reaching target + that margin on the
   whole training window (all-regular replicas always reach it: the search always has an
   answer, at worst a dear one). ``min_spare`` (a prior: see :mod:`spotlab.fleet.prior`)
   keeps out spot-using settings with fewer spares. The held-out part of a trace is never
   seen.
6. When the answer puts no replica on spot (a dedicated group of the whole demand, or
   every replica on the regular entry), the cheapest spot-using setting is reported beside
   it (:attr:`FleetChoice.spot_alternative`), with what it costs and reaches, so the price
   of "no spot" is visible; the dedicated slot price is an assumption the caller sets.

Where a cost model of ordered entry lists is needed it is :func:`replay_setting` (one
function: the simulator on a market window), so another model can replace it in one place.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from spotlab.errors import AnalysisError, did_you_mean
from spotlab.fleet.market import Market, Pool, with_pools
from spotlab.fleet.policies import EasService
from spotlab.fleet.simulate import FleetResult, simulate

#: the service availability spotlab aims at unless told otherwise (share of time with
#: ready replicas >= demand)
DEFAULT_TARGET = 0.995
#: safety margins tried on the fit part, smallest first (shares of time)
MARGINS: tuple[float, ...] = (0.0, 0.001, 0.0025, 0.004, 0.005)
#: the most spare replicas (and dedicated slots) a search may try
MAX_SPARE = 32
#: at most this many + 1 values of a count are tried (see :func:`levels`)
LEVELS = 8
#: blocks of the training window for the cross-validated margin
FOLDS = 3
#: the share of the training window each validation block holds
VALIDATION_SHARE = 1.0 / FOLDS
#: how the margin is validated: every block in turn (pooled), the last block only (the
#: first round's single split), or not at all (margin 0)
VALIDATIONS = ("blocked", "last", "none")
#: how the exported ``spot_price_limit`` is set when no bid advice exists
BID_RULE = (
    "spot_price_limit = the spec's on-demand (pay-as-you-go) price: the replays assume a "
    "bid that never binds, and with a regular entry last a higher bid never costs more "
    "than the market price (you pay the market, not the bid)"
)


@dataclass(frozen=True)
class EasSetting:
    """One point of the search space: what an exported EAS service config says.

    ``spot``: spot specs in entry order; ``spot_capacity``: their ``capacity`` (None:
    uncapped); ``regular_capacity``: the regular entry's; ``spare``: replicas beyond the
    demand (``metadata.instance`` = demand + spare); ``rebalancing``:
    ``metadata.resource_rebalancing``; ``dedicated``: slots of a dedicated group listed
    first (0: none).
    """

    spot: tuple[str, ...]
    spot_capacity: tuple[int | None, ...]
    regular_capacity: int | None = None
    spare: int = 0
    rebalancing: bool = True
    dedicated: int = 0

    def policy(self, regular: str | None = None, name: str = "spotlab recommended") -> EasService:
        """The setting as a simulator policy (the market must rent the dedicated group)."""
        return EasService(
            spot=list(self.spot), spot_capacity=list(self.spot_capacity), regular=regular,
            regular_capacity=self.regular_capacity, spare=self.spare,
            rebalancing=self.rebalancing, name=name,
        )  # fmt: skip

    def regular_base(self, demand: int) -> int:
        """Replicas the spot capacities leave to the regular entry at all times."""
        elastic = demand + self.spare - self.dedicated
        if any(c is None for c in self.spot_capacity):
            return 0
        return max(0, elastic - sum(c or 0 for c in self.spot_capacity))

    def uses_spot(self, demand: int) -> bool:
        """Whether any replica of this setting ever runs on spot (not when a dedicated group
        holds the whole demand, or the spot capacities leave every replica to regular)."""
        return self.demand_elastic(demand) - self.regular_base(demand) > 0

    def fallback_holds_demand(self, demand: int) -> bool:
        """Whether the regular entry (with the dedicated group) can hold the whole demand
        when spot holds nothing: uncapped, or capped at no less than the demand left after
        the dedicated group (see :attr:`SearchSpace.fallback_holds_demand`)."""
        cap = self.regular_capacity
        return cap is None or cap + self.dedicated >= demand

    def demand_elastic(self, demand: int) -> int:
        """Replicas beyond the dedicated group: on spot or on the regular entry."""
        return demand + self.spare - self.dedicated

    def instances(self, regular: str, bids: Mapping[str, float | None]) -> list[dict[str, Any]]:
        """``cloud.computing.instances`` for this setting (``bids``: spot spec → limit)."""
        out: list[dict[str, Any]] = []
        if self.dedicated:
            out.append({"type": "dedicated_resource", "capacity": self.dedicated})
        for spec, cap in zip(self.spot, self.spot_capacity, strict=True):
            entry: dict[str, Any] = {"type": spec, "spot_price_limit": bids.get(spec)}
            if cap is not None:
                entry["capacity"] = cap
            out.append(entry)
        reg: dict[str, Any] = {"type": regular}
        if self.regular_capacity is not None:
            reg["capacity"] = self.regular_capacity
        out.append(reg)
        return out

    def fields(self, demand: int, regular: str, bids: Mapping[str, float | None]) -> dict[str, Any]:
        """Every chosen parameter as the config field that carries it (JSON paths)."""
        return {
            "metadata.instance": demand + self.spare,
            "metadata.resource_rebalancing": self.rebalancing,
            "metadata.scheduling.spread.policy": "zone",
            "cloud.computing.instances": self.instances(regular, bids),
            "autoscaler.min": demand + self.spare,
        }

    def describe(self, demand: int) -> str:
        """The setting in words, e.g. ``1 spare on spot, regular capacity 4, rebalancing``."""
        parts = [f"{demand + self.spare} instances ({self.spare} spare)"]
        if self.dedicated:
            parts.append(f"dedicated group of {self.dedicated} first")
        caps = [
            f"{s}{'' if c is None else f' capacity {c}'}"
            for s, c in zip(self.spot, self.spot_capacity, strict=True)
        ]
        parts.append("spot " + " > ".join(caps))
        reg = "uncapped" if self.regular_capacity is None else f"capacity {self.regular_capacity}"
        parts.append(f"regular {reg}")
        base = self.regular_base(demand)
        if base:
            parts.append(f"{base} always on regular")
        parts.append("rebalancing on" if self.rebalancing else "rebalancing off")
        return ", ".join(parts)

    def key(self) -> dict[str, Any]:
        return {
            "spot": " > ".join(self.spot),
            "spot_capacity": ",".join("-" if c is None else str(c) for c in self.spot_capacity),
            "regular_capacity": self.regular_capacity,
            "spare": self.spare,
            "rebalancing": self.rebalancing,
            "dedicated": self.dedicated,
        }


@dataclass(frozen=True)
class SearchSpace:
    """What :func:`recommend_fleet` may choose from, and how it validates.

    ``max_spare`` (default: the demand, at most :data:`MAX_SPARE`) and ``max_dedicated``
    (default: the demand; 0 or no dedicated price: none) bound the counts, each tried at
    every value up to 8 and at 9 evenly spaced values beyond; ``regular_caps`` also tries a regular
    entry capped at the demand left after the dedicated group, and one below it.
    ``fallback_holds_demand`` (default on) keeps only settings whose regular entry, with the
    dedicated group, can hold the whole demand: the seed's design (dedicated floor, spot
    elasticity, *regular resources as the fallback when spot is short*), so a regular cap
    below the demand is never recommended, however rarely the training window saw every
    spot zone down at once; off is the first two rounds' space (a cap one below tried too).
    ``prune`` skips settings with fewer spares than one of their family that fell short
    (see :meth:`_Search.best`; off: plain branch and bound, the same answer when
    availability grows with the spares, as the property tests check). ``folds`` blocks
    of the training window; ``validation`` one of :data:`VALIDATIONS`.
    """

    max_spare: int | None = None
    max_dedicated: int | None = None
    regular_caps: bool = True
    fallback_holds_demand: bool = True
    margins: tuple[float, ...] = MARGINS
    folds: int = FOLDS
    prune: bool = True
    validation: str = "blocked"

    def __post_init__(self) -> None:
        for name in ("max_spare", "max_dedicated"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= MAX_SPARE:
                raise AnalysisError(f"{name} must be in 0..{MAX_SPARE}, got {v}")
        if not 2 <= self.folds <= 10:
            raise AnalysisError(f"folds must be in 2..10, got {self.folds}")
        if not self.margins or any(not 0.0 <= m < 1.0 for m in self.margins):
            raise AnalysisError(f"margins must be in [0, 1), got {self.margins}")
        if self.validation not in VALIDATIONS:
            v = self.validation
            raise AnalysisError(
                f"unknown validation {v!r}.{did_you_mean(v, VALIDATIONS)} Use one of "
                f"{', '.join(VALIDATIONS)}"
            )


def levels(top: int) -> list[int]:
    """The counts tried for a quantity of 0 .. ``top``: every one up to :data:`LEVELS`,
    else that many evenly spaced (so a large demand does not multiply the space)."""
    if top <= LEVELS:
        return list(range(top + 1))
    return sorted({round(i * top / LEVELS) for i in range(LEVELS + 1)})


def spare_levels(demand: int, space: SearchSpace) -> list[int]:
    """The spare counts a search tries (default: up to the demand, at most
    :data:`MAX_SPARE`); SpotHedge's k in the table runs over the same counts."""
    top = min(demand, MAX_SPARE) if space.max_spare is None else space.max_spare
    return levels(top)


def candidates(
    spot_specs: Sequence[str], demand: int, space: SearchSpace, dedicated: bool
) -> Iterator[EasSetting]:
    """Every setting of the space, each once (equivalent settings are written one way)."""
    max_ded = 0 if not dedicated else demand if space.max_dedicated is None else space.max_dedicated
    orders = (
        list(itertools.permutations(spot_specs)) if len(spot_specs) <= 3 else [tuple(spot_specs)]
    )
    spares = spare_levels(demand, space)
    for ded in levels(min(max_ded, demand)):
        for spare in spares if ded < demand else [0]:
            elastic = demand + spare - ded
            for order in orders:
                for caps in _spot_caps(len(order), elastic, demand - ded):
                    base = max(0, elastic - sum(c or 0 for c in caps)) if None not in caps else 0
                    for reg in _regular_caps(elastic, demand - ded, base, space.regular_caps):
                        spot_left = elastic - base > 0
                        for reb in (False, True) if spot_left else (True,):
                            yield EasSetting(tuple(order), caps, reg, spare, reb, ded)


def _spot_caps(entries: int, elastic: int, need: int) -> list[tuple[int | None, ...]]:
    if entries == 1:  # uncapped, or capped to leave a regular base of 1..need replicas
        bases = [b for b in levels(need) if b > 0 and elastic - b >= 0]
        return [(None,), *((elastic - b,) for b in bases)]
    share = math.ceil(elastic / entries)  # diversify: the first entries at most a share each
    firsts = itertools.product((None, share), repeat=entries - 1)
    return [(*f, None) for f in firsts]


def _regular_caps(elastic: int, need: int, base: int, tried: bool) -> list[int | None]:
    out: list[int | None] = [None]
    if tried:
        for cap in (need, need - 1):
            if max(base, 1) <= cap < elastic and cap not in out:
                out.append(cap)
    return out


def replay_setting(
    market: Market,
    setting: EasSetting,
    demand: int,
    warning_seconds: float,
    dedicated: Pool | None = None,
    name: str = "spotlab recommended",
) -> FleetResult:
    """Cost and availability of one setting on one market window (the simulator; the one
    place to switch to another cost model of ordered entry lists)."""
    m = market
    if setting.dedicated:
        if dedicated is None:
            raise AnalysisError("a setting with a dedicated group needs the dedicated pool")
        m = with_pools(market, [Pool(dedicated.spec, dedicated.zone, "dedicated",
                                     dedicated.price_per_hour, dedicated.startup_seconds,
                                     slots=setting.dedicated)])  # fmt: skip
    regular = market.pools[market.find(kind="regular")[0]].spec
    return simulate(m, setting.policy(regular, name), demand, warning_seconds=warning_seconds)


@dataclass(frozen=True)
class SearchStats:
    """How much the search did: settings in the space, replayed, skipped as dominated."""

    candidates: int
    replayed: int
    pruned: int
    seconds: float


@dataclass(frozen=True)
class FleetChoice:
    """The recommended setting, the figures it was chosen on, and why.

    ``fit``, ``validation``: the chosen setting on the window but its last block, and on
    that block; ``train``: on the whole training window; ``margin``: the safety margin,
    ``margin_validated``: whether a margin's cross-validated availability met the target
    (``validation`` says how it was validated, ``cv`` gives every margin tried with its
    pooled availability and the choice per fold); ``min_spare``: the spares a spot-using
    setting had to have (a prior); ``met``: whether the chosen setting reaches target +
    margin on the training window (False only if nothing does, all-regular included);
    ``spot_alternative``: when the choice runs nothing on spot, the cheapest spot-using
    setting reaching target + margin (else the most available one) with its figures;
    ``frontier``: every replayed candidate with its figures per part.
    """

    setting: EasSetting
    demand: int
    target: float
    margin: float
    margin_validated: bool
    fit: dict[str, float]
    validation: dict[str, float]
    train: dict[str, float]
    met: bool
    hours: dict[str, float]
    stats: SearchStats
    reasons: list[str]
    frontier: pl.DataFrame
    regular: str = ""
    dedicated_price: float | None = None
    validation_rule: str = "blocked"
    cv: list[dict[str, Any]] = field(default_factory=list)
    min_spare: int = 0
    spot_alternative: SpotAlternative | None = None
    regular_price: float | None = None

    @property
    def uses_spot(self) -> bool:
        return self.setting.uses_spot(self.demand)

    def summary(self) -> dict[str, Any]:
        alt = self.spot_alternative
        return {
            "setting": self.setting.describe(self.demand),
            **{f"setting_{k}": v for k, v in self.setting.key().items()},
            "uses_spot": self.uses_spot,
            "target": self.target,
            "margin": self.margin,
            "margin_validated": self.margin_validated,
            "validation_rule": self.validation_rule,
            "min_spare": self.min_spare,
            "train_cost_ratio": self.train["cost_ratio"],
            "train_availability": self.train["availability"],
            "fit_availability": self.fit["availability"],
            "validation_availability": self.validation["availability"],
            "dedicated_price": self.dedicated_price,
            "spot_alternative": None if alt is None else alt.summary(self.demand),
            "candidates": self.stats.candidates,
            "replayed": self.stats.replayed,
            "pruned": self.stats.pruned,
            "search_seconds": round(self.stats.seconds, 3),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "cv": self.cv, "reasons": self.reasons, "hours": self.hours}


@dataclass(frozen=True)
class SpotAlternative:
    """The cheapest setting that runs replicas on spot, beside a choice that runs none:
    its figures on the training window and whether it reaches target + margin there."""

    setting: EasSetting
    train: dict[str, float]
    met: bool

    def summary(self, demand: int) -> dict[str, Any]:
        return {
            "setting": self.setting.describe(demand),
            **{f"setting_{k}": v for k, v in self.setting.key().items()},
            "train_cost_ratio": self.train["cost_ratio"],
            "train_availability": self.train["availability"],
            "met": self.met,
        }


Intervals = tuple[tuple[int, int], ...]


def _combine(figs: list[dict[str, float]], lengths: list[int]) -> dict[str, float]:
    """Figures of a union of disjoint parts from the figures of each."""
    if len(figs) == 1:
        return figs[0]
    cost = sum(f["cost"] for f in figs)
    base = sum(f["all_regular_cost"] for f in figs)
    avail = sum(f["availability"] * n for f, n in zip(figs, lengths, strict=True))
    return {
        "cost": cost,
        "all_regular_cost": base,
        "cost_ratio": cost / base if base > 0 else math.nan,
        "availability": avail / sum(lengths),
    }


def _merged(intervals: list[tuple[int, int]]) -> Intervals:
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


@dataclass
class _Search:
    market: Market
    demand: int
    warning_seconds: float
    dedicated: Pool | None
    bounds: dict[str, np.ndarray]  # window -> per-tick cumulative price integrals
    parts: dict[str, Intervals]
    prune: bool = True
    max_spare: int = 0
    cache: dict[EasSetting, dict[str, dict[str, float]]] = field(default_factory=dict)
    pruned: set[EasSetting] = field(default_factory=set)

    def figures(self, s: EasSetting) -> dict[str, dict[str, float]]:
        got = self.cache.get(s)
        if got is None:
            r = replay_setting(self.market, s, self.demand, self.warning_seconds, self.dedicated)
            got = {
                name: _combine([r.part(a, b) for a, b in iv], [b - a for a, b in iv])
                for name, iv in self.parts.items()
            }
            self.cache[s] = got
        return got

    def lower_bound(self, s: EasSetting, part: str) -> float:
        """A cost ratio no replay of ``s`` on ``part`` can beat: ``s`` always holds its
        dedicated slots, its regular base on regular, and at least min(fleet, regular
        capacity + spot) elastic replicas, each at no less than the cheapest spot price."""
        spot_min, regular, ded = (self.bounds[k] for k in ("spot_min", "regular", "dedicated"))

        def over(row: np.ndarray) -> float:
            return float(sum(row[b] - row[a] for a, b in self.parts[part]))

        elastic = s.demand_elastic(self.demand)
        base = s.regular_base(self.demand)
        held = elastic if s.regular_capacity is None else min(elastic, s.regular_capacity)
        reg = over(regular)
        cost = s.dedicated * over(ded) + base * reg + max(0, held - base) * over(spot_min)
        return float(cost / (self.demand * reg))

    def best(self, order: list[EasSetting], part: str, need: float) -> EasSetting | None:
        """The cheapest candidate with availability >= ``need`` on ``part`` (branch and
        bound over ``order``; None when none qualifies). With ``prune``, a candidate not
        yet replayed is skipped when one of its family (the same setting but for the
        spares) with at least as many spares fell short: availability is taken to grow
        with the spares (a property test checks it); and the first time a family falls
        short, its member with the most spares is replayed, so a family that cannot reach
        ``need`` costs two replays, not one per spare count."""
        best: EasSetting | None = None
        best_cost = math.inf
        short: dict[tuple[Any, ...], int] = {}  # family -> most spares seen falling short
        probed: set[EasSetting] = set()
        d = self.demand

        def visit(s: EasSetting) -> bool:
            nonlocal best, best_cost
            f = self.figures(s)[part]
            if f["availability"] >= need - _EPS:
                cost = f["cost_ratio"]
                tie = best is not None and abs(cost - best_cost) <= _EPS
                if cost < best_cost - _EPS or (tie and safety(s, d) < safety(best, d)):  # type: ignore[arg-type]
                    best, best_cost = s, cost
                return True
            family = _group(s, d)
            short[family] = max(short.get(family, -1), s.spare)
            return False

        for s in order:
            if self.lower_bound(s, part) > best_cost + _EPS:
                break
            if self.prune and s not in self.cache and short.get(_group(s, d), -1) >= s.spare:
                self.pruned.add(s)
                continue
            if not visit(s) and self.prune:
                rich = self.richest(s)
                if rich is not None and rich not in probed:
                    probed.add(rich)
                    visit(rich)
        return best

    def richest(self, s: EasSetting) -> EasSetting | None:
        """``s``'s family member with the most spares (one spot spec only)."""
        if len(s.spot) != 1 or s.dedicated >= self.demand or s.spare >= self.max_spare:
            return None
        base = s.regular_base(self.demand)
        elastic = self.demand + self.max_spare - s.dedicated
        cap = (None,) if base == 0 else (elastic - base,)
        reg = s.regular_capacity
        return EasSetting(s.spot, cap, reg, self.max_spare, s.rebalancing, s.dedicated)


#: costs and availabilities closer than this are equal
_EPS = 1e-9


def safety(s: EasSetting, demand: int) -> tuple[int, int]:
    """How a tie in cost is broken (smaller first). A short window that shows no outage
    prices many settings alike; the tie goes to the one that fares best when an outage
    comes: rebalancing on (no replica stays on regular once spot is back), then a regular
    entry holding exactly the demand left after the dedicated group (an uncapped one pays
    regular prices for the spares, a smaller one leaves the demand short)."""
    need = demand - s.dedicated
    cap = s.regular_capacity
    exact = cap == need or (cap is None and s.spare == 0)
    return (0 if s.rebalancing else 1, 0 if exact else 1 if cap is None else 2)


def _group(s: EasSetting, demand: int) -> tuple[Any, ...]:
    """Settings that differ only in their spares (single-spec capacities as the regular
    base they leave, multi-spec ones as which entries are capped)."""
    pattern = tuple(c is None for c in s.spot_capacity)
    return (s.spot, s.rebalancing, s.dedicated, s.regular_capacity, s.regular_base(demand),
            pattern)  # fmt: skip


class FleetSearch:
    """The search space of one training window, with the replays cached across questions:
    :meth:`choose` answers for a target, a spare prior and a validation rule, and asking
    again (another prior, the first round's rule) replays only settings not yet seen.

    ``market``: the training window (spot pools and a regular pool); ``dedicated_price``:
    per slot-hour of a dedicated group (None: no dedicated group is tried).
    """

    def __init__(
        self,
        market: Market,
        demand: int,
        warning_seconds: float,
        dedicated_price: float | None = None,
        space: SearchSpace | None = None,
    ) -> None:
        if demand < 1:
            raise AnalysisError(f"demand must be >= 1 replica, got {demand}")
        self.space = space = space or SearchSpace()
        regular_ix = market.find(kind="regular")
        spot_ix = market.find(kind="spot")
        if not regular_ix or not spot_ix:
            raise AnalysisError("the search needs spot pools and a regular pool in the market")
        n_ticks = market.ticks
        k = space.folds
        edges = [round(n_ticks * (1.0 - (k - i) / k)) for i in range(k + 1)]
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise AnalysisError(
                f"the training window ({n_ticks} ticks) is too short to cut into {k} blocks"
            )
        self.regular_pool = regular_pool = market.pools[regular_ix[0]]
        self.dedicated_price = dedicated_price
        dedicated = None
        if dedicated_price is not None:
            if not (math.isfinite(dedicated_price) and dedicated_price >= 0):
                raise AnalysisError(f"dedicated price must be >= 0, got {dedicated_price}")
            dedicated = Pool(regular_pool.spec, regular_pool.zone, "dedicated", dedicated_price,
                             regular_pool.startup_seconds, slots=0)  # fmt: skip
        prices = market.price_matrix()
        self.step_h = step_h = market.step_seconds / 3600.0

        def integral(row: np.ndarray) -> np.ndarray:
            return np.concatenate([[0.0], np.cumsum(row)]) * step_h

        bounds = {
            "spot_min": integral(prices[spot_ix].min(axis=0)),
            "regular": integral(prices[regular_ix[0]]),
            "dedicated": integral(np.full(n_ticks, dedicated_price or 0.0)),
        }
        blocks = [(edges[i], edges[i + 1]) for i in range(k)]
        parts: dict[str, Intervals] = {"train": ((0, n_ticks),)}
        for i, blk in enumerate(blocks):
            parts[f"b{i}"] = (blk,)
            parts[f"fit:{i}"] = _merged([b for j, b in enumerate(blocks) if j != i])
        self.blocks = blocks
        self.demand = demand
        self.max_spare = spare_levels(demand, space)[-1]
        self.engine = _Search(market, demand, warning_seconds, dedicated, bounds, parts,
                              space.prune, self.max_spare)  # fmt: skip
        spot_specs = list(dict.fromkeys(market.pools[i].spec for i in spot_ix))
        self.cands = list(candidates(spot_specs, demand, space, dedicated is not None))
        self._orders: dict[str, list[EasSetting]] = {}
        self.seconds = 0.0

    def order(self, part: str) -> list[EasSetting]:
        """Every candidate, cheapest lower bound on ``part`` first."""
        got = self._orders.get(part)
        if got is None:
            got = sorted(self.cands, key=lambda s: self.engine.lower_bound(s, part))
            self._orders[part] = got
        return got

    def choose(
        self,
        target: float = DEFAULT_TARGET,
        min_spare: int = 0,
        validation: str | None = None,
        fallback_holds_demand: bool | None = None,
    ) -> FleetChoice:
        """The cheapest setting meeting ``target`` + a validated margin on the window, with
        at least ``min_spare`` spares when it runs replicas on spot (see the module
        docstring); ``validation`` and ``fallback_holds_demand`` default to the space's."""
        if not (isinstance(target, float | int) and 0.0 < target <= 1.0):
            raise AnalysisError(f"target must be a share in (0, 1], got {target!r}")
        rule = self.space.validation if validation is None else validation
        if rule not in VALIDATIONS:
            raise AnalysisError(f"unknown validation {rule!r}.{did_you_mean(rule, VALIDATIONS)}")
        if min_spare < 0:
            raise AnalysisError(f"min_spare must be >= 0, got {min_spare}")
        min_spare = min(min_spare, self.max_spare)
        t0 = time.perf_counter()
        d, eng = self.demand, self.engine

        holds = fallback_holds_demand
        if holds is None:
            holds = self.space.fallback_holds_demand

        def allowed(s: EasSetting) -> bool:
            if holds and not s.fallback_holds_demand(d):
                return False
            return s.spare >= min_spare or not s.uses_spot(d)

        def order(part: str) -> list[EasSetting]:
            return [s for s in self.order(part) if allowed(s)]

        k = len(self.blocks)
        folds = {"blocked": list(range(k)), "last": [k - 1], "none": []}[rule]
        margins = self.space.margins if folds else (0.0,)
        margin, validated = (margins[-1], False) if folds else (0.0, True)
        cv: list[dict[str, Any]] = []
        for m in margins if folds else ():
            need = min(1.0, target + m)
            per_fold: list[dict[str, Any]] = []
            scores: list[tuple[float, int]] = []  # (availability, ticks) per validated block
            for i in folds:
                pick = eng.best(order(f"fit:{i}"), f"fit:{i}", need)
                a, b = self.blocks[i]
                row: dict[str, Any] = {"block": i, "hours": (b - a) * self.step_h,
                                       "setting": None, "fit_cost_ratio": None,
                                       "availability": None, "cost_ratio": None}  # fmt: skip
                if pick is not None:
                    f = eng.figures(pick)
                    row.update(setting=pick.describe(d),
                               fit_cost_ratio=f[f"fit:{i}"]["cost_ratio"],
                               availability=f[f"b{i}"]["availability"],
                               cost_ratio=f[f"b{i}"]["cost_ratio"])  # fmt: skip
                    scores.append((f[f"b{i}"]["availability"], b - a))
                per_fold.append(row)
            pooled: float | None = None
            if len(scores) == len(folds) == 1:
                pooled = scores[0][0]
            elif len(scores) == len(folds):
                pooled = sum(av * n for av, n in scores) / sum(n for _, n in scores)
            cv.append({"margin": m, "pooled_availability": pooled, "folds": per_fold})
            if pooled is not None and pooled >= target:
                margin, validated = m, True
                break
        if folds and not validated and rule == "blocked":
            # no margin met the target: the one that did best (the smallest among equals);
            # a margin that changes nothing out of sample is not worth paying for
            scored = [(x["margin"], x["pooled_availability"]) for x in cv
                      if x["pooled_availability"] is not None]  # fmt: skip
            if scored:
                top = max(av for _, av in scored)
                margin = next(mg for mg, av in scored if av >= top)
        need = min(1.0, target + margin)
        chosen = eng.best(order("train"), "train", need)
        met = chosen is not None
        if chosen is None:  # nothing reaches it: the most available, then the cheapest
            chosen = _most_available([s for s in eng.cache if allowed(s)], eng)
        alt = None
        if not chosen.uses_spot(d):
            spot_order = [s for s in order("train") if s.uses_spot(d)]
            pick = eng.best(spot_order, "train", need)
            if pick is not None:
                alt = SpotAlternative(pick, eng.figures(pick)["train"], True)
            else:
                seen = [s for s in eng.cache if s.uses_spot(d) and allowed(s)]
                if not seen and spot_order:
                    eng.figures(spot_order[0])
                    seen = [spot_order[0]]
                if seen:
                    best_seen = _most_available(seen, eng)
                    alt = SpotAlternative(best_seen, eng.figures(best_seen)["train"], False)
        self.seconds += time.perf_counter() - t0
        figs = eng.figures(chosen)
        frontier = pl.DataFrame(
            [
                {**s.key(), **{f"{p}_{k}": v[k] for p, v in f.items() if ":" not in p
                               for k in ("cost_ratio", "availability")}}
                for s, f in eng.cache.items()
            ]
        ).sort("train_cost_ratio")  # fmt: skip
        hours = {
            "fit": sum(b - a for a, b in eng.parts[f"fit:{k - 1}"]) * self.step_h,
            "validation": (self.blocks[-1][1] - self.blocks[-1][0]) * self.step_h,
            "train": self.market_hours,
        }
        skipped = len(eng.pruned - eng.cache.keys())
        stats = SearchStats(len(self.cands), len(eng.cache), skipped, self.seconds)
        choice = FleetChoice(
            setting=chosen, demand=d, target=target, margin=margin, margin_validated=validated,
            fit=figs[f"fit:{k - 1}"], validation=figs[f"b{k - 1}"], train=figs["train"], met=met,
            hours=hours, stats=stats, reasons=[], frontier=frontier,
            regular=self.regular_pool.spec, dedicated_price=self.dedicated_price,
            validation_rule=rule, cv=cv, min_spare=min_spare, spot_alternative=alt,
            regular_price=self.regular_pool.price_per_hour,
        )  # fmt: skip
        choice.reasons.extend(_reasons(choice))
        return choice

    @property
    def market_hours(self) -> float:
        return self.engine.market.ticks * self.step_h


def _most_available(settings: Sequence[EasSetting], eng: _Search) -> EasSetting:
    return max(
        settings,
        key=lambda s: (eng.figures(s)["train"]["availability"],
                       -eng.figures(s)["train"]["cost_ratio"]),
    )  # fmt: skip


def recommend_fleet(
    market: Market,
    demand: int,
    warning_seconds: float,
    target: float = DEFAULT_TARGET,
    dedicated_price: float | None = None,
    space: SearchSpace | None = None,
    min_spare: int = 0,
) -> FleetChoice:
    """The cheapest EAS setting that meets ``target`` on ``market`` (the training window:
    spot pools and a regular pool), with a safety margin cross-validated inside it.

    ``dedicated_price``: per slot-hour of a dedicated group (None: no dedicated group is
    tried); ``min_spare``: spares a spot-using setting must have (a prior). See the module
    docstring for the procedure; :class:`FleetSearch` asks several questions of one window.
    """
    if not (isinstance(target, float | int) and 0.0 < target <= 1.0):
        raise AnalysisError(f"target must be a share in (0, 1], got {target!r}")
    search = FleetSearch(market, demand, warning_seconds, dedicated_price, space)
    return search.choose(target, min_spare)


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _reasons(c: FleetChoice) -> list[str]:
    d, tr = c.demand, c.train
    out = [
        f"Chosen on the training window ({c.hours['train']:.1f} h): {c.setting.describe(d)}; "
        f"{_pct(tr['availability'])} available at {tr['cost_ratio']:.3f} x all-regular there, "
        f"searched {c.stats.replayed} of {c.stats.candidates} settings in "
        f"{c.stats.seconds:.1f} s."
    ]
    need = min(1.0, c.target + c.margin)
    if c.validation_rule == "none":
        out.append("No safety margin (not validated).")
    elif c.cv:
        kind = (
            f"{len(c.cv[0]['folds'])}-fold blocked cross-validation (each third of the "
            "window scored by the cheapest setting chosen on the other two)"
            if c.validation_rule == "blocked"
            else "one split (the first two thirds chosen on, the last third scored)"
        )
        first = c.cv[0]
        pooled = first["pooled_availability"]
        if c.margin == 0 and c.margin_validated:
            out.append(
                f"No safety margin needed: by {kind}, choosing for {_pct(c.target)} delivered "
                f"{_pct(pooled)} on time it was not chosen on."
            )
        elif c.margin_validated:
            out.append(
                f"Safety margin {100 * c.margin:.2g} points, by {kind}: choosing for "
                f"{_pct(c.target)} delivered only "
                f"{'nothing' if pooled is None else _pct(pooled)} on time it was not chosen "
                f"on; choosing for {_pct(need)} delivered "
                f"{_pct(c.cv[-1]['pooled_availability'])}."
            )
        else:
            best = max((x["pooled_availability"] or 0.0) for x in c.cv)
            which = (
                "the one that did best (the smallest among equals)"
                if c.validation_rule == "blocked"
                else "the largest"
            )
            out.append(
                f"No margin tried met the target by {kind} (at best {_pct(best)}): the window "
                f"holds outages no choice made without them foresaw; the margin is {which}, "
                f"{100 * c.margin:.2g} points."
            )
    if c.min_spare:
        out.append(
            f"At least {c.min_spare} spare(s) on spot (the spare prior: the training window "
            "is too short to show the reclaims a replica's start-up beyond the warning "
            "exposes; see spotlab.fleet.prior)."
        )
    if not c.met:
        out.append(
            f"No setting reached {_pct(need)} on the training window; this is the most "
            "available one."
        )
    if c.setting.dedicated and c.dedicated_price is not None:
        share = (
            f", {c.dedicated_price / c.regular_price:.2f} x the regular price"
            if c.regular_price
            else ""
        )
        out.append(
            f"A dedicated slot is priced at {c.dedicated_price:.4g} per hour{share}, an assumption "
            f"(the order of a one-year commitment; set it with --dedicated-share, or "
            "--max-dedicated 0 for no dedicated group); it drives this answer."
        )
    alt = c.spot_alternative
    if alt is not None:
        a = alt.train
        out.append(
            f"This runs nothing on spot. The cheapest setting using spot: "
            f"{alt.setting.describe(d)}, {a['cost_ratio']:.3f} x all-regular at "
            f"{_pct(a['availability'])} on the training window ("
            + (f"meets {_pct(need)} too, at {a['cost_ratio'] - tr['cost_ratio']:+.3f} x)."
               if alt.met else f"short of {_pct(need)}: the most available spot setting seen).")
        )  # fmt: skip
    return out


__all__ = [
    "BID_RULE",
    "DEFAULT_TARGET",
    "FOLDS",
    "MARGINS",
    "VALIDATIONS",
    "VALIDATION_SHARE",
    "EasSetting",
    "FleetChoice",
    "FleetSearch",
    "SearchSpace",
    "SearchStats",
    "SpotAlternative",
    "candidates",
    "levels",
    "recommend_fleet",
    "replay_setting",
    "spare_levels",
]
