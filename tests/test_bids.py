"""The bid advisor (spotlab.advise.bids): hand-worked cases, properties, edge cases.

The 3-point series (on-demand 10.0, window 00:00-24:00), worked by hand:

    00:00  2.0 for 6 h;  06:00  5.0 for 2 h;  08:00  3.0 for 16 h

    bid 2.0: availability 6/24 = 0.25, one up-crossing (2 -> 5), mean paid 2.0
    bid 3.0: availability 22/24, one up-crossing (2 -> 5; 5 -> 3 is a fall),
             mean paid (2×6 + 3×16)/22 = 60/22
    bid 5.0: availability 1, no up-crossing, mean paid 70/24
    bid 1.9: never held, effective cost = the fallback (on-demand 10)

With a start-up of 360 s the restart cost is 360 × 10 / 3600 = 1.0 per interruption, so
effective_cost(3.0) = 22/24 × 60/22 + 2/24 × 10 + (1/24 per hour) × 1.0 = 81/24 = 3.375,
effective_cost(5.0) = 70/24 = 2.9167 and effective_cost(2.0) = 0.5 + 7.5 + 1/24 = 8.0417.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.advise.bids import (
    DEFAULT_STARTUP_SECONDS,
    BidParams,
    bid_curve,
    recommend_bids,
)
from spotlab.errors import AnalysisError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(hours=24)
THREE = [(0, 2.0), (6, 5.0), (8, 3.0)]


def points(rows, zone="cn-hangzhou-h", spec="ecs.t", od=10.0, unit="h"):
    return pl.DataFrame(
        {
            "provider": "alibaba",
            "zone": zone,
            "spec": spec,
            "ts": [T0 + timedelta(**{{"h": "hours", "s": "seconds"}[unit]: t}) for t, _ in rows],
            "spot_price": [p for _, p in rows],
            "on_demand_price": od,
            "currency": "CNY",
        }
    )


HAND = dict(window="all", end=END, startup_seconds=360.0, headroom=0.0)


def test_curve_of_the_three_point_series():
    c = bid_curve(points(THREE), window="all", end=END, params=BidParams(startup_seconds=360.0))
    assert c["bid"].to_list() == [2.0, 3.0, 5.0]
    assert c["availability"].to_list() == pytest.approx([6 / 24, 22 / 24, 1.0])
    assert c["interruptions_per_day"].to_list() == pytest.approx([1.0, 1.0, 0.0])
    assert c["mean_paid"].to_list() == pytest.approx([2.0, 60 / 22, 70 / 24])
    assert c["effective_cost"].to_list() == pytest.approx([0.5 + 7.5 + 1 / 24, 81 / 24, 70 / 24])
    assert c["saving"][2] == pytest.approx(1 - 70 / 240)


def test_recommendation_of_the_three_point_series():
    # target 0.9: levels 3.0 (cost 3.375) and 5.0 (cost 2.9167) qualify. Tolerance 1% of
    # on-demand (0.1) keeps only 5.0; 5% (0.5) lets the lower cap 3.0 through.
    tight = recommend_bids(points(THREE), target_availability=0.9, cost_tolerance=0.01, **HAND)
    z = tight.zones.row(0, named=True)
    assert (z["target_level"], z["bid"], z["optimal_bid"]) == (5.0, 5.0, 5.0)
    loose = recommend_bids(points(THREE), target_availability=0.9, cost_tolerance=0.05, **HAND)
    z = loose.zones.row(0, named=True)
    assert (z["target_level"], z["bid"], z["optimal_bid"]) == (3.0, 3.0, 5.0)
    assert z["availability"] == pytest.approx(22 / 24)
    assert z["interruptions_per_day"] == pytest.approx(1.0)
    assert z["mean_paid"] == pytest.approx(60 / 22)
    assert z["effective_cost"] == pytest.approx(3.375)
    assert z["saving"] == pytest.approx(1 - 0.3375)
    # the seed's rule: 20% of 10 = 2.0
    assert z["rule20_bid"] == pytest.approx(2.0)
    assert z["rule20_availability"] == pytest.approx(0.25)
    assert z["rule20_effective_cost"] == pytest.approx(0.5 + 7.5 + 1 / 24)
    assert z["advice"] == "spot" and z["max_availability"] == 1.0
    assert z["restart_cost"] == pytest.approx(1.0)
    assert z["reason"].startswith(
        "market exceeded 2.00 (the 20% rule) for 75.0% of the last whole history; 3.00 keeps "
        "91.7% availability with 1.00 interruptions/day at an effective 3.37/h (66.3% below "
        "on-demand 10.00), -4.67/h vs the 20% bid"
    )


def test_headroom_and_rounding():
    # target level 3.0 + 10% of on-demand = 4.0, held like 3.0 (no level in between)
    r = recommend_bids(
        points(THREE), target_availability=0.9, cost_tolerance=0.05, **{**HAND, "headroom": 0.1}
    ).zones.row(0, named=True)
    assert (r["target_level"], r["bid"]) == (3.0, 4.0)
    assert r["availability"] == pytest.approx(22 / 24)
    assert "3.00 met the 90.0% target and 4.00 (with headroom) keeps 91.7%" in r["reason"]
    # rounding up to the tick: a level of 2.001 becomes 2.01 (tick 0.01 at or above 1)
    odd = points([(0, 2.001), (6, 5.0), (8, 2.001)])
    z = recommend_bids(odd, target_availability=0.9, cost_tolerance=1.0, **HAND).zones
    assert z["target_level"][0] == 2.001 and z["bid"][0] == pytest.approx(2.01)
    # per-currency tick
    z = recommend_bids(
        odd, target_availability=0.9, cost_tolerance=1.0, price_tick={"CNY": 0.5}, **HAND
    ).zones
    assert z["bid"][0] == pytest.approx(2.5)
    # never above on-demand, even with headroom
    z = recommend_bids(points(THREE, od=5.2), target_availability=0.99, **{**HAND, "headroom": 1})
    assert z.zones["bid"][0] == pytest.approx(5.2)


def test_regular_instance_when_no_bid_meets_the_target():
    # the market sits above on-demand (8.0) for 2 of 24 h: bidding 8.0 keeps 91.7%
    r = recommend_bids(points(THREE, od=4.0), target_availability=0.95, **HAND).zones
    row = r.row(0, named=True)
    assert row["advice"] == "regular" and row["bid"] is None
    assert row["max_availability"] == pytest.approx(22 / 24)
    assert row["reason"] == (
        "even a bid at on-demand 4.00 keeps only 91.7% availability over the last whole "
        "history (target 95.0%): use a regular instance for this spec"
    )
    # an interruption cap can also rule spot out
    r = recommend_bids(
        points([(0, 1.0), (6, 5.0), (8, 1.0)], od=4.0),
        target_availability=0.5,
        max_interruptions_per_day=0.5,
        **HAND,
    ).zones.row(0, named=True)
    assert r["advice"] == "regular" and "interruptions/day" in r["reason"]


def test_interruption_cap_raises_the_bid():
    rows = [(0, 1.0), (2, 2.0), (4, 1.0), (6, 2.0), (8, 1.0)]
    free = recommend_bids(points(rows), target_availability=0.5, cost_tolerance=1, **HAND)
    capped = recommend_bids(
        points(rows), target_availability=0.5, max_interruptions_per_day=0, cost_tolerance=1,
        **HAND,
    )  # fmt: skip
    assert free.zones["bid"][0] == 1.0 and free.zones["interruptions_per_day"][0] == 2.0
    assert capped.zones["bid"][0] == 2.0 and capped.zones["interruptions_per_day"][0] == 0.0


def test_per_spec_bid_holds_in_every_zone():
    two = pl.concat(
        [
            points(THREE, zone="cn-hangzhou-h"),
            points([(0, 1.0), (12, 4.0), (13, 1.0)], zone="cn-hangzhou-i"),
        ]
    )
    adv = recommend_bids(two, target_availability=0.9, cost_tolerance=1.0, **HAND)
    zones = dict(zip(adv.zones["zone"], adv.zones["bid"], strict=True))
    assert zones == {"cn-hangzhou-h": 3.0, "cn-hangzhou-i": 1.0}
    spec = adv.specs.row(0, named=True)
    assert spec["zones"] == "cn-hangzhou-h, cn-hangzhou-i" and spec["region"] == "cn-hangzhou"
    assert spec["bid"] == 3.0  # the lowest bid meeting 90% in both zones
    assert spec["availability"] == pytest.approx(22 / 24)  # worst zone
    assert spec["interruptions_per_day"] == pytest.approx(1.0)
    assert spec["reason"].startswith("in the worst of zones cn-hangzhou-h, cn-hangzhou-i, ")
    # a zone that cannot meet the target makes the spec "regular"
    bad = pl.concat([two, points([(0, 1.0), (1, 20.0)], zone="cn-hangzhou-j")])
    spec = recommend_bids(bad, target_availability=0.9, **HAND).specs.row(0, named=True)
    assert spec["advice"] == "regular"


def test_edge_cases():
    one = recommend_bids(points([(0, 3.0)]), **HAND).zones.row(0, named=True)
    assert (one["bid"], one["availability"], one["interruptions_per_day"]) == (3.0, 1.0, 0.0)
    assert "short history" in one["flags"]
    shuffled = points(THREE)[[1, 2, 0]]
    a = recommend_bids(shuffled, target_availability=0.9, **HAND).zones
    b = recommend_bids(points(THREE), target_availability=0.9, **HAND).zones
    assert a.equals(b)
    with pytest.raises(AnalysisError, match="no price point in the window"):
        recommend_bids(points(THREE), window="7d", end=T0 - timedelta(days=2))
    # one series with data, one without: the empty one is a flagged row
    late = pl.concat([points(THREE), points([(30, 1.0)], zone="cn-hangzhou-i")])
    z = recommend_bids(late, target_availability=0.9, **HAND).zones.sort("zone")
    assert z["advice"].to_list() == ["spot", "no data"]
    assert z["flags"][1] == "no price point in the window"


def test_parameters_are_checked():
    for bad in (
        {"target_availability": 0},
        {"target_availability": 1.5},
        {"max_interruptions_per_day": -1},
        {"startup_seconds": -5.0},
        {"price_tick": 0.0},
        {"headroom": 2.0},
    ):
        with pytest.raises(AnalysisError):
            BidParams(**bad)  # type: ignore[arg-type]


def test_startup_seconds_per_spec_and_default():
    two = pl.concat([points(THREE), points(THREE, spec="ecs.u")])
    adv = recommend_bids(two, window="all", end=END, startup_seconds={"ecs.u": 720.0})
    costs = dict(zip(adv.zones["spec"], adv.zones["restart_cost"], strict=True))
    assert costs == pytest.approx({"ecs.t": DEFAULT_STARTUP_SECONDS * 10 / 3600, "ecs.u": 2.0})


# -- properties ----------------------------------------------------------------------------


def oracle(rows, end_s, bid, od, restart_s):
    """Per-row definition: availability, up-crossings per day, mean paid, effective cost."""
    rows = sorted(dict(rows).items())
    total = end_s - rows[0][0]
    held = paid = 0.0
    ups = 0
    for k, (t, p) in enumerate(rows):
        dur = (rows[k + 1][0] if k + 1 < len(rows) else end_s) - t
        if p <= bid:
            held += dur
            paid += p * dur
        if k and rows[k - 1][1] <= bid < p:
            ups += 1
    a = held / total
    cost = (
        a * (paid / held if held else 0)
        + (1 - a) * od
        + ups / (total / 3600) * (restart_s * od / 3600)
    )
    return a, ups / (total / 86400), (paid / held if held else None), cost


series = st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.5, 7.0])),
    min_size=1,
    max_size=25,
    unique_by=lambda r: r[0],
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=series, extra=st.integers(1, 10**5), od=st.sampled_from([3.0, 8.0]))
def test_curve_matches_the_per_row_definition(rows, extra, od):
    end = T0 + timedelta(seconds=max(t for t, _ in rows) + extra)
    c = bid_curve(
        points(rows, od=od, unit="s"), window="all", end=end,
        params=BidParams(startup_seconds=200.0),
    )  # fmt: skip
    end_s = max(t for t, _ in rows) + extra
    for r in c.iter_rows(named=True):
        a, ipd, paid, cost = oracle(rows, end_s, r["bid"], od, 200.0)
        assert r["availability"] == pytest.approx(a)
        assert r["interruptions_per_day"] == pytest.approx(ipd)
        assert r["effective_cost"] == pytest.approx(cost)
        assert (r["mean_paid"] is None) == (paid is None)
    # availability is non-decreasing in the bid; interruptions vanish at the top
    assert c["availability"].is_sorted()
    assert c["availability"][-1] == pytest.approx(1.0)
    assert c["interruptions_per_day"][-1] == 0.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=series,
    od=st.sampled_from([1.0, 3.0, 8.0]),
    target=st.sampled_from([0.5, 0.9, 0.99, 1.0]),
    headroom=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_recommendation_properties(rows, od, target, headroom):
    end = T0 + timedelta(seconds=max(t for t, _ in rows) + 3600)
    adv = recommend_bids(
        points(rows, od=od, unit="s"), window="all", end=end,
        target_availability=target, headroom=headroom,
    )  # fmt: skip
    z = adv.zones.row(0, named=True)
    if z["advice"] == "spot":
        assert z["bid"] <= od + 1e-9  # never above on-demand
        assert z["availability"] >= target - 1e-9
        assert z["bid"] >= z["target_level"]
    else:
        assert z["advice"] == "regular" and z["max_availability"] < target
    # a bid at on-demand when the market never exceeds it costs the mean market price
    if max(p for _, p in rows) <= od:
        c = bid_curve(points(rows, od=od, unit="s"), window="all", end=end)
        top = c.row(-1, named=True)
        mean = adv.zones["market_mean"][0]
        assert top["effective_cost"] == pytest.approx(mean)
        assert top["mean_paid"] == pytest.approx(mean)


def test_interruptions_are_not_monotone_in_the_bid():
    # The issue lists "interruptions non-increasing in b" as a property; it does not hold
    # for up-crossings: 1 -> 3 -> 2 -> 3 crosses a bid of 1 once and a bid of 2 twice.
    c = bid_curve(points([(0, 1.0), (1, 3.0), (2, 2.0), (3, 3.0)]), window="all", end=END)
    assert c["interruptions_per_day"].to_list() == pytest.approx([1.0, 2.0, 0.0])


def test_bundled_sample_gives_a_bid_per_spec(store):
    sl.ingest(store, sl.notebook.BUNDLED_DATA)
    adv = recommend_bids(store, provider="alibaba")
    specs = adv.specs
    assert specs.height == 8 and specs["zones"].str.count_matches(",").max() == 2
    spot = specs.filter(pl.col("advice") == "spot")
    assert (spot["bid"] <= spot["on_demand"]).all()
    assert (spot["availability"] >= 0.99).all()
    assert spot["reason"].str.contains("20% rule").all()
