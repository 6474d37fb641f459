"""EAS allocation: the dedicated group, then the pool in order, min(stock, cap, remaining)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.advise.allocation import DEDICATED, PoolEntry, allocate, cap_of, parse_pool

SEED_POOL = "ecs.gn8v-8x.48xlarge=3,ecs.gn8is-8x.32xlarge=2,ml.gu7i.c8m30.1-gu30=10"


def test_seed_example_exactly() -> None:
    # the seed: 10 needed, dedicated holds 2, stock allows 3 x gn8v-8x and 2 x gn8is-8x,
    # and ml.gu7i.c8m30.1-gu30 takes the remaining 3
    a = allocate(10, 2, parse_pool(SEED_POOL))
    assert a.counts() == {
        DEDICATED: 2,
        "ecs.gn8v-8x.48xlarge": 3,
        "ecs.gn8is-8x.32xlarge": 2,
        "ml.gu7i.c8m30.1-gu30": 3,
    }
    assert list(a.counts()) == [
        DEDICATED,
        "ecs.gn8v-8x.48xlarge",
        "ecs.gn8is-8x.32xlarge",
        "ml.gu7i.c8m30.1-gu30",
    ]
    assert a.unplaced == 0 and a.placed == 10
    text = a.explain()
    assert "dedicated group first: 2 free, 10 needed" in text
    assert "takes 3, all its stock" in text
    assert "takes the remaining 3" in text
    assert a.frame()["remaining_before"].to_list() == [10, 8, 5, 3]


def test_cli_prints_the_seed_split() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spotlab.cli", "allocate", "10", "--dedicated", "2",
         "--pool", SEED_POOL, "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    doc = json.loads(out.stdout)
    assert [(p["type"], p["count"]) for p in doc["placements"]] == [
        (DEDICATED, 2),
        ("ecs.gn8v-8x.48xlarge", 3),
        ("ecs.gn8is-8x.32xlarge", 2),
        ("ml.gu7i.c8m30.1-gu30", 3),
    ]
    assert doc["unplaced"] == 0


def test_caps_and_percentages() -> None:
    pool = [
        PoolEntry("a", stock=10, capacity="30%", spot=True),
        PoolEntry("b", stock=10, capacity=2, spot=True),
        PoolEntry("r", spot=False),
    ]
    a = allocate(10, 0, pool)
    # 30% of 10 = 3; b's cap 2; the regular entry takes the remaining 5
    assert a.counts() == {"a": 3, "b": 2, "r": 5}
    assert "takes 3, its cap" in a.placements[1].reason
    assert "(regular)" in a.placements[3].reason
    assert cap_of("25%", 10) == 2  # rounded down
    assert cap_of("100%", 7) == 7


def test_shortfall_is_explained() -> None:
    a = allocate(8, 1, [PoolEntry("a", 2), PoolEntry("b", 1)])
    assert a.counts() == {DEDICATED: 1, "a": 2, "b": 1}
    assert a.unplaced == 4
    assert "4 could not be placed" in a.explain()


def test_entries_after_the_last_needed_take_nothing() -> None:
    a = allocate(2, 5, parse_pool("a=3,b=*"))
    assert a.counts() == {DEDICATED: 2}
    assert a.placements[1].reason.endswith("not needed, every instance is already placed")


def test_stock_override_and_mapping_pool() -> None:
    a = allocate(5, 0, {"a": 1, "b": None}, stock={"b": 2})
    assert a.counts() == {"a": 1, "b": 2}
    assert a.unplaced == 2


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a=x", "stock must be a whole number"),  # stock not a number
        ("=3", "has no spec"),  # no spec name
        ("a=3:abc", "capacity must be"),  # cap neither integer nor percentage
        ("a=3:150%", "above 100%"),  # percentage over 100
    ],
)
def test_bad_pool_text(text: str, match: str) -> None:
    with pytest.raises(sl.AnalysisError, match=match):
        parse_pool(text)


def test_negative_inputs_raise() -> None:
    with pytest.raises(sl.AnalysisError):
        allocate(-1, 0, [])
    with pytest.raises(sl.AnalysisError):
        allocate(1, -1, [])
    with pytest.raises(sl.AnalysisError):
        allocate(1, 0, [PoolEntry("a", -2)])


_entry = st.builds(
    PoolEntry,
    spec=st.sampled_from(["a", "b", "c", "d"]),
    stock=st.one_of(st.none(), st.integers(0, 20)),
    capacity=st.one_of(st.none(), st.integers(0, 20), st.integers(0, 100).map(lambda p: f"{p}%")),
    spot=st.one_of(st.none(), st.booleans()),
)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 60), dedicated=st.integers(0, 30), pool=st.lists(_entry, max_size=6))
def test_allocation_invariants(n: int, dedicated: int, pool: list[PoolEntry]) -> None:
    a = allocate(n, dedicated, pool)
    assert a.placed + a.unplaced == n
    assert a.placements[0].count == min(n, dedicated)
    remaining = n - a.placements[0].count
    for p, e in zip(a.placements[1:], pool, strict=True):
        limit = min(
            [remaining]
            + ([e.stock] if e.stock is not None else [])
            + ([cap_of(e.capacity, n)] if e.capacity is not None else [])
        )
        # each entry takes all it can before the next entry gets any
        assert p.count == limit
        remaining -= p.count
    assert remaining == a.unplaced
