"""The overview composes the owning functions' results on the bundled data."""

from __future__ import annotations

import json

import polars as pl
import pytest

import spotlab as sl
from spotlab.overview import loaded_summary, overview, overview_config, spans
from spotlab.widgets.overview import ExportButton, SpecPicker
from tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def bundled() -> sl.Store:
    store = sl.Store(":memory:")
    sl.ingest(store, BUNDLED)
    return store


@pytest.fixture(scope="module")
def ov(bundled: sl.Store):
    return overview(bundled)


def test_loaded_summary_adds_up(bundled: sl.Store) -> None:
    frame = loaded_summary(bundled)
    parts = frame["rows_loaded"] + frame["rows_duplicate"] + frame["rows_rejected"]
    assert (frame["rows_read"] == parts).all()
    assert int(frame["rows_read"].sum()) == int(
        bundled.query("SELECT sum(rows_read) AS n FROM sources")["n"][0]
    )


def test_spans_match_the_tables(bundled: sl.Store) -> None:
    got = spans(bundled).filter(pl.col("table_name") == "spot_prices").row(0, named=True)
    direct = bundled.query("SELECT count(*) AS n, min(ts) AS a, max(ts) AS b FROM spot_prices")
    assert got["rows"] == direct["n"][0]
    assert got["first"] == direct["a"][0] and got["last"] == direct["b"][0]


def test_ordering_ends_with_a_regular_entry(ov) -> None:
    inst = ov.ordering.to_instances()
    assert "spot_price_limit" not in inst[-1]
    assert all("spot_price_limit" in e for e in inst[:-1])


def test_restart_cost_uses_the_cold_start_prediction(bundled: sl.Store, ov) -> None:
    """Bids priced with a slower replacement cost more: the start-up time is wired in."""
    slow = {k: v * 10 for k, v in ov.startup_seconds.items()}
    again = sl.recommend_bids(bundled, provider="alibaba", window="30d", startup_seconds=slow)
    a = ov.bids.specs.sort("spec")["effective_cost"]
    b = again.specs.sort("spec")["effective_cost"]
    assert (b >= a - 1e-12).all()


def test_headline_figures_come_from_the_parts(ov) -> None:
    head = dict(ov.headline().iter_rows())
    first = ov.ordering.entries[0]
    assert first.spec in head["recommended ordering"]
    cs = ov.coldstart
    assert f"{cs.seconds['plain']:.0f} s" in head["replacement start-up (plain → best)"]
    sim = ov.plan.simulated
    assert 0 < sim["cost_ratio"] < 1  # spot elasticity is cheaper than all-regular here
    assert sim["cost"] == pytest.approx(sim["cost_ratio"] * sim["all_regular_cost"])


IMAGE = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/llm/serving:1.0"


def test_exported_config_lints_clean(bundled: sl.Store, ov, tmp_path) -> None:
    bundle = overview_config(ov, bundled, IMAGE, "oss://my-bucket/models/")
    assert not [f for f in sl.lint(bundle, bundled) if f.severity == "error"]
    button = ExportButton(bundled, ov, tmp_path / "cfg")
    button.image.value = IMAGE
    paths = button.export()
    assert {p.name for p in paths} >= {"service.json", "autoscaler.json"}
    service = json.loads((tmp_path / "cfg" / "service.json").read_text())
    assert service["cloud"]["computing"]["instances"] == ov.ordering.to_instances()
    assert service["containers"][0]["image"] == IMAGE
    assert "No model mount" in button.result.value  # said, not silently left out


def test_export_button_asks_for_the_image_and_never_overwrites_silently(
    bundled: sl.Store, ov, tmp_path
) -> None:
    button = ExportButton(bundled, ov, tmp_path / "cfg")
    assert button.image.value == "" and button.model_oss.value == ""  # no placeholders
    assert button.export() == [] and not (tmp_path / "cfg").exists()
    assert "enter the container image" in button.result.value
    button.image.value = IMAGE
    button.model_oss.value = "oss://my-bucket/models/"
    assert button.export()
    first = (tmp_path / "cfg" / "service.json").read_text()
    assert "oss://my-bucket/models/" in first
    button.image.value = IMAGE.replace(":1.0", ":2.0")
    assert button.export() == []  # the files exist: ask first
    assert "already exist" in button.result.value
    assert button.replace.layout.display != "none"
    assert (tmp_path / "cfg" / "service.json").read_text() == first
    button.replace.click()
    assert ":2.0" in (tmp_path / "cfg" / "service.json").read_text()
    assert button.replace.layout.display == "none"


def test_overview_config_has_no_default_image(bundled: sl.Store, ov) -> None:
    with pytest.raises(sl.ConfigError, match="container image"):
        overview_config(ov, bundled, "  ")


def test_spec_picker_redraws_for_the_chosen_spec(bundled: sl.Store, ov) -> None:
    picker = SpecPicker(bundled, ov)
    other = next(s for s in picker.spec.options if s != picker.spec.value)
    picker.spec.value = other
    row = ov.bids.specs.filter(pl.col("spec") == other).row(0, named=True)
    assert other in picker.summary.value and str(row["bid"]) in picker.summary.value
