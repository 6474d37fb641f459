"""The policy table: every deployment policy replayed on the same measured traces.

For each trace the first ``train_share`` (a quarter) is the *training window*: the
recommended EAS setting is chosen there by :func:`spotlab.fleet.search.recommend_fleet`
(to meet the availability target at the least cost, with a margin validated inside the
window). Every policy is then replayed on the rest, the *held-out part*, which no choice
ever sees; the table reports that part only.

Policies: all regular; one spot zone (a reference: EAS cannot pin a zone); EAS as
configured by default (one spot entry per spec, the regular entry last, without and with
``resource_rebalancing``; a dedicated floor of half the demand first); SpotHedge
(SkyServe, EuroSys'25) at k = 0 .. the largest spare count, as a reference that EAS cannot
express (its on-demand fallback is sized to the current spot shortfall and it picks zones
by their recent preemptions); and spotlab's recommendation, run as what EAS does with the
exported config (:class:`~spotlab.fleet.policies.EasService`).

The traces carry no prices. :data:`SHARED_TRACE_SETS` documents the constants used (USD per
hour, Linux): AWS p3.2xlarge on-demand 3.06 and spot 0.918, p2.xlarge 0.90 and 0.27 (every
us-east-1/us-east-2/us-west-2 AZ in the 2022-05-31 AWS spot price history, 70 % below
on-demand), r5.16xlarge on-demand 4.032 and spot 1.483 (the median us-east-1 AZ that day),
g4dn.xlarge on-demand 0.526 and spot 30 % of it (the AWS Spot Advisor's 70 % saving, 2021);
GCP from the 2023-05-08 snapshot of the GCP price history (the first with spot prices):
a2-ultragpu-4g on-demand 20.11 (us-*), 22.14 (europe-west4), 25.81 (asia-northeast1), spot
6.30 / 6.87 / 7.85; c3-highcpu-88 on-demand 3.792, spot 0.344. A dedicated slot is priced at
:data:`DEDICATED_SHARE` of on-demand (an assumption: the order of a one-year commitment).
Run ``python -m spotlab.fleet.evaluate`` to regenerate :data:`RESULTS_FILE` from
``../shared/data``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spotlab.bundled import bundled
from spotlab.domain import warning_lead_seconds
from spotlab.errors import AnalysisError, did_you_mean
from spotlab.fleet import policies
from spotlab.fleet.market import UNLIMITED, Market, Pool, market_from_availability, with_pools
from spotlab.fleet.policies import AllRegular, EasService, OneSpot, SpotHedge
from spotlab.fleet.prior import SPARE_PRIOR_POINTS, PriorPoint, SparePrior, fit_spare_prior
from spotlab.fleet.scaling import DEDICATED_SHARE
from spotlab.fleet.search import (
    DEFAULT_TARGET,
    EasSetting,
    FleetChoice,
    FleetSearch,
    SearchSpace,
    recommend_fleet,
    replay_setting,
    spare_levels,
)
from spotlab.fleet.simulate import FleetResult, Policy, simulate
from spotlab.fleet.startup import FleetStartup, fleet_startup
from spotlab.ingest.availability import BambooStepCsv, SpotTraceJson
from spotlab.store import Store

#: SkyServe's published saving against on-demand replicas (43 %), as a cost ratio
PUBLISHED_RATIO = 0.57
#: where ``python -m spotlab.fleet.evaluate`` writes the table on the shared traces (the
#: checkout; :func:`load_results` reads the copy a wheel ships when there is no checkout)
RESULTS_REL = "benchmarks/results/fleet_traces.json"
RESULTS_FILE = Path(__file__).resolve().parents[2] / RESULTS_REL
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
#: the name of the recommended policy in the tables
RECOMMENDED = "spotlab recommended"
#: the row of the setting chosen with hindsight on the held-out part (what a trace allows)
HINDSIGHT = "EAS hindsight (chosen held out)"
#: the row of the cheapest spot-using setting, beside a recommendation that runs no spot
BEST_SPOT = "spotlab best with spot"
#: the row of the first round's rule (one validation split, no spare prior)
BASELINE = "spotlab round 1 (one split)"
#: the start-up of the sensitivity table: the plain setup (no cachefs, no ACR)
SENSITIVITY_SETUP = "plain"
SPOTHEDGE_NOTE = (
    "reference, not expressible in EAS: on-demand sized to the current spot shortfall, zones "
    "picked by recent preemptions"
)


@dataclass(frozen=True)
class TraceSet:
    """A folder of spot-traces JSON files (one zone each) or one Bamboo CSV, with its
    price assumptions. ``spec`` keeps one spec of a folder holding several;
    ``reader_options`` go to the reader (e.g. ``zone``, ``time_unit``)."""

    name: str
    path: str  # relative to the shared data root
    provider: str
    spot_prices: dict[str, float]  # by zone prefix
    on_demand_prices: dict[str, float]
    regular_zone: str
    demand: int = 4
    spec: str | None = None
    start: str | None = None  # for files whose names carry no date
    binary: bool | None = None
    reader_options: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def price(self, table: dict[str, float], zone: str) -> float:
        for prefix, value in sorted(table.items(), key=lambda kv: -len(kv[0])):
            if zone.startswith(prefix):
                return value
        raise AnalysisError(f"{self.name}: no price for zone {zone}")


_AWS_P3 = ({"us-": 0.918}, {"us-": 3.06})
_GCP_A2 = (
    {"us-": 6.3013864, "europe-west4": 6.871384, "asia-northeast1": 7.84896},
    {"us-": 20.110808, "europe-west4": 22.142852, "asia-northeast1": 25.812344},
)
_GCP_C3 = ({"us-": 0.344256}, {"us-": 3.792096})
_AWS_R5 = ({"us-": 1.483}, {"us-": 4.032})
_AWS_G4DN = ({"us-": 0.1578}, {"us-": 0.526})
_AWS_P2 = ({"us-": 0.27}, {"us-": 0.90})
_SKY = "skypilot-spot-traces"
_BAMBOO = "bamboo-spot-availability-2020/aws-spot-instances"
_CUT = "a cut of the SkyPilot trace of that date: its start is assumed (prices are constant)"

SHARED_TRACE_SETS: tuple[TraceSet, ...] = (
    TraceSet("SkyPilot 1-node aws-10-26-2022: p3.2xlarge, 2 zones",
             f"{_SKY}/availability/1-node/aws-10-26-2022", "aws", *_AWS_P3, "us-west-2",
             spec="p3.2xlarge"),
    TraceSet("SkyPilot 1-node aws-02-15-2023: p3.2xlarge, 9 zones",
             f"{_SKY}/availability/1-node/aws-02-15-2023", "aws", *_AWS_P3, "us-east-1"),
    TraceSet("SkyPilot 16-node aws-08-27-2023: p3.2xlarge, 3 zones",
             f"{_SKY}/availability/16-node/aws-08-27-2023", "aws", *_AWS_P3, "us-east-1"),
    TraceSet("SkyPilot preemption 1-node aws-04-19-2023: r5.16xlarge, 3 zones",
             f"{_SKY}/preemption/1-node/aws-04-19-2023", "aws", *_AWS_R5, "us-east-1"),
    TraceSet("SkyPilot preemption 1-node aws-04-22-2023: p3.2xlarge, 4 zones",
             f"{_SKY}/preemption/1-node/aws-04-22-2023", "aws", *_AWS_P3, "us-east-1"),
    TraceSet("SkyPilot preemption 1-node gcp-04-30-2023: c3-highcpu-88, 4 zones",
             f"{_SKY}/preemption/1-node/gcp-04-30-2023", "gcp", *_GCP_C3, "us-central1",
             notes=("prices of 2023-05-08, the first GCP snapshot with spot prices",)),
    TraceSet("SkyPilot preemption 4-node aws-08-03-2023: p3.2xlarge, 3 zones",
             f"{_SKY}/preemption/4-node/aws-08-03-2023", "aws", *_AWS_P3, "us-east-1"),
    TraceSet("SpotHedge AWS1: p3.2xlarge 4-node, 3 zones", "spothedge-traces/data/AWS1", "aws",
             *_AWS_P3, "us-east-1", start="2023-08-03T00:00:00", notes=(_CUT,)),
    TraceSet("SpotHedge AWS2: p3.2xlarge 16-node, 3 zones", "spothedge-traces/data/AWS2", "aws",
             *_AWS_P3, "us-east-1", start="2023-08-27T00:00:00", notes=(_CUT,)),
    TraceSet("SpotHedge AWS3: p3.2xlarge, 9 zones", "spothedge-traces/data/AWS3", "aws",
             *_AWS_P3, "us-east-1", start="2023-02-15T00:00:00", notes=(_CUT,)),
    TraceSet("SpotHedge GCP1: a2-ultragpu-4g, 6 zones", "spothedge-traces/data/GCP1", "gcp",
             *_GCP_A2, "us-central1", start="2023-05-08T00:00:00",
             notes=("no start date in the trace: 2023-05-08 assumed (prices of that day)",)),
    TraceSet("Bamboo g4dn.xlarge us-east-1c (2020-11-20)",
             f"{_BAMBOO}-g4dn-xlarge-us-east-1c-2020-11-20-1930-to-2020-11-21-2200.csv", "aws",
             *_AWS_G4DN, "us-east-1"),
    TraceSet("Bamboo g4dn.xlarge us-east-1d (2020-11-23)",
             f"{_BAMBOO}-g4dn-xlarge-us-east-1d-2020-11-23-1730-to-2020-11-24-1530.csv", "aws",
             *_AWS_G4DN, "us-east-1"),
    TraceSet("Bamboo p2.xlarge us-east-1e (2020-11-23)",
             f"{_BAMBOO}-p2-xlarge-us-east-1e-2020-11-23-1700-to-2020-11-24-0700.csv", "aws",
             *_AWS_P2, "us-east-1"),
    TraceSet("Bamboo p2.xlarge us-east-1, 3 days (2020-11-20)",
             f"{_BAMBOO}-p2-xlarge-2020-11-20-to-2020-11-23.csv", "aws", *_AWS_P2, "us-east-1",
             reader_options={"zone": "us-east-1", "time_unit": "h"},
             notes=("the file names no zone (us-east-1 per the source) and counts hours",)),
)  # fmt: skip

#: Bamboo files not replayed, and why
SKIPPED_TRACES: dict[str, str] = {
    f"{_BAMBOO}-p2-xlarge-us-east-1a-2020-11-20-1730-to-2020-11-21-1104.csv": (
        "one sample (8 instances) for the whole file: nothing changes, nothing to replay"
    ),
    f"{_BAMBOO}-p2-xlarge-us-east-1c-2020-11-22-15-30-to-2020-11-23-0935.csv": (
        "one sample (8 instances) for the whole file: nothing changes, nothing to replay"
    ),
}


def read_trace_folder(
    folder: Path, start: str | None = None, provider: str | None = None
) -> pl.DataFrame:
    """``zone, spec, ts, available`` of every spot-traces JSON file in ``folder``, through
    the ingest reader (names give zone, spec and start; ``start`` where they cannot)."""
    reader = SpotTraceJson()
    frames = []
    for path in sorted(folder.glob("*.json")):
        staged = reader.read(path, start=start, provider=provider)
        frames += [_accepted(b) for b in staged.batches]
    if not frames:
        raise AnalysisError(f"no spot-traces JSON files in {folder}")
    return pl.concat(frames)


def _accepted(batch: pl.DataFrame) -> pl.DataFrame:
    return batch.filter(pl.col("_reject").is_null()).select(
        "zone", "spec", "ts", pl.col("available").cast(pl.Int64)
    )


def read_trace(ts: TraceSet, root: Path = SHARED_DATA) -> pl.DataFrame:
    """The availability rows of one trace set (a JSON folder or a Bamboo CSV)."""
    path = root / ts.path
    if path.is_dir():
        frame = read_trace_folder(path, start=ts.start, provider=ts.provider)
    elif path.is_file():
        staged = BambooStepCsv().read(path, start=ts.start, provider=ts.provider,
                                      **ts.reader_options)  # fmt: skip
        frame = pl.concat([_accepted(b) for b in staged.batches])
        frame = frame.unique(["zone", "spec", "ts"], keep="last", maintain_order=True)
    else:
        raise AnalysisError(f"trace {path} is absent")
    if ts.spec is not None:
        frame = frame.filter(pl.col("spec") == ts.spec)
    return frame


@dataclass(frozen=True)
class Entry:
    """One row of the policy table: the policy, the dedicated slots it rents, whether one
    EAS config can express it, and a note for the table."""

    policy: Policy
    dedicated: int = 0
    eas: bool = True
    note: str = ""


def standard_policies(market: Market, demand: int, spothedge_k: Sequence[int]) -> list[Entry]:
    """The reference policies of the table (the recommendation is added by the replay)."""
    by_price = sorted(market.find(kind="spot"), key=lambda i: market.pools[i].price_per_hour)
    first = market.pools[by_price[0]]
    floor = demand // 2
    return [
        Entry(AllRegular(), note="every replica on the regular entry"),
        Entry(OneSpot(pool=first.label, name=f"one spot zone ({first.zone})"), eas=False,
              note="reference: one zone, no fallback (EAS cannot pin a zone)"),
        Entry(EasService(rebalancing=False, name="EAS: spot, regular last"),
              note="instance = demand, one spot entry, regular last, no rebalancing"),
        Entry(EasService(rebalancing=True, name="EAS: spot, regular last + rebalancing"),
              note="the same with resource_rebalancing"),
        Entry(EasService(rebalancing=True, name=f"EAS: dedicated {floor} + spot + regular"),
              dedicated=floor, note="the seed's layout: dedicated floor of half the demand"),
        *(Entry(SpotHedge(k=k), eas=False, note=SPOTHEDGE_NOTE) for k in spothedge_k),
    ]  # fmt: skip


@dataclass
class Replay:
    """Everything one policy table replays: the trace split into training window and
    held-out part, the recommendation chosen on the first, the policies run on the second.

    ``search`` keeps the training window's replays, so asking for another spare prior
    (:meth:`use_prior`) or the first round's rule (:meth:`add_baseline`) replays only what
    it has not seen; held-out replays of EAS settings are cached too."""

    market: Market  # the held-out part
    train: Market  # the training window
    choice: FleetChoice
    entries: list[Entry]
    demand: int
    warning_seconds: float
    floor: Pool  # the dedicated pool (slots set per policy)
    spothedge_k: tuple[int, ...]
    notes: list[str] = field(default_factory=list)
    space: SearchSpace = field(default_factory=SearchSpace)
    startup: FleetStartup = field(default_factory=fleet_startup)
    search: FleetSearch | None = None
    prior: SparePrior | None = None
    #: the cheapest setting meeting the target on the held-out part itself (hindsight)
    hindsight: FleetChoice | None = None
    #: the first round's choice (one validation split, no prior), for before/after tables
    baseline: FleetChoice | None = None
    _held: dict[tuple[EasSetting, str], FleetResult] = field(default_factory=dict, repr=False)

    @property
    def target(self) -> float:
        return self.choice.target

    @property
    def zone_hours(self) -> float:
        """Spot pools × hours of the training window (what the spare prior reads)."""
        return len(self.train.find(kind="spot")) * self.train.hours

    @property
    def gap_seconds(self) -> float:
        """Start-up beyond the reclaim warning: what a reclaim leaves uncovered."""
        return max(0.0, self.startup.seconds - self.warning_seconds)

    def _search(self) -> FleetSearch:
        if self.search is None:
            raise AnalysisError("this replay keeps no search to ask again")
        return self.search

    def use_prior(self, prior: SparePrior) -> FleetChoice:
        """Choose again with ``prior``'s spares (the training replays are reused)."""
        self.prior = prior
        self.choice = self._search().choose(self.target, prior.spares)
        return self.choice

    def add_baseline(self) -> FleetChoice:
        """The first round's choice: one validation split (the last third), no prior."""
        self.baseline = self._search().choose(
            self.target, 0, validation="last", fallback_holds_demand=False
        )
        return self.baseline

    def spare_curve(self) -> dict[int, tuple[FleetChoice, dict[str, Any]]]:
        """Per spare count tried, the choice with at least that many spares and its
        held-out figures: what the spare prior learns from (see :mod:`spotlab.fleet.prior`)."""
        out = {}
        for s in spare_levels(self.demand, self.space):
            c = self._search().choose(self.target, s)
            out[s] = (c, self.held_out(c.setting, RECOMMENDED).summary())
        return out

    def add_hindsight(self) -> FleetChoice:
        """Search the held-out part itself (no margin): not a policy, since it is chosen
        with the figures it is scored on, but what the trace allows an EAS config."""
        space = replace(self.space, margins=(0.0,), validation="none")
        self.hindsight = recommend_fleet(
            self.market, self.demand, self.warning_seconds, self.target,
            self.floor.price_per_hour, space,
        )  # fmt: skip
        return self.hindsight

    def _rent(self, market: Market, slots: int) -> Market:
        if not slots:
            return market
        f = self.floor
        pool = Pool(f.spec, f.zone, "dedicated", f.price_per_hour, f.startup_seconds, slots=slots)
        return with_pools(market, [pool])

    def run(self, entry: Entry, market: Market | None = None) -> FleetResult:
        m = self._rent(self.market if market is None else market, entry.dedicated)
        return simulate(m, entry.policy, self.demand, warning_seconds=self.warning_seconds)

    def held_out(self, setting: EasSetting, name: str) -> FleetResult:
        """``setting`` replayed on the held-out part (cached), labelled ``name``."""
        key = (setting, name)
        got = self._held.get(key)
        if got is None:
            got = replay_setting(self.market, setting, self.demand, self.warning_seconds,
                                 self.floor, name=name)  # fmt: skip
            self._held[key] = got
        return got

    def recommended(self, market: Market | None = None) -> FleetResult:
        """The recommended setting replayed on the held-out part (or ``market``)."""
        if market is None:
            return self.held_out(self.choice.setting, RECOMMENDED)
        return replay_setting(market, self.choice.setting, self.demand, self.warning_seconds,
                              self.floor, name=RECOMMENDED)  # fmt: skip

    def _settings(self) -> dict[str, tuple[EasSetting, str]]:
        """The spotlab rows beyond the reference policies: name → (setting, note)."""
        d = self.demand
        out = {RECOMMENDED: (self.choice.setting, self.choice.setting.describe(d))}
        alt = self.choice.spot_alternative
        if alt is not None:
            note = "not the recommendation (it runs nothing on spot): the cheapest spot-using "
            out[BEST_SPOT] = (alt.setting, note + "setting, " + alt.setting.describe(d))
        if self.baseline is not None:
            note = "the first round's rule (one validation split, no spare prior): "
            out[BASELINE] = (self.baseline.setting, note + self.baseline.setting.describe(d))
        if self.hindsight is not None:
            out[HINDSIGHT] = (self.hindsight.setting, "not a policy (chosen on the part it is "
                              "scored on): " + self.hindsight.setting.describe(d))  # fmt: skip
        return out

    def results(self) -> dict[str, FleetResult]:
        """Every policy's held-out result, by policy name."""
        out = {e.policy.name: self.run(e) for e in self.entries}
        for name, (setting, _) in self._settings().items():
            out[name] = self.held_out(setting, name)
        return out

    def table(self, results: dict[str, FleetResult] | None = None) -> pl.DataFrame:
        """One summary row per policy on the held-out part."""
        results = results or self.results()
        eas = {e.policy.name: (e.eas, e.note) for e in self.entries}
        eas.update({name: (True, note) for name, (_, note) in self._settings().items()})
        rows = []
        for name, r in results.items():
            expressible, note = eas[name]
            rows.append({**r.summary(), "eas_expressible": expressible, "note": note})
        zones = len(self.market.find(kind="spot"))
        return pl.DataFrame(rows).select(
            pl.lit(self.floor.spec).alias("spec"), pl.lit(zones).alias("zones"),
            pl.lit(self.demand).alias("demand"), pl.all(),
        )  # fmt: skip

    def spothedge_on_training(self) -> dict[int, dict[str, float]]:
        """SpotHedge's cost ratio and availability per k on the training window."""
        out = {}
        for e in self.entries:
            if isinstance(e.policy, SpotHedge):
                r = self.run(e, self.train)
                out[e.policy.k] = {"cost_ratio": r.cost_ratio, "availability": r.availability}
        return out

    def goal(self, table: pl.DataFrame | None = None, row: str = RECOMMENDED) -> dict[str, Any]:
        """The issue's goal on this trace for policy ``row`` (the recommendation, or the
        first round's), with the figures it rests on (see :func:`goal`)."""
        table = self.table() if table is None else table
        return goal(table, self.target, self.spothedge_on_training(), self.diagnostics(), row)

    def diagnostics(self) -> dict[str, Any]:
        """Why a target can be out of reach: how often every zone together fell short of
        the demand (per day, training window and held-out part), and the seconds each such
        fall leaves the fleet short (start-up beyond the reclaim warning)."""
        startup = self.floor.startup_seconds
        return {
            "falls_per_day_train": _falls_per_day(self.train, self.demand),
            "falls_per_day_test": _falls_per_day(self.market, self.demand),
            "short_share_train": _short_share(self.train, self.demand),
            "short_share_test": _short_share(self.market, self.demand),
            "startup_seconds": startup,
            "warning_seconds": self.warning_seconds,
            "gap_seconds": max(0.0, startup - self.warning_seconds),
            "zone_hours": self.zone_hours,
        }


def _spot_total(market: Market, demand: int) -> np.ndarray:
    spot = market.find(kind="spot")
    return np.minimum(market.capacity[spot], demand).sum(axis=0)


def _short_share(market: Market, demand: int) -> float:
    """Share of the time every spot zone together holds fewer than ``demand``."""
    return float((_spot_total(market, demand) < demand).mean())


def _falls_per_day(market: Market, demand: int) -> float:
    ok = _spot_total(market, demand) >= demand
    falls = int(np.count_nonzero(ok[:-1] & ~ok[1:]))
    return falls / (market.hours / 24.0)


def goal(
    table: pl.DataFrame,
    target: float,
    spothedge_train: dict[int, dict[str, float]] | None = None,
    diagnostics: dict[str, Any] | None = None,
    row: str = RECOMMENDED,
) -> dict[str, Any]:
    """Whether the recommendation (policy ``row``) meets the issue's goal on one held-out
    table.

    - *not dominated*: no SpotHedge k is at least as available at no more cost (one of
      the two strictly better);
    - *beats every k* (the stricter reading): against each k, at least as available at no
      more cost, or meeting the target at a lower cost;
    - *meets the target*, at <= :data:`PUBLISHED_RATIO` x all-regular where the trace
      allows it (some replayed policy reached the target at that cost held out).
    """
    rows = {r["policy"]: r for r in table.iter_rows(named=True)}
    rec = rows[row]
    sh = {
        int(n.split("k=")[1].rstrip(")")): r for n, r in rows.items() if n.startswith("SpotHedge")
    }
    rc, ra = rec["cost_ratio"], rec["availability"]
    dominated = [
        k for k, r in sh.items()
        if r["availability"] >= ra and r["cost_ratio"] <= rc
        and (r["availability"] > ra or r["cost_ratio"] < rc)
    ]  # fmt: skip
    beaten = [
        k for k, r in sh.items()
        if not ((ra >= r["availability"] and rc <= r["cost_ratio"])
                or (ra >= target and rc < r["cost_ratio"]))
    ]  # fmt: skip
    meeting = [r for r in sh.values() if r["availability"] >= target]
    best_k = (
        min(meeting, key=lambda r: r["cost_ratio"]) if meeting
        else max(sh.values(), key=lambda r: (r["availability"], -r["cost_ratio"]))
    )  # fmt: skip
    k_best = next(k for k, r in sh.items() if r is best_k)
    allows = [
        n for n, r in rows.items()
        if r["availability"] >= target and r["cost_ratio"] <= PUBLISHED_RATIO
    ]  # fmt: skip
    meets = ra >= target
    cheap = rc <= PUBLISHED_RATIO
    out: dict[str, Any] = {
        "policy": row,
        "target": target,
        "recommended_cost_ratio": rc,
        "recommended_availability": ra,
        "meets_target": meets,
        "cost_at_most_published": cheap,
        "trace_allows": bool(allows),
        "allowing_policies": allows,
        "not_dominated": not dominated,
        "dominated_by_k": dominated,
        "beats_every_k": not beaten,
        "not_beaten_k": beaten,
        "spothedge_k1_cost_ratio": sh[1]["cost_ratio"] if 1 in sh else math.nan,
        "spothedge_k1_availability": sh[1]["availability"] if 1 in sh else math.nan,
        "spothedge_best_k": k_best,
        "spothedge_best_cost_ratio": best_k["cost_ratio"],
        "spothedge_best_availability": best_k["availability"],
        "goal_met": meets and not dominated and (cheap or not allows),
    }
    if spothedge_train:
        ok = [k for k, f in sorted(spothedge_train.items()) if f["availability"] >= target]
        k_train = (
            ok[0] if ok else max(spothedge_train, key=lambda k: spothedge_train[k]["availability"])
        )
        out["spothedge_train_k"] = k_train
        out["spothedge_train_k_cost_ratio"] = sh[k_train]["cost_ratio"]
        out["spothedge_train_k_availability"] = sh[k_train]["availability"]
    out["dominance"] = [
        {"k": k, "cost_ratio_less": rc - sh[k]["cost_ratio"],
         "availability_more": sh[k]["availability"] - ra}
        for k in dominated
    ]  # fmt: skip
    hs = rows.get(HINDSIGHT)
    out["as_good_as_hindsight"] = hs is not None and (
        rc <= hs["cost_ratio"] + 1e-9 and ra >= min(hs["availability"], target) - 1e-9
    )
    out["note"] = _goal_note(out, diagnostics or {})
    return out


def _goal_note(g: dict[str, Any], diag: dict[str, Any]) -> str:
    t, rc, ra = g["target"], g["recommended_cost_ratio"], g["recommended_availability"]
    gap = diag.get("gap_seconds")
    falls = diag.get("falls_per_day_test")
    why_falls = (
        f"every zone together fell short of the demand {falls:.2f} times a day held out "
        f"({diag['falls_per_day_train']:.2f} in training; short "
        f"{100 * diag['short_share_test']:.1f} % of the held-out time, "
        f"{100 * diag['short_share_train']:.1f} % of the training window), each fall "
        f"leaving the fleet short for start-up − warning = {gap:.0f} s "
        "unless replicas off spot cover it"
        if falls is not None and gap is not None else ""
    )  # fmt: skip
    need_startup = ""
    if falls and gap is not None and diag.get("falls_per_day_train"):
        per_fall = (1.0 - t) * 86400.0 / diag["falls_per_day_train"]
        need_startup = (
            f"; at the training window's {diag['falls_per_day_train']:.2f} falls a day the target "
            f"allows {per_fall:.0f} s short per fall: a start-up within "
            f"{diag['warning_seconds'] + per_fall:.0f} s"
        )
    parts = []
    if not g["meets_target"]:
        parts.append(
            f"misses {100 * t:.1f} % by {100 * (t - ra):.2f} points held out"
            + (f": {why_falls}" if why_falls else "")
        )
    if g["dominated_by_k"]:
        how = "; ".join(
            f"k = {d['k']}: "
            + ("as available" if abs(d["availability_more"]) < 5e-7
               else f"{100 * d['availability_more']:.2f} points more available")
            + f", {d['cost_ratio_less']:.4f} x all-regular cheaper"
            for d in g["dominance"]
        )  # fmt: skip
        text = f"dominated by SpotHedge ({how})"
        if g["as_good_as_hindsight"]:
            text += (
                "; no EAS setting did better held out (the hindsight search, chosen on the "
                "held-out part itself, is no cheaper): SpotHedge's edge is what EAS cannot "
                "express (its fallback sized to the shortfall and its zone choice)"
            )
        parts.append(text)
    if g["meets_target"] and not g["cost_at_most_published"]:
        if g["trace_allows"]:
            parts.append(
                f"meets the target at {rc:.3f} x, above {PUBLISHED_RATIO}: held out "
                f"{', '.join(g['allowing_policies'])} did it cheaper, but on the training "
                "window no cheaper setting reached the target plus its margin"
            )
        else:
            parts.append(
                f"meets the target at {rc:.3f} x; no replayed policy reached "
                f"{100 * t:.1f} % at <= {PUBLISHED_RATIO} x held out"
                + (f" ({why_falls}{need_startup})" if why_falls else "")
            )
    return "; ".join(parts) if parts else f"goal met: {100 * ra:.2f} % at {rc:.3f} x"


def prepare_replay(
    availability: pl.DataFrame,
    demand: int,
    spot_prices: dict[str, float] | float,
    regular_price: float,
    regular_zone: str = "regular",
    provider: str = "aws",
    step_seconds: float = 60.0,
    train_share: float = 0.25,
    startup_seconds: float | None = None,
    warning_seconds: float | None = None,
    target: float = DEFAULT_TARGET,
    binary: bool | None = None,
    dedicated_share: float = DEDICATED_SHARE,
    space: SearchSpace | None = None,
    startup: FleetStartup | None = None,
    prior_points: Sequence[PriorPoint] | None = SPARE_PRIOR_POINTS,
) -> Replay:
    """Measured availability (``zone, spec, ts, available`` of one spec) made ready to
    replay: the recommendation chosen on the first ``train_share`` for ``target``, every
    policy run on the rest.

    The start-up is ``startup`` (see :func:`spotlab.fleet.startup.fleet_startup`), or
    ``startup_seconds`` given, else the cold-start model's default (setup ``both``);
    ``warning_seconds`` defaults to the provider's reclaim notice; a dedicated slot costs
    ``dedicated_share`` of the regular price; SpotHedge runs at k = 0 .. the search's
    largest spare count. The spare prior is fitted on ``prior_points`` (None: no prior).
    """
    for name, v in (("regular_price", regular_price), ("dedicated_share", dedicated_share)):
        if not (math.isfinite(v) and v >= 0):
            raise AnalysisError(f"{name} must be a number >= 0, got {v!r}")
    if availability.height == 0:
        raise AnalysisError("no availability rows: ingest spot traces first")
    if not 1 <= demand <= 1000:
        raise AnalysisError(f"demand must be 1..1000 replicas, got {demand}")
    if not (math.isfinite(train_share) and 0.0 < train_share < 1.0):
        raise AnalysisError(f"train_share must be in (0, 1), got {train_share!r}")
    specs = availability["spec"].unique().to_list()
    if len(specs) != 1:
        raise AnalysisError(f"the availability rows hold several specs {sorted(specs)}: pick one")
    spec = specs[0]
    if startup is None:
        startup = fleet_startup(startup_seconds)
    elif startup_seconds is not None:
        raise AnalysisError("give startup or startup_seconds, not both")
    warning = warning_lead_seconds(provider) if warning_seconds is None else warning_seconds
    if not (math.isfinite(warning) and warning >= 0):
        raise AnalysisError(f"warning_seconds must be a number >= 0, got {warning!r}")
    seconds = startup.seconds
    regular = Pool(spec, regular_zone, "regular", regular_price, seconds)
    market = market_from_availability(
        availability, spot_prices=spot_prices, others=[regular], step_seconds=step_seconds,
        startup_seconds=seconds, binary=binary,
    )  # fmt: skip
    split = int(market.ticks * train_share)
    if split < 3 or split >= market.ticks - 1:
        raise AnalysisError(
            f"the trace ({market.hours:.1f} h at {step_seconds:g} s) is too short to split "
            f"into a training window and a held-out part at train_share {train_share}"
        )
    space = space or SearchSpace()
    floor_price = dedicated_share * regular_price
    train, test = market.window(0, split), market.window(split)
    search = FleetSearch(train, demand, warning, floor_price, space)
    zone_hours = len(train.find(kind="spot")) * train.hours
    gap = max(0.0, seconds - warning)
    prior = fit_spare_prior(zone_hours, gap, prior_points or (),
                            max_spare=spare_levels(demand, space)[-1])  # fmt: skip
    choice = search.choose(target, prior.spares)
    floor = Pool(spec, regular_zone, "dedicated", floor_price, seconds, slots=0)
    ks = tuple(spare_levels(demand, space))
    entries = standard_policies(test, demand, ks)
    notes = [
        *market.notes,
        f"training window {train.hours:.1f} h, held-out part {test.hours:.1f} h; "
        f"{startup.describe()}; reclaim warning {warning:.0f} s ({provider}); a dedicated "
        f"slot at {dedicated_share:g} x the regular price (an assumption: --dedicated-share; "
        "--max-dedicated 0 for none)",
        "EAS rows replay what one exported config does: entries per spec (EAS has no zone "
        "field), replicas spread over the zones with stock, the regular entry holding what "
        "spot cannot (not sized to the shortfall as SpotHedge's on-demand fallback is); the "
        "rebalancing probe period is not documented: 300 s assumed",
    ]
    return Replay(test, train, choice, entries, demand, warning, floor, ks, notes, space,
                  startup, search, prior)  # fmt: skip


def evaluate_availability(availability: pl.DataFrame, demand: int, **options: Any) -> pl.DataFrame:
    """The policy table on measured availability (see :func:`prepare_replay`)."""
    return prepare_replay(availability, demand, **options).table()


def replay_store(
    store: Store, spec: str, zones: Sequence[str] | None = None, **options: Any
) -> Replay:
    """:func:`prepare_replay` on the ``spot_availability`` rows of one spec."""
    rows = store.query(
        "SELECT provider, zone, spec, ts, available FROM spot_availability WHERE spec = ? "
        "ORDER BY zone, ts",
        [spec],
    )
    if rows.height == 0:
        known = store.query("SELECT DISTINCT spec FROM spot_availability ORDER BY 1")["spec"]
        raise AnalysisError(
            f"no spot availability stored for {spec!r}.{did_you_mean(spec, known.to_list())} "
            "Ingest spot traces first (spotlab ingest <folder>)"
        )
    if zones:
        missing = sorted(set(zones) - set(rows["zone"].unique().to_list()))
        if missing:
            raise AnalysisError(f"no availability for {spec} in zones {missing}")
        rows = rows.filter(pl.col("zone").is_in(list(zones)))
    options.setdefault("provider", rows["provider"][0])
    return prepare_replay(rows, **options)


def evaluate_store(
    store: Store, spec: str, zones: Sequence[str] | None = None, **options: Any
) -> pl.DataFrame:
    """The policy table on the ``spot_availability`` rows of one spec."""
    return replay_store(store, spec, zones, **options).table()


def simulate_report(replay: Replay, written: Any = None) -> dict[str, Any]:
    """What ``spotlab simulate`` shows: the start-up used and its source, the held-out
    table, the recommendation with its config fields and reasons (and, when it runs nothing
    on spot, the best spot-using setting beside it), the goal on this trace, notes, and
    what was exported (``written``: a :class:`~spotlab.fleet.config.FleetExport`)."""
    table = replay.table()
    g = replay.goal(table)
    c = replay.choice
    by = {r["policy"]: r for r in table.iter_rows(named=True)}
    rec = by[RECOMMENDED]
    regular = replay.market.pools[replay.market.find(kind="regular")[0]]
    rule = dict.fromkeys(c.setting.spot, regular.price_per_hour)  # BID_RULE: on-demand
    bids = dict(written.bids) if written is not None else rule
    startup_line = f"{replay.startup.describe()}; reclaim warning {replay.warning_seconds:.0f} s"
    lines = [
        startup_line,
        f"recommended for {100 * c.target:.2f} % availability: {c.setting.describe(c.demand)}",
        f"held out ({replay.market.hours:.1f} h): {100 * rec['availability']:.2f} % available "
        f"at {rec['cost_ratio']:.3f} x all-regular; SpotHedge k=1 "
        f"{100 * g['spothedge_k1_availability']:.2f} % at {g['spothedge_k1_cost_ratio']:.3f} x, "
        f"best k={g['spothedge_best_k']} {100 * g['spothedge_best_availability']:.2f} % at "
        f"{g['spothedge_best_cost_ratio']:.3f} x",
    ]
    alt = None
    if c.spot_alternative is not None:
        b = by[BEST_SPOT]
        alt = {**c.spot_alternative.summary(c.demand), "held_out_cost_ratio": b["cost_ratio"],
               "held_out_availability": b["availability"]}  # fmt: skip
        lines.append(
            f"it runs nothing on spot; the best spot-using setting "
            f"({c.spot_alternative.setting.describe(c.demand)}) held out: "
            f"{100 * b['availability']:.2f} % at {b['cost_ratio']:.3f} x"
        )
    lines += [f"goal: {g['note']}", *c.reasons]
    if replay.prior is not None:
        lines.append(replay.prior.reason[0].upper() + replay.prior.reason[1:] + ".")
    lines += ["notes:", *replay.notes]
    if written is not None:
        lines += [f"wrote {', '.join(str(p) for p in written.result.paths)}", *written.bid_reasons]
    return {
        "startup": replay.startup.as_dict(),
        "warning_seconds": replay.warning_seconds,
        "policies": table.to_dicts(),
        "recommended": {**c.as_dict(), "fields": c.setting.fields(c.demand, c.regular, bids)},
        "spot_alternative": alt,
        "prior": None if replay.prior is None else replay.prior.as_dict(),
        "goal": g,
        "notes": replay.notes,
        "export": written.as_dict() if written is not None else None,
        "lines": lines,
    }


#: the bundled Bamboo trace (``data/aws-spot-instances-g4dn-xlarge-us-east-1c-...csv``,
#: MIT): one zone, running spot g4dn.xlarge counts as capacity. Prices (USD/h, Linux,
#: us-east-1): on-demand 0.526 (AWS's public price), spot 30 % of it (the AWS Spot
#: Advisor's 70 % savings for g4dn.xlarge in us-east-1, 2021-02-10 snapshot).
BAMBOO_G4DN: dict[str, Any] = {
    "spec": "g4dn.xlarge",
    "demand": 4,
    "spot_prices": 0.1578,
    "regular_price": 0.526,
    "regular_zone": "us-east-1",
}


@dataclass
class TraceResult:
    """One trace set's evaluation: its held-out table, the recommendation and the goal,
    the first round's choice and goal on the same table, and the spare curve (per spare
    count, the choice with at least that many spares and its held-out figures) the spare
    prior learns from."""

    trace: TraceSet
    replay: Replay
    table: pl.DataFrame = field(default_factory=pl.DataFrame)
    goal: dict[str, Any] = field(default_factory=dict)
    baseline_goal: dict[str, Any] | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)

    def point(self, label: str) -> PriorPoint | None:
        """This trace's lesson for the spare prior (None when the gap is 0: spares
        cannot matter, nothing to learn)."""
        if not self.curve:
            return None
        met = [c["spares"] for c in self.curve if c["meets_target"]]
        return PriorPoint(self.trace.name, label, round(self.replay.zone_hours, 3),
                          round(self.replay.gap_seconds, 3), min(met) if met else None)  # fmt: skip

    def finish(self) -> TraceResult:
        """The held-out table and the goals, once the prior is set."""
        self.table = self.replay.table()
        self.goal = self.replay.goal(self.table)
        if self.replay.baseline is not None:
            self.baseline_goal = self.replay.goal(self.table, BASELINE)
        return self

    def as_dict(self) -> dict[str, Any]:
        r = self.replay
        c = r.choice
        return {
            "trace": self.trace.name,
            "path": self.trace.path,
            "provider": self.trace.provider,
            "notes": [*self.trace.notes, *r.notes],
            "startup": r.startup.as_dict(),
            "choice": c.as_dict(),
            "fields": c.setting.fields(r.demand, c.regular, dict.fromkeys(c.setting.spot, None)),
            "prior": None if r.prior is None else r.prior.as_dict(),
            "spare_curve": self.curve,
            "baseline": None if r.baseline is None else r.baseline.summary(),
            "baseline_goal": self.baseline_goal,
            "hindsight": None if r.hindsight is None else r.hindsight.summary(),
            "diagnostics": r.diagnostics(),
            "goal": self.goal,
            "rows": self.table.to_dicts(),
        }


def evaluate_trace_set(
    ts: TraceSet,
    root: Path = SHARED_DATA,
    step_seconds: float = 60.0,
    train_share: float = 0.25,
    startup: FleetStartup | None = None,
    target: float = DEFAULT_TARGET,
    space: SearchSpace | None = None,
    hindsight: bool = True,
    prior_points: Sequence[PriorPoint] | None = SPARE_PRIOR_POINTS,
    learn: bool = False,
    finish: bool = True,
) -> TraceResult:
    """The policy table and goal of one trace set (``hindsight``: with the setting chosen
    on the held-out part itself, to tell what the trace allows; ``learn``: with the first
    round's choice and the spare curve; ``finish=False`` leaves the table to
    :meth:`TraceResult.finish`, after a prior is set)."""
    frame = read_trace(ts, root)
    zones = frame["zone"].unique(maintain_order=True).to_list()
    replay = prepare_replay(
        frame, ts.demand, spot_prices={z: ts.price(ts.spot_prices, z) for z in zones},
        regular_price=ts.price(ts.on_demand_prices, ts.regular_zone),
        regular_zone=ts.regular_zone, provider=ts.provider, step_seconds=step_seconds,
        train_share=train_share, target=target, binary=ts.binary, space=space,
        startup=startup, prior_points=prior_points,
    )  # fmt: skip
    result = TraceResult(ts, replay)
    if learn:
        replay.add_baseline()
        if replay.gap_seconds > 0:
            result.curve = [
                {"spares": s, "setting": c.setting.describe(replay.demand),
                 "uses_spot": c.uses_spot, "train_cost_ratio": c.train["cost_ratio"],
                 "held_out_cost_ratio": h["cost_ratio"],
                 "held_out_availability": h["availability"],
                 "meets_target": h["availability"] >= replay.target}
                for s, (c, h) in replay.spare_curve().items()
            ]  # fmt: skip
            replay._held.clear()  # the summaries are kept; the replays are memory
    if hindsight:
        replay.add_hindsight()
    return result.finish() if finish else result


def evaluate_shared_traces(
    root: Path = SHARED_DATA,
    sets: Sequence[TraceSet] = SHARED_TRACE_SETS,
    progress: Any = None,
    startups: Sequence[FleetStartup] | None = None,
    **options: Any,
) -> SharedEvaluation:
    """Every trace set present under ``root`` (absent ones skipped) under each start-up
    (default: the cold-start model's default, setup both; and the plain setup), keyed by
    the start-up's setup (or ``"<n> s"`` when given). Each trace's spare prior is fitted
    leave one trace out: on the spare curves of every other trace under every start-up
    (:func:`spotlab.fleet.prior.fit_spare_prior`); ``progress(text)`` is called as it goes."""
    startups = startups or (fleet_startup(), fleet_startup(setup=SENSITIVITY_SETUP))
    present = [ts for ts in sets if (root / ts.path).exists()]
    if not present:
        raise AnalysisError(f"none of the traces is under {root}")
    out: dict[str, list[TraceResult]] = {}
    points: list[PriorPoint] = []
    for st in startups:
        label = startup_label(st)
        results = []
        for ts in present:
            if progress is not None:
                progress(f"{label}: {ts.name}")
            r = evaluate_trace_set(ts, root, startup=st, prior_points=None, learn=True,
                                   finish=False, **options)  # fmt: skip
            results.append(r)
            p = r.point(label)
            if p is not None:
                points.append(p)
        out[label] = results
    for label, results in out.items():
        for r in results:
            if progress is not None:
                progress(f"{label}: {r.trace.name}: the table")
            top = spare_levels(r.replay.demand, r.replay.space)[-1]
            prior = fit_spare_prior(r.replay.zone_hours, r.replay.gap_seconds, points,
                                    left_out=r.trace.name, max_spare=top)  # fmt: skip
            r.replay.use_prior(prior)
            r.finish()
            r.replay._held.clear()
    return SharedEvaluation(out, points)


@dataclass(frozen=True)
class SharedEvaluation:
    """:func:`evaluate_shared_traces`' answer: the results per start-up label (the first
    is the main table) and the spare prior's points."""

    results: dict[str, list[TraceResult]]
    points: list[PriorPoint]


def startup_label(st: FleetStartup) -> str:
    """A start-up's short name in the results: its setup, or ``"<n> s"`` when given."""
    return st.setup if st.setup is not None else f"{st.seconds:.0f} s"


def _section(doc: dict[str, Any], section: str) -> dict[str, Any]:
    if section == "main":
        return doc
    if section not in doc:
        raise AnalysisError(f"the results file has no {section!r} section")
    got: dict[str, Any] = doc[section]
    return got


def results_frames(doc: dict[str, Any], section: str = "main") -> tuple[pl.DataFrame, pl.DataFrame]:
    """The policy rows and the per-trace goal rows of a results document (``section``:
    ``"main"``, the default start-up, or ``"sensitivity"``)."""
    part = _section(doc, section)
    rows = pl.DataFrame(
        [{"trace": t["trace"], **r} for t in part["traces"] for r in t["rows"]],
        infer_schema_length=None,
    )
    goals = pl.DataFrame(
        [
            {"trace": t["trace"], "setting": t["choice"]["setting"],
             "margin": t["choice"]["margin"], "min_spare": t["choice"]["min_spare"],
             **{k: v for k, v in t["goal"].items() if not isinstance(v, list)},
             "baseline_goal_met": (t.get("baseline_goal") or {}).get("goal_met")}
            for t in part["traces"]
        ],
        infer_schema_length=None,
    )  # fmt: skip
    return rows, goals


def summary_line(goals: pl.DataFrame) -> str:
    """How many traces meet the goal, in one sentence."""
    n = goals.height
    met = int(goals["goal_met"].sum())
    nd = int(goals["not_dominated"].sum())
    tgt = int(goals["meets_target"].sum())
    text = (
        f"{met} of {n} traces meet the goal; the recommendation is not dominated by SpotHedge "
        f"on {nd} of {n} and meets the target held out on {tgt} of {n}"
    )
    if "baseline_goal_met" in goals.columns and goals["baseline_goal_met"].null_count() < n:
        before = int(goals["baseline_goal_met"].fill_null(False).sum())
        text += f" (the first round's rule: {before} of {n})"
    return text


#: the columns of :func:`markdown_tables`' policy table: (header, policy name prefix)
_MD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("one zone", "one spot zone"),
    ("EAS spot, regular last", "EAS: spot, regular last"),
    ("+ rebalancing", "EAS: spot, regular last + rebalancing"),
    ("dedicated 2 + spot", "EAS: dedicated"),
    *((f"SpotHedge k={k}", f"SpotHedge (k={k})") for k in range(5)),
    ("**spotlab recommended**", RECOMMENDED),
    ("round 1 rule", BASELINE),
    ("best with spot", BEST_SPOT),
    ("EAS hindsight", HINDSIGHT),
)


def markdown_tables(doc: dict[str, Any], section: str = "main") -> str:
    """The README's tables from a results document: every policy per trace (cost ÷
    all-regular / availability, held out), then the recommendation and the goal per trace."""
    part = _section(doc, section)

    def cell(r: dict[str, Any] | None, bold: bool = False) -> str:
        if r is None:
            return "–"
        text = f"{r['cost_ratio']:.2f} / {100 * r['availability']:.2f}%"
        return f"**{text}**" if bold else text

    head = "| trace | " + " | ".join(h for h, _ in _MD_COLUMNS) + " |"
    lines = [head, "|---" * (len(_MD_COLUMNS) + 1) + "|"]
    for t in part["traces"]:
        rows = t["rows"]
        cells = [
            cell(next((r for r in rows if r["policy"].startswith(prefix)), None),
                 bold=prefix == RECOMMENDED)
            for _, prefix in _MD_COLUMNS
        ]  # fmt: skip
        lines.append(f"| {t['trace']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| trace | chosen on the training window | margin | spare prior | SpotHedge best k "
        "(held out) | not dominated | goal | round 1 rule's goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in part["traces"]:
        g, c = t["goal"], t["choice"]
        best = (
            f"k={g['spothedge_best_k']}: {g['spothedge_best_cost_ratio']:.2f} / "
            f"{100 * g['spothedge_best_availability']:.2f}%"
        )
        bg = t.get("baseline_goal")
        before = "–" if bg is None else "met" if bg["goal_met"] else "not met"
        lines.append(
            f"| {t['trace']} | {c['setting']} | {100 * c['margin']:.2g} pt | {c['min_spare']} | "
            f"{best} | {'yes' if g['not_dominated'] else 'no'} | "
            f"{'met' if g['goal_met'] else 'not met'} | {before} |"
        )
    lines += ["", *(f"- {t['trace']}: {t['goal']['note']}." for t in part["traces"])]
    return "\n".join(lines)


def before_after(doc: dict[str, Any]) -> pl.DataFrame:
    """Per trace, the goal under each start-up for the first round's rule and for the
    recommendation: ``<label>_round1``, ``<label>_now`` columns (True: met)."""
    sections = {"main": doc, **({"sensitivity": doc["sensitivity"]} if "sensitivity" in doc
                                else {})}  # fmt: skip
    cols: dict[str, list[Any]] = {"trace": [t["trace"] for t in doc["traces"]]}
    for part in sections.values():
        label = startup_label_of(part["startup"])
        by = {t["trace"]: t for t in part["traces"]}
        cols[f"{label}_round1"] = [
            (by[n].get("baseline_goal") or {}).get("goal_met") for n in cols["trace"]
        ]
        cols[f"{label}_now"] = [by[n]["goal"]["goal_met"] for n in cols["trace"]]
    return pl.DataFrame(cols)


def before_after_markdown(doc: dict[str, Any]) -> str:
    """The per-trace goal before (the first round's rule) and now, under each start-up of a
    results document, with the recommendation's held-out cost ÷ all-regular / availability."""
    sections = [doc, *([doc["sensitivity"]] if "sensitivity" in doc else [])]

    def cell(g: dict[str, Any] | None) -> str:
        if g is None:
            return "–"
        mark = "met" if g["goal_met"] else "not met"
        cost, avail = g["recommended_cost_ratio"], 100 * g["recommended_availability"]
        return f"{mark} ({cost:.2f} / {avail:.2f}%)"

    head = ["trace"]
    for part in sections:
        st = part["startup"]
        label = f"{st['setup']} {st['seconds']:.0f} s"
        head += [f"{label}: round 1 rule", f"{label}: now"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for i, t in enumerate(doc["traces"]):
        cells = [t["trace"]]
        for part in sections:
            u = part["traces"][i]
            cells += [cell(u.get("baseline_goal")), cell(u["goal"])]
        lines.append("| " + " | ".join(cells) + " |")
    counts = []
    for part in sections:
        n = len(part["traces"])
        before = sum(bool((u.get("baseline_goal") or {}).get("goal_met")) for u in part["traces"])
        now = sum(bool(u["goal"]["goal_met"]) for u in part["traces"])
        counts += [f"{before} of {n}", f"{now} of {n}"]
    lines.append("| **goal met** | " + " | ".join(f"**{c}**" for c in counts) + " |")
    return "\n".join(lines)


def startup_label_of(startup: dict[str, Any]) -> str:
    """:func:`startup_label` of a start-up as stored in a results document."""
    return startup["setup"] if startup.get("setup") else f"{startup['seconds']:.0f} s"


def load_results(path: Path | None = None) -> dict[str, Any]:
    """The committed results document (see :func:`write_results`); by default the one
    shipped with spotlab (:func:`spotlab.bundled.bundled`)."""
    path = path if path is not None else bundled(RESULTS_REL)
    if not path.is_file():
        raise AnalysisError(f"no results file {path}: run python -m spotlab.fleet.evaluate")
    doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return doc


def write_results(
    path: Path = RESULTS_FILE, root: Path = SHARED_DATA, progress: Any = None, **options: Any
) -> dict[str, Any]:
    """Evaluate the shared traces under the default start-up and the sensitivity one, and
    write the results document (JSON) the notebook and README read, labelled with its
    source and date: the main section at the top level, the other under ``sensitivity``,
    the spare prior's points under ``prior_points``."""
    ev = evaluate_shared_traces(root, progress=progress, **options)
    (_, main), *rest = ev.results.items()

    def section(results: list[TraceResult]) -> dict[str, Any]:
        return {"startup": results[0].replay.startup.as_dict(),
                "traces": [r.as_dict() for r in results]}  # fmt: skip

    doc: dict[str, Any] = {
        "source": "python -m spotlab.fleet.evaluate on ../shared/data (validation-only traces: "
        "SkyPilot spot-traces, the SpotHedge artifact, Bamboo); see PROVENANCE.md there",
        "computed_on": datetime.now(UTC).date().isoformat(),
        "target": main[0].replay.target,
        "published_ratio": PUBLISHED_RATIO,
        "dedicated_share": DEDICATED_SHARE,
        "skipped": SKIPPED_TRACES,
        "method": METHOD,
        "probe_seconds": policies.EAS_PROBE_SECONDS,
        **section(main),
        "prior_points": [p.as_dict() for p in ev.points],
    }
    for _, results in rest[:1]:
        doc["sensitivity"] = section(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, default=_json_default) + "\n", "utf-8")
    return doc


#: how the recommendation is chosen, for the results file
METHOD = (
    "chosen on the first quarter of each trace (the training window): the cheapest EAS setting "
    "reaching the target plus a margin set by 3-fold blocked cross-validation inside the "
    "window, with at least the spare prior's spares when it uses spot (the prior fitted leave "
    "one trace out on the other traces' spare curves, both start-ups); every policy scored on "
    "the other three quarters. 'round 1 rule': one validation split, no prior."
)


def _json_default(o: object) -> object:
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    raise TypeError(f"not JSON: {type(o).__name__}")


def prior_points(doc: dict[str, Any]) -> tuple[PriorPoint, ...]:
    """The spare prior's points of a results document."""
    return tuple(PriorPoint(**p) for p in doc.get("prior_points", []))


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a script
    parser = argparse.ArgumentParser(
        prog="python -m spotlab.fleet.evaluate",
        description="Evaluate the recommended fleet policy on the shared availability traces.",
    )
    parser.add_argument("out", nargs="?", type=Path, default=RESULTS_FILE,
                        help="results file (default: the committed one)")  # fmt: skip
    parser.add_argument("--probe-seconds", type=float, default=None,
                        help="a sensitivity run: assume this EAS rebalancing probe period "
                             "(needs OUT: the committed results assume 300 s)")  # fmt: skip
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    probe, out = args.probe_seconds, args.out
    if probe is not None and out == RESULTS_FILE:
        parser.error("--probe-seconds needs an output file: the committed results assume 300 s")
    with policies.assumed_probe_seconds(probe) if probe is not None else contextlib.nullcontext():
        doc = write_results(out, progress=lambda name: print(f"... {name}", flush=True))
    for section in ("main", "sensitivity"):
        rows, goals = results_frames(doc, section)
        part = _section(doc, section)
        print(f"== {section}: {part['startup']['text']}")
        with pl.Config(tbl_rows=200, tbl_cols=20, tbl_width_chars=250, fmt_str_lengths=70):
            print(rows.select("trace", "policy", pl.col("cost_ratio", "availability").round(4)))
            print(goals.select("trace", "setting", "recommended_cost_ratio",
                               "recommended_availability", "goal_met", "baseline_goal_met",
                               "note"))  # fmt: skip
        print(summary_line(goals))
        print(markdown_tables(doc, section))
    print(before_after_markdown(doc))
    print("SPARE_PRIOR_POINTS = (")
    for p in prior_points(doc):
        print(f"    {p!r},")
    print(")")
    print(f"wrote {out}")
    return 0


__all__ = [
    "BAMBOO_G4DN",
    "BASELINE",
    "BEST_SPOT",
    "DEDICATED_SHARE",
    "HINDSIGHT",
    "METHOD",
    "PUBLISHED_RATIO",
    "RECOMMENDED",
    "SENSITIVITY_SETUP",
    "SHARED_TRACE_SETS",
    "SKIPPED_TRACES",
    "UNLIMITED",
    "Entry",
    "Replay",
    "SharedEvaluation",
    "TraceResult",
    "TraceSet",
    "before_after",
    "before_after_markdown",
    "evaluate_availability",
    "evaluate_shared_traces",
    "evaluate_store",
    "evaluate_trace_set",
    "goal",
    "load_results",
    "markdown_tables",
    "prepare_replay",
    "prior_points",
    "read_trace",
    "read_trace_folder",
    "replay_store",
    "results_frames",
    "simulate_report",
    "standard_policies",
    "startup_label",
    "startup_label_of",
    "summary_line",
    "write_results",
]

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
