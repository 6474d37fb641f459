"""The cost model (spotlab.advise.costmodel), worked by hand on tiny series.

THREE, one zone, on-demand 10.0 (the fallback), Alibaba (warning 300 s), start-up 360 s, so
a start-up bills 360/3600 = 0.1 h and a reclaim leaves the service short 60 s = 1/60 h;
window 00:00-24:00:

    00:00  2.0 for 6 h;  06:00  5.0 for 2 h;  08:00  3.0 for 16 h

    bid 2.0: spot 6/24 = 0.25 of the time, one crossing (2 -> 5) a day
      effective = 0.25 × 2 + 0.75 × 10 + (1/24 per h) × 0.1 × (10 + 2) = 0.5 + 7.5 + 0.05
                = 8.05
      downtime  = (1/24) × (1/60) = 1/1440 → availability 0.9993056
      total     = 8.05 + 10/1440 = 8.0569444
    bid 3.0: spot 22/24, mean paid (2×6 + 3×16)/22 = 60/22, one crossing
      effective = 60/24 + (2/24) × 10 + (1/24) × 0.1 × (10 + 60/22) = 3.3863636
    bid 5.0 (and 10.0): spot all the time at 70/24 = 2.9166667, no crossing, availability 1
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from spotlab.advise import costmodel as cm
from spotlab.advise.bids import BidParams, bid_curve, recommend_bids
from spotlab.errors import AnalysisError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(hours=24)
THREE = [(0, 2.0), (6, 5.0), (8, 3.0)]
HAND = dict(window="all", end=END, startup_seconds=360.0, holdout=False)


def points(rows, zone="cn-hangzhou-h", spec="ecs.t", od=10.0, unit="hours"):
    return pl.DataFrame(
        {
            "provider": "alibaba",
            "zone": zone,
            "spec": spec,
            "ts": [T0 + timedelta(**{unit: t}) for t, _ in rows],
            "spot_price": [p for _, p in rows],
            "on_demand_price": od,
            "currency": "CNY",
        }
    )


def test_curve_of_the_three_point_series():
    c = bid_curve(points(THREE), window="all", end=END, startup_seconds=360.0)
    assert c["bid"].to_list() == [2.0, 3.0, 5.0]
    assert c["spot_share"].to_list() == pytest.approx([0.25, 22 / 24, 1.0])
    assert c["crossings_per_day"].to_list() == pytest.approx([1.0, 1.0, 0.0])
    assert c["effective_cost"].to_list() == pytest.approx([8.05, 3.3863636, 70 / 24])
    assert c["availability"].to_list() == pytest.approx([1 - 1 / 1440, 1 - 1 / 1440, 1.0])
    assert c["total_cost"][0] == pytest.approx(8.05 + 10 / 1440)
    assert c["cost_ratio"][2] == pytest.approx(70 / 240)


def test_the_bid_is_the_pay_as_you_go_price_when_the_market_stays_below_it():
    # candidates: 10 (the fallback price; 5.0 costs the same and ties go to the fallback)
    z = recommend_bids(points(THREE), **HAND).zones.row(0, named=True)
    assert (z["advice"], z["bid"], z["bid_basis"]) == ("spot", 10.0, "fallback price")
    assert z["effective_cost"] == pytest.approx(70 / 24)
    assert z["availability"] == 1.0 and z["spot_share"] == 1.0
    assert z["rule20_bid"] == pytest.approx(2.0)
    assert z["rule20_effective_cost"] == pytest.approx(8.05)
    assert z["rule20_availability"] == pytest.approx(1 - 1 / 1440)
    assert "the pay-as-you-go price 10.00" in z["reason"]
    assert "ECS: the SpotAsPriceGo strategy; EAS: spot_price_limit = 10.00" in z["reason"]
    assert z["reason"].startswith("alibaba cn-hangzhou zone cn-hangzhou-h: ")


def test_capacity_reclaims_can_push_the_bid_below_the_fallback():
    """Capacity reclaims at 0.5 per instance-hour while on spot (each 1/60 h short):

    bid 10: spot all day: downtime 0.5/60 = 0.0083333 → availability 0.9916667
    bid 3:  spot 22/24: (0.5 × 22/24 + 1/24) / 60 = 0.5/60 → 0.9916667 as well
    bid 2:  spot 0.25: (0.125 + 1/24) / 60 = 0.0027778 → availability 0.9972222
            effective = 8.05 + 0.125 × 0.1 × 2 = 8.075; total = 8.075 + 0.027778 = 8.1027778
    Target 0.995: only bid 2 meets it, and 8.10 < 10 (regular): spot at 2.00.
    Target 0.999: nothing meets it: regular.
    """
    kw = {**HAND, "reclaims_per_hour": 0.5}
    z = recommend_bids(points(THREE), target_availability=0.995, **kw).zones.row(0, named=True)
    assert (z["advice"], z["bid"], z["bid_basis"]) == ("spot", 2.0, "below the fallback price")
    assert z["availability"] == pytest.approx(1 - 1 / 360)
    assert z["effective_cost"] == pytest.approx(8.075)
    assert z["total_cost"] == pytest.approx(8.075 + 10 / 360)
    assert "below the fallback's 10.00" in z["reason"]
    loose = recommend_bids(points(THREE), target_availability=0.99, **kw).zones.row(0, named=True)
    assert loose["bid"] == 10.0 and loose["availability"] == pytest.approx(1 - 0.5 / 60)
    assert loose["effective_cost"] == pytest.approx(70 / 24 + 0.5 * 0.1 * 70 / 24)
    r = recommend_bids(points(THREE), target_availability=0.999, **kw).zones.row(0, named=True)
    assert r["advice"] == "regular" and r["bid"] is None
    assert "no bid meets the 99.90% service availability target" in r["reason"]
    assert r["reason"].endswith("use a regular instance for this spec")


def test_short_spikes_above_on_demand_keep_a_higher_bid():
    """11 one-minute spikes to 15 (on-demand 10) in a day of 3.0:

    bid 10: spot 1 - 660/86400 = 0.9923611, 11 crossings/day
      effective = 0.9923611 × 3 + 0.0076389 × 10 + (11/24) × 0.1 × (10 + 3) = 3.6493056
      total = 3.6493056 + (11/24)(1/60) × 10 = 3.7256944
    bid 15: spot all day at (3 × 85740 + 15 × 660)/86400 = 3.0916667, total the same: wins
    """
    rows = [(0, 3.0)]
    for h in range(2, 24, 2):
        rows += [(h * 3600, 15.0), (h * 3600 + 60, 3.0)]
    z = recommend_bids(points(rows, unit="seconds"), **HAND).zones.row(0, named=True)
    assert (z["bid"], z["bid_basis"]) == (15.0, "above the fallback price")
    assert z["effective_cost"] == pytest.approx(3.0916667)
    assert z["fallback_effective_cost"] == pytest.approx(3.6493056)
    assert z["fallback_total_cost"] == pytest.approx(3.7256944)
    assert z["fallback_crossings_per_day"] == pytest.approx(11.0)
    assert "above the fallback's 10.00" in z["reason"]


def test_regular_when_the_market_stays_above_on_demand():
    # 12 all day, on-demand 10: a bid at 10 is never held (cost 10, not below 10); 12 costs 12
    r = recommend_bids(points([(0, 12.0)]), **HAND).zones.row(0, named=True)
    assert r["advice"] == "regular" and r["bid"] is None
    assert "not below the regular 10.00 CNY/h" in r["reason"]


def test_interval_of_the_effective_cost_by_hand():
    """Parts of 6 h: 2.0; (5 × 2 + 3 × 4)/6 = 11/3; 3.0; 3.0. Mean 35/12, sd 0.6871843;
    t(0.95, 3) = 2.3533634 × √(2/4) = 1.6640633: half-width 1.1435291 → [1.7731376, 4.0601958].
    Start-up and reclaims carry no range here, and spot is held throughout."""
    z = recommend_bids(points(THREE), **HAND).zones.row(0, named=True)
    assert z["effective_cost_low"] == pytest.approx(1.7731376, abs=1e-6)
    assert z["effective_cost_high"] == pytest.approx(4.0601958, abs=1e-6)
    assert (z["availability_low"], z["availability_high"]) == (1.0, 1.0)
    assert (z["spot_share_low"], z["spot_share_high"]) == (1.0, 1.0)
    assert cm.t_quantile(0.9, 3) == pytest.approx(2.3533634, abs=1e-6)


def test_parameter_ranges_widen_the_interval():
    # start-up 300-420 s, reclaims 0-0.5/h around 0.1/h; the cost at the high end:
    # 70/24 + 0.5 × (420/3600) × 70/24 = 3.0868056 (above the parts' upper end? no: the
    # parts give 4.06, the envelope keeps the wider)
    z = recommend_bids(
        points(THREE), startup_range=(300.0, 420.0), reclaims_per_hour=0.1,
        reclaims_range=(0.0, 0.5), **HAND,
    ).zones.row(0, named=True)  # fmt: skip
    # availability: high end 0 reclaims → 1; low end 0.5/h × (420 - 300)/3600 = 1/60 per h
    assert z["availability_high"] == pytest.approx(1.0)
    assert z["availability_low"] == pytest.approx(1 - 0.5 * 120 / 3600)
    assert z["availability"] == pytest.approx(1 - 0.1 * 60 / 3600)
    assert z["effective_cost_high"] >= 70 / 24 + 0.5 * (420 / 3600) * 70 / 24


def test_one_spot_entry_and_its_fallback_agree_with_the_curve():
    """The list model on [spot bid 3.0, regular 10.0]: 22/24 on spot; a move down at 06:00
    (billed 0.1 h × 10 = 1.0, 60 s short) and back at 08:00 (billed 0.1 × 60/22), so
    effective = 2.5 + 0.8333333 + (1.0 + 0.2727273)/24 = 3.3863636, availability
    1 - (1/60)/24 = 0.9993056: the curve's figures at 3.0."""
    lc = cm.evaluate_entries(
        points(THREE),
        [cm.ListEntry("ecs.t", bid=3.0, startup_seconds=360.0),
         cm.ListEntry("ecs.t", spot=False, startup_seconds=360.0)],
        window="all", end=END,
    )  # fmt: skip
    f = lc.figures
    assert f["effective_cost"] == pytest.approx(3.3863636)
    assert f["availability"] == pytest.approx(1 - 1 / 1440)
    assert f["spot_share"] == pytest.approx(22 / 24)
    assert f["crossings_per_day"] == pytest.approx(1.0)
    assert lc.entries["share"].to_list() == pytest.approx([22 / 24, 2 / 24])
    assert lc.entries["price"].to_list()[1] == 10.0
    assert f["total_cost"] == pytest.approx(3.3863636 + 10 / 1440)
    curve = bid_curve(points(THREE), window="all", end=END, startup_seconds=360.0)
    at3 = curve.filter(pl.col("bid") == 3.0).row(0, named=True)
    assert at3["effective_cost"] == pytest.approx(f["effective_cost"])
    assert at3["availability"] == pytest.approx(f["availability"])


def test_capped_entries_share_the_service():
    """A (2.0, but 6.0 from 12:00 to 18:00; bid 5) and B (4.0; bid 5), each capped at 50 %,
    then regular 10. Outside 12-18 h: 0.5 × 2 + 0.5 × 4 = 3; inside: 0.5 × 4 + 0.5 × 10 = 7:
    (18 × 3 + 6 × 7)/24 = 4.0. At 12:00 half the service moves to regular (billed 0.5 × 0.1
    × 10 = 0.5, 0.5 × 1/60 h short), at 18:00 back (0.5 × 0.1 × 2 = 0.1): effective
    4.0 + 0.6/24 = 4.025, availability 1 - (0.5/60)/24 = 0.9996528."""
    frame = pl.concat(
        [
            points([(0, 2.0), (12, 6.0), (18, 2.0)], spec="ecs.a"),
            points([(0, 4.0)], spec="ecs.b"),
        ]
    )
    lc = cm.evaluate_entries(
        frame,
        [cm.ListEntry("ecs.a", bid=5.0, capacity_share=0.5, startup_seconds=360.0),
         cm.ListEntry("ecs.b", bid=5.0, capacity_share=0.5, startup_seconds=360.0),
         cm.ListEntry("ecs.b", spot=False, price=10.0, startup_seconds=360.0)],
        window="all", end=END,
    )  # fmt: skip
    assert lc.figures["effective_cost"] == pytest.approx(4.025)
    assert lc.figures["availability"] == pytest.approx(1 - 0.5 / 60 / 24)
    e = lc.entries
    assert e["share"].to_list() == pytest.approx([0.5 * 18 / 24, 0.5, 0.5 * 6 / 24])
    assert e["price_reclaims_per_day"].to_list() == pytest.approx([0.5, 0.0, 0.0])
    assert e["moves_in_per_day"].to_list() == pytest.approx([0.5, 0.0, 0.5])
    assert lc.figures["unserved_share"] == 0.0


def test_a_list_without_a_regular_entry_counts_unserved_time():
    lc = cm.evaluate_entries(
        points([(0, 2.0), (12, 6.0)]), [cm.ListEntry("ecs.t", bid=5.0)],
        window="all", end=END, value_per_replica_hour=10.0,
    )  # fmt: skip
    assert lc.figures["unserved_share"] == pytest.approx(0.5)
    assert lc.figures["availability"] == pytest.approx(0.5)


def test_parameters_are_checked():
    for bad in (
        {"startup_seconds": -1.0},
        {"reclaims_per_hour": float("nan")},
        {"startup_range": (5.0, 1.0)},
        {"lead_seconds": float("inf")},
    ):
        with pytest.raises(AnalysisError):
            cm.CostParams(**bad)  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="capacity_share"):
        cm.ListEntry("x", capacity_share=1.5)
    with pytest.raises(AnalysisError, match="Did you mean 'target_availability'"):
        BidParams.build(None, {"target_availabilty": 0.9})
    with pytest.raises(AnalysisError, match="target_availability"):
        BidParams(target_availability=1.5)
