"""The bid explorer widget and the bid charts: controls recompute through the library."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest

import spotlab as sl
from spotlab.charts.bids import backtest_chart, bid_chart, bid_curve_chart
from spotlab.prices import price_steps
from spotlab.widgets.bids import ALL_ZONES, BidExplorer


@pytest.fixture(scope="module")
def bundled() -> Iterator[sl.Store]:
    with sl.Store(":memory:") as s:
        sl.ingest(s, sl.notebook.BUNDLED_DATA)
        yield s


def test_controls_recompute(bundled: sl.Store) -> None:
    ex = BidExplorer(bundled, spec="ecs.gn8is.2xlarge")
    assert ex.zone.value == ALL_ZONES and ex.row is not None
    spec_bid = ex.row["bid"]
    assert ex.row["zones"] == "cn-hangzhou-h, cn-hangzhou-i, cn-hangzhou-j"
    assert "ecs.gn8is.2xlarge" in ex.reason.value and "20% rule" in ex.reason.value
    ex.zone.value = "cn-hangzhou-h"
    assert ex.row["zone"] == "cn-hangzhou-h" and ex.row["bid"] <= spec_bid
    ex.target.value = 0.9
    assert ex.advice is not None and ex.advice.params.target_availability == 0.9
    ex.window.value = "48h"
    assert ex.advice.window == "48h"
    assert ex.row["bid"] == 14.4  # the pay-as-you-go price: the market stays below it
    ex.max_price.value = 3.0
    assert ex.advice.params.max_price == 3.0 and ex.row["bid"] == 3.0
    assert ex.row["optimal_bid"] == 14.4 and "Budget cap 3.00" in ex.row["reason"]
    ex.spec.value = "ml.gu7i.c8m30.1-gu30"
    assert ex.zone.value == ALL_ZONES and ex.row["spec"] == "ml.gu7i.c8m30.1-gu30"


def test_charts_carry_the_lines(bundled: sl.Store) -> None:
    advice = sl.recommend_bids(bundled, "ecs.gn8is.2xlarge", "cn-hangzhou-h")
    row = advice.zones.row(0, named=True)
    spec = bid_chart(price_steps(bundled, "ecs.gn8is.2xlarge", "cn-hangzhou-h"), row).to_dict()
    rules = spec["layer"][1]
    names = rules["encoding"]["stroke"]["scale"]["domain"]
    assert names == ["on-demand", "recommended bid", "20% rule", "cost-optimal bid"]
    values = {d["line"]: d["price"] for d in spec["datasets"][rules["data"]["name"]]}
    assert values["20% rule"] == pytest.approx(2.88) and values["on-demand"] == 14.4
    assert values["recommended bid"] == row["bid"]
    assert spec["layer"][0]["mark"]["interpolate"] == "step-after"
    curve = sl.bid_curve(bundled, "ecs.gn8is.2xlarge", "cn-hangzhou-h")
    assert len(bid_curve_chart(curve, row).to_dict()["hconcat"]) == 2
    summary = pl.DataFrame(
        {"strategy": ["spotlab"], "share_series_met": [0.5], "mean_cost_ratio": [0.2]}
    )
    assert len(backtest_chart(summary).to_dict()["hconcat"]) == 2


def test_explorer_needs_prices() -> None:
    with sl.Store(":memory:") as empty, pytest.raises(sl.SpotlabError, match="ingest data"):
        BidExplorer(empty)
