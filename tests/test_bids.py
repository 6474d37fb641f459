"""The bid advisor (spotlab.advise.bids): hand-worked cases, properties, edge cases.

The cost model's own arithmetic is worked in tests/test_costmodel.py; here: rounding,
zones, the budget cap, the out-of-sample check, flags, reasons and the table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import spotlab as sl
from spotlab.advise.bids import (
    DEFAULT_STARTUP_SECONDS,
    BidParams,
    bid_curve,
    bid_table,
    recommend_bids,
)
from spotlab.domain import round_bid_up
from spotlab.errors import AnalysisError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(hours=24)
THREE = [(0, 2.0), (6, 5.0), (8, 3.0)]
HAND = dict(window="all", end=END, startup_seconds=360.0, holdout=False)


def points(rows, zone="cn-hangzhou-h", spec="ecs.t", od=10.0, unit="h", provider="alibaba"):
    return pl.DataFrame(
        {
            "provider": provider,
            "zone": zone,
            "spec": spec,
            "ts": [T0 + timedelta(**{{"h": "hours", "s": "seconds"}[unit]: t}) for t, _ in rows],
            "spot_price": [p for _, p in rows],
            "on_demand_price": od,
            "currency": "CNY" if provider == "alibaba" else "USD",
        }
    )


def test_bids_are_rounded_up_and_the_reason_names_the_same_number():
    # on-demand 0.0425 (tick 0.001 under 1): the bid is 0.043, never 0.042
    z = recommend_bids(points([(0, 0.03)], od=0.0425), **HAND).zones.row(0, named=True)
    assert z["bid"] == 0.043 and z["decision_level"] == 0.0425
    assert z["bid"] == round_bid_up(0.0425) and z["bid"] >= z["decision_level"]
    assert "bid 0.043 = the pay-as-you-go price 0.0425 rounded up to the 0.001 tick" in z["reason"]
    table = bid_table(recommend_bids(points([(0, 0.03)], od=0.0425), **HAND), per_zone=True)
    assert table["bid"].to_list() == ["0.043"] and table["cur"].to_list() == ["CNY"]
    # 14.4 is on the 0.01 tick: no rounding sentence
    z = recommend_bids(points(THREE, od=14.4), **HAND).zones.row(0, named=True)
    assert z["bid"] == 14.4 and "rounded up" not in z["reason"]
    # a per-currency tick
    z = recommend_bids(points(THREE, od=10.2), price_tick={"CNY": 0.5}, **HAND).zones
    assert z["bid"][0] == 10.5


def test_budget_cap_beside_the_cost_optimal_bid():
    # cap 3.0 on THREE: held 22/24 (see test_costmodel), vs the cost-optimal 10.00
    z = recommend_bids(points(THREE), max_price=3.0, **HAND).zones.row(0, named=True)
    assert (z["bid"], z["optimal_bid"]) == (3.0, 10.0)
    assert z["spot_share"] == pytest.approx(22 / 24)
    assert z["effective_cost"] == pytest.approx(3.3863636)
    assert z["optimal_effective_cost"] == pytest.approx(70 / 24)
    assert "Budget cap 3.00" in z["reason"] and "cost-optimal 10.00" in z["reason"]
    # a cap above the cost-optimal bid does not bind
    z = recommend_bids(points(THREE), max_price=20.0, **HAND).zones.row(0, named=True)
    assert z["bid"] == 10.0 and "Budget cap" not in z["reason"]


def test_per_spec_bid_holds_in_every_zone():
    two = pl.concat(
        [
            points(THREE, zone="cn-hangzhou-h"),
            points([(0, 1.0), (12, 4.0), (13, 1.0)], zone="cn-hangzhou-i"),
        ]
    )
    adv = recommend_bids(two, **HAND)
    spec = adv.specs.row(0, named=True)
    assert spec["zones"] == "cn-hangzhou-h, cn-hangzhou-i" and spec["region"] == "cn-hangzhou"
    assert spec["bid"] == 10.0
    # worst zone: the dearer zone h (70/24) against zone i ((1 × 23 + 4 × 1)/24 = 27/24)
    assert spec["effective_cost"] == pytest.approx(70 / 24)
    assert spec["reason"].startswith(
        "alibaba cn-hangzhou (worst of zones cn-hangzhou-h, cn-hangzhou-i): "
    )
    costs = dict(zip(adv.zones["zone"], adv.zones["effective_cost"], strict=True))
    assert costs == pytest.approx({"cn-hangzhou-h": 70 / 24, "cn-hangzhou-i": 27 / 24})
    # a zone whose market sits above on-demand makes the spec "regular" (worst zone)
    bad = pl.concat([two, points([(0, 20.0)], zone="cn-hangzhou-j")])
    spec = recommend_bids(bad, **HAND).specs.row(0, named=True)
    assert spec["advice"] == "regular"


def test_out_of_sample_check_on_the_store_s_own_history():
    """Window 1 day, two days of data: day 1 at 2.0; day 2 at 2.0 but 12.0 (above on-demand
    10) from 18:00. The check advises from day 1 (bid 10.00, the pay-as-you-go price) and
    scores day 2: spot 18/24, one crossing, start-up 360 s:
    effective = 0.75 × 2 + 0.25 × 10 + (1/24) × 0.1 × (10 + 2) = 4.05 → 0.405 × on-demand,
    availability 1 - (1/24)(1/60) = 0.9993056."""
    rows = [(0, 2.0), (42, 12.0)]
    adv = recommend_bids(
        points(rows), window="1d", end=T0 + timedelta(days=2), startup_seconds=360.0
    )
    z = adv.zones.row(0, named=True)
    assert z["oos_bid"] == 10.0 and z["oos_advice"] == "spot"
    assert z["oos_cost_ratio"] == pytest.approx(0.405)
    assert z["oos_availability"] == pytest.approx(1 - 1 / 1440)
    assert z["oos_origin"] == T0 + timedelta(days=1)
    assert "Out of sample (the rule applied to the 24 hours before" in z["reason"]
    assert adv.specs["oos_cost_ratio"][0] == pytest.approx(0.405)
    # for "all": the first half of the history advises, the second is scored
    adv = recommend_bids(points(rows), window="all", end=T0 + timedelta(days=2))
    assert adv.zones["oos_origin"][0] == T0 + timedelta(days=1)
    # no history before the window: no check, and the reason says so
    z = recommend_bids(points(THREE), window="1d", end=END).zones.row(0, named=True)
    assert z["oos_availability"] is None
    assert "no history before the window" in z["reason"]


def test_flags_reach_the_table_and_the_reasons():
    one = recommend_bids(points([(0, 3.0)]), **HAND).zones.row(0, named=True)
    assert "short history" in one["flags"] and one["flag_codes"] == "short"
    stale = recommend_bids(
        pl.concat([points([(0, 3.0)], zone="cn-hangzhou-h"),
                   points([(0, 3.0), (200, 3.1)], zone="cn-hangzhou-i")]),
        window="7d", end=T0 + timedelta(hours=201), holdout=False,
    ).zones.sort("zone")  # fmt: skip
    assert stale["flag_codes"][0] == "stale"
    assert "the newest price point is 8 days old" in stale["reason"][0]
    # an estimated catalog price
    store = sl.Store(":memory:")
    store.con.execute(
        "INSERT INTO specs (provider, region, spec, on_demand_price, currency, "
        "price_is_estimate) VALUES ('alibaba', 'cn-hangzhou', 'ecs.t', 10.0, 'CNY', true)"
    )
    pts = points(THREE).drop("on_demand_price").with_columns(source_id=pl.lit(0))
    store.con.register("_pts", pts)
    store.con.execute(
        "INSERT INTO spot_prices (provider, region, zone, spec, ts, spot_price, currency, "
        "source_id) SELECT provider, 'cn-hangzhou', zone, spec, ts, spot_price, currency, "
        "source_id FROM _pts"
    )
    z = recommend_bids(store, **HAND).specs.row(0, named=True)
    assert z["on_demand_estimated"] and "od-est" in z["flag_codes"]
    assert "catalog estimate" in z["flags"]


def test_edge_cases():
    shuffled = points(THREE)[[1, 2, 0]]
    a = recommend_bids(shuffled, **HAND).zones
    b = recommend_bids(points(THREE), **HAND).zones
    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-12)
    with pytest.raises(AnalysisError, match="no price point in the window"):
        recommend_bids(points(THREE), window="7d", end=T0 - timedelta(days=2))
    # one series with data, one without: the empty one is a flagged row
    late = pl.concat([points(THREE), points([(30, 1.0)], zone="cn-hangzhou-i")])
    z = recommend_bids(late, **HAND).zones.sort("zone")
    assert z["advice"].to_list() == ["spot", "no data"]
    assert z["flags"][1] == "no price point in the window"
    # no on-demand price: the highest price stands in, flagged
    nood = points(THREE).drop("on_demand_price")
    z = recommend_bids(nood, **HAND).zones.row(0, named=True)
    assert z["bid"] == 5.0 and z["bid_basis"] == "highest price seen"
    assert "no-od" in z["flag_codes"] and "no on-demand price known" in z["reason"]


def test_parameters_are_checked():
    for bad in (
        {"target_availability": 0},
        {"target_availability": 1.5},
        {"startup_seconds": -5.0},
        {"price_tick": 0.0},
        {"max_price": float("nan")},
    ):
        with pytest.raises(AnalysisError):
            BidParams(**bad)  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="unknown bid parameter 'headroom'"):
        recommend_bids(points(THREE), headroom=0.1)


def test_startup_seconds_per_spec_and_default():
    two = pl.concat([points(THREE), points(THREE, spec="ecs.u")])
    adv = recommend_bids(two, window="all", end=END, startup_seconds={"ecs.u": 720.0})
    secs = dict(zip(adv.zones["spec"], adv.zones["startup_seconds"], strict=True))
    assert secs == {"ecs.t": DEFAULT_STARTUP_SECONDS, "ecs.u": 720.0}
    down = dict(zip(adv.zones["spec"], adv.zones["downtime_per_reclaim_s"], strict=True))
    assert down == {"ecs.t": 0.0, "ecs.u": 420.0}  # Alibaba warns 300 s ahead


def test_the_table_fits_the_width():
    adv = recommend_bids(points(THREE), **HAND)
    wide = bid_table(adv, width=None)
    narrow = bid_table(adv, width=60)
    assert {"spec", "cur", "advice", "bid", "flags"} <= set(narrow.columns)
    assert narrow.width < wide.width
    widths = [max(len(c), *(len(v) for v in narrow[c])) + 3 for c in narrow.columns]
    assert sum(widths) + 1 <= 60
    assert bid_table(adv, width=60, wide=True).columns == wide.columns


# -- properties ----------------------------------------------------------------------------


def oracle(rows, end_s, bid, od, startup_s, lead_s=300.0):
    """Per-row definitions of the figures at a bid (one spot entry, regular fallback at od,
    no capacity reclaims, a lost replica-hour valued at od)."""
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
    share = held / total
    mean = paid / held if held else None
    per_h = ups / (total / 3600)
    cost = (
        share * (mean or 0)
        + (1 - share) * od
        + per_h * startup_s / 3600 * (od + (mean if mean is not None else od))
    )
    down = per_h * max(0.0, startup_s - lead_s) / 3600
    return share, ups / (total / 86400), cost, 1 - down


series = st.lists(
    st.tuples(st.integers(0, 10**6), st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.5, 7.0])),
    min_size=1,
    max_size=25,
    unique_by=lambda r: r[0],
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=series, extra=st.integers(1, 10**5), od=st.sampled_from([3.0, 8.0]))
def test_curve_matches_the_per_row_definition(rows, extra, od):
    end_s = max(t for t, _ in rows) + extra
    end = T0 + timedelta(seconds=end_s)
    c = bid_curve(points(rows, od=od, unit="s"), window="all", end=end, startup_seconds=600.0)
    for r in c.iter_rows(named=True):
        share, cpd, cost, avail = oracle(rows, end_s, r["bid"], od, 600.0)
        assert r["spot_share"] == pytest.approx(share)
        assert r["crossings_per_day"] == pytest.approx(cpd)
        assert r["effective_cost"] == pytest.approx(cost)
        assert r["availability"] == pytest.approx(avail)
    assert c["spot_share"].is_sorted()
    assert c["spot_share"][-1] == pytest.approx(1.0)
    assert c["crossings_per_day"][-1] == 0.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=series,
    od=st.sampled_from([1.0, 3.0, 8.0]),
    target=st.sampled_from([0.5, 0.9, 0.99, 1.0]),
    startup=st.sampled_from([0.0, 123.0, 900.0]),
)
def test_recommendation_properties(rows, od, target, startup):
    end_s = max(t for t, _ in rows) + 3600
    end = T0 + timedelta(seconds=end_s)
    pts = points(rows, od=od, unit="s")
    adv = recommend_bids(
        pts, window="all", end=end, target_availability=target, startup_seconds=startup,
        holdout=False,
    )  # fmt: skip
    z = adv.zones.row(0, named=True)
    levels = sorted({p for _, p in rows} | {od})
    if z["advice"] == "spot":
        assert z["availability"] >= target - 1e-9
        assert z["bid"] >= z["decision_level"] - 1e-12  # rounded up, never below
        assert z["total_cost"] < od + 1e-9
        # the chosen bid is the cheapest meeting the target among all candidates
        for b in levels:
            _, _, cost, avail = oracle(rows, end_s, b, od, startup)
            if avail >= target - 1e-9:
                total = cost + (1 - avail) * od
                assert z["total_cost"] <= total + 1e-6
        if max(p for _, p in rows) <= od:
            # the market never exceeded on-demand: bid the pay-as-you-go price
            assert z["decision_level"] == od and z["spot_share"] == pytest.approx(1.0)
    else:
        assert z["advice"] == "regular"
        for b in levels:
            _, _, cost, avail = oracle(rows, end_s, b, od, startup)
            assert avail < target - 1e-9 or cost + (1 - avail) * od >= od - 1e-6


def test_bundled_sample_gives_a_bid_per_spec(store):
    sl.ingest(store, sl.notebook.BUNDLED_DATA)
    adv = recommend_bids(store, provider="alibaba")
    specs = adv.specs
    assert specs.height == 8 and specs["zones"].str.count_matches(",").max() == 2
    spot = specs.filter(pl.col("advice") == "spot")
    assert spot.height == 8
    # the SYNTHETIC sample never exceeds on-demand: every bid is the pay-as-you-go price
    assert (spot["bid"] == spot["on_demand"]).all()
    assert (spot["availability"] >= 0.99).all()
    assert spot["reason"].str.contains("The 20% rule", literal=True).all()
    assert spot["reason"].str.starts_with("alibaba cn-hangzhou").all()
    # the GCP rows name their region too
    gcp = recommend_bids(store, provider="gcp", specs="a2-highgpu-1g").specs
    assert all(r.startswith(f"gcp {z}:") for r, z in zip(gcp["reason"], gcp["region"], strict=True))
