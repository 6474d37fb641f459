"""Time-weighted price analytics on change-point series (spotlab.prices).

The 3-point series used throughout, worked by hand (on-demand 10.0 per hour):

    00:00  2.0   holds 6 h
    06:00  5.0   holds 2 h
    08:00  3.0   holds 16 h, until the window end at 24:00

    time-weighted mean = (2×6 + 5×2 + 3×16) / 24 = 70/24 = 2.9167  (the row mean is 3.33)
    share of time at or below 2.0 = 6/24, at or below 3.0 = 22/24, at or below 5.0 = 1
    p50 = p90 = 3.0 (first level whose share reaches 0.5 / 0.9); p99 = 5.0
    share above 20% of on-demand (2.0) = 18/24 = 0.75
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

import spotlab as sl
from spotlab.errors import AnalysisError
from spotlab.prices import parse_window, price_stats, price_steps, resample_prices, window_label

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(hours=24)


def points(rows: list[tuple[float, float]], zone: str = "cn-hangzhou-h", spec: str = "ecs.t"):
    """Rows of (hours after T0, price) as a spot_prices-shaped frame (on-demand 10)."""
    return pl.DataFrame(
        {
            "provider": "alibaba",
            "zone": zone,
            "spec": spec,
            "ts": [T0 + timedelta(hours=h) for h, _ in rows],
            "spot_price": [p for _, p in rows],
            "on_demand_price": 10.0,
            "currency": "CNY",
        }
    )


THREE = [(0, 2.0), (6, 5.0), (8, 3.0)]


def test_three_point_series_by_hand():
    s = price_stats(points(THREE), window="all", end=END).row(0, named=True)
    assert s["hours"] == pytest.approx(24.0)
    assert s["points"] == 3
    assert s["changes"] == 2
    assert s["mean"] == pytest.approx(70 / 24)
    assert s["min"] == 2.0 and s["max"] == 5.0
    assert (s["p50"], s["p90"], s["p99"]) == (3.0, 3.0, 5.0)
    assert s["on_demand"] == 10.0
    assert s["discount"] == pytest.approx(70 / 24 / 10)
    assert s["share_above_rule"] == pytest.approx(0.75)
    assert s["newest_age_h"] == pytest.approx(16.0)
    assert s["region"] == "cn-hangzhou"
    assert s["flags"] == "short history: 24.0 h of data (< 48 h)"


def test_point_carried_into_the_window():
    # window 20 h ending 24:00 starts at 04:00, inside the 2.0 step: 2 h of 2.0 count
    s = price_stats(points(THREE), window="20h", end=END).row(0, named=True)
    assert s["hours"] == pytest.approx(20.0)
    assert s["mean"] == pytest.approx((2 * 2 + 5 * 2 + 3 * 16) / 20)
    assert s["points"] == 3  # the carried-in 2.0 and the two inside
    # 12 h window: only the 08:00 point, carried in; nothing changes
    s = price_stats(points(THREE), window="12h", end=END).row(0, named=True)
    assert (s["mean"], s["points"], s["changes"]) == (3.0, 1, 0)


def test_default_end_is_the_providers_newest_point():
    two = pl.concat([points(THREE), points([(0, 1.0), (10, 1.5)], zone="cn-hangzhou-i")])
    s = price_stats(two, window="all").sort("zone")
    # newest point of the provider is 10:00; the 08:00 series holds 3.0 for 2 h to it
    assert s["end"].to_list() == [T0 + timedelta(hours=10)] * 2
    assert s["mean"][0] == pytest.approx((2 * 6 + 5 * 2 + 3 * 2) / 10)
    # the newest point itself holds for zero time: 1.0 for all 10 h
    assert s["mean"][1] == pytest.approx(1.0)


def test_gaps_hold_the_earlier_price():
    gap = points([(0, 2.0), (24 * 10, 4.0)])
    s = price_stats(gap, window="all", end=T0 + timedelta(days=11)).row(0, named=True)
    assert s["mean"] == pytest.approx((2 * 10 + 4 * 1) / 11)
    assert s["p90"] == 2.0 and s["p99"] == 4.0


def test_unsorted_and_duplicate_rows():
    base = price_stats(points(THREE), window="all", end=END)
    shuffled = points(THREE)[[2, 0, 1]]
    assert price_stats(shuffled, window="all", end=END).equals(base)
    # a duplicate time: the later row of the input wins (a correction)
    dup = pl.concat([points([(6, 9.0)]), points(THREE)])
    assert price_stats(dup, window="all", end=END)["mean"][0] == pytest.approx(70 / 24)
    dup_last = pl.concat([points(THREE), points([(6, 9.0)])])
    got = price_stats(dup_last, window="all", end=END)["mean"][0]
    assert got == pytest.approx((2 * 6 + 9 * 2 + 3 * 16) / 24)


def test_one_point_and_constant_series():
    one = price_stats(points([(0, 4.0)]), window="all", end=END).row(0, named=True)
    assert (one["mean"], one["p99"], one["points"], one["changes"]) == (4.0, 4.0, 1, 0)
    const = points([(0, 4.0), (5, 4.0), (9, 4.0)])
    c = price_stats(const, window="all", end=END).row(0, named=True)
    assert (c["mean"], c["min"], c["max"], c["changes"]) == (4.0, 4.0, 4.0, 0)


def test_window_without_points_is_a_clear_error_or_a_flag():
    # one series only, window ending before its first point
    s = price_stats(points(THREE), window="7d", end=T0 - timedelta(days=1))
    assert s["flags"][0] == "no price point in the window" and s["mean"][0] is None
    with pytest.raises(AnalysisError, match="no price series match"):
        price_stats(points(THREE), specs="ecs.nope")
    with pytest.raises(AnalysisError, match=r"Did you mean 'ecs\.t'"):
        price_stats(points(THREE), specs="ecs.tt")


def test_stale_flag():
    s = price_stats(points(THREE), window="30d", end=T0 + timedelta(days=3)).row(0, named=True)
    assert "stale: newest point 64.0 h before the window end (> 24 h)" in s["flags"]


def test_store_and_frame_agree(store, tmp_path):
    # the canonical CSV format, loaded by ingestion, gives the same statistics
    path = tmp_path / "three.csv"
    points(THREE).with_columns(
        pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"), region=pl.lit("cn-hangzhou")
    ).write_csv(path)
    sl.ingest(store, path)
    a = price_stats(store, window="all", end=END)
    b = price_stats(points(THREE), window="all", end=END)
    assert a.drop("start").equals(b.drop("start"))


def test_bad_inputs():
    with pytest.raises(AnalysisError, match="cannot read the window"):
        parse_window("30 days please")
    with pytest.raises(AnalysisError, match="lacks the columns"):
        price_stats(pl.DataFrame({"zone": ["a"], "ts": [T0]}))
    with pytest.raises(AnalysisError, match="Store or a polars DataFrame"):
        price_stats([1, 2, 3])  # type: ignore[arg-type]
    assert parse_window("all") is None and parse_window("48h") == timedelta(hours=48)
    assert window_label("30d") == "30 days" and window_label("48h") == "48 hours"


def test_price_steps_close_the_last_step():
    steps = price_steps(points(THREE), "ecs.t", window="20h", end=END)
    assert steps["ts"].to_list() == [
        T0 + timedelta(hours=h) for h in (4, 6, 8, 24)
    ]  # carried-in point moved to the window start, a closing row at the end
    assert steps["price"].to_list() == [2.0, 5.0, 3.0, 3.0]


def test_resample_max_keeps_spikes_and_last_takes_the_value_in_effect():
    steps = price_steps(points(THREE), "ecs.t", window="all", end=END)
    by_4h = resample_prices(steps, every="4h", how="max")
    # 04:00-08:00 contains the 5.0 spike; 08:00-12:00 is all 3.0
    assert by_4h["price"].to_list()[:3] == [2.0, 5.0, 3.0]
    last = resample_prices(steps, every="4h", how="last")
    assert last["price"].to_list()[:3] == [2.0, 2.0, 3.0]
    mean = resample_prices(steps, every="8h", how="mean")
    assert mean["price"][0] == pytest.approx((2 * 6 + 5 * 2) / 8)


def test_price_summary_still_works(store, tmp_path):
    path = tmp_path / "p.csv"
    points(THREE).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(path)
    sl.ingest(store, path)
    s = sl.prices.price_summary(store).row(0, named=True)
    assert s["points"] == 3 and s["tw_mean"] == pytest.approx((2 * 6 + 5 * 2) / 8)
