"""Interruption analytics: hand-worked rates, intervals, lifecycles, bands and shrinkage."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.advise import interruptions as it
from tests.conftest import EVENTS

T0 = datetime(2024, 6, 1, tzinfo=UTC)

# chi-square quantiles from printed tables (not from scipy), for the exact Poisson interval
CHI2_05_DF2 = 0.102587
CHI2_05_DF4 = 0.710723
CHI2_05_DF6 = 1.635383
CHI2_95_DF2 = 5.991465
CHI2_95_DF4 = 9.487729
CHI2_95_DF6 = 12.591587
CHI2_95_DF8 = 15.507313


def test_poisson_interval_by_hand() -> None:
    lo, hi = it.poisson_interval(3, 100.0)
    assert lo == pytest.approx(CHI2_05_DF6 / 200, rel=1e-5)  # 0.008177
    assert hi == pytest.approx(CHI2_95_DF8 / 200, rel=1e-5)  # 0.077537
    lo, hi = it.poisson_interval(0, 100.0)
    assert lo == 0.0
    # with no event the upper bound is -ln(0.05)/T
    assert hi == pytest.approx(-math.log(0.05) / 100, rel=1e-6)
    assert hi == pytest.approx(CHI2_95_DF2 / 200, rel=1e-5)
    assert all(math.isnan(x) for x in it.poisson_interval(2, 0.0))


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 500), t=st.floats(0.5, 1e6))
def test_interval_brackets_the_rate_and_grows_with_k(k: int, t: float) -> None:
    lo, hi = it.poisson_interval(k, t)
    assert 0 <= lo <= k / t <= hi
    lo2, hi2 = it.poisson_interval(k + 1, t)
    assert lo2 >= lo and hi2 > hi
    vlo, vhi = it.poisson_intervals([k, k + 1], [t, 0.0])
    assert vlo[0] == pytest.approx(lo) and vhi[0] == pytest.approx(hi)
    assert math.isnan(vlo[1]) and math.isnan(vhi[1])


def test_bands() -> None:
    assert [it.band_of(p) for p in (0.0, 4.99, 5.0, 12.0, 19.9, 20.0, 100.0)] == [
        "<5%", "<5%", "5-10%", "10-15%", "15-20%", ">20%", ">20%",
    ]  # fmt: skip
    assert [it.band_of(p, it.ALIBABA_BANDS) for p in (2.9, 3.0, 7.0, 10.0)] == [
        "0-3%", "3-5%", "5-10%", "10-100%",
    ]  # fmt: skip
    assert it.band_of(None) is None


def test_lifecycle_csv_rates_by_hand(store, fixtures) -> None:
    sl.ingest(store, fixtures / "events_lifecycle.csv")
    lives = it.lifecycles(store).sort("instance_id")
    got = {r["instance_id"]: r for r in lives.to_dicts()}
    # eas-sd-1: launched 00:00, warned 10:00, reclaimed 10:05 → 10 h 5 min, lead 300 s
    assert got["eas-sd-1"]["hours"] == pytest.approx(10 + 5 / 60)
    assert got["eas-sd-1"]["lead_s"] == 300.0
    # eas-sd-2: warned at 20:00+08:00 = 12:00 UTC, reclaimed 12:04 → lead 240 s
    assert got["eas-sd-2"]["hours"] == pytest.approx(12 + 4 / 60)
    assert got["eas-sd-2"]["lead_s"] == 240.0
    # eas-sd-3: rebuilt, terminated after 24 h; not interrupted, not censored
    assert (got["eas-sd-3"]["hours"], got["eas-sd-3"]["interrupted"]) == (24.0, False)
    assert got["eas-sd-3"]["censored"] is False
    # spec/zone/is_spot of eas-sd-1's later rows come from its launch row
    assert got["eas-sd-1"]["zone"] == "cn-hangzhou-h" and got["eas-sd-1"]["is_spot"] is True

    rates = it.interruption_rates(store)
    h = rates.filter(pl.col("zone") == "cn-hangzhou-h").row(0, named=True)
    t = 10 + 5 / 60 + 12 + 4 / 60  # 22.15 instance-hours
    assert (h["instances"], h["interruptions"]) == (2, 2)
    assert h["exposure_hours"] == pytest.approx(t)
    assert h["exposure_source"] == "lifecycles"
    assert h["rate_per_hour"] == pytest.approx(2 / t)
    assert h["rate_low"] == pytest.approx(CHI2_05_DF4 / (2 * t), rel=1e-5)
    assert h["rate_high"] == pytest.approx(CHI2_95_DF6 / (2 * t), rel=1e-5)
    assert h["per_month"] == pytest.approx(2 / t * 730)
    assert h["mtti_hours"] == pytest.approx(t / 2)
    assert h["aws_band"] == ">20%" and h["alibaba_band"] == "10-100%"
    i = rates.filter((pl.col("zone") == "cn-hangzhou-i") & pl.col("is_spot")).row(0, named=True)
    assert (i["interruptions"], i["exposure_hours"], i["rate_low"]) == (0, 24.0, 0.0)
    assert i["rate_high"] == pytest.approx(-math.log(0.05) / 24, rel=1e-6)
    assert i["mtti_hours"] is None

    summary = it.lead_time_summary(it.lead_times(store))
    row = summary.row(0, named=True)
    assert (row["n"], row["min_s"], row["max_s"], row["median_s"]) == (2, 240.0, 300.0, 270.0)


def test_exposure_table_gives_the_denominator(store, tmp_path) -> None:
    exposure = tmp_path / "exposure.csv"
    exposure.write_text(
        "provider,zone,spec,is_spot,instance_hours\n"
        "alibaba,cn-beijing-l,ecs.gn7i-c8g1.2xlarge,true,14880\n"
    )
    log = tmp_path / "warnings.csv"
    log.write_text(
        "provider,zone,spec,instance_id,event,ts\n"
        "alibaba,cn-beijing-l,ecs.gn7i-c8g1.2xlarge,i-1,interruption_warning,2024-05-03T01:00:00Z\n"
    )
    sl.ingest(store, [exposure, log])
    r = it.interruption_rates(store).row(0, named=True)
    t = 14880.0  # 20 instances x 744 h
    assert (r["interruptions"], r["exposure_hours"], r["exposure_source"]) == (
        1,
        t,
        "exposure table",
    )
    assert r["rate_per_hour"] == pytest.approx(1 / t)
    assert r["rate_low"] == pytest.approx(CHI2_05_DF2 / (2 * t), rel=1e-5)
    assert r["rate_high"] == pytest.approx(CHI2_95_DF4 / (2 * t), rel=1e-5)
    # 730/14880 = 0.0491 interruptions per instance-month → 4.79% of instances a month
    assert r["monthly_pct"] == pytest.approx(100 * (1 - math.exp(-730 / t)))
    assert (r["aws_band"], r["alibaba_band"]) == ("<5%", "3-5%")


def test_cloud_events_attribution_and_leads(store, fixtures) -> None:
    sl.ingest(
        store,
        [
            EVENTS / "events_inventory.csv",
            EVENTS / "events_alibaba_cloudmonitor.json",
            EVENTS / "events_alibaba_eventbridge.jsonl",
            EVENTS / "events_aws_eventbridge.json",
        ],
    )
    ev = it.attribute_events(it.load_events(store), it.load_inventory(store))
    how = dict(ev.group_by("instance_id").agg(pl.col("attributed_from").first()).iter_rows())
    assert how["i-bp1aaa"] == "inventory"
    assert how["i-bp1zzz"] is None
    lives = {r["instance_id"]: r for r in it.lifecycles(store).to_dicts()}
    a = lives["i-bp1aaa"]
    # Running 2024-03-31 16:00Z, warning 04-01 02:00Z, Deleted 02:05Z
    assert (a["spec"], a["zone"], a["service"]) == (
        "ecs.gn7i-c8g1.2xlarge",
        "cn-hangzhou-h",
        "sd-webui",
    )
    assert a["lead_s"] == 300.0 and a["hours"] == pytest.approx(10 + 5 / 60)
    b = lives["i-bp1bbb"]
    # warned at 04:00Z, no reclaim logged: interrupted at warning + 5 min (Alibaba's notice)
    assert b["interrupted_at"] == datetime(2024, 4, 1, 4, 5, tzinfo=UTC)
    assert b["lead_s"] is None
    c = lives["i-bp1ccc"]
    # regular, still running: censored at the end of its own file (08:30Z Stopping was
    # rejected, so the file's last loaded event is 04:00Z)
    assert (c["is_spot"], c["censored"]) == (False, True)
    assert c["hours"] == pytest.approx(3.5)
    aws = lives["i-0abc1234567890def"]
    assert (aws["lead_s"], aws["rebalance_lead_s"]) == (120.0, 840.0)
    assert aws["hours"] == pytest.approx(10 + 2 / 60)
    summary = it.lead_time_summary(it.lead_times(store))
    kinds = {(r["provider"], r["kind"]): r["n"] for r in summary.to_dicts()}
    assert kinds == {
        ("alibaba", "warning → reclaim"): 1,
        ("aws", "rebalance → reclaim"): 1,
        ("aws", "warning → reclaim"): 1,
    }


def _frame(rows: list[tuple[str, str, str, str, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "provider": [r[0] for r in rows],
            "spec": [r[1] for r in rows],
            "zone": [r[2] for r in rows],
            "instance_id": [r[3] for r in rows],
            "event": [r[4] for r in rows],
            "ts": [r[5] for r in rows],
            "is_spot": [True] * len(rows),
            "source_id": [1] * len(rows),
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC"), "source_id": pl.Int32},
    )


def _cell(spec: str, zone: str, n: int, hours: float, k: int) -> list[tuple]:
    """n instances that each run ``hours``; the first k end reclaimed, the others terminated."""
    out = []
    for j in range(n):
        iid = f"{spec}/{zone}/{j}"
        out.append(("alibaba", spec, zone, iid, "launched", T0))
        end = "reclaimed" if j < k else "terminated"
        out.append(("alibaba", spec, zone, iid, end, T0 + timedelta(hours=hours)))
    return out


def test_sparse_cells_are_shrunk_dense_cells_stay_raw() -> None:
    rows = (
        _cell("ecs.gn7i-c8g1.2xlarge", "cn-hangzhou-h", 40, 10.0, 20)  # 20 / 400 h
        + _cell("ecs.gn7i-c8g1.2xlarge", "cn-hangzhou-i", 40, 10.0, 12)  # 12 / 400 h
        + _cell("ecs.gn8is.2xlarge", "cn-hangzhou-h", 30, 10.0, 3)  # 3 / 300 h
        + _cell("ecs.gn8is.2xlarge", "cn-hangzhou-i", 1, 5.0, 0)  # 0 / 5 h: sparse
    )
    events = _frame(rows)
    features = pl.DataFrame(
        {
            "spec": ["ecs.gn7i-c8g1.2xlarge", "ecs.gn8is.2xlarge"],
            "family": ["ecs.gn7i", "ecs.gn8is"],
            "gpu_model": ["A10", "L20"],
        }
    )
    rates = it.interruption_rates(events, features=features).sort("spec", "zone")
    used = dict(zip(rates["zone"] + " " + rates["spec"], rates["used"], strict=True))
    assert used["cn-hangzhou-h ecs.gn7i-c8g1.2xlarge"] == "raw"  # 20 >= 10 events
    assert used["cn-hangzhou-i ecs.gn7i-c8g1.2xlarge"] == "raw"
    assert used["cn-hangzhou-h ecs.gn8is.2xlarge"] == "modelled"
    sparse = rates.filter(pl.col("exposure_hours") == 5.0).row(0, named=True)
    assert sparse["rate_per_hour"] == 0.0
    # the blend (k + 200 m) / (T + 200) with the model's m for this cell
    m = sparse["rate_model"]
    assert m > 0
    assert sparse["rate_modelled"] == pytest.approx((0 + 200 * m) / (5 + 200))
    assert sparse["rate_used"] == sparse["rate_modelled"]
    assert "modelled" in sparse["note"]
    # the model pools: gn8is cells sit below gn7i cells, as their counts do
    gn7i = rates.filter(pl.col("spec").str.contains("gn7i"))["rate_model"]
    gn8is = rates.filter(pl.col("spec").str.contains("gn8is"))["rate_model"]
    assert gn8is.max() < gn7i.min()
    dense = rates.filter(pl.col("used") == "raw")
    assert (dense["rate_used"] == dense["rate_per_hour"]).all()


def test_hour_of_day_profile_splits_exposure() -> None:
    start = datetime(2024, 6, 1, 0, 30, tzinfo=UTC)
    events = _frame(
        [
            ("aws", "p3.2xlarge", "us-east-1a", "n1", "launched", start),
            ("aws", "p3.2xlarge", "us-east-1a", "n1", "reclaimed", start + timedelta(hours=2)),
        ]
    )
    prof = it.hour_of_day(it.lifecycles(events)).filter(pl.col("exposure_hours") > 0)
    assert prof.select("hour", "exposure_hours", "interruptions").rows() == [
        (0, 0.5, 0),
        (1, 1.0, 0),
        (2, 0.5, 1),
    ]
    assert prof.filter(pl.col("hour") == 2)["rate_per_hour"][0] == 2.0
    shanghai = it.hour_of_day(it.lifecycles(events), tz="Asia/Shanghai")
    assert shanghai.filter(pl.col("interruptions") > 0)["hour"].to_list() == [10]


def test_report_on_parcae_and_advisor(store, fixtures) -> None:
    sl.ingest(store, fixtures / "events_parcae_p3trace.csv", spec="p3.2xlarge")
    sl.ingest(store, fixtures / "bands_aws_spot_advisor_2025-07-28_excerpt.json")
    report = it.interruption_report(store)
    src = report.sources.row(0, named=True)
    assert (src["rows_read"], src["rows_loaded"], src["rows_rejected"]) == (344, 344, 0)
    assert dict(zip(report.events["event"], report.events["events"], strict=True)) == {
        "launched": 177,
        "reclaimed": 167,
    }
    inst = report.instances.row(0, named=True)
    assert (inst["instances"], inst["interrupted"], inst["censored"]) == (177, 167, 10)
    rate = report.rates.row(0, named=True)
    assert rate["interruptions"] == 167
    assert rate["rate_per_hour"] == pytest.approx(167 / rate["exposure_hours"])
    assert rate["aws_band"] == ">20%"
    # the excerpt has p3.2xlarge (Linux) in us-east-1 and eu-west-1, both >20%
    feed = report.bands.filter(pl.col("source") != "logs")
    assert sorted(feed["region"]) == ["eu-west-1", "us-east-1"]
    assert set(feed["band_label"]) == {">20%"}
    assert report.unattributed.height == 0
    titles = [t for t, _ in report.tables()]
    assert not any("unknown" in t for t in titles)


def test_report_needs_events(store) -> None:
    with pytest.raises(sl.AnalysisError, match="no instance events"):
        it.interruption_report(store)


# -- intervals that cover drift (issue #13) -----------------------------------------------


def test_split_half_of_the_parcae_log_by_hand(store, fixtures):
    """The bundled Parcae log split at its time midpoint (5 h 41 min of 11 h 22 min):
    first half 91 reclaims over 161.38 instance-hours = 0.5639/h, exact Poisson 90 %
    0.4703-0.6712; second half 76 over 111.73 h = 0.6802/h: outside (issue #13's figures).
    The drift interval: dispersion of the first half's 3 equal parts, widened for 2 degrees
    of freedom, covers it."""
    from spotlab.advise import interruptions as it

    sl.ingest(store, sl.notebook.BUNDLED_DATA / "parcae_p3trace_lifecycle.csv")
    pieces, events = it.log_pieces(it.lifecycles(store), ("provider", "spec"))
    (r,) = it.split_half_check(pieces, events, ("provider", "spec")).to_dicts()
    assert (r["first_k"], r["second_k"]) == (91, 76)
    assert r["first_hours"] == pytest.approx(161.3833, abs=1e-3)
    assert r["first_rate"] == pytest.approx(0.56387, abs=1e-5)
    assert (r["poisson_low"], r["poisson_high"]) == pytest.approx((0.47030, 0.67123), abs=1e-5)
    assert r["second_rate"] == pytest.approx(0.68019, abs=1e-5)
    assert not r["covered_poisson"] and r["covered_drift"]
    assert r["drift_low"] < r["poisson_low"] and r["drift_high"] > r["poisson_high"]


def test_overdispersion_and_rate_intervals_by_hand():
    from spotlab.advise import interruptions as it

    # buckets of 10 h each with 2, 8 and 5 interruptions: rate 15/30 = 0.5, expected 5 each:
    # X² = (9 + 9 + 0)/5 = 3.6 over 2 degrees of freedom → φ = 1.8
    assert it.overdispersion([2, 8, 5], [10, 10, 10]) == pytest.approx(1.8)
    assert it.overdispersion([5, 5, 5], [10, 10, 10]) == 1.0  # never below Poisson
    assert it.overdispersion([3], [10]) == 1.0
    # φ = 1, no horizon: the exact Poisson interval
    (lo,), (hi,) = it.rate_intervals([15], [30.0])
    assert (lo, hi) == pytest.approx(it.poisson_interval(15, 30.0))
    # φ = 2 is the interval of 7.5 events over 15 h: the same centre, wider
    (lo2,), (hi2,) = it.rate_intervals([15], [30.0], 2.0)
    assert (lo2, hi2) == pytest.approx(it.poisson_interval(7.5, 15.0))
    # a prediction over a period as long: the exposure halves (30 × 30 / 60 = 15 h)
    (lo3,), (hi3,) = it.rate_intervals([15], [30.0], 1.0, horizon_hours=[30.0])
    assert (lo3, hi3) == pytest.approx(it.poisson_interval(7.5, 15.0))
    # the t-widening for an estimated dispersion: 3 buckets, 2 degrees of freedom:
    # (t(0.95, 2) / z(0.95))² = (2.919986 / 1.644854)² = 3.151424
    assert it.effective_dispersion(1.0, 3) == pytest.approx(3.151424, abs=1e-6)


def test_rates_carry_the_drift_interval(store):
    sl.ingest(store, sl.notebook.BUNDLED_DATA / "parcae_p3trace_lifecycle.csv")
    r = sl.interruption_rates(store, by=("provider", "spec", "is_spot")).row(0, named=True)
    assert r["rate_low_drift"] < r["rate_low"] < r["rate_per_hour"] < r["rate_high"]
    assert r["rate_high"] < r["rate_high_drift"] and r["dispersion"] > 1


def test_unknown_cell_columns_fail_with_a_hint(store):
    from spotlab.advise.interruptions import check_by

    with pytest.raises(sl.SpotlabError, match="Did you mean 'spec'"):
        check_by(["provider", "spce"])
    with pytest.raises(sl.SpotlabError, match="give the cell columns"):
        check_by([])
