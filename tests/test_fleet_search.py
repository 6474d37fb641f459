"""The EAS service policy and the target search on hand-checkable traces, plus the
properties the search's pruning relies on.

The hand traces: ticks of 1 h, 12 ticks; spot zones a and b of spec g (1.0 USD/h), a
regular pool r (3.0 USD/h); start-up 1 tick, no warning; demand 1 replica. The training
window is the whole market: the fit part is ticks 0-7, the validation part ticks 8-11.
All-regular costs 1 x 3.0 x 12 h = 36.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotlab.errors import AnalysisError
from spotlab.fleet import UNLIMITED, Market, Pool, simulate, with_pools
from spotlab.fleet.policies import EasService
from spotlab.fleet.search import EasSetting, SearchSpace, candidates, recommend_fleet

U = UNLIMITED
PROPS = settings(
    max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


def hand(a: list[int], b: list[int], startup: float = 3600.0) -> Market:
    pools = (
        Pool("g", "a", "spot", 1.0, startup),
        Pool("g", "b", "spot", 1.0, startup),
        Pool("g", "r", "regular", 3.0, startup),
    )
    cap = np.array([a, b, [U] * len(a)], dtype=np.int64)
    return Market(pools, 3600.0, cap, cap.copy())


STEADY = [U] * 12
A_DROPS = [U, U, U, 0, U, U, U, U, U, U, U, U]  # zone a out at tick 3 only


def test_search_must_pick_a_spare_replica() -> None:
    # No spare: the replica starts in a (fewest replicas, ties in market order); a goes at
    # tick 3, the replacement in b is ready at 4: down 1 tick of 12 (fit part 7/8 = 87.5 %)
    # at a cost of a 3 h + b 9 h = 12 (1/3 of all-regular).
    # One spare: a and b hold one each; a's loss leaves b ready, its replacement goes to b:
    # always available, a 3 h + b 3 h + b 2 x 9 h = 24 (2/3). A replica always on regular
    # costs 36 (1.0). So the cheapest setting reaching 95 % has one spare.
    m = hand(A_DROPS, STEADY)
    none = simulate(m, EasService(rebalancing=True), 1)
    assert none.availability == pytest.approx(11 / 12) and none.cost == pytest.approx(12.0)
    c = recommend_fleet(m, 1, 0.0, target=0.95)
    assert c.setting == EasSetting(("g",), (None,), 1, 1, True, 0)
    assert c.train["availability"] == 1.0
    assert c.train["cost_ratio"] == pytest.approx(24 / 36)
    assert c.fit["availability"] == 1.0 and c.validation["availability"] == 1.0
    # cross-validation: the first block (ticks 0-3, a's loss) scored by the choice made on
    # the other two (no loss seen: no spare) is 3/4 available, the other blocks 100 %
    # (their choices saw the loss: one spare): pooled 11/12 < 95 % at every margin, which
    # change nothing, so the smallest (0) is kept, not validated
    assert c.margin == 0.0 and not c.margin_validated and c.met
    assert c.cv[0]["pooled_availability"] == pytest.approx(11 / 12)
    assert [f["availability"] for f in c.cv[0]["folds"]] == pytest.approx([0.75, 1.0, 1.0])
    # the first round's single split (fit 0-7, validate 8-11) sees the loss in its fit part
    last = recommend_fleet(m, 1, 0.0, 0.95, space=SearchSpace(validation="last"))
    assert last.setting == c.setting and last.margin == 0.0 and last.margin_validated
    # ties go to rebalancing on and a regular entry holding exactly the demand
    assert "1 spare" in c.setting.describe(1) and "regular capacity 1" in c.setting.describe(1)
    assert "0.667 x" in c.reasons[0]
    fields = c.setting.fields(1, "g", {"g": 3.0})
    assert fields["metadata.instance"] == 2 and fields["autoscaler.min"] == 2
    assert fields["cloud.computing.instances"] == [
        {"type": "g", "spot_price_limit": 3.0},
        {"type": "g", "capacity": 1},
    ]


def test_search_must_not_pick_a_spare_when_the_target_is_met_without() -> None:
    # nothing drops: one replica on spot is always available at 12 / 36
    c = recommend_fleet(hand(STEADY, STEADY), 1, 0.0, target=0.95)
    assert c.setting.spare == 0 and c.setting.dedicated == 0 and c.setting.rebalancing
    assert c.train == pytest.approx(
        {"cost": 12.0, "all_regular_cost": 36.0, "cost_ratio": 1 / 3, "availability": 1.0}
    )
    # and the same trace with a lower target than the spare-needing one: 11/12 >= 0.9
    c = recommend_fleet(hand(A_DROPS, STEADY), 1, 0.0, target=0.9)
    assert c.setting.spare == 0
    assert c.train["availability"] == pytest.approx(11 / 12)


def test_when_every_zone_goes_at_once_a_dedicated_floor_beats_spares() -> None:
    # a and b both out at tick 3: every spot replica goes, and the replacement (on regular)
    # is ready at 4 whatever the spares. A dedicated slot at 2.0/h is never reclaimed:
    # 24 / 36; a replica always on regular (spot capacity 0): 36 / 36.
    m = hand(A_DROPS, A_DROPS)
    c = recommend_fleet(m, 1, 0.0, target=0.95, dedicated_price=2.0)
    assert c.setting.dedicated == 1 and c.setting.spare == 0
    assert c.train["cost_ratio"] == pytest.approx(24 / 36) and c.train["availability"] == 1.0
    without = recommend_fleet(m, 1, 0.0, target=0.95)
    assert without.setting.regular_base(1) == 1  # everything on regular
    assert without.train["cost_ratio"] == pytest.approx(1.0)


def test_margin_is_set_on_the_validation_part() -> None:
    # a drops at tick 9 (the last block) only. The first round's single split: the fit
    # part (0-7) shows nothing, so the cheapest setting meeting 95 % there (no spare) misses
    # it on validation (3/4); the margins do not help (the fit part is 100 % for every
    # setting), so none validates and the largest is used: 100 % on the window needs the
    # spare. Cross-validated, the margins change nothing either: the smallest is kept, and
    # 95 % on the whole window (no spare: 11/12) still needs the spare.
    a = [U] * 9 + [0] + [U] * 2
    c = recommend_fleet(hand(a, STEADY), 1, 0.0, 0.95, space=SearchSpace(validation="last"))
    assert not c.margin_validated and c.margin == pytest.approx(0.005)
    assert c.setting.spare == 1 and c.train["availability"] == 1.0
    assert any("the largest, 0.5 points" in r for r in c.reasons)
    cv = recommend_fleet(hand(a, STEADY), 1, 0.0, target=0.95)
    assert not cv.margin_validated and cv.margin == 0.0 and cv.setting.spare == 1
    assert any("the smallest among equals" in r for r in cv.reasons)


def test_one_hard_stretch_at_the_end_does_not_set_the_margin_alone() -> None:
    # a drops at tick 9, target 90 %, margins 0 and 5 points. The single split: the choice
    # on ticks 0-7 (no spare, 1/3) is 3/4 available on 8-11, neither margin validates, the
    # largest is used: 95 % on the window, which no spare (11/12) misses: one spare, 2/3.
    # Cross-validated: blocks 0 and 1 are scored by choices that saw the loss (one spare:
    # 100 %), block 2 by no spare (3/4): pooled 11/12 >= 90 %, margin 0, and on the whole
    # window no spare (11/12) meets 90 % at 1/3.
    a = [U] * 9 + [0] + [U] * 2
    m = hand(a, STEADY)
    last = recommend_fleet(m, 1, 0.0, 0.9, space=SearchSpace(margins=(0.0, 0.05),
                                                               validation="last"))  # fmt: skip
    assert last.margin == 0.05 and not last.margin_validated
    assert last.setting.spare == 1 and last.train["cost_ratio"] == pytest.approx(2 / 3)
    cv = recommend_fleet(m, 1, 0.0, 0.9, space=SearchSpace(margins=(0.0, 0.05)))
    assert cv.margin == 0.0 and cv.margin_validated
    assert cv.cv[0]["pooled_availability"] == pytest.approx(11 / 12)
    assert cv.setting == EasSetting(("g",), (None,), None, 0, True, 0)
    assert cv.train == pytest.approx(
        {"cost": 12.0, "all_regular_cost": 36.0, "cost_ratio": 1 / 3, "availability": 11 / 12}
    )
    assert "No safety margin needed: by 3-fold blocked cross-validation" in cv.reasons[1]


def test_a_spare_prior_keeps_spot_settings_without_spares_out() -> None:
    # nothing drops, so the window alone buys no spare (1/3); a prior of one spare makes
    # the cheapest spot-using setting one with a spare (2/3), and a prior beyond the space
    # is clipped to its largest spare count
    m = hand(STEADY, STEADY)
    c = recommend_fleet(m, 1, 0.0, 0.95, min_spare=1)
    assert c.setting.spare == 1 and c.min_spare == 1
    assert c.train["cost_ratio"] == pytest.approx(2 / 3)
    assert any("spare prior" in r for r in c.reasons)
    assert recommend_fleet(m, 1, 0.0, 0.95, space=SearchSpace(max_spare=1),
                           min_spare=5).min_spare == 1  # fmt: skip
    with pytest.raises(AnalysisError, match="min_spare"):
        recommend_fleet(m, 1, 0.0, 0.95, min_spare=-1)
    # a setting with nothing on spot needs no spare: a dedicated slot (2.0/h) beats
    # spot + spare (2/3) when both zones go at tick 3 and the target is 95 %
    d = recommend_fleet(hand(A_DROPS, A_DROPS), 1, 0.0, 0.95, dedicated_price=2.0, min_spare=1)
    assert d.setting.dedicated == 1 and not d.uses_spot


def test_no_spot_answer_reports_the_best_spot_setting_and_the_dedicated_price() -> None:
    # both zones out at tick 3: a spot replica alone is 11/12 available whatever the
    # spares on spot, so 95 % needs a replica off spot: a dedicated slot (24/36). Beside
    # it, the cheapest setting that still uses spot: one replica always on regular (spot
    # capacity 1 of 2, regular capacity 1) and a spot spare: regular 12 h x 3 = 36, spot
    # 3 h before the loss and 8 h after (regular is full, the spare waits for stock) = 47.
    m = hand(A_DROPS, A_DROPS)
    c = recommend_fleet(m, 1, 0.0, 0.95, dedicated_price=2.0)
    assert c.setting.dedicated == 1 and not c.uses_spot
    alt = c.spot_alternative
    assert alt is not None and alt.met and alt.setting.uses_spot(1)
    assert alt.setting == EasSetting(("g",), (1,), 1, 1, True, 0)
    assert alt.train["availability"] == 1.0
    assert alt.train["cost_ratio"] == pytest.approx(47 / 36)
    text = " ".join(c.reasons)
    assert (
        "priced at 2 per hour, 0.67 x the regular price, an assumption" in text
        and "--dedicated-share" in text
    )
    assert "This runs nothing on spot" in text and "1.306 x" in text and "+0.639 x" in text
    assert c.summary()["spot_alternative"]["met"] is True
    # without the regular base option the best spot setting falls short: reported as such
    short = recommend_fleet(m, 1, 0.0, 0.95, dedicated_price=2.0,
                            space=SearchSpace(max_spare=0))  # fmt: skip
    assert short.spot_alternative is not None and not short.spot_alternative.met
    assert short.spot_alternative.train["availability"] == pytest.approx(11 / 12)
    # at 90 % the spot setting itself is the answer: nothing to report beside it
    assert recommend_fleet(m, 1, 0.0, 0.9, dedicated_price=2.0).spot_alternative is None


def test_eas_service_spreads_over_zones_and_respects_capacities() -> None:
    m = hand(STEADY, STEADY, startup=0.0)
    r = simulate(m, EasService(spare=2), 3)  # 5 replicas: a 3, b 2
    assert r.held[0].tolist() == [3, 2, 0]
    # spot capacity 3 leaves 2 on regular (a regular base); regular capacity 1 caps it
    r = simulate(m, EasService(spare=2, spot_capacity=[3]), 3)
    assert r.held[0].tolist() == [2, 1, 2]
    r = simulate(m, EasService(spare=2, spot_capacity=[3], regular_capacity=1), 3)
    assert r.held[0].tolist() == [2, 1, 1]
    with pytest.raises(AnalysisError, match="no spot pools of 'h'"):
        simulate(m, EasService(spot=["h"]), 1)


def test_candidates_are_unique_and_bounded() -> None:
    space = SearchSpace(max_spare=2, max_dedicated=1)
    cands = list(candidates(["g"], 2, space, dedicated=True))
    assert len(cands) == len(set(cands))
    assert {c.spare for c in cands} == {0, 1, 2} and {c.dedicated for c in cands} == {0, 1}
    assert all(c.regular_capacity is None or c.regular_capacity >= 1 for c in cands)
    with pytest.raises(AnalysisError, match="max_spare"):
        SearchSpace(max_spare=-1)
    with pytest.raises(AnalysisError, match="Did you mean 'blocked'"):
        SearchSpace(validation="blocke")
    with pytest.raises(AnalysisError, match="target"):
        recommend_fleet(hand(STEADY, STEADY), 1, 0.0, target=float("nan"))


# -- properties the pruning rests on ------------------------------------------------------


@st.composite
def markets(draw: st.DrawFn) -> Market:
    zones = draw(st.integers(1, 3))
    ticks = draw(st.integers(6, 18))
    binary = draw(st.booleans())
    cell = st.sampled_from([0, U]) if binary else st.integers(0, 4)
    rows = [[draw(cell) for _ in range(ticks)] for _ in range(zones)] + [[U] * ticks]
    startup = float(draw(st.integers(0, 3)))
    pools = (
        *(Pool("g", f"z{i}", "spot", 1.0, startup) for i in range(zones)),
        Pool("g", "r", "regular", 3.0, startup),
    )
    cap = np.array(rows, dtype=np.int64)
    return Market(pools, 1.0, cap, cap.copy())


@PROPS
@given(
    m=markets(), n=st.integers(1, 3), warn=st.integers(0, 2), reb=st.booleans(),
    family=st.sampled_from(["uncapped", "exact", "base", "dedicated"]),
)  # fmt: skip
def test_availability_grows_with_the_spares(
    m: Market, n: int, warn: int, reb: bool, family: str
) -> None:
    """What the pruning assumes: within a family (the same setting but for the spares),
    more spares never lower availability. (The regular capacity has no such property: an
    uncapped regular entry can absorb the spares during an outage and delay their return to
    spot, which a hypothesis run found; so the search never prunes across it.)"""
    ded = 1 if family == "dedicated" else 0
    market = m if not ded else with_pools(m, [Pool("g", "d", "dedicated", 2.0, 0.0, slots=1)])
    avail = []
    for spare in range(3):
        s = EasSetting(
            ("g",), (n + spare - 1,) if family == "base" else (None,),
            None if family == "uncapped" else n - ded, spare, reb, ded,
        )  # fmt: skip
        pol = s.policy()
        pol.probe_seconds = 2.0 if reb else None
        r = simulate(market, pol, n, warning_seconds=float(warn))
        full = simulate(market, pol, n, warning_seconds=float(warn), every_tick=True)
        assert full.cost == pytest.approx(r.cost) and full.availability == r.availability
        avail.append(r.availability)
    assert avail == sorted(avail), avail


@PROPS
@given(m=markets(), n=st.integers(1, 3), warn=st.integers(0, 2))
def test_pruning_gives_the_plain_branch_and_bound_answer(m: Market, n: int, warn: int) -> None:
    pruned = recommend_fleet(m, n, float(warn), 0.9, 2.0, SearchSpace(max_spare=2))
    plain = recommend_fleet(m, n, float(warn), 0.9, 2.0, SearchSpace(max_spare=2, prune=False))
    assert pruned.train["cost_ratio"] == pytest.approx(plain.train["cost_ratio"])
    assert pruned.stats.replayed <= plain.stats.replayed + pruned.stats.candidates


def test_the_regular_fallback_holds_the_demand() -> None:
    # Demand 2, both zones out at tick 3 only, target 80 %. Regular uncapped: both replicas
    # go to regular at tick 3 (ready at 4: down 1 tick), rebalancing moves them back to spot
    # at 4 (ready at 5): spot 2 x 3 h + 2 x 8 h = 22, regular 2 x 2 h x 3.0 = 12, cost 34
    # (0.472 of all-regular's 72), 11/12 available. Regular capped at 1: one replica waits
    # for spot, so tick 4 is short too: 10/12 at 28 (0.389). Both reach 80 % on the window;
    # the first two rounds' space picked the cheaper cap, the seed's fallback does not.
    both = [U, U, U, 0, U, U, U, U, U, U, U, U]
    m = hand(both, both)
    old = recommend_fleet(m, 2, 0.0, 0.8, space=SearchSpace(fallback_holds_demand=False))
    assert old.setting.regular_capacity == 1 and not old.setting.fallback_holds_demand(2)
    assert old.train["cost"] == pytest.approx(28.0)
    assert old.train["availability"] == pytest.approx(10 / 12)
    new = recommend_fleet(m, 2, 0.0, 0.8)
    assert new.setting.fallback_holds_demand(2) and new.setting.regular_capacity in (None, 2)
    assert new.train["cost"] == pytest.approx(34.0)
    assert new.train["availability"] == pytest.approx(11 / 12)
    # a dedicated group counts towards what the fallback must hold
    assert EasSetting(("g",), (None,), 1, 0, True, 1).fallback_holds_demand(2)
    assert not EasSetting(("g",), (None,), 1, 0, True, 0).fallback_holds_demand(2)


def test_a_probe_period_sensitivity_run_restores_the_assumption() -> None:
    from spotlab.fleet import policies

    assert policies.EAS_PROBE_SECONDS == 300.0
    with policies.assumed_probe_seconds(60):
        assert EasService(rebalancing=True).probe_seconds == 60.0
    assert EasService(rebalancing=True).probe_seconds == 300.0
    bad = r"probe seconds must be in \[60, 3600\]"
    with pytest.raises(AnalysisError, match=bad), policies.assumed_probe_seconds(float("nan")):
        pass
    with pytest.raises(ValueError), policies.assumed_probe_seconds(120):
        raise ValueError("the block fails")
    assert policies.EAS_PROBE_SECONDS == 300.0  # restored after a failure too
