"""The policy table: the recommended ordering's link, the bundled Bamboo replay, the shared
traces (skipped without ../shared/data), the CLI, charts and the plan widget."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest

import spotlab as sl
from spotlab.charts.fleet import (
    floor_cost_chart,
    plan_chart,
    policy_comparison_chart,
    timeline_chart,
)
from spotlab.cli import main
from spotlab.fleet import _deps
from spotlab.fleet.evaluate import (
    BAMBOO_G4DN,
    SHARED_TRACE_SETS,
    compare_to_spothedge,
    evaluate_trace_set,
    replay_store,
)
from spotlab.ingest import ingest
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
BAMBOO = (
    ROOT
    / "data"
    / "aws-spot-instances-g4dn-xlarge-us-east-1c-2020-11-20-1930-to-2020-11-21-2200.csv"
)


@pytest.fixture
def bamboo_store() -> sl.Store:
    store = sl.Store(":memory:")
    ingest(store, [BAMBOO, ROOT / "data" / "traffic_sample.csv"])
    return store


def test_recommended_order_goes_through_the_ordering_advisor() -> None:
    # on-demand 3.0, restart cost = 1 h x 3.0 = 3.0 per interruption
    # a: 0.5 x 1.0 + 0.5 x 3.0 = 2.0; b: 1.2; c: 0.9 x 1.0 + 0.1 x 3.0 + 0.1/h x 3.0 = 1.5
    cands = pl.DataFrame(
        {
            "label": ["spot:g@us-east-1a", "spot:g@us-east-1b", "spot:g@us-west-2a"],
            "spec": ["g"] * 3,
            "zone": ["us-east-1a", "us-east-1b", "us-west-2a"],
            "spot_price": [1.0, 1.2, 1.0],
            "on_demand_price": [3.0] * 3,
            "interruptions_per_hour": [0.0, 0.0, 0.1],
            "available_share": [0.5, 1.0, 0.9],
            "startup_seconds": [3600.0] * 3,
        }
    )
    rec = _deps.recommended_order(cands, replicas=4)
    assert rec.order == ["spot:g@us-east-1b", "spot:g@us-west-2a", "spot:g@us-east-1a"]
    assert rec.caps == dict.fromkeys(rec.order, 2)  # at most 50 % of 4 replicas each
    assert len(rec.reasons) == 4 and "regular" in rec.reasons[-1]


def test_bamboo_replay(bamboo_store: sl.Store) -> None:
    replay = replay_store(bamboo_store, startup_seconds=292.0, **BAMBOO_G4DN)
    table = replay.table()
    assert table.height == 8 and set(table["demand"]) == {4}
    by = {r["policy"]: r for r in table.iter_rows(named=True)}
    reg = by["all regular"]
    assert reg["cost_ratio"] == pytest.approx(1.0) and reg["availability"] == 1.0
    # 4 x 0.526 USD/h over the test window (the last 3/4 of the 24.5 h trace, 1-min grid)
    assert reg["cost"] == pytest.approx(4 * 0.526 * reg["hours"], rel=1e-4)
    one = by["one spot pool (us-east-1c)"]
    assert one["regular_share"] == 0.0 and one["cost_ratio"] <= 0.1578 / 0.526 + 1e-9
    assert all(0.0 <= a <= 1.0 for a in table["availability"])
    spare = by["spotlab recommended + 1 spare"]
    assert spare["availability"] >= by["spotlab recommended"]["availability"]
    results = replay.results()
    tl = results["SpotHedge (k=1)"].timeline()
    assert {"hours", "kind", "ready", "provisioned", "demand", "ts"} <= set(tl.columns)
    for chart in (
        policy_comparison_chart(table),
        timeline_chart(tl),
    ):
        assert chart.to_dict()["$schema"].startswith("https://vega.github.io/schema/vega-lite")


def test_cli_simulate_and_scale(
    bamboo_store: sl.Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "fleet.duckdb"
    with sl.Store(db) as store:
        ingest(store, [BAMBOO, ROOT / "data" / "traffic_sample.csv"])

    def run(*args: str) -> str:
        code, out, err = run_cli(monkeypatch, capsys, "--db", db, *args)
        assert code == 0, err
        return out

    rows = json.loads(
        run("simulate", "g4dn.xlarge", "--spot-price", "0.1578", "--regular-price", "0.526",
            "--startup-seconds", "292", "--json")
    )  # fmt: skip
    assert [r["policy"] for r in rows][:2] == ["all regular", "one spot pool (us-east-1c)"]
    assert rows[0]["cost_ratio"] == pytest.approx(1.0)
    plan = json.loads(
        run("scale", "synthetic-chat", "--qps-per-replica", "20", "--dedicated-monthly-price",
            "1200", "--startup-seconds", "292", "--json")
    )  # fmt: skip
    assert plan["autoscaler"]["scaleStrategies"] == [{"metricName": "qps", "threshold": 16}]
    assert plan["cronscale"]["ScaleJobs"] and plan["simulated"]["availability"] > 0.99
    text = run("scale", "synthetic-chat", "--qps-per-replica", "20", "--startup-seconds", "292")
    assert "dedicated floor" in text and "notes:" in text
    monkeypatch.setattr(sys, "argv", ["spotlab", "--db", str(db), "simulate", "p3.2xlarge",
                                      "--spot-price", "1", "--regular-price", "3"])  # fmt: skip
    with pytest.raises(SystemExit) as err:
        main()
    assert err.value.code == 2 and "g4dn.xlarge" in capsys.readouterr().err


def test_plan_widget_recomputes(bamboo_store: sl.Store) -> None:
    from spotlab.fleet.scaling import traffic_series
    from spotlab.widgets.fleet import PlanWidget

    w = PlanWidget(traffic_series(bamboo_store, "synthetic-chat"), startup_seconds=292.0)
    assert w.plan is not None and w.plan.max_replicas == 26
    w.qps.value = 40.0  # peak 355.3 QPS / 32 -> 12 replicas; max 12 x 1.1 rounded up
    assert w.plan.max_replicas == 14
    w.regular.value = -1.0
    assert "Cannot plan" in w.message.value
    plan = w.plan
    assert plan_chart(plan.replicas, plan.dedicated_floor).to_dict()
    assert floor_cost_chart(plan.floor_costs, plan.dedicated_floor).to_dict()


def test_shared_gcp_a100_trace(shared_data: Path) -> None:
    ts = next(t for t in SHARED_TRACE_SETS if "GCP1" in t.folder)
    table = evaluate_trace_set(ts, shared_data, startup_seconds=292.0)
    assert table.height == 8 and set(table["zones"]) == {6}
    by = {r["policy"]: r for r in table.iter_rows(named=True)}
    assert by["all regular"]["cost_ratio"] == pytest.approx(1.0)
    # SpotHedge keeps the service up nearly all the time at under half the regular cost
    assert by["SpotHedge (k=1)"]["availability"] > 0.99
    assert by["SpotHedge (k=1)"]["cost_ratio"] < 0.5
    cmp = compare_to_spothedge(table.with_columns(pl.lit("gcp").alias("trace")))
    assert cmp.height == 1 and {"cost_ratio_spotlab", "vs_published_43pct"} <= set(cmp.columns)
