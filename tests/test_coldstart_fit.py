"""A cache setup whose cache does not fit the spec's memory is unavailable, says why, and is
never the best (in the library, the chart and the calculator)."""

from __future__ import annotations

import polars as pl
import pytest

from spotlab.advise import coldstart as cs
from spotlab.charts.coldstart import savings_chart, timeline_chart
from spotlab.widgets.coldstart import ColdstartCalculator

# 7.2 GB = 6.71 GiB; 16 GiB of memory leaves 16 - 4 - 6.71 = 5.29 GiB: no room for the cache


def test_a_cache_that_does_not_fit_is_unavailable_and_not_best() -> None:
    fits = cs.coldstart_saving(7.2, 12.0, reclaims_per_month=10)
    assert fits.best_setup == "both" and fits.unavailable == {}
    small = cs.coldstart_saving(7.2, 12.0, reclaims_per_month=10, memory_gib=16.0)
    assert set(small.unavailable) == {"cachefs", "both"}
    assert small.best_setup == "acr"  # "both" would save more, but cannot run here
    assert small.monthly_saving["both"] > small.monthly_saving["acr"]
    reason = small.unavailable["both"]
    assert "does not fit" in reason and "16 GiB" in reason and "5.3 GiB" in reason


def test_timeline_marks_unavailable_setups_with_the_reason() -> None:
    t = cs.replacement_timeline(7.2, 12.0, memory_gib=16.0)
    got = dict(zip(t["setup"], t["available"], strict=True))
    assert got == {"plain": True, "cachefs": False, "acr": True, "both": False}
    assert t.filter(pl.col("available"))["unavailable_reason"].null_count() == 2
    unknown = cs.replacement_timeline(7.2, 12.0)  # memory unknown: nothing is ruled out
    assert unknown["available"].all()


def test_savings_chart_draws_no_bar_for_an_unavailable_setup() -> None:
    t = cs.replacement_timeline(7.2, 12.0, memory_gib=16.0)
    spec = savings_chart(cs.monthly_savings(t, 10, 2.88, 14.4)).to_dict()
    bars, text = spec["layer"]
    datasets = spec["datasets"]
    bar_setups = {r["setup"] for r in datasets[bars["data"]["name"]]}
    assert bar_setups == {"plain", "acr"}
    assert {r["text"] for r in datasets[text["data"]["name"]]} == {"unavailable"}
    assert "unavailable" in spec["title"]
    rows = timeline_chart(t).to_dict()["datasets"]
    labels = {r["setup"] for rs in rows.values() for r in rs if "setup" in r}
    assert "both (unavailable)" in labels


def test_calculator_says_which_setups_cannot_run() -> None:
    calc = ColdstartCalculator(model_size_gb=7.2, image_size_gb=12.0, memory_gib=16.0)
    text = calc.message.value
    assert "Best available: ACR image acceleration" in text
    assert "cachefs: unavailable" in text and "both: unavailable" in text
    calc.memory.value = 64.0  # room for the cache: both is best again
    assert "Best available: cachefs + ACR acceleration" in calc.message.value
    assert "unavailable" not in calc.message.value
    assert "CNY/month" in calc.message.value  # the money on every redraw


@pytest.mark.parametrize("memory", [16.0, 64.0])
def test_best_is_always_available(memory: float) -> None:
    s = cs.coldstart_saving(7.2, 12.0, reclaims_per_month=5, memory_gib=memory)
    assert s.best_setup not in s.unavailable
