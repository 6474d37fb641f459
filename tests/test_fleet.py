"""The fleet simulator and its policies on tiny hand-checkable traces, plus invariants.

The hand traces: ticks of 1 h; spot zones a (1.0 USD/h) and b (1.2 USD/h), a regular pool
r (3.0 USD/h); demand 2 replicas; stock (1 = available, any number):

    tick  0 1 2 3 4 5
    a     1 1 0 0 1 1
    b     1 0 1 1 1 0
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotlab.errors import AnalysisError
from spotlab.fleet import (
    UNLIMITED,
    AllRegular,
    EasOrdered,
    EasService,
    Market,
    OneSpot,
    Pool,
    SpotHedge,
    dedicated_floor,
    poisson_market,
    recommended,
    simulate,
    with_pools,
)
from spotlab.fleet._deps import eas_allocation
from spotlab.fleet.simulate import forward_window_min

U = UNLIMITED
A = [U, U, 0, 0, U, U]
B = [U, 0, U, U, U, 0]
PROPS = settings(
    max_examples=150, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def hand_market(startup_h: float = 0.0) -> Market:
    s = startup_h * 3600.0
    pools = (
        Pool("g", "a", "spot", 1.0, s),
        Pool("g", "b", "spot", 1.2, s),
        Pool("g", "r", "regular", 3.0, s),
    )
    cap = np.array([A, B, [U] * 6], dtype=np.int64)
    return Market(pools, 3600.0, cap, cap.copy())


REB = {"rebalancing": True, "probe_seconds": 3600.0}


@pytest.mark.parametrize(
    ("policy", "cost", "availability"),
    [
        # 2 regular replicas x 3.0 x 6 h
        (AllRegular(), 36.0, 1.0),
        # a holds 2 at ticks 0, 1, 4, 5 (2 x 1.0 x 4 h); nothing runs at ticks 2, 3
        (OneSpot(), 8.0, 4 / 6),
        # a at 0, 1; b from 2 (a reclaimed) and stays at 4 (no rebalancing); a again at 5
        # (b reclaimed): a 2 x 1.0 x 3 h + b 2 x 1.2 x 3 h
        (EasOrdered(), 6.0 + 7.2, 1.0),
        # the same but back to a at tick 4 (probe, a has stock): a 4 h + b 2 h
        (EasOrdered(**REB), 8.0 + 4.8, 1.0),
    ],
)
def test_hand_trace_instant_startup(policy, cost: float, availability: float) -> None:
    r = simulate(hand_market(), policy, 2)
    assert r.cost == pytest.approx(cost)
    assert r.availability == pytest.approx(availability)
    assert r.all_regular_cost == pytest.approx(36.0)
    assert r.cost_ratio == pytest.approx(cost / 36.0)


@pytest.mark.parametrize(
    ("policy", "cost", "availability", "reclaims"),
    [
        # relaunch at 4 is ready at 5: ready at 0, 1, 5; billed from launch, so 8.0 again
        (OneSpot(), 8.0, 3 / 6, 2),
        # b launched at 2 (ready at 3), a launched at 5 (ready after the end): 0,1,3,4 ready
        (EasOrdered(), 13.2, 4 / 6, 4),
        # at 4 the probe launches 2 on a and keeps b until they are ready (make before
        # break): a 0,1,4,5 = 8.0; b 2,3,4 = 7.2; only tick 2 lacks ready replicas
        (EasOrdered(**REB), 15.2, 5 / 6, 4),
        # k=0: t0 spread a1 b1; t1 b lost: +1 on a, 1 on-demand (ready at 2); t2 a lost:
        # 2 on b, 2 on-demand (1 ready); t3 b ready, on-demand dropped; t5 b lost: 2 on a
        # + 2 on-demand, none ready. a 5 h, b 7 h, r 5 h = 5.0 + 8.4 + 15.0; ready at 0, 3, 4
        (SpotHedge(k=0), 28.4, 3 / 6, 5),
        # k=1: t0 a2 b1; t1 b lost, a3, 1 on-demand; t2 a lost (3): b3, 2 on-demand;
        # t5 b lost: a3 + 2 on-demand. a 8 h, b 10 h, r 5 h; ready at 0, 1, 3, 4
        (SpotHedge(k=1), 8.0 + 12.0 + 15.0, 4 / 6, 7),
    ],
)
def test_hand_trace_one_tick_startup(
    policy, cost: float, availability: float, reclaims: int
) -> None:
    r = simulate(hand_market(1.0), policy, 2)
    assert r.cost == pytest.approx(cost)
    assert r.availability == pytest.approx(availability)
    assert int(r.reclaims.sum()) == reclaims


def test_warning_lets_replacements_start_early() -> None:
    m = hand_market(1.0)
    # tick 1 warns that a goes at 2; b has no stock at 1, so 2 regular replicas start at 1
    # and are ready at 2; without rebalancing they stay: a 2 x 2 h + r 2 x 3.0 x 5 h = 34
    sticky = simulate(m, EasOrdered(), 2, warning_seconds=3600.0)
    assert sticky.cost == pytest.approx(34.0)
    assert sticky.availability == 1.0
    assert sticky.regular_share == pytest.approx(10 / 14)
    # with rebalancing: r at 1-2, b from 2 (ready 3, r dropped), a from 4 (b warned at 4,
    # serves until 5): a 4 h = 8.0, r 2 h = 12.0, b 3 h = 7.2
    reb = simulate(m, EasOrdered(**REB), 2, warning_seconds=3600.0)
    assert reb.cost == pytest.approx(27.2)
    assert reb.availability == 1.0


def test_ready_never_exceeds_provisioned_and_timeline_adds_up() -> None:
    r = simulate(hand_market(1.0), SpotHedge(k=1), 2)
    assert (r.ready <= r.held).all()
    tl = r.timeline(by=("kind",))
    assert set(tl["kind"]) == {"spot", "regular"}
    per_tick = tl.group_by("hours").agg(pl.col("ready").sum()).sort("hours")
    assert per_tick["ready"].to_list() == r.ready.sum(axis=1).tolist()


def test_seed_allocation_at_t0_matches_eas_allocate() -> None:
    """The seed: 10 needed, dedicated group of 2, stock 3 x gn8v-8x.48xlarge and 2 x
    gn8is-8x.32xlarge, the rest (3) on the regular ml.gu7i.c8m30.1-gu30."""
    pools = (
        Pool("ml.gu7i.c8m30.1-gu30", "cn-hangzhou", "dedicated", 4.0, slots=2),
        Pool("ecs.gn8v-8x.48xlarge", "cn-hangzhou-h", "spot", 30.0),
        Pool("ecs.gn8is-8x.32xlarge", "cn-hangzhou-h", "spot", 20.0),
        Pool("ml.gu7i.c8m30.1-gu30", "cn-hangzhou", "regular", 8.0),
    )
    cap = np.array([[2] * 4, [3] * 4, [2] * 4, [U] * 4], dtype=np.int64)
    r = simulate(Market(pools, 60.0, cap, cap.copy()), dedicated_floor(), 10)
    assert r.held[0].tolist() == [2, 3, 2, 3]
    assert r.ready[0].tolist() == [2, 3, 2, 3]
    expected = eas_allocation(
        10, 2, [("ecs.gn8v-8x.48xlarge", 3, True), ("ecs.gn8is-8x.32xlarge", 2, True),
                ("ml.gu7i.c8m30.1-gu30", None, False)],
    )  # fmt: skip
    got = {("dedicated_resource" if p.kind == "dedicated" else p.spec): int(n)
           for p, n in zip(pools, r.held[0], strict=True)}  # fmt: skip
    assert got == expected == {
        "dedicated_resource": 2, "ecs.gn8v-8x.48xlarge": 3, "ecs.gn8is-8x.32xlarge": 2,
        "ml.gu7i.c8m30.1-gu30": 3,
    }  # fmt: skip
    # the dedicated group is billed whole: 2 slots x 4.0 x 4 ticks of 1 min
    assert r.cost_by_pool[0] == pytest.approx(2 * 4.0 * 4 / 60)


def test_price_series_are_integrated_per_tick() -> None:
    m = hand_market()
    prices = np.array([[1, 2, 3, 4, 5, 6], [1] * 6, [3] * 6], dtype=float)
    m2 = Market(m.pools, m.step_seconds, m.capacity, m.launchable, prices=prices)
    r = simulate(m2, OneSpot(), 2)
    assert r.cost == pytest.approx(2 * (1 + 2 + 5 + 6))


def test_dedicated_pool_only_in_markets_that_rent_it() -> None:
    m = hand_market()
    floor = Pool("g", "r", "dedicated", 2.0, slots=1)
    r = simulate(with_pools(m, [floor]), dedicated_floor(), 2)
    # 1 dedicated slot all 6 h (12.0) + 1 spot replica on a/b as EAS with rebalancing
    assert r.cost_by_pool[-1] == pytest.approx(12.0)
    assert r.availability == 1.0
    with pytest.raises(AnalysisError, match="spot"):
        with_pools(m, [Pool("g", "a", "spot", 1.0)])


def test_poisson_market_is_deterministic_under_a_seed() -> None:
    pools = [Pool("g", z, "spot", 1.0, 120.0) for z in ("a", "b")]
    pools.append(Pool("g", "r", "regular", 3.0, 120.0))
    kw = {"reclaims_per_hour": 0.05, "stock_probability": 0.8, "max_replicas": 6}
    m1 = poisson_market(pools, 2000, 60.0, seed=3, **kw)  # type: ignore[arg-type]
    m2 = poisson_market(pools, 2000, 60.0, seed=3, **kw)  # type: ignore[arg-type]
    m3 = poisson_market(pools, 2000, 60.0, seed=4, **kw)  # type: ignore[arg-type]
    r1, r2, r3 = (simulate(m, EasOrdered(rebalancing=True), 5, 300.0) for m in (m1, m2, m3))
    assert r1.summary() == r2.summary()
    assert r1.summary() != r3.summary()
    # stock 80 % of the time, measured on the drawn market within a few points
    share = (m1.launchable[:2] > 0).mean()
    assert 0.6 < share < 0.95
    assert r1.reclaims.sum() > 0


def test_poisson_without_reclaims_or_outages_is_always_available() -> None:
    pools = [Pool("g", "a", "spot", 1.0, 600.0), Pool("g", "r", "regular", 3.0, 600.0)]
    m = poisson_market(pools, 500, 60.0, reclaims_per_hour=0.0, stock_probability=1.0)
    r = simulate(m, OneSpot(), 7)
    assert r.availability == 1.0 and r.cost == pytest.approx(7 * 1.0 * 500 / 60)


def test_forward_window_min() -> None:
    a = np.array([[5, 3, 4, 1, 6, 7, 2]])
    for w in range(0, 9):
        want = [a[0, t : t + w + 1].min() for t in range(a.shape[1])]
        assert forward_window_min(a, w)[0].tolist() == want


def test_bad_inputs_raise() -> None:
    m = hand_market()
    with pytest.raises(AnalysisError, match="demand"):
        simulate(m, AllRegular(), [1, 2])
    with pytest.raises(AnalysisError, match="no pool"):
        simulate(m, OneSpot(pool="spot:g@c"), 1)
    with pytest.raises(AnalysisError, match="regular"):
        simulate(Market(m.pools[:2], 3600.0, m.capacity[:2], m.launchable[:2]), SpotHedge(), 1)


def test_spothedge_fallback_is_not_monotone_in_k() -> None:
    """A real finding, kept as a regression: one more spot replica can lower availability
    under SpotHedge's dynamic fallback. Here (3 zones, 2-tick start-up, demand 1) k=1 gets
    two spot replicas ready in zone 2 at tick 17, drops its on-demand replica, and loses
    both at 18 when zone 2 goes; k=0's single replica in zone 2 was still starting, so its
    on-demand replica stayed and served tick 18."""
    rows = [
        "0110001111111010100",
        "0100100011101101000",
        "0101011011111111110",
    ]
    cap = np.array([[U if ch == "1" else 0 for ch in row] for row in rows], dtype=np.int64)
    spots = [Pool("g", f"z{i}", "spot", 1.0 + 0.1 * i, 2.0) for i in range(3)]
    pools = (*spots, Pool("g", "r", "regular", 3.0, 2.0))
    c = np.vstack([cap, [[U] * 19]])
    m = Market(pools, 1.0, c, c.copy())
    k0 = simulate(m, SpotHedge(k=0), 1)
    k1 = simulate(m, SpotHedge(k=1), 1)
    assert k0.availability == pytest.approx(17 / 19)
    assert k1.availability == pytest.approx(16 / 19)


# -- invariants on random traces --------------------------------------------------------


@st.composite
def markets(draw: st.DrawFn) -> tuple[Market, int]:
    zones = draw(st.integers(1, 3))
    ticks = draw(st.integers(1, 16))
    binary = draw(st.booleans())
    cell = st.sampled_from([0, U]) if binary else st.integers(0, 4)
    cap = np.array(
        [[draw(cell) for _ in range(ticks)] for _ in range(zones)] + [[U] * ticks], dtype=np.int64
    )
    startup = float(draw(st.integers(0, 3)))
    spots = [
        Pool("g", f"z{i}", "spot", draw(st.sampled_from([0.5, 1.0, 1.5])), startup)
        for i in range(zones)
    ]
    pools = (*spots, Pool("g", "r", "regular", 3.0, startup))
    return Market(pools, 1.0, cap, cap.copy()), draw(st.integers(0, 3))


def policies() -> list:  # type: ignore[type-arg]
    return [
        AllRegular(), OneSpot(), EasOrdered(), EasOrdered(rebalancing=True, probe_seconds=2.0),
        SpotHedge(k=0), SpotHedge(k=2, od_floor=1), dedicated_floor(),
        EasService(rebalancing=False), EasService(spare=1, regular_capacity=2, probe_seconds=2.0),
        EasService(spare=2, spot_capacity=[2], probe_seconds=3.0),
    ]  # fmt: skip


@PROPS
@given(mw=markets(), demand=st.lists(st.integers(0, 4), min_size=16, max_size=16))
def test_invariants_on_random_traces(mw: tuple[Market, int], demand: list[int]) -> None:
    m, warn = mw
    need = np.array(demand[: m.ticks])
    for policy in policies():
        r = simulate(m, policy, need, warning_seconds=float(warn))
        assert (r.ready <= r.held).all() and (r.ready >= 0).all()
        assert 0.0 <= r.availability <= 1.0
        assert 0.0 <= r.replica_availability <= 1.0
        assert r.availability < 1.0 or r.replica_availability == 1.0
        # visiting only event ticks gives what visiting every tick gives
        full = simulate(m, policy, need, warning_seconds=float(warn), every_tick=True)
        assert full.cost == pytest.approx(r.cost)
        assert full.availability == pytest.approx(r.availability)
        assert (full.reclaims == r.reclaims).all()


@PROPS
@given(mw=markets(), n=st.integers(0, 6))
def test_all_regular_cost_is_n_price_hours(mw: tuple[Market, int], n: int) -> None:
    m, warn = mw
    r = simulate(m, AllRegular(), n, warning_seconds=float(warn))
    assert r.cost == pytest.approx(n * 3.0 * m.hours)
    assert r.cost == pytest.approx(r.all_regular_cost)
    assert r.availability == 1.0 and r.regular_share == (1.0 if n else 0.0)


@PROPS
@given(mw=markets(), n=st.integers(1, 4))
def test_more_over_provisioning_never_lowers_availability(mw: tuple[Market, int], n: int) -> None:
    """Running n + k replicas from the same ordered pools (EAS: a larger instance count)
    for a demand of n: availability never falls as k grows, on the same trace."""
    m, warn = mw
    for make in (OneSpot, EasOrdered):
        avail = [
            simulate(m, make(), n, warning_seconds=float(warn), provision=n + k).availability
            for k in range(4)
        ]
        assert avail == sorted(avail), (make.__name__, avail)


def test_recommended_is_eas_with_rebalancing_in_the_given_order() -> None:
    m = hand_market()
    rec = recommended(["spot:g@b", "spot:g@a", "regular:g@r"])
    r = simulate(m, rec, 2)
    # b first: b at 0, a at 1 (b out), b again at 2-4 (probe each 300 s = every tick here),
    # a at 5: b 4 h x 2 x 1.2 + a 2 h x 2 x 1.0
    assert r.cost == pytest.approx(9.6 + 4.0)
    assert r.availability == 1.0


def test_price_change_points_become_a_series() -> None:
    from datetime import UTC, datetime, timedelta

    import polars as pl

    from spotlab.fleet.market import with_price_points

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    m = hand_market()
    m = Market(m.pools, m.step_seconds, m.capacity, m.launchable, start=t0)
    # zone a: 1.0 until its first point at 2 h, then 0.5, then 2.0 from 4 h; zone b 0.9
    # from 1 h
    points = pl.DataFrame({
        "zone": ["a", "a", "b"], "spec": ["g", "g", "g"],
        "ts": [t0 + timedelta(hours=2), t0 + timedelta(hours=4), t0 + timedelta(hours=1)],
        "spot_price": [0.5, 2.0, 0.9],
    })  # fmt: skip
    pm = with_price_points(m, points)
    assert pm.prices is not None
    assert pm.prices[0].tolist() == [1.0, 1.0, 0.5, 0.5, 2.0, 2.0]
    assert pm.prices[1].tolist() == [1.2, 0.9, 0.9, 0.9, 0.9, 0.9]
    assert pm.prices[2].tolist() == [3.0] * 6
    # one spot pool on a: ticks 0, 1, 4, 5 at 1.0, 1.0, 2.0, 2.0 for 2 replicas
    assert simulate(pm, OneSpot(), 2).cost == pytest.approx(2 * (1 + 1 + 2 + 2))


def test_reclaim_rates_from_the_interruption_analytics(store) -> None:
    """The bundled Parcae lifecycle (real, MIT): 167 reclaims over 273.1 instance-hours of
    p3.2xlarge spot, 0.61 per hour, drive the Poisson market's reclaims."""
    from pathlib import Path

    from spotlab.fleet._deps import reclaim_rates
    from spotlab.ingest import ingest

    ingest(store, Path(__file__).resolve().parents[1] / "data" / "parcae_p3trace_lifecycle.csv")
    rates = reclaim_rates(store)
    assert rates["p3.2xlarge"] == pytest.approx(167 / 273.116667, rel=0.05)
    pools = [
        Pool("p3.2xlarge", "us-east-1a", "spot", 0.918),
        Pool("p3.2xlarge", "r", "regular", 3.06),
    ]
    m = poisson_market(pools, 24 * 60, 60.0, reclaims_per_hour=rates, max_replicas=4, seed=1)
    r = simulate(m, OneSpot(), 4)
    # about 0.61 x 4 replicas x 24 h = 59 reclaims expected
    assert 35 < r.reclaims.sum() < 85
