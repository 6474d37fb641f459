"""Property tests for every price/spec reader: random bytes, truncated files, random rows,
and the hostile classes of issue #12 (non-finite numbers, extreme times, deep nesting, a
BOM, NUL bytes, a FIFO).

Whatever the input, an ingest either raises a :class:`SpotlabError` and leaves the database
exactly as it was, or accounts for every row: ``rows_read = loaded + duplicate + rejected``.
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.ingest import get_reader
from spotlab.ingest.core import reader_options

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FUZZ = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TABLES = ("sources", "rejects", "spot_prices", "specs")
JSON_FORMATS = {"alibaba-spot-history", "eas-spot-discount", "aws-spot-history"}


def fingerprint(store: sl.Store) -> tuple[tuple[int, int], ...]:
    """Row count and an order-free hash of every ingestion table."""
    out = []
    for t in TABLES:
        (row,) = store.con.execute(
            f"SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0) FROM {t} x"
        ).fetchall()
        out.append((int(row[0]), int(row[1])))
    return tuple(out)


_STORES: dict[str, sl.Store] = {}


def shared_store(key: str) -> sl.Store:
    """One in-memory store per test (a fresh one per example would dominate the run time);
    the fingerprint check makes a reused store as strict as a fresh one."""
    if key not in _STORES:
        _STORES[key] = sl.Store(":memory:")
    return _STORES[key]


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="spotlab-fuzz-") as d:
        yield Path(d)


def check(store: sl.Store, path: Path, fmt: str | None, **options: Any) -> list[sl.IngestResult]:
    """Ingest; assert the invariant; return the results ([] when a SpotlabError was raised)."""
    before = fingerprint(store)
    try:
        results = sl.ingest(store, path, format=fmt, **options)
    except sl.SpotlabError:
        assert fingerprint(store) == before, "a failed ingest changed the database"
        return []
    for r in results:
        assert r.rows_read == r.rows_loaded + r.rows_duplicate + r.rows_rejected
        if not r.skipped_as_duplicate_file:
            src = store.query(
                "SELECT rows_read, rows_loaded, rows_duplicate, rows_rejected FROM sources "
                "WHERE source_id = ?",
                [r.source_id],
            )
            assert src.row(0) == (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected)
            n_rej = store.query(
                "SELECT count(*) AS n FROM rejects WHERE source_id = ?", [r.source_id]
            )["n"][0]
            assert n_rej == r.rows_rejected
    return results


# -- how each reader's files are written -----------------------------------------------------

# Text that cannot break the line/field structure of CSV or TSV (no separators or quotes).
_cell_chars = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters='\t\n\r",\x85'
)
cell = st.one_of(
    st.text(_cell_chars, max_size=12),
    st.sampled_from(["", "0", "-1", "NaN", "inf", "1e400", "abc", "0.1", "1.5", "12.5"]),
    # non-finite and absurd numbers
    st.sampled_from(["Infinity", "-Infinity", "1e309", "-1e309", "1" * 400, "nan", "+inf"]),
    # extreme and odd times
    st.sampled_from(
        [
            "infinity",
            "-infinity",
            "epoch",
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "2024-04-10T00:00:00+25:00",
            "2024-04-10T00:00:00-99",
            "2024-04-10",
            "2024-04-10 00:00:00 Asia/Shanghai",
            "20190409T121826.922+0800",
            "2999-01-01",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.sampled_from(["USD", "CNY", "usd", "XYZ", "aws", "gcp", "alibaba"]),
    st.sampled_from(["use1-az4", "euw3-az1", "zzz9-az1", "us-east-1a", "cn-hangzhou-h"]),
    st.sampled_from(["Linux/UNIX", "Windows", "Linux/UNIX (Amazon VPC)", "a100", "1"]),
)
json_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=False),
        st.text(max_size=10),
        cell,
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _item(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    obj = st.fixed_dictionaries({}, optional={k: json_value for k in keys})
    return st.one_of(obj, obj, obj, json_value)  # mostly objects, sometimes anything


def _csv(header: tuple[str, ...], rows: list[list[str]], sep: str = ",") -> bytes:
    lines = [sep.join(header)] if header else []
    lines += [sep.join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


ALIBABA_KEYS = ("ZoneId", "InstanceType", "SpotPrice", "OriginPrice", "Timestamp")
EAS_KEYS = ("ZoneId", "InstanceType", "SpotDiscount", "Timestamp")
AWS_KEYS = ("AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp")
GCP_COLS = (
    "snapshot_time_utc", "commit", "machine_type", "region", "cpu", "ram_gib", "accelerator",
    "accelerator_count", "hour_ondemand_usd", "hour_spot_usd",
)  # fmt: skip
CANON_COLS = ("provider", "zone", "spec", "ts", "spot_price", "discount", "currency")
SPEC_COLS = (
    "provider", "region", "spec", "vcpu", "memory_gib", "gpu_model", "gpu_count",
    "on_demand_price", "currency", "price_is_estimate",
)  # fmt: skip


def _rows(width: int) -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=15)


def _parquet(rows: list[list[str]]) -> bytes:
    buf = io.BytesIO()
    pl.DataFrame(rows, schema=list(CANON_COLS), orient="row").write_parquet(buf)
    return buf.getvalue()


# name: (file name, fixture used for truncation, strategy of (bytes, rows written))
Maker = Callable[[Any], bytes]
READERS: dict[str, tuple[str, str, st.SearchStrategy[Any], Maker]] = {
    "alibaba-spot-history": (
        "page.json",
        "alibaba_spot_history_page.json",
        st.lists(_item(ALIBABA_KEYS), min_size=1, max_size=15),
        lambda items: json.dumps(
            {"Currency": "CNY", "SpotPrices": {"SpotPriceType": items}}
        ).encode(),
    ),
    "eas-spot-discount": (
        "discounts.json",
        "eas_spot_discount_history.json",
        st.lists(_item(EAS_KEYS), min_size=1, max_size=15),
        lambda items: json.dumps({"SpotDiscounts": items}).encode(),
    ),
    "aws-spot-history": (
        "history.json",
        "aws_describe_spot_price_history.json",
        st.lists(_item(AWS_KEYS), min_size=1, max_size=15),
        lambda items: json.dumps({"SpotPriceHistory": items, "NextToken": ""}).encode(),
    ),
    "aws-spot-tsv": (
        "dump.tsv.zst",
        "aws_spot_prices.tsv",
        _rows(5),
        lambda rows: zstandard.ZstdCompressor().compress(_csv((), rows, "\t")),
    ),
    "gcp-changepoints": (
        "changepoints.csv.gz",
        "gcp_changepoints_excerpt.csv",
        _rows(len(GCP_COLS)),
        lambda rows: gzip.compress(_csv(GCP_COLS, rows)),
    ),
    "canonical-csv": (
        "prices.csv",
        "canonical_mapped.csv",
        _rows(len(CANON_COLS)),
        lambda rows: _csv(CANON_COLS, rows),
    ),
    "canonical-parquet": ("prices.parquet", "", _rows(len(CANON_COLS)), _parquet),
    "specs-csv": (
        "catalog.csv",
        "specs_catalog.csv",
        _rows(len(SPEC_COLS)),
        lambda rows: _csv(SPEC_COLS, rows),
    ),
}


def _opts(fmt: str) -> dict[str, str]:
    """currency=USD for the readers that take it (the others would refuse it)."""
    takes = {o.name for o in reader_options(get_reader(fmt))}
    return {"currency": "USD"} if "currency" in takes else {}


def _fixture_bytes(fmt: str) -> bytes:
    name, fixture, _, _ = READERS[fmt]
    if fmt == "canonical-parquet":
        frame = pl.read_csv(FIXTURES / "canonical_mapped.csv", infer_schema=False)
        frame = frame.rename(
            {"cloud": "provider", "az": "zone", "instance": "spec", "time": "ts"}
            | {"price": "spot_price", "ccy": "currency"}
        )
        buf = io.BytesIO()
        frame.write_parquet(buf)
        return buf.getvalue()
    data = (FIXTURES / fixture).read_bytes()
    if name.endswith(".zst"):
        return zstandard.ZstdCompressor().compress(data)
    if name.endswith(".gz"):
        return gzip.compress(data)
    return data


@pytest.mark.parametrize("fmt", sorted(READERS))
@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes(fmt: str, data: bytes) -> None:
    name = READERS[fmt][0]
    store = shared_store(f"bytes-{fmt}")
    with scratch() as d:
        path = d / name
        path.write_bytes(data)
        check(store, path, fmt)
        if data.strip():  # sniffing picks some reader or says none fits
            check(store, path, None)


@pytest.mark.parametrize("fmt", sorted(READERS))
@FUZZ
@given(cut=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_truncated_file(fmt: str, cut: float) -> None:
    name = READERS[fmt][0]
    full = _fixture_bytes(fmt)
    store = shared_store(f"cut-{fmt}")
    with scratch() as d:
        path = d / name
        path.write_bytes(full[: int(len(full) * cut)])
        check(store, path, fmt)


@pytest.mark.parametrize("fmt", sorted(READERS))
@FUZZ
@given(data=st.data())
def test_random_rows(fmt: str, data: st.DataObject) -> None:
    name, _, rows_strategy, make = READERS[fmt]
    rows = data.draw(rows_strategy)
    store = shared_store(f"rows-{fmt}")
    with scratch() as d:
        path = d / name
        path.write_bytes(make(rows))
        results = check(store, path, fmt, **_opts(fmt))
        if results and not results[0].skipped_as_duplicate_file:
            assert results[0].rows_read == len(rows)  # one row per item/line written
        again = check(store, path, fmt, **_opts(fmt))
        assert again[0].skipped_as_duplicate_file if results else again == []


# -- the hostile classes of issue #12 ---------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _hostile(fmt: str, data: bytes, how: str, depth: int, at: float) -> bytes:
    """One fixture file made hostile: a BOM in front, a NUL byte in its first line or
    anywhere, or (JSON) a deeply nested value inside it or as the whole document."""
    if how == "bom":
        return BOM + data
    if how == "nul_header":
        end = data.find(b"\n")
        cut = max(0, int((end if end > 0 else len(data)) * at))
        return data[:cut] + b"\x00" + data[cut:]
    if how == "nul_body":
        cut = int(len(data) * at)
        return data[:cut] + b"\x00" + data[cut:]
    if how == "deep_inside" and fmt in JSON_FORMATS:
        cut = data.find(b"[") + 1 if b"[" in data else 0
        return data[:cut] + _deep(depth) + b"," + data[cut:]
    return _deep(depth)  # deep: the whole document


@pytest.mark.parametrize("fmt", sorted(set(READERS) - {"canonical-parquet"}))
@FUZZ
@given(
    how=st.sampled_from(["bom", "nul_header", "nul_body", "deep_inside", "deep"]),
    depth=st.sampled_from([70, 999, 5000]),
    at=st.floats(0.0, 1.0),
)
def test_hostile_files(fmt: str, how: str, depth: int, at: float) -> None:
    name = READERS[fmt][0]
    store = shared_store(f"hostile-{fmt}")
    data = _fixture_bytes(fmt)
    raw = data
    if name.endswith(".gz"):
        raw = gzip.decompress(data)
    elif name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    bad = _hostile(fmt, raw, how, depth, at)
    if name.endswith(".gz"):
        bad = gzip.compress(bad)
    elif name.endswith(".zst"):
        bad = zstandard.ZstdCompressor().compress(bad)
    with scratch() as d:
        path = d / name
        path.write_bytes(bad)
        results = check(store, path, fmt, **_opts(fmt))
        if how == "bom":
            # a BOM changes nothing: the file reads as it does without one
            with sl.Store(":memory:") as clean:
                plain = d / ("plain-" + name)
                plain.write_bytes(data)
                want = check(clean, plain, fmt, **_opts(fmt))
            if not want:  # the plain file fails (e.g. it needs --map): so does this one
                assert results == []
            else:
                (got,) = results
                assert got.skipped_as_duplicate_file or got.rows_read == want[0].rows_read
        elif how.startswith("deep") and fmt in JSON_FORMATS:
            assert results == []  # refused as nested too deeply


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_a_fifo_is_refused_not_waited_on(fmt: str) -> None:
    """Run in a thread: were the check gone, the read would block until a writer came, so
    the test then plays that writer to end the thread and fails."""
    import os
    import threading

    store = shared_store(f"fifo-{fmt}")
    with scratch() as d:
        path = d / READERS[fmt][0]
        os.mkfifo(path)
        caught: list[BaseException] = []

        def run() -> None:
            try:
                sl.ingest(store, path, format=fmt)
            except BaseException as exc:  # the test inspects what was raised
                caught.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(30)
        if worker.is_alive():
            with open(path, "wb"):  # unblock the reader
                pass
            worker.join(30)
            pytest.fail(f"{fmt}: ingest of a FIFO blocked")
        assert len(caught) == 1 and isinstance(caught[0], sl.FormatError)
        assert "FIFO" in str(caught[0])
