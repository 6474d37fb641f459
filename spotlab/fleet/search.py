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

**How** (:func:`recommend_fleet`):

1. The training window is split into a *fit* part (the first 2/3) and a *validation*
   part (the last 1/3). Every candidate is replayed once over the whole window (warm at
   its start); fit, validation and whole-window figures all come from that one replay
   (:meth:`~spotlab.fleet.simulate.FleetResult.part`), and replays are cached, so each
   candidate costs at most one simulation whatever the searches below ask.
2. Each search is branch and bound: candidates are visited cheapest lower bound first
   (every replica-hour costs at least the cheapest spot price; the dedicated slots, the
   regular base and the replicas the capacities guarantee are counted exactly) and the
   search stops as soon as no unvisited candidate's bound can beat the best feasible cost.
3. The safety margin is set out of sample: for each margin in :data:`MARGINS` (0 first)
   the cheapest candidate reaching target + margin on the fit part is checked on the
   validation part; the first margin whose choice meets the target there is kept.
4. The recommendation is the cheapest candidate reaching target + that margin on the
   whole training window (all-regular replicas always reach it: the search always has an
   answer, at worst a dear one). The held-out part of a trace is never seen.

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

from spotlab.errors import AnalysisError
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
#: the share of the training window held back to validate the margin
VALIDATION_SHARE = 1.0 / 3.0
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
    ``prune`` skips settings with fewer spares than one of their family that fell short
    (see :meth:`_Search.best`; off: plain branch and bound, the same answer when
    availability grows with the spares, as the property tests check).
    """

    max_spare: int | None = None
    max_dedicated: int | None = None
    regular_caps: bool = True
    margins: tuple[float, ...] = MARGINS
    validation_share: float = VALIDATION_SHARE
    prune: bool = True

    def __post_init__(self) -> None:
        for name in ("max_spare", "max_dedicated"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= MAX_SPARE:
                raise AnalysisError(f"{name} must be in 0..{MAX_SPARE}, got {v}")
        if not 0.0 < self.validation_share < 1.0:
            raise AnalysisError(f"validation_share must be in (0, 1), got {self.validation_share}")
        if not self.margins or any(not 0.0 <= m < 1.0 for m in self.margins):
            raise AnalysisError(f"margins must be in [0, 1), got {self.margins}")


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

    ``fit``, ``validation``, ``train``: cost ratio and availability of the chosen setting
    on the parts of the training window; ``margin``: the safety margin carried over from
    fit to validation; ``met``: whether the chosen setting reaches target + margin on the
    training window (False only if nothing does, all-regular included); ``frontier``:
    every replayed candidate with its figures per part.
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

    def summary(self) -> dict[str, Any]:
        return {
            "setting": self.setting.describe(self.demand),
            **{f"setting_{k}": v for k, v in self.setting.key().items()},
            "target": self.target,
            "margin": self.margin,
            "margin_validated": self.margin_validated,
            "train_cost_ratio": self.train["cost_ratio"],
            "train_availability": self.train["availability"],
            "fit_availability": self.fit["availability"],
            "validation_availability": self.validation["availability"],
            "candidates": self.stats.candidates,
            "replayed": self.stats.replayed,
            "pruned": self.stats.pruned,
            "search_seconds": round(self.stats.seconds, 3),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "reasons": self.reasons, "hours": self.hours}


@dataclass
class _Search:
    market: Market
    demand: int
    warning_seconds: float
    dedicated: Pool | None
    bounds: dict[str, np.ndarray]  # window -> per-tick cumulative price integrals
    parts: dict[str, tuple[int, int]]
    prune: bool = True
    max_spare: int = 0
    cache: dict[EasSetting, dict[str, dict[str, float]]] = field(default_factory=dict)
    pruned: set[EasSetting] = field(default_factory=set)

    def figures(self, s: EasSetting) -> dict[str, dict[str, float]]:
        got = self.cache.get(s)
        if got is None:
            r = replay_setting(self.market, s, self.demand, self.warning_seconds, self.dedicated)
            got = {name: r.part(a, b) for name, (a, b) in self.parts.items()}
            self.cache[s] = got
        return got

    def lower_bound(self, s: EasSetting, part: str) -> float:
        """A cost ratio no replay of ``s`` on ``part`` can beat: ``s`` always holds its
        dedicated slots, its regular base on regular, and at least min(fleet, regular
        capacity + spot) elastic replicas, each at no less than the cheapest spot price."""
        a, b = self.parts[part]
        spot_min, regular, ded = (self.bounds[k] for k in ("spot_min", "regular", "dedicated"))
        elastic = self.demand + s.spare - s.dedicated
        base = s.regular_base(self.demand)
        held = elastic if s.regular_capacity is None else min(elastic, s.regular_capacity)
        cost = (
            s.dedicated * (ded[b] - ded[a])
            + base * (regular[b] - regular[a])
            + max(0, held - base) * (spot_min[b] - spot_min[a])
        )
        return float(cost / (self.demand * (regular[b] - regular[a])))

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


def recommend_fleet(
    market: Market,
    demand: int,
    warning_seconds: float,
    target: float = DEFAULT_TARGET,
    dedicated_price: float | None = None,
    space: SearchSpace | None = None,
) -> FleetChoice:
    """The cheapest EAS setting that meets ``target`` on ``market`` (the training window:
    spot pools and a regular pool), with a safety margin validated on its last part.

    ``dedicated_price``: per slot-hour of a dedicated group (None: no dedicated group is
    tried). See the module docstring for the procedure.
    """
    if not (isinstance(target, float | int) and 0.0 < target <= 1.0):
        raise AnalysisError(f"target must be a share in (0, 1], got {target!r}")
    if demand < 1:
        raise AnalysisError(f"demand must be >= 1 replica, got {demand}")
    space = space or SearchSpace()
    t0 = time.perf_counter()
    regular_ix = market.find(kind="regular")
    spot_ix = market.find(kind="spot")
    if not regular_ix or not spot_ix:
        raise AnalysisError("the search needs spot pools and a regular pool in the market")
    n_ticks = market.ticks
    split = round(n_ticks * (1.0 - space.validation_share))
    if split < 1 or split >= n_ticks:
        raise AnalysisError(
            f"the training window ({n_ticks} ticks) is too short to split into fit and "
            "validation parts"
        )
    regular_pool = market.pools[regular_ix[0]]
    dedicated = None
    if dedicated_price is not None:
        if not (math.isfinite(dedicated_price) and dedicated_price >= 0):
            raise AnalysisError(f"dedicated price must be >= 0, got {dedicated_price}")
        dedicated = Pool(regular_pool.spec, regular_pool.zone, "dedicated", dedicated_price,
                         regular_pool.startup_seconds, slots=0)  # fmt: skip
    prices = market.price_matrix()
    step_h = market.step_seconds / 3600.0

    def integral(row: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(row)]) * step_h

    bounds = {
        "spot_min": integral(prices[spot_ix].min(axis=0)),
        "regular": integral(prices[regular_ix[0]]),
        "dedicated": integral(np.full(n_ticks, dedicated_price or 0.0)),
    }
    parts = {"fit": (0, split), "validation": (split, n_ticks), "train": (0, n_ticks)}
    max_spare = spare_levels(demand, space)[-1]
    search = _Search(market, demand, warning_seconds, dedicated, bounds, parts, space.prune,
                     max_spare)  # fmt: skip
    spot_specs = list(dict.fromkeys(market.pools[i].spec for i in spot_ix))
    cands = list(candidates(spot_specs, demand, space, dedicated is not None))

    def ordered(part: str) -> list[EasSetting]:
        return sorted(cands, key=lambda s: search.lower_bound(s, part))

    fit_order = ordered("fit")
    margin, validated = space.margins[-1], False
    tried: list[tuple[float, EasSetting | None]] = []
    for m in space.margins:
        need = min(1.0, target + m)
        pick = search.best(fit_order, "fit", need)
        tried.append((m, pick))
        if pick is not None and search.figures(pick)["validation"]["availability"] >= target:
            margin, validated = m, True
            break
    need = min(1.0, target + margin)
    train_order = ordered("train")
    chosen = search.best(train_order, "train", need)
    met = chosen is not None
    if chosen is None:  # nothing reaches it: the most available, then the cheapest
        chosen = max(
            search.cache,
            key=lambda s: (search.cache[s]["train"]["availability"],
                           -search.cache[s]["train"]["cost_ratio"]),
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    figs = search.figures(chosen)
    frontier = pl.DataFrame(
        [
            {**s.key(), **{f"{p}_{k}": v[k] for p, v in f.items()
                           for k in ("cost_ratio", "availability")}}
            for s, f in search.cache.items()
        ]
    ).sort("train_cost_ratio")  # fmt: skip
    hours = {p: (b - a) * step_h for p, (a, b) in parts.items()}
    skipped = len(search.pruned - search.cache.keys())
    stats = SearchStats(len(cands), len(search.cache), skipped, seconds)
    choice = FleetChoice(
        setting=chosen, demand=demand, target=target, margin=margin, margin_validated=validated,
        fit=figs["fit"], validation=figs["validation"], train=figs["train"], met=met,
        hours=hours, stats=stats,
        reasons=[],
        frontier=frontier, regular=regular_pool.spec, dedicated_price=dedicated_price,
    )  # fmt: skip
    choice.reasons.extend(_reasons(choice, search, tried))
    return choice


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _reasons(
    c: FleetChoice, search: _Search, tried: list[tuple[float, EasSetting | None]]
) -> list[str]:
    d, tr = c.demand, c.train
    out = [
        f"Chosen on the training window ({c.hours['train']:.1f} h): {c.setting.describe(d)}; "
        f"{_pct(tr['availability'])} available at {tr['cost_ratio']:.3f} x all-regular there "
        f"(fit part {_pct(c.fit['availability'])}, validation part "
        f"{_pct(c.validation['availability'])}), searched {c.stats.replayed} of "
        f"{c.stats.candidates} settings in {c.stats.seconds:.1f} s."
    ]
    pick0 = tried[0][1]
    if c.margin > 0 and pick0 is not None:
        v0 = search.figures(pick0)["validation"]["availability"]
        out.append(
            f"Safety margin {100 * c.margin:.2g} points: the cheapest setting reaching "
            f"{_pct(c.target)} on the fit part ({pick0.describe(d)}) reached only {_pct(v0)} "
            "on the validation part, so the choice needs "
            f"{_pct(min(1.0, c.target + c.margin))} on the training window."
        )
    elif c.margin == 0:
        out.append(
            f"No safety margin needed: the cheapest setting reaching {_pct(c.target)} on the "
            "fit part also reached it on the validation part."
        )
    if not c.margin_validated:
        out.append(
            "No margin tried carried over from the fit to the validation part; the largest "
            f"({100 * c.margin:.2g} points) is used."
        )
    if not c.met:
        out.append(
            f"No setting reached {_pct(min(1.0, c.target + c.margin))} on the training "
            "window; this is the most available one."
        )
    cheaper = [
        (s, f["train"]) for s, f in search.cache.items()
        if f["train"]["cost_ratio"] < tr["cost_ratio"] - 1e-9
    ]  # fmt: skip
    if cheaper:
        s, f = max(cheaper, key=lambda x: (x[1]["availability"], -x[1]["cost_ratio"]))
        out.append(
            f"The most available cheaper setting ({s.describe(d)}, {f['cost_ratio']:.3f} x) "
            f"reached {_pct(f['availability'])} on the training window."
        )
    return out


__all__ = [
    "BID_RULE",
    "DEFAULT_TARGET",
    "MARGINS",
    "VALIDATION_SHARE",
    "EasSetting",
    "FleetChoice",
    "SearchSpace",
    "SearchStats",
    "candidates",
    "levels",
    "recommend_fleet",
    "replay_setting",
    "spare_levels",
]
