"""The ordering builder widget and chart: inputs in, the library's answers out."""

from __future__ import annotations

from pathlib import Path

import pytest

import spotlab as sl
from spotlab.charts.interruptions import ordering_chart
from spotlab.widgets.ordering import OrderingBuilder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundled() -> sl.Store:
    s = sl.Store(":memory:")
    sl.ingest(s, [ROOT / "data" / "specs_catalog.csv", ROOT / "data" / "eas_sample"])
    yield s
    s.close()


def test_builder_recomputes_on_input(bundled: sl.Store) -> None:
    b = OrderingBuilder(bundled, gpu_memory_gib=24, replicas=10, dedicated=2, spot_stock=3)
    first = b.ordering.to_instances()
    assert "spot_price_limit" not in first[-1]
    assert b.allocation.placed == 10 and b.allocation.counts()["dedicated_resource"] == 2
    mem = dict(bundled.query("SELECT spec, gpu_memory_gib FROM specs").iter_rows())
    b.gpu_mem.value = 48  # the observer recomputes
    assert all(mem[e.spec] >= 48 for e in b.ordering.entries)
    assert b.ordering.to_instances() != first
    b.gpu_mem.value = 1000
    assert "Cannot order" in b.message.value


def test_ordering_chart_lists_entries_in_order(bundled: sl.Store) -> None:
    o = sl.recommend_ordering({"gpu_memory_gib": 24}, bundled)
    spec = ordering_chart(o).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [r["entry"] for r in rows] == [f"#{e.position} {e.spec}" for e in o.entries]
    assert rows[-1]["kind"] == "regular"
