"""The fleet replay's start-up: given, or the cold-start model like ``bids``/``order``
(default setup both), and the spare prior fitted on other traces."""

from __future__ import annotations

from pathlib import Path

import pytest

import spotlab as sl
from spotlab.advise.coldstart import predicted_startup_seconds, startup_seconds_for_store
from spotlab.errors import AnalysisError
from spotlab.fleet.prior import PriorPoint, fit_spare_prior
from spotlab.fleet.startup import fleet_startup
from spotlab.ingest import ingest

ROOT = Path(__file__).resolve().parents[1]


def test_default_is_the_both_setup_like_bids_and_order() -> None:
    st = fleet_startup()
    assert st.seconds == pytest.approx(predicted_startup_seconds(14.0, setup="both"))
    assert 100 < st.seconds < 120  # within AWS's 120 s warning, unlike plain's 292 s
    assert st.source == "cold-start model" and st.setup == "both" and st.model_size_gb == 14.0
    text = st.describe()
    assert text.startswith(f"start-up {st.seconds:.0f} s (cold-start model: a 14 GB model")
    assert "setup both: cachefs + ACR acceleration" in text and "default" in text
    plain = fleet_startup(setup="plain")
    assert plain.seconds == pytest.approx(predicted_startup_seconds(14.0, setup="plain"))
    assert plain.defaulted == ("model size 14 GB",) and "setup plain" in plain.describe()
    given = fleet_startup(200.0)
    assert given.seconds == 200.0 and given.describe() == "start-up 200 s (given)"
    assert fleet_startup(None, 30.0, 2.0, "acr").seconds == pytest.approx(
        predicted_startup_seconds(30.0, 2.0, "acr")
    )
    assert fleet_startup(model_size_gb=14.0, setup="both").defaulted == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"startup_seconds": 100.0, "setup": "plain"}, "not both"),
        ({"startup_seconds": -1.0}, "startup_seconds must be a number >= 0"),
        ({"startup_seconds": float("nan")}, "startup_seconds must be a number >= 0"),
        ({"setup": "bothh"}, "Did you mean 'both'"),
        ({"model_size_gb": float("inf")}, "model size must be a finite number"),
    ],
)
def test_bad_start_up_inputs_fail_loud(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        fleet_startup(**kwargs)  # type: ignore[arg-type]


def test_the_spec_memory_decides_the_cache_as_for_bids() -> None:
    store = sl.Store(":memory:")
    ingest(store, [ROOT / "data" / "specs_catalog.csv"])
    # 30 GiB: 4 reserved + 13.0 GiB staged leave less than the 13.0 GiB cache: no cache
    small = fleet_startup(store=store, spec="ml.gu7i.c8m30.1-gu30")
    same = startup_seconds_for_store(store, 14.0, 1.34, "both")["ml.gu7i.c8m30.1-gu30"]
    assert small.seconds == pytest.approx(same)
    assert small.seconds == pytest.approx(predicted_startup_seconds(14.0, setup="acr"))
    assert "does not fit ml.gu7i.c8m30.1-gu30's memory" in small.describe()
    big = fleet_startup(store=store, spec="ml.gu7i.c16m60.1-gu30")
    assert big.seconds == pytest.approx(fleet_startup().seconds) and not big.cache_note
    unknown = fleet_startup(store=store, spec="p3.2xlarge")
    assert unknown.seconds == pytest.approx(fleet_startup().seconds)
    assert "not in the catalog: the model cache assumed to fit" in unknown.describe()


def _p(trace: str, zone_hours: float, needed: int | None, gap: float = 84.0) -> PriorPoint:
    return PriorPoint(trace, "both", zone_hours, gap, needed)


def test_spare_prior_is_isotonic_and_leaves_the_trace_out() -> None:
    points = [_p("a", 10.0, 2), _p("b", 20.0, 1), _p("c", 100.0, 0), _p("d", 1000.0, 0),
              _p("a", 10.0, 1, gap=170.0), _p("e", 5.0, None)]  # fmt: skip
    # non-increasing in log zone-hours: 10 h -> mean of a's two points (1.5), 20 h -> 1
    got = fit_spare_prior(10.0, 84.0, points)
    assert got.fitted == pytest.approx(1.5) and got.spares == 2 and got.points == 5
    assert fit_spare_prior(20.0, 84.0, points).spares == 1
    assert fit_spare_prior(500.0, 84.0, points).spares == 0
    assert fit_spare_prior(2.0, 84.0, points).spares == 2  # clipped below the data
    # leave trace "a" out (both of its points): the shortest window left is b's
    out = fit_spare_prior(10.0, 84.0, points, left_out="a")
    assert out.points == 3 and out.fitted == pytest.approx(1.0) and out.left_out == "a"
    assert "the other traces" in out.reason
    # a gap of 0: a replacement is ready before the old replica goes, spares cannot help
    none = fit_spare_prior(10.0, 0.0, points)
    assert none.spares == 0 and "within the reclaim warning" in none.reason
    assert fit_spare_prior(10.0, 84.0, [_p("a", 10.0, None)]).spares == 0
    assert fit_spare_prior(10.0, 84.0, points, max_spare=1).spares == 1
    # a trace with a decreasing pattern the isotonic fit pools: 10 -> 0, 20 -> 2 pool to 1
    pooled = fit_spare_prior(10.0, 84.0, [_p("x", 10.0, 0), _p("y", 20.0, 2)])
    assert pooled.fitted == pytest.approx(1.0) and pooled.spares == 1
    with pytest.raises(AnalysisError, match="zone_hours"):
        fit_spare_prior(0.0, 84.0, points)
