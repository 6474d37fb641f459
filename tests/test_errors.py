"""Errors of duckdb, polars and pyarrow reach the user as spotlab errors naming the file, and
a failed ingest leaves the database unchanged. One case per reader."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import zstandard

import spotlab as sl
from spotlab.errors import ExternalError, did_you_mean, wrap_errors
from spotlab.ingest import core

TABLES = ("sources", "rejects", "spot_prices", "specs")


def _snapshot(store: sl.Store) -> dict[str, int]:
    return {t: int(store.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in TABLES}


@pytest.fixture
def loaded(store: sl.Store, fixtures: Path) -> sl.Store:
    """A store that already holds something, so "unchanged" is not trivially "empty"."""
    sl.ingest(store, fixtures / "specs_catalog.csv")
    sl.ingest(store, fixtures / "alibaba_spot_history_page.json")
    return store


def _assert_wrapped(store: sl.Store, path: Path, fmt: str, library_error: str) -> None:
    before = _snapshot(store)
    with pytest.raises(sl.FormatError) as info:
        sl.ingest(store, path, format=fmt)
    msg = str(info.value)
    assert str(path) in msg and library_error in msg
    assert info.value.__cause__ is not None  # the library's error is kept as the cause
    assert _snapshot(store) == before


# -- real library failures of the text and Parquet readers ----------------------------------


def test_canonical_csv_invalid_utf8_is_wrapped(loaded: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "prices.csv"
    bad.write_bytes(
        b"provider,zone,spec,ts,spot_price,currency\naws,\xff\xfe,p3,2024-01-01,1,USD\n"
    )
    _assert_wrapped(loaded, bad, "canonical-csv", "InvalidInputException")


def _assert_names_line(store: sl.Store, path: Path, fmt: str, message: str) -> None:
    """A ragged line is found before polars reads the file: an error naming the line."""
    before = _snapshot(store)
    with pytest.raises(sl.FormatError, match=re.escape(message)) as info:
        sl.ingest(store, path, format=fmt)
    assert str(path) in str(info.value)
    assert _snapshot(store) == before


def test_specs_csv_ragged_line_names_the_line(loaded: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "catalog.csv"
    bad.write_text("provider,region,spec,vcpu\nalibaba,cn-hangzhou,ecs.x,8,extra,fields\n")
    _assert_names_line(loaded, bad, "specs-csv", "(row 2): line 2 has 6 fields, the header has 4")


def test_gcp_invalid_utf8_is_wrapped(loaded: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    data = (fixtures / "gcp_changepoints_excerpt.csv").read_bytes().replace(b"a100", b"a\xff00", 1)
    bad = tmp_path / "gcp.csv.gz"
    bad.write_bytes(gzip.compress(data))
    _assert_wrapped(loaded, bad, "gcp-changepoints", "ComputeError")


def test_aws_tsv_ragged_line_names_the_line(
    loaded: sl.Store, fixtures: Path, tmp_path: Path
) -> None:
    data = (
        fixtures / "aws_spot_prices.tsv"
    ).read_bytes() + b"use1-az4\tp3\tLinux/UNIX\t1\tx\textra\n"
    bad = tmp_path / "dump.tsv.zst"
    bad.write_bytes(zstandard.ZstdCompressor().compress(data))
    _assert_names_line(
        loaded, bad, "aws-spot-tsv", "(row 11): line 11 has 6 fields, the file has 5"
    )


def test_corrupt_parquet_is_wrapped(loaded: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "prices.parquet"
    bad.write_bytes(b"PAR1" + b"\x00not really a parquet file\x15" * 20 + b"PAR1")
    _assert_wrapped(loaded, bad, "canonical-parquet", "reading a Parquet file failed")


# -- JSON readers: a database failure while their rows are validated -------------------------
# Their parsing is plain ``json``; the library calls are DuckDB's. We inject a real DuckDB
# error (SQL ``error()``) into the validation query to show it is wrapped and rolled back.

JSON_READERS = {
    "alibaba-spot-history": "alibaba_spot_history_page.json",
    "eas-spot-discount": "eas_spot_discount_history.json",
    "aws-spot-history": "aws_describe_spot_price_history.json",
}


@pytest.mark.parametrize("fmt", sorted(JSON_READERS))
def test_duckdb_error_during_validation_is_wrapped(
    fmt: str, store: sl.Store, fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sl.ingest(store, fixtures / "specs_catalog.csv")
    before = _snapshot(store)
    real = core.build_stage_sql

    def failing(*args: object, **kwargs: object) -> str:
        sql = real(*args, **kwargs)  # type: ignore[arg-type]
        return f"SELECT * FROM ({sql}) WHERE error('injected: disk full') IS NULL"

    monkeypatch.setattr(core, "build_stage_sql", failing)
    path = fixtures / JSON_READERS[fmt]
    currency = {} if fmt == "aws-spot-history" else {"currency": "CNY"}  # AWS is USD
    with pytest.raises(sl.FormatError) as info:
        sl.ingest(store, path, format=fmt, **currency)
    assert str(path) in str(info.value)
    assert "injected: disk full" in str(info.value)  # the cause, not "transaction aborted"
    assert _snapshot(store) == before
    monkeypatch.undo()
    (r,) = sl.ingest(store, path, format=fmt, **currency)  # the store still works
    assert r.rows_read > 0


@pytest.mark.parametrize("fmt", sorted(JSON_READERS))
def test_json_not_json(fmt: str, store: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"SpotDiscounts": [1, 2,')
    with pytest.raises(sl.FormatError, match=r"not valid JSON at line 1.*truncated"):
        sl.ingest(store, bad, format=fmt)


@pytest.mark.parametrize("fmt", sorted(JSON_READERS))
def test_json_wrong_top_level(fmt: str, store: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps("just a string"))
    with pytest.raises(sl.FormatError, match=r"expected an object at \$"):
        sl.ingest(store, bad, format=fmt)
    bad.write_text("[]")
    with pytest.raises(sl.FormatError, match=r"no (pages|responses)"):
        sl.ingest(store, bad, format=fmt)


# -- file-level problems ---------------------------------------------------------------------


def test_empty_file(store: sl.Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(sl.FormatError, match=r"empty\.csv: the file is empty"):
        sl.ingest(store, empty)


def test_unknown_format_lists_readers(store: sl.Store, tmp_path: Path) -> None:
    odd = tmp_path / "notes.dat"
    odd.write_text("hello\n")
    with pytest.raises(sl.FormatError, match=r"unknown format.*aws-spot-tsv.*--format"):
        sl.ingest(store, odd)


def test_truncated_zstd_found_by_sniffing(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    data = zstandard.ZstdCompressor().compress((fixtures / "aws_spot_prices.tsv").read_bytes() * 50)
    cut = tmp_path / "cut.tsv.zst"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(sl.FormatError, match=r"cut\.tsv\.zst.*truncated"):
        sl.ingest(store, cut)
    assert _snapshot(store)["sources"] == 0


def test_header_only_file_holds_no_rows(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    head = (fixtures / "gcp_changepoints_excerpt.csv").read_text().splitlines()[0]
    f = tmp_path / "gcp.csv"
    f.write_text(head + "\n")
    with pytest.raises(sl.FormatError, match="holds no rows"):
        sl.ingest(store, f)
    assert _snapshot(store) == dict.fromkeys(TABLES, 0)


def test_wrap_errors_without_a_path_is_external() -> None:
    import duckdb

    with (
        pytest.raises(ExternalError, match=r"summing things.*CatalogException") as info,
        wrap_errors("summing things"),
    ):
        duckdb.sql("SELECT * FROM no_such_table_here")
    assert isinstance(info.value, sl.SpotlabError)


def test_did_you_mean() -> None:
    assert did_you_mean("spot_prise", ["spot_price", "zone"]) == " Did you mean 'spot_price'?"
    assert did_you_mean("zzz", ["spot_price"]) == ""
