"""The assumptions registry: each value is its home's, and every reader shows the same."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

import spotlab as sl
from spotlab.assumptions import ASSUMPTIONS, assumption, assumptions, assumptions_frame
from spotlab.errors import AnalysisError
from spotlab.overview import overview


def _home_value(home: str) -> Any:
    """The object a dotted ``home`` names (module constant, dict or class attribute)."""
    parts = home.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise AssertionError(f"no module in {home!r}")


@pytest.mark.parametrize("a", ASSUMPTIONS, ids=lambda a: a.key)
def test_each_value_is_the_one_at_its_home(a: sl.assumptions.Assumption) -> None:
    home = _home_value(a.home)
    if isinstance(home, dict) and a.key.startswith("warning_lead."):
        home = home[a.key.split(".", 1)[1]]
    elif isinstance(home, dict):
        home = home["gpu_memory_gib"]
    elif a.home.endswith("_gb_per_s"):  # a dataclass field's default
        home = getattr(sl.Bandwidths(), a.home.rsplit(".", 1)[1])
    if home is None:  # a default that is a rule (e.g. "the fallback's price"), said in words
        assert isinstance(a.value, str) and a.value
    else:
        assert a.value == (float(home) if isinstance(home, int) else home)
    assert a.source and a.change and a.drives and a.unit is not None


def test_keys_are_unique_and_unknown_ones_fail_with_a_hint() -> None:
    keys = [a.key for a in ASSUMPTIONS]
    assert len(keys) == len(set(keys))
    assert assumption("month").value_text() == "730 h"
    with pytest.raises(AnalysisError, match="Did you mean 'month'"):
        assumption("mont")
    with pytest.raises(AnalysisError):
        assumptions(used={"no.such.key": (1, "given")})


def test_used_values_replace_the_default_with_their_source() -> None:
    got = assumptions(["plan.dedicated_share"], used={"plan.dedicated_share": (0.5, "given")})
    assert [(a.value, a.source) for a in got] == [(0.5, "given")]
    frame = assumptions_frame(["month", "bid.startup_seconds"])
    assert frame["assumption"].to_list() == [
        "one month",
        "start-up of a replacement when no cold-start model is given",
    ]


def test_the_overview_reports_what_it_used() -> None:
    store = sl.Store(":memory:")
    from tests.conftest import BUNDLED

    sl.ingest(store, BUNDLED)
    ov = overview(store, dedicated_monthly_price=1000.0, out_of_sample=False)
    rows = {r["key"]: r for r in ov.assumptions().iter_rows(named=True)}
    assert rows["plan.dedicated_share"]["source"].startswith("given: 1000")
    assert ov.plan is not None and ov.plan.prices["dedicated_monthly"] == 1000.0
    # the cold start is priced with the ordering's own figures, and says so
    first = next(e for e in ov.ordering.entries if e.spot)
    assert ov.coldstart.price_per_hour == pytest.approx(first.cost_per_replica_hour)
    assert first.spec in rows["coldstart.spot_price"]["source"]
    # a default the overview did not change keeps the registry's value
    assert rows["plan.target_utilization"]["value"] == "0.8 share of a replica"


def test_cli_lists_the_registry(cli: Any) -> None:
    code, out, _ = cli("assumptions")
    assert code == 0
    assert "one month" in out and "730 h" in out
    code, out, _ = cli("assumptions", "--json")
    rows = json.loads(out)
    assert len(rows) == len(ASSUMPTIONS) and rows[0]["key"] == "month"
