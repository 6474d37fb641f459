"""Scaling plans: replicas from QPS, the cost-minimising dedicated floor, cron jobs from the
daily profile, the EAS JSON, and the plan's simulation, with hand-worked numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import spotlab as sl
from spotlab.errors import AnalysisError
from spotlab.fleet.samples import SERVICE, synthetic_traffic
from spotlab.fleet.scaling import (
    _merge_blocks,
    cron_jobs,
    daily_levels,
    floor_costs,
    plan_from_store,
    replicas_needed,
    scaling_plan,
    scheduled_sizes,
)
from spotlab.ingest import ingest

T0 = datetime(2024, 5, 6, 0, 0, tzinfo=UTC)  # a Monday
PRICES = {"regular_price": 8.0, "spot_price": 1.6, "dedicated_monthly_price": 1200.0}


def series(qps: list[float], step_s: int = 3600, start: datetime = T0) -> pl.DataFrame:
    return pl.DataFrame(
        {"ts": [start + timedelta(seconds=step_s * i) for i in range(len(qps))], "qps": qps}
    )


def test_replicas_needed_by_hand() -> None:
    # threshold = 10 x 0.8 = 8 QPS per replica: 0 -> 0 (min 1), 10 -> 2, 35 -> 5, 16 -> 2
    got = replicas_needed(series([0, 10, 35, 16]), 10.0, 0.8, min_replicas=1)
    assert got["replicas"].to_list() == [1, 2, 5, 2]
    assert got["ts"].to_list() == [T0 + timedelta(hours=h) for h in range(4)]


def test_replicas_needed_resamples_irregular_samples() -> None:
    # samples at 0 s, 600 s and 1800 s; the median gap (900 s) is the grid; each sample
    # holds until the next: grid 0, 900 -> 600's sample, 1800 -> 1800's
    tr = pl.DataFrame({"ts": [T0, T0 + timedelta(seconds=600), T0 + timedelta(seconds=1800)],
                       "qps": [5.0, 20.0, 1.0]})  # fmt: skip
    got = replicas_needed(tr, 5.0, 1.0, min_replicas=0)
    assert got["replicas"].to_list() == [1, 4, 1]
    with pytest.raises(AnalysisError):
        replicas_needed(tr, 0.0)


def test_floor_costs_by_hand() -> None:
    # 4 hours needing 1, 1, 3, 3 replicas; a dedicated slot 730 a month = 1 per hour;
    # elastic 2.5 per replica-hour.
    # D=0: 2.5 x 8 = 20; D=1: 4 + 2.5 x 4 = 14; D=2: 8 + 2.5 x 2 = 13; D=3: 12 + 0 = 12
    got = floor_costs(np.array([1, 1, 3, 3]), 3600.0, 730.0, 2.5)
    assert got["floor"].to_list() == [0, 1, 2, 3]
    assert got["cost"].to_list() == pytest.approx([20.0, 14.0, 13.0, 12.0])
    assert got["elastic_replica_hours"].to_list() == pytest.approx([8.0, 4.0, 2.0, 0.0])


def test_merge_blocks_adds_the_fewest_replica_hours() -> None:
    levels = [2] * 6 + [5, 6] + [9] * 4 + [8] * 6 + [4] * 6
    # 6 runs; merging into 4 first joins 5|6 (adds 1 replica-hour), then 6,6|9 and 9|8 both
    # add 6: the earlier pair goes first
    merged = _merge_blocks(levels, 4)
    assert merged == [2] * 6 + [9] * 6 + [8] * 6 + [4] * 6
    assert _merge_blocks(levels, 1) == [9] * 24
    assert _merge_blocks(levels, 10) == levels


def test_cron_jobs_from_a_two_day_profile_in_local_time() -> None:
    # 48 hourly samples in UTC; Asia/Shanghai is UTC+8, so local hour h is UTC hour h - 8.
    # Needed replicas: 2 at night (local 0-7), 6 in the day (8-19), 4 in the evening (20-23)
    local = [2] * 8 + [6] * 12 + [4] * 4
    need = local[8:] + local + local[:8]  # UTC 00:00 = local 08:00
    rep = replicas_needed(series([8.0 * n for n in need]), 8.0, 1.0)
    assert rep["replicas"].to_list() == need
    levels = daily_levels(rep, "Asia/Shanghai", floor=0, weekend_ratio=0.8)
    assert levels == {"daily": local}
    jobs = cron_jobs(levels, "Asia/Shanghai")
    assert [(j.schedule, j.target_size) for j in jobs] == [
        ("0 0 0 * * *", 2), ("0 0 8 * * *", 6), ("0 0 20 * * *", 4),
    ]  # fmt: skip
    assert all(len(j.schedule.split()) == 6 and j.time_zone == "Asia/Shanghai" for j in jobs)
    # the floor lifts the night level; the schedule in force follows local hours
    assert daily_levels(rep, "Asia/Shanghai", floor=3)["daily"][:8] == [3] * 8
    sized = scheduled_sizes(rep, levels, "Asia/Shanghai")
    assert sized.tolist() == need


def test_weekends_get_their_own_jobs_when_quieter() -> None:
    # 7 days from Monday 00:00 UTC, daily profile 10 by day (UTC 8-19), 2 at night;
    # Saturday and Sunday at half
    days = []
    for d in range(7):
        day = [2] * 8 + [10] * 12 + [2] * 4
        days += [max(1, v // 2) for v in day] if d >= 5 else day
    rep = replicas_needed(series([float(v) for v in days]), 1.0, 1.0)
    levels = daily_levels(rep, "UTC", weekend_ratio=0.8)
    assert set(levels) == {"weekday", "weekend"}
    assert levels["weekday"][8] == 10 and levels["weekend"][8] == 5
    jobs = cron_jobs(levels, "UTC")
    assert {j.schedule.split()[-1] for j in jobs} == {"1-5", "0,6"}
    assert ("0 0 8 * * 0,6", 5) in [(j.schedule, j.target_size) for j in jobs]
    with pytest.raises(AnalysisError, match="time zone"):
        daily_levels(rep, "Mars/Olympus")


def test_plan_on_the_bundled_synthetic_traffic(tmp_path: Path) -> None:
    with sl.Store(":memory:") as store:
        root = Path(__file__).resolve().parents[1] / "data"
        ingest(store, root / "traffic_sample.csv")
        plan = plan_from_store(
            store, SERVICE, qps_per_replica=20.0, startup_seconds=292.0, **PRICES
        )
    r = plan.replicas
    assert r.height == 2016 and plan.step_seconds == 600.0
    # peak 355.3 QPS / 16 -> 23 replicas; autoscaler max 23 x 1.1 rounded up
    assert int(r["replicas"].max()) == 23 and plan.max_replicas == 26
    assert plan.min_replicas == max(plan.dedicated_floor, int(r["replicas"].min()))
    # the floor is where the next slot would be used less than 1200/730 / 1.92 of the time
    costs = plan.floor_costs
    assert plan.dedicated_floor == int(costs.sort("cost", "floor")["floor"][0])
    assert 0 < plan.dedicated_floor < 23
    assert (r["planned"] >= r["replicas"]).all() and (r["planned"] >= plan.min_replicas).all()
    sim = plan.simulated
    assert sim["availability"] > 0.99 and 0.1 < sim["cost_ratio"] < 0.6
    # all-regular = sum of needed replicas x 8.0 x 1/6 h
    assert sim["all_regular_cost"] == pytest.approx(float(r["replicas"].sum()) * 8.0 / 6.0)
    auto = plan.to_autoscaler()
    assert auto == {
        "min": plan.min_replicas, "max": 26,
        "scaleStrategies": [{"metricName": "qps", "threshold": 16}],
        "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0},
                     "scaleDown": {"stabilizationWindowSeconds": 300}},
    }  # fmt: skip
    cron = plan.to_cronscale()
    assert cron["ExcludeDates"] == [] and 2 <= len(cron["ScaleJobs"]) <= 16
    for job in cron["ScaleJobs"]:
        assert set(job) == {"Name", "Schedule", "TargetSize", "TimeZone"}
        assert len(job["Schedule"].split()) == 6
        assert plan.min_replicas <= job["TargetSize"] <= plan.max_replicas
    json.dumps(plan.as_dict())  # serialisable as the CLI prints it


def test_expensive_dedicated_means_no_floor() -> None:
    tr = synthetic_traffic(days=2)
    plan = scaling_plan(
        tr.select(pl.col("ts").str.to_datetime(time_zone="UTC"), "qps"), 20.0,
        regular_price=8.0, spot_price=1.6, dedicated_monthly_price=5000.0, startup_seconds=60.0,
    )  # fmt: skip
    # 5000 / 730 = 6.85 per hour > 1.92 expected per elastic hour: never worth a slot
    assert plan.dedicated_floor == 0
    with pytest.raises(AnalysisError):
        scaling_plan(tr, 20.0, regular_price=-1.0, spot_price=1.0, dedicated_monthly_price=1.0)


def test_unknown_service_suggests() -> None:
    with sl.Store(":memory:") as store:
        ingest(store, Path(__file__).resolve().parents[1] / "data" / "traffic_sample.csv")
        with pytest.raises(AnalysisError, match="synthetic-chat"):
            plan_from_store(store, "synthetic-chatt", qps_per_replica=1.0, **PRICES)


def test_plan_json_validates_as_eas_autoscaler_and_cronscale_files() -> None:
    from spotlab.eas import AutoscalerConfig, CronScaleConfig

    tr = synthetic_traffic(days=7).select(pl.col("ts").str.to_datetime(time_zone="UTC"), "qps")
    plan = scaling_plan(tr, 20.0, startup_seconds=120.0, **PRICES)
    auto = AutoscalerConfig.model_validate(plan.to_autoscaler())
    cron = CronScaleConfig.model_validate(plan.to_cronscale())
    assert (auto.min, auto.max) == (plan.min_replicas, plan.max_replicas)
    assert [j.Schedule for j in cron.ScaleJobs] == [j.schedule for j in plan.cron_jobs]
