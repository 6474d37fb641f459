"""Rolling-origin backtests (spotlab.advise.backtest).

Hand-worked series (on-demand 10.0, start-up 0 s): 1.0 from day 0, 2.0 from day 10, 1.0
from day 12, to day 20. Look-back 5 days, horizon 5 days, step 5 days, end day 20 → origins
days 5, 10, 15 (day 0 would leave no look-back).

    spotlab: the market never exceeds on-demand → bid 10.00 (the pay-as-you-go price) at
             every origin; test windows held throughout:
             origin 5: cost 1.0;  origin 10: (2 × 2 + 3 × 1)/5 = 1.4;  origin 15: 1.0
             pooled cost ÷ on-demand = (1.0 + 1.4 + 1.0) × 5 / (10 × 15) = 0.11333
    lowest level holding spot ≥ 99 %: 1.0, 1.0, then 2.0 (trained on 2 days at 2.0):
             origin 10 opens at 2.0 above the bid 1.0 (no crossing: the window opens there):
             spot 3/5, cost 0.6 × 1 + 0.4 × 10 = 4.6
    previous heuristic: that level + 10 % of on-demand (1.0) = 2.0, 2.0, 3.0: always held
    20 % rule: 2.0 throughout: always held
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

import spotlab as sl
from spotlab.advise.backtest import MAX_RUNS, backtest_bids, compare_strategies
from spotlab.errors import AnalysisError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def series(rows, od=10.0, zone="cn-hangzhou-h", spec="ecs.t"):
    return pl.DataFrame(
        {
            "provider": "alibaba",
            "zone": zone,
            "spec": spec,
            "ts": [T0 + timedelta(days=d) for d, _ in rows],
            "spot_price": [p for _, p in rows],
            "on_demand_price": od,
            "currency": "CNY",
        }
    )


RISE = [(0, 1.0), (10, 2.0), (12, 1.0)]
END = T0 + timedelta(days=20)
KW = dict(window="5d", horizon="5d", end=END, startup_seconds=0.0)


def runs_of(r, strategy):
    return r.runs.filter(pl.col("strategy") == strategy).sort("origin")


def test_hand_worked_backtest():
    r = backtest_bids(series(RISE), **KW)
    s = runs_of(r, "spotlab")
    assert s["origin"].to_list() == [T0 + timedelta(days=d) for d in (5, 10, 15)]
    assert s["bid"].to_list() == [10.0, 10.0, 10.0]
    assert s["effective_cost"].to_list() == pytest.approx([1.0, 1.4, 1.0])
    assert s["availability"].to_list() == [1.0, 1.0, 1.0]
    low = runs_of(r, "lowest_level")
    assert low["bid"].to_list() == [1.0, 1.0, 2.0]
    assert low["spot_share"].to_list() == pytest.approx([1.0, 0.6, 1.0])
    assert low["effective_cost"].to_list() == pytest.approx([1.0, 4.6, 1.0])
    assert runs_of(r, "previous")["bid"].to_list() == [2.0, 2.0, 3.0]
    assert runs_of(r, "rule20")["bid"].to_list() == [2.0, 2.0, 2.0]
    assert runs_of(r, "max_observed")["bid"].to_list() == [1.0, 1.0, 2.0]
    assert runs_of(r, "on_demand")["bid"].to_list() == [10.0, 10.0, 10.0]
    summary = {d["strategy"]: d for d in r.summary.to_dicts()}
    assert list(summary) == [
        "spotlab", "rule20", "max_observed", "on_demand", "lowest_level", "previous",
    ]  # fmt: skip
    assert summary["spotlab"]["mean_cost_ratio"] == pytest.approx(3.4 / 30)
    assert summary["lowest_level"]["mean_cost_ratio"] == pytest.approx(6.6 / 30)
    assert summary["spotlab"]["share_series_met"] == 1.0 and summary["spotlab"]["runs"] == 3


def test_service_availability_counts_downtime_beyond_the_warning():
    """Start-up 900 s, Alibaba warns 300 s ahead: each reclaim leaves the service short
    600 s. The lowest-level bid at origin 15 (2.0) is not crossed; at origin 10 the window
    opens above it (no crossing either): availability stays 1. A series with a rise inside
    the horizon: 1.0, 3.0 at day 12.5, back to 1.0 at day 13 → the 1.0 bid of origin 10 is
    crossed once in 5 days: downtime 600 s / (5 × 86400 s) → 0.9986111."""
    rows = [(0, 1.0), (12.5, 3.0), (13, 1.0)]
    r = backtest_bids(series(rows), **{**KW, "startup_seconds": 900.0})
    low = runs_of(r, "lowest_level").filter(pl.col("origin") == T0 + timedelta(days=10))
    assert low["bid"][0] == 1.0
    assert low["availability"][0] == pytest.approx(1 - 600 / (5 * 86400))
    assert low["crossings_per_day"][0] == pytest.approx(0.2)


def test_regular_advice_is_served_on_demand():
    # the market (2.0) sits above on-demand (1.5) from day 10: trained on [5, 10) → spot at
    # 1.5; trained on [10, 15) (2 days at 2.0, 3 at 1.0) → spot, still cheaper than 1.5;
    # with on-demand 0.5 (below every price) → regular at every origin
    r = backtest_bids(series(RISE, od=0.5), **KW)
    s = runs_of(r, "spotlab")
    assert s["on_regular"].all() and s["bid"].is_null().all()
    assert s["availability"].to_list() == [1.0, 1.0, 1.0]
    assert s["cost_ratio"].to_list() == [1.0, 1.0, 1.0]


def test_compare_strategies_marks_domination():
    summary = pl.DataFrame(
        {
            "strategy": ["spotlab", "a", "b", "c"],
            "mean_cost_ratio": [0.40, 0.30, 0.39, 0.30],
            "mean_availability": [0.999, 0.999, 0.90, 0.99],
            "share_series_met": [1.0, 1.0, 0.0, 0.5],
        }
    )
    c = {r["strategy"]: r for r in compare_strategies(summary).iter_rows(named=True)}
    # a: 25 % cheaper at the same availability: dominates
    assert c["a"]["dominates"] and c["a"]["cost_change"] == pytest.approx(-0.25)
    # b: within 2 % on cost, far less available: does not
    assert not c["b"]["dominates"]
    # c: cheaper but 0.9 points less available: a trade-off, not domination
    assert not c["c"]["dominates"] and c["c"]["availability_change"] == pytest.approx(-0.009)


def test_explicit_origins_limits_and_errors():
    r = backtest_bids(series(RISE), origins=["2026-01-11T00:00:00Z"], **KW)
    assert r.runs["origin"].unique().to_list() == [T0 + timedelta(days=10)]
    with pytest.raises(AnalysisError, match="no origin leaves"):
        backtest_bids(series(RISE), window="30d", horizon="30d", end=END)
    with pytest.raises(AnalysisError, match="horizon"):
        backtest_bids(series(RISE), horizon="all")
    # five years with a one-minute step: millions of runs, refused before any is built
    long = series([(-1826, 1.0), (0, 1.0)])
    with pytest.raises(AnalysisError, match=f"more than {MAX_RUNS:,}"):
        backtest_bids(long, window="1d", horizon="1m")
    with pytest.raises(AnalysisError, match=r"unknown strategy 'rule2'\. Did you mean 'rule20'"):
        backtest_bids(series(RISE), strategies=["rule2"], **KW)


def test_backtest_on_the_bundled_sample(store):
    sl.ingest(store, sl.notebook.BUNDLED_DATA)
    r = backtest_bids(store, provider="alibaba", window="7d", horizon="7d", step="7d")
    assert r.summary["series"].to_list() == [24] * 6
    assert r.runs.filter(pl.col("strategy") == "spotlab")["bid"].is_not_null().all()
    assert not compare_strategies(r.summary)["dominates"].any()


def test_backtest_on_real_gcp_gpu_history(store, shared_data):
    path = (
        shared_data
        / "gcp-pricing-history-cyclenerd"
        / "gcp_vm_price_changepoints_2022-02_to_2026-07.csv.gz"
    )
    sl.ingest(store, path, gpu_only=True)
    r = backtest_bids(store, specs=["a2-highgpu-1g", "g2-standard-4"], window="90d")
    s = {d["strategy"]: d for d in r.summary.to_dicts()}
    # GCP GPU spot prices sit well above 20% of on-demand: the seed's rule holds spot rarely
    assert s["rule20"]["mean_spot_share"] < 0.5
    assert s["spotlab"]["share_series_met"] >= 0.95
    assert s["spotlab"]["mean_cost_ratio"] <= s["max_observed"]["mean_cost_ratio"]
    assert not compare_strategies(r.summary)["dominates"].any()
