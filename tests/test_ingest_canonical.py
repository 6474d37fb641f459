"""Canonical price CSV/Parquet: --map, overlaps, mixed currencies, naive timestamps."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import spotlab as sl
from tests.conftest import ingest_counts

MAP = {
    "cloud": "provider",
    "az": "zone",
    "instance": "spec",
    "time": "ts",
    "price": "spot_price",
    "ccy": "currency",
}
HEADER = "provider,zone,spec,ts,spot_price,currency\n"


def _tables(store: sl.Store) -> dict[str, int]:
    names = ("sources", "rejects", "spot_prices", "specs")
    return {t: int(store.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in names}


def test_map_renames_columns(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "canonical_mapped.csv", map=MAP)
    assert r.format == "canonical-csv"
    # lines 2-4 load (line 4 has no offset: taken as UTC, counted); 5: price 0; 6: XYZ
    assert ingest_counts(r) == (5, 3, 0, 2)
    assert r.naive_timestamps == 1
    rejects = store.query("SELECT row_number, reason FROM rejects ORDER BY row_number")
    assert rejects.rows() == [
        (5, "spot price must be positive, got 0.0"),
        (6, "unknown currency XYZ"),
    ]
    src = store.query("SELECT naive_timestamps FROM sources")["naive_timestamps"][0]
    assert src == 1
    ts = store.query("SELECT ts FROM spot_prices ORDER BY ts")["ts"]
    assert str(ts[2]) == "2024-04-10 12:00:00+00:00"


def test_map_typo_says_did_you_mean(store: sl.Store, fixtures: Path) -> None:
    bad = {**MAP}
    del bad["price"]
    bad["prise"] = "spot_price"
    with pytest.raises(sl.FormatError, match=r"--map names column\(s\) not in the file: prise"):
        sl.ingest(store, fixtures / "canonical_mapped.csv", map=bad)
    with pytest.raises(sl.FormatError, match="Did you mean 'price'"):
        sl.ingest(store, fixtures / "canonical_mapped.csv", map=bad)
    assert _tables(store) == {"sources": 0, "rejects": 0, "spot_prices": 0, "specs": 0}


def test_unmapped_file_says_what_is_missing(store: sl.Store, fixtures: Path) -> None:
    with pytest.raises(sl.FormatError, match="neither a spot_price nor a discount column"):
        sl.ingest(store, fixtures / "canonical_mapped.csv")
    partial = {"price": "spot_price", "ccy": "currency"}
    with pytest.raises(sl.FormatError, match="missing required column"):
        sl.ingest(store, fixtures / "canonical_mapped.csv", map=partial)


def test_overlapping_files_deduplicate(store: sl.Store, tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    row = "alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,2024-04-10T{h}:00:00Z,{p},CNY\n"
    a.write_text(HEADER + "".join(row.format(h=f"{h:02d}", p=1 + h / 100) for h in range(0, 6)))
    b.write_text(HEADER + "".join(row.format(h=f"{h:02d}", p=1 + h / 100) for h in range(3, 9)))
    (ra,) = sl.ingest(store, a)
    (rb,) = sl.ingest(store, b)
    assert ingest_counts(ra) == (6, 6, 0, 0)
    assert ingest_counts(rb) == (6, 3, 3, 0)  # hours 03-05 were in a.csv
    assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 9
    (again,) = sl.ingest(store, b)
    assert again.skipped_as_duplicate_file


def test_mixed_currencies_in_one_series_leave_db_unchanged(store: sl.Store, tmp_path: Path) -> None:
    ok = tmp_path / "ok.csv"
    ok.write_text(HEADER + "aws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,0.9,USD\n")
    sl.ingest(store, ok)
    before = _tables(store)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        HEADER
        + "alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,2024-04-10T00:00:00Z,1.2,CNY\n"
        + "alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,2024-04-10T01:00:00Z,0.17,USD\n"
    )
    with pytest.raises(sl.IngestError, match=r"mixed currencies.*CNY, USD"):
        sl.ingest(store, mixed)
    assert _tables(store) == before
    # the same clash between a file and what is stored
    later = tmp_path / "later.csv"
    later.write_text(HEADER + "aws,us-east-1a,p3.2xlarge,2024-04-11T00:00:00Z,6.5,CNY\n")
    with pytest.raises(sl.IngestError, match=r"USD \(stored\), CNY \(this file\)"):
        sl.ingest(store, later)
    assert _tables(store) == before


def test_naive_and_offset_timestamps(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "tz.csv"
    f.write_text(
        HEADER
        + "alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,2024-04-10T08:00:00+08:00,1.2,CNY\n"
        + "alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,2024-04-10 01:00:00,1.3,CNY\n"
        + "alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,20240410T020000+0000,1.4,CNY\n"
    )
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (3, 3, 0, 0) and r.naive_timestamps == 1
    assert any("taken as UTC" in n for n in r.notes)
    hours = store.query("SELECT hour(ts) AS h FROM spot_prices ORDER BY ts")["h"].to_list()
    assert hours == [0, 1, 2]


def test_parquet_roundtrip_and_map(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    frame = pl.read_csv(fixtures / "canonical_mapped.csv", infer_schema=False)
    pq = tmp_path / "prices.parquet"
    frame.write_parquet(pq)
    (r,) = sl.ingest(store, pq, map=MAP)
    assert r.format == "canonical-parquet"
    assert ingest_counts(r) == (5, 3, 0, 2)
    # rows of a Parquet file are numbered from 1 (no header line)
    assert store.query("SELECT row_number FROM rejects ORDER BY 1")["row_number"].to_list() == [
        4,
        5,
    ]


def test_typed_parquet(store: sl.Store, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    frame = pl.DataFrame(
        {
            "provider": ["aws", "aws"],
            "zone": ["us-east-1a", "us-east-1a"],
            "spec": ["p3.2xlarge", "p3.2xlarge"],
            "ts": [datetime(2024, 4, 10, tzinfo=UTC), datetime(2024, 4, 10, 1, tzinfo=UTC)],
            "spot_price": [0.9, float("nan")],
            "currency": ["USD", "USD"],
        }
    )
    pq = tmp_path / "typed.parquet"
    frame.write_parquet(pq)
    (r,) = sl.ingest(store, pq)
    assert ingest_counts(r) == (2, 1, 0, 1)
    got = store.query("SELECT reason_code, reason FROM rejects").row(0)
    assert got == ("spot_price_not_finite", "spot price is not a finite number: nan")
