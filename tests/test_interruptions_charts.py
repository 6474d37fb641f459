"""Charts of interruptions and allocations: built from the library's frames, data intact."""

from __future__ import annotations

import spotlab as sl
from spotlab.advise import interruptions as it
from spotlab.advise.allocation import parse_pool
from spotlab.charts import interruptions as charts
from tests.conftest import EVENTS


def _values(chart) -> list[dict]:
    spec = chart.to_dict()
    return next(iter(spec["datasets"].values()))


def test_allocation_chart_segments_follow_the_placement() -> None:
    pool = "ecs.gn8v-8x.48xlarge=3,ecs.gn8is-8x.32xlarge=2,ml.gu7i.c8m30.1-gu30=10"
    seed = sl.allocate(10, 2, parse_pool(pool))
    rows = _values(charts.allocation_chart(seed))
    assert [(r["entry"], r["count"], r["start"], r["end"]) for r in rows] == [
        ("dedicated_resource", 2, 0, 2),
        ("ecs.gn8v-8x.48xlarge", 3, 2, 5),
        ("ecs.gn8is-8x.32xlarge", 2, 5, 7),
        ("ml.gu7i.c8m30.1-gu30", 3, 7, 10),
    ]
    short = sl.allocate(5, 0, [sl.PoolEntry("a", 2)])
    assert _values(charts.allocation_chart(short))[-1]["entry"] == "unplaced"


def test_rate_band_and_profile_charts(store, fixtures) -> None:
    sl.ingest(store, fixtures / "events_parcae_p3trace.csv", spec="p3.2xlarge")
    sl.ingest(store, fixtures / "bands_aws_spot_advisor_2025-07-28_excerpt.json")
    rates = it.interruption_rates(store)
    (row,) = _values(charts.rates_chart(rates))
    assert row["cell"] == "aws · p3.2xlarge · ? · spot"
    assert row["per_month_low"] < row["per_month"] < row["per_month_high"]
    assert row["drift_low_per_month"] < row["per_month_low"]
    assert row["drift_high_per_month"] > row["per_month_high"]
    bands = _values(charts.bands_chart(it.bands_beside_logs(store)))
    assert sum(r["is_logs"] for r in bands) == 1 and len(bands) == 3
    prof = _values(charts.hour_of_day_chart(it.hour_of_day(it.lifecycles(store))))
    assert len(prof) == 24
    assert sum(r["interruptions"] for r in prof) == 167


def test_lead_time_chart(store, fixtures) -> None:
    sl.ingest(store, [EVENTS / "events_inventory.csv", EVENTS / "events_aws_eventbridge.json"])
    rows = _values(charts.lead_time_chart(it.lead_times(store)))
    assert sorted((r["series"], r["lead_s"]) for r in rows) == [
        ("aws: rebalance → reclaim", 840.0),
        ("aws: warning → reclaim", 120.0),
    ]
    # the x axis is the lead in seconds, and says so
    x = charts.lead_time_chart(it.lead_times(store)).to_dict()["encoding"]["x"]
    assert (x["field"], x["title"]) == ("lead_s", "lead time (s)")
