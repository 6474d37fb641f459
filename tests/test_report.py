"""spotlab.report: the ingest summary and the time-weighted price summary (make report)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import spotlab as sl
from spotlab.cli import main

BUNDLED = Path(__file__).resolve().parents[1] / "data"

# one series with three change points, a duplicate line and a rejected line
PRICES_CSV = """provider,zone,spec,ts,spot_price,on_demand_price,currency
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T00:00:00Z,1.0,14.4,CNY
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T01:00:00Z,3.0,14.4,CNY
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T01:00:00Z,3.0,14.4,CNY
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T02:00:00Z,-2.0,14.4,CNY
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T04:00:00Z,2.0,14.4,CNY
"""


@pytest.fixture
def loaded(store: sl.Store, tmp_path: Path) -> sl.Store:
    path = tmp_path / "prices.csv"
    path.write_text(PRICES_CSV)
    sl.ingest(store, path)
    return store


def test_sources_and_reject_reasons(loaded: sl.Store) -> None:
    rep = sl.build_report(loaded)
    (src,) = rep.sources.iter_rows(named=True)
    assert (src["rows_read"], src["rows_loaded"], src["rows_duplicate"], src["rows_rejected"]) == (
        5,
        3,
        1,
        1,
    )
    assert not src["synthetic"]
    assert rep.reject_reasons.select("reason", "rows").rows() == [
        ("spot price must be positive, got -2.0", 1)
    ]
    assert rep.totals() == {
        "rows_read": 5, "rows_loaded": 3, "rows_duplicate": 1, "rows_rejected": 1,
        "naive_timestamps": 0, "sources": 1, "price_series": 1,
    }  # fmt: skip


def test_price_summary_is_time_weighted(loaded: sl.Store) -> None:
    (row,) = sl.build_report(loaded).prices.iter_rows(named=True)
    # 1.0 held 1 h, 3.0 held 3 h (the rejected -2.0 is not a change point), 2.0 is the
    # newest point and holds 0 h: (1 x 1 + 3 x 3) / 4 = 2.5 CNY/h
    assert row["tw_mean"] == pytest.approx(2.5)
    assert (row["min"], row["max"], row["points"]) == (1.0, 3.0, 3)
    assert row["tw_mean_discount"] == pytest.approx(2.5 / 14.4)
    assert row["first"] == datetime(2026, 11, 1, tzinfo=UTC)
    assert row["currency"] == "CNY"


def test_write_report_files_and_markdown(loaded: sl.Store, tmp_path: Path) -> None:
    rep = sl.write_report(loaded, tmp_path / "out")
    names = sorted(p.name for p in rep.files)
    assert names == ["price_summary.csv", "reject_reasons.csv", "sources.csv", "summary.md"]
    assert all(p.exists() for p in rep.files)
    back = pl.read_csv(tmp_path / "out" / "sources.csv")
    assert back["rows_read"].to_list() == [5]
    prices = pl.read_csv(tmp_path / "out" / "price_summary.csv")
    assert prices["tw_mean"][0] == pytest.approx(2.5)
    assert prices["first"][0] == "2026-11-01T00:00:00Z"
    md = (tmp_path / "out" / "summary.md").read_text()
    assert md == rep.markdown()
    assert "5 rows read = 3 loaded + 1 duplicates + 1 rejected" in md
    assert "| spot price must be positive, got -2.0 | 1 |" in md
    assert "| alibaba | cn-hangzhou-h | ecs.gn8is.2xlarge | CNY |" in md


def test_empty_store(store: sl.Store) -> None:
    rep = sl.build_report(store)
    assert rep.totals()["rows_read"] == 0 and rep.prices.height == 0
    md = rep.markdown()
    assert "No row was rejected." in md and "No prices are stored." in md


def test_bundled_sample_is_marked_synthetic(store: sl.Store) -> None:
    sl.ingest(store, [BUNDLED / "specs_catalog.csv", BUNDLED / "eas_sample"])
    rep = sl.build_report(store)
    marked = dict(zip(rep.sources["uri"], rep.sources["synthetic"], strict=True))
    assert not marked[str(BUNDLED / "specs_catalog.csv")]
    assert all(v for k, v in marked.items() if "eas_sample" in k)
    assert "SYNTHETIC" in rep.markdown()
    assert rep.prices.height == 24  # 8 specs x 3 zones
    assert rep.reject_reasons.height == 0


def test_cli_report(
    loaded: sl.Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "r.duckdb"
    with sl.Store(db) as s:  # the report also exports an EAS config: it needs a catalog
        sl.ingest(s, [BUNDLED / "specs_catalog.csv", tmp_path / "prices.csv"])
    monkeypatch.setattr(
        sys,
        "argv",
        ["spotlab", "--db", str(db), "report", "--out", str(tmp_path / "o"), "--no-notebooks"],
    )
    main()
    out = capsys.readouterr().out
    assert out.startswith("Prices 2026-11-01")  # the period and nature of the data first
    assert "wrote " in out and (tmp_path / "o" / "summary.md").exists()
    assert (tmp_path / "o" / "index.html").exists()
    assert "EXAMPLE image" in out  # no --image: said, not silent


def test_synthetic_marks_cover_the_traffic_sample(store: sl.Store) -> None:
    sl.ingest(store, [BUNDLED / "traffic_sample.csv"])
    rep = sl.build_report(store)
    assert rep.sources["synthetic"].to_list() == [True]
