"""The policy table: every deployment policy replayed on the same measured traces.

For each trace set the first ``train_share`` of the trace is the *training window*: the
recommended ordering is computed from it (per-pool stock share and interruption rate).
Every policy is then replayed on the rest, so the recommendation never sees the future it
is scored on.

The traces carry no prices. :data:`SHARED_TRACE_SETS` documents the constants used (USD
per hour, Linux): AWS p3.2xlarge on-demand 3.06 and spot 0.918 (the spot price of every
us-east-1/us-east-2/us-west-2 AZ in the 2022-05-31 AWS price history, 70 % below on-demand
as the AWS Spot Advisor's 2021 snapshot says); GCP a2-ultragpu-4g from the 2023-05-08
snapshot of the GCP price history (the first with spot prices): on-demand 20.11 (us-*),
22.14 (europe-west4), 25.81 (asia-northeast1), spot 6.30 / 6.87 / 7.85. A dedicated floor
is priced at :data:`DEDICATED_SHARE` of on-demand (an assumption: the order of a one-year
commitment). Run ``python -m spotlab.fleet.evaluate`` to regenerate
:data:`RESULTS_FILE` from ``../shared/data``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spotlab.errors import AnalysisError, did_you_mean
from spotlab.fleet import _deps
from spotlab.fleet.market import UNLIMITED, Market, Pool, market_from_availability, with_pools
from spotlab.fleet.policies import (
    AllRegular,
    EasOrdered,
    OneSpot,
    SpotHedge,
    dedicated_floor,
    recommended,
)
from spotlab.fleet.simulate import FleetResult, Policy, simulate
from spotlab.store import Store

#: dedicated (committed) price ÷ on-demand price: an assumption, about a 1-year commitment
DEDICATED_SHARE = 0.63
#: where the table on the shared traces is kept for the notebook and README
RESULTS_FILE = Path(__file__).resolve().parents[2] / "notebooks" / "05_fleet_policy_table.csv"
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass(frozen=True)
class TraceSet:
    """A folder of spot-traces JSON files (one zone each) and its price assumptions."""

    name: str
    folder: str  # relative to the shared data root
    provider: str
    demand: int
    spot_prices: dict[str, float]  # by region prefix of the zone
    on_demand_prices: dict[str, float]
    regular_zone: str
    start: str | None = None  # for folders whose name has no date
    binary: bool | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def price(self, table: dict[str, float], zone: str) -> float:
        for prefix, value in sorted(table.items(), key=lambda kv: -len(kv[0])):
            if zone.startswith(prefix):
                return value
        raise AnalysisError(f"{self.name}: no price for zone {zone}")


_AWS_SPOT = {"us-": 0.918}
_AWS_OD = {"us-": 3.06}
_GCP_SPOT = {"us-": 6.3013864, "europe-west4": 6.871384, "asia-northeast1": 7.84896}
_GCP_OD = {"us-": 20.110808, "europe-west4": 22.142852, "asia-northeast1": 25.812344}

SHARED_TRACE_SETS: tuple[TraceSet, ...] = (
    TraceSet(
        "GCP a2-ultragpu-4g, 6 zones (SpotHedge GCP1)", "spothedge-traces/data/GCP1", "gcp", 4,
        _GCP_SPOT, _GCP_OD, "us-central1", start="2023-05-08T00:00:00Z",
        notes=("no start date in the trace: 2023-05-08 assumed (prices of that day)",),
    ),
    TraceSet(
        "AWS p3.2xlarge, 9 zones (aws-02-15-2023, 1-node)",
        "skypilot-spot-traces/availability/1-node/aws-02-15-2023", "aws", 4,
        _AWS_SPOT, _AWS_OD, "us-east-1",
    ),
    TraceSet(
        "AWS p3.2xlarge, 3 zones x 16 nodes (aws-08-27-2023)",
        "skypilot-spot-traces/availability/16-node/aws-08-27-2023", "aws", 4,
        _AWS_SPOT, _AWS_OD, "us-east-1",
    ),
    TraceSet(
        "AWS p3.2xlarge, 3 zones x 4 nodes (aws-08-03-2023)",
        "skypilot-spot-traces/preemption/4-node/aws-08-03-2023", "aws", 4,
        _AWS_SPOT, _AWS_OD, "us-east-1",
    ),
)  # fmt: skip


def read_trace_folder(
    folder: Path, start: str | None = None, provider: str | None = None
) -> pl.DataFrame:
    """``zone, spec, ts, available`` of every spot-traces JSON file in ``folder``, through
    the ingest reader (names give zone, spec and start; ``start`` where they cannot)."""
    from spotlab.ingest.availability import SpotTraceJson

    reader = SpotTraceJson()
    frames = []
    for path in sorted(folder.glob("*.json")):
        staged = reader.read(path, start=start, provider=provider)
        for batch in staged.batches:
            frames.append(
                batch.filter(pl.col("_reject").is_null()).select(
                    "zone", "spec", "ts", pl.col("available").cast(pl.Int64)
                )
            )
    if not frames:
        raise AnalysisError(f"no spot-traces JSON files in {folder}")
    return pl.concat(frames)


def pool_stats(
    market: Market, demand: int, first: int = 0, last: int | None = None
) -> pl.DataFrame:
    """Per spot pool over ticks ``first..last``: stock share (time-average of
    min(capacity, demand) ÷ demand), capacity drops per hour (interruptions), prices."""
    last = market.ticks if last is None else last
    regular = market.find(kind="regular")
    od = market.pools[regular[0]].price_per_hour if regular else float("nan")
    rows = []
    hours = (last - first) * market.step_seconds / 3600.0
    for i, p in enumerate(market.pools):
        if p.kind != "spot":
            continue
        cap = np.minimum(market.capacity[i, first:last], max(demand, 1))
        drops = int(np.count_nonzero(np.diff(cap) < 0))
        rows.append(
            {
                "label": p.label, "spec": p.spec, "zone": p.zone, "spot_price": p.price_per_hour,
                "on_demand_price": od, "interruptions_per_hour": drops / hours if hours else 0.0,
                "available_share": float(cap.mean() / max(demand, 1)),
                "startup_seconds": p.startup_seconds,
            }
        )  # fmt: skip
    return pl.DataFrame(rows)


@dataclass(frozen=True)
class Entry:
    """One row of the policy table: the policy, whether it rents the dedicated floor, and
    how many spare replicas it runs above the demand (an EAS instance count of demand +
    spare)."""

    policy: Policy
    dedicated: bool = False
    spare: int = 0


def standard_policies(market: Market, stats: pl.DataFrame, demand: int, k: int = 1) -> list[Entry]:
    """The policies of the table.

    The naive orders are by spot price (ties in market order): what a user sees first;
    "one spot pool" is the first of them. The recommended order and caps come from
    :func:`spotlab.advise.ordering.recommend_ordering` on ``stats`` (the training window);
    it is run as listed, and with ``k`` spare replicas: SpotHedge's over-provisioning done
    in EAS by asking for demand + k instances with the regular entry capped at the demand
    (``capacity``), so spares only ever run on spot.
    """
    by_price = sorted(market.find(kind="spot"), key=lambda i: market.pools[i].price_per_hour)
    price_order = [market.pools[i].label for i in by_price]
    reg = market.pools[market.find(kind="regular")[0]].label
    rec = _deps.recommended_order(stats, demand)
    rec_k = _deps.recommended_order(stats, demand + k)
    first = market.pools[by_price[0]].zone
    return [
        Entry(AllRegular()),
        Entry(OneSpot(pool=price_order[0], name=f"one spot pool ({first})")),
        Entry(EasOrdered(order=[*price_order, reg])),
        Entry(EasOrdered(order=[*price_order, reg], rebalancing=True)),
        Entry(dedicated_floor(spot=price_order, regular=reg), dedicated=True),
        Entry(SpotHedge(k=k)),
        Entry(recommended([*rec.order, reg], rec.caps)),
        Entry(recommended([*rec_k.order, reg], {**rec_k.caps, reg: demand},
                          name=f"spotlab recommended + {k} spare"), spare=k),
    ]  # fmt: skip


def policy_table(
    market: Market,
    demand: int | np.ndarray,
    entries: Sequence[Entry],
    warning_seconds: float,
    dedicated: Pool | None = None,
) -> pl.DataFrame:
    """One summary row per policy (see :meth:`FleetResult.summary`)."""
    rows = []
    rented = with_pools(market, [dedicated]) if dedicated is not None else market
    for e in entries:
        m = rented if e.dedicated else market
        asked = None if not e.spare else np.asarray(demand) + e.spare
        r = simulate(m, e.policy, demand, warning_seconds=warning_seconds, provision=asked)
        rows.append(r.summary())
    return pl.DataFrame(rows)


@dataclass
class Replay:
    """Everything one policy table replays: the held-out market, the training statistics,
    the policies, and how to run them."""

    market: Market  # the test window
    stats: pl.DataFrame  # per spot pool, on the training window
    entries: list[Entry]
    demand: int
    warning_seconds: float
    floor: Pool  # the dedicated floor, for the policy that rents it

    def run(self, entry: Entry) -> FleetResult:
        m = with_pools(self.market, [self.floor]) if entry.dedicated else self.market
        asked = self.demand + entry.spare if entry.spare else None
        return simulate(
            m, entry.policy, self.demand, warning_seconds=self.warning_seconds, provision=asked
        )

    def results(self) -> dict[str, FleetResult]:
        """Every policy's result, by policy name."""
        return {e.policy.name: self.run(e) for e in self.entries}

    def table(self) -> pl.DataFrame:
        """One summary row per policy."""
        spec = self.floor.spec
        zones = len(self.market.find(kind="spot"))
        return pl.DataFrame([self.run(e).summary() for e in self.entries]).select(
            pl.lit(spec).alias("spec"),
            pl.lit(zones).alias("zones"),
            pl.lit(self.demand).alias("demand"),
            pl.all(),
        )


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
    k: int = 1,
    binary: bool | None = None,
    dedicated_share: float = DEDICATED_SHARE,
) -> Replay:
    """Measured availability (``zone, spec, ts, available`` of one spec) made ready to
    replay: train on the first ``train_share``, test on the rest.

    ``startup_seconds`` defaults to the cold-start model, ``warning_seconds`` to the
    provider's reclaim notice; the dedicated floor is ``demand // 2`` slots at
    ``dedicated_share`` of the regular price.
    """
    if availability.height == 0:
        raise AnalysisError("no availability rows: ingest spot traces first")
    if demand < 1:
        raise AnalysisError(f"demand must be >= 1 replica, got {demand}")
    if not 0.0 <= train_share < 1.0:
        raise AnalysisError(f"train_share must be in [0, 1), got {train_share}")
    specs = availability["spec"].unique().to_list()
    if len(specs) != 1:
        raise AnalysisError(f"the availability rows hold several specs {sorted(specs)}: pick one")
    spec = specs[0]
    startup = _deps.startup_seconds() if startup_seconds is None else startup_seconds
    warning = _deps.warning_seconds(provider) if warning_seconds is None else warning_seconds
    regular = Pool(spec, regular_zone, "regular", regular_price, startup)
    market = market_from_availability(
        availability, spot_prices=spot_prices, others=[regular], step_seconds=step_seconds,
        startup_seconds=startup, binary=binary,
    )  # fmt: skip
    split = int(market.ticks * train_share)
    if split >= market.ticks - 1:
        raise AnalysisError("the trace is too short to hold out a test window")
    stats = pool_stats(market, demand, 0, split) if split > 0 else pool_stats(market, demand)
    test = market.window(split)
    floor = Pool(spec, regular_zone, "dedicated", dedicated_share * regular_price, startup,
                 slots=demand // 2)  # fmt: skip
    entries = standard_policies(test, stats, demand, k)
    return Replay(test, stats, entries, demand, warning, floor)


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


def evaluate_trace_set(
    ts: TraceSet,
    root: Path = SHARED_DATA,
    step_seconds: float = 60.0,
    train_share: float = 0.25,
    startup_seconds: float | None = None,
    k: int = 1,
) -> pl.DataFrame:
    """The policy table of one trace set (rows per policy, with the set's name)."""
    folder = root / ts.folder
    if not folder.is_dir():
        raise AnalysisError(f"trace folder {folder} is absent")
    frame = read_trace_folder(folder, start=ts.start, provider=ts.provider)
    zones = frame["zone"].unique(maintain_order=True).to_list()
    table = prepare_replay(
        frame, ts.demand, spot_prices={z: ts.price(ts.spot_prices, z) for z in zones},
        regular_price=ts.price(ts.on_demand_prices, ts.regular_zone),
        regular_zone=ts.regular_zone, provider=ts.provider, step_seconds=step_seconds,
        train_share=train_share, startup_seconds=startup_seconds, k=k, binary=ts.binary,
    ).table()  # fmt: skip
    return table.select(pl.lit(ts.name).alias("trace"), pl.all().exclude("spec"))


def evaluate_shared_traces(
    root: Path = SHARED_DATA, sets: Sequence[TraceSet] = SHARED_TRACE_SETS, **options: Any
) -> pl.DataFrame:
    """The policy table on every trace set present under ``root`` (absent ones skipped)."""
    tables = [evaluate_trace_set(ts, root, **options) for ts in sets if (root / ts.folder).is_dir()]
    if not tables:
        raise AnalysisError(f"none of the trace folders is under {root}")
    return pl.concat(tables)


def compare_to_spothedge(table: pl.DataFrame) -> pl.DataFrame:
    """Per trace: spotlab's recommended policy against SpotHedge and SkyServe's published
    43 % saving (cost ratio 0.57), with availability."""
    pick = table.filter(
        pl.col("policy").str.starts_with("SpotHedge") | (pl.col("policy") == "spotlab recommended")
    )
    return (
        pick.with_columns(
            who=pl.when(pl.col("policy") == "spotlab recommended")
            .then(pl.lit("spotlab"))
            .otherwise(pl.lit("spothedge"))
        )
        .pivot(on="who", index="trace", values=["cost_ratio", "availability"])
        .with_columns(
            (pl.col("cost_ratio_spotlab") - pl.col("cost_ratio_spothedge")).alias("ratio_diff"),
            (1.0 - pl.col("cost_ratio_spotlab")).alias("spotlab_saving"),
            (1.0 - pl.col("cost_ratio_spotlab") - 0.43).alias("vs_published_43pct"),
        )
    )


def write_results(path: Path = RESULTS_FILE, root: Path = SHARED_DATA) -> pl.DataFrame:
    """Evaluate the shared traces and write the table (CSV) the notebook reads."""
    table = evaluate_shared_traces(root).with_columns(
        pl.lit(datetime.now().date().isoformat()).alias("computed_on")
    )
    table.write_csv(path, float_precision=4)
    return table


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a script
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0]) if args else RESULTS_FILE
    with pl.Config(tbl_rows=100, tbl_cols=20, tbl_width_chars=200):
        print(write_results(out))
    return 0


__all__ = [
    "BAMBOO_G4DN",
    "DEDICATED_SHARE",
    "SHARED_TRACE_SETS",
    "UNLIMITED",
    "Entry",
    "Replay",
    "TraceSet",
    "compare_to_spothedge",
    "evaluate_availability",
    "evaluate_shared_traces",
    "evaluate_store",
    "evaluate_trace_set",
    "policy_table",
    "pool_stats",
    "prepare_replay",
    "read_trace_folder",
    "replay_store",
    "standard_policies",
    "write_results",
]

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
