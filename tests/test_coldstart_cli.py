"""`spotlab coldstart`, the calculator widget and the charts: thin layers over the library."""

from __future__ import annotations

import json

import pytest

import spotlab as sl
from spotlab.advise import coldstart as cs
from tests.conftest import BUNDLED


def test_acceptance_command_shows_setups_and_fits(cli) -> None:
    code, out, err = cli("coldstart", "--model-size-gb", "7.2")
    assert code == 0, err
    for word in ("plain", "cachefs", "acr", "both", "downtime_seconds", "monthly_saving"):
        assert word in out
    assert "cachefs_remote_hit" in out and "throughput_lo" in out
    assert "seed_load_times.csv, shipped with spotlab" in out  # no database: the packaged table


def test_json_matches_the_library(cli) -> None:
    code, out, _ = cli(
        "coldstart", "--model-size-gb", "7.2", "--image-size-gb", "12",
        "--reclaims-per-month", "10", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"assumptions", "setups", "load_fits"}
    want = cs.coldstart_saving(7.2, 12.0, reclaims_per_month=10)
    got = {row["setup"]: row for row in doc["setups"]}
    for setup in cs.SETUPS:
        assert got[setup]["monthly_saving"] == pytest.approx(want.monthly_saving[setup])
        assert got[setup]["total_seconds"] == pytest.approx(want.seconds[setup])
    assert doc["assumptions"]["reclaims_source"] == "given"
    fits = {f["path"]: f for f in doc["load_fits"]}
    assert fits["oss_mount"]["throughput_lo"] <= fits["oss_mount"]["throughput_gb_per_s"]


def test_store_specs_and_provider(cli) -> None:
    with sl.Store(cli.db) as store:
        sl.ingest(store, [BUNDLED / "specs_catalog.csv", BUNDLED / "seed_load_times.csv"])
    code, out, _ = cli(
        "coldstart", "--model-size-gb", "7.2", "--spec", "ml.gu7i.c8m30.1-gu30", "--provider",
        "aws", "--price", "0.4", "--value", "2", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["assumptions"]["lead_seconds"] == 120
    assert doc["assumptions"]["memory_gib"] == 30.0
    assert doc["assumptions"]["load_fits_source"].startswith("store")


def test_unknown_provider_exits_2(cli) -> None:
    code, _, err = cli("coldstart", "--model-size-gb", "7.2", "--provider", "azur")
    assert code == 2 and "lead" in err


def test_calculator_widget_follows_its_inputs() -> None:
    from spotlab.widgets.coldstart import ColdstartCalculator

    calc = ColdstartCalculator(model_size_gb=7.2, image_size_gb=12.0, reclaims_per_month=10)
    before = calc.report.setups["monthly_saving"].to_list()
    assert before == pytest.approx(
        list(cs.coldstart_saving(7.2, 12.0, reclaims_per_month=10).monthly_saving.values())
    )
    calc.reclaims.value = 20
    after = calc.report.setups["monthly_saving"].to_list()
    assert after == pytest.approx([2 * b for b in before])
    calc.provider.value = "aws"
    assert calc.report.assumptions["lead_seconds"] == 120
    calc.price.value = -1.0  # refused with a message, the last answer kept
    assert "Cannot compute" in calc.message.value


def test_charts_build_from_library_frames() -> None:
    from spotlab.charts.coldstart import load_fit_chart, savings_chart, timeline_chart

    fits = cs.default_load_fits()
    points = cs.mark_outliers(cs.seed_load_times(), fits)
    assert points["outlier"].sum() == sum(len(f.outlier_models) for f in fits.values())
    spec = load_fit_chart(points, cs.load_fit_curves(fits)).to_dict()
    assert len(spec["layer"]) == 4
    timeline = cs.replacement_timeline(7.2, 12.0)
    assert timeline_chart(timeline).to_dict()["layer"][1]["mark"]["type"] == "rule"
    by_rate = cs.savings_by_reclaim_rate(7.2, 12.0, rates=(0, 5, 10))
    assert savings_chart(by_rate).to_dict()["mark"]["type"] == "line"
    bars = cs.monthly_savings(timeline, 10, 2.88, 14.4)
    assert savings_chart(bars).to_dict()["mark"]["type"] == "bar"
