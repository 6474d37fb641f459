"""Issue #12, point 7: the smaller input defects (the time ones are in test_ingest_times)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import spotlab as sl
from spotlab.ingest import READERS, core
from tests.conftest import EVENTS, ingest_counts, reject_reasons

HEAD = "provider,zone,spec,ts,spot_price,currency\n"


def _row(h: int, price: str = "0.9") -> str:
    return f"aws,us-east-1a,p3,2024-04-10T{h:02d}:00:00Z,{price},USD\n"


@pytest.mark.parametrize("gz", [False, True])
def test_a_truncated_last_row_is_a_reject(store: sl.Store, tmp_path: Path, gz: bool) -> None:
    data = (HEAD + _row(0) + _row(1) + "aws,us-east-1a,p3,2024-04-10T02:00:00Z,0.9").encode()
    f = tmp_path / ("p.csv.gz" if gz else "p.csv")
    f.write_bytes(gzip.compress(data) if gz else data)
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (3, 2, 0, 1)
    code, reason = store.query("SELECT reason_code, reason FROM rejects").row(0)
    assert code == "row_truncated" and "fewer fields than the header (6)" in reason
    assert reject_reasons(store) == {4: reason}


def test_a_truncated_catalog_row_is_a_reject(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("provider,region,spec,vcpu,memory_gib,gpu_model\n"
                 "aws,us-east-1,p3.2xlarge,8,61,V100\naws,us-east-1,p3.8xlarge,32")  # fmt: skip
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (2, 1, 0, 1)
    assert reject_reasons(store) == {3: "the row has 4 of 6 fields: is the line cut short?"}


@pytest.mark.parametrize("line", [3, 3000])
def test_an_extra_field_names_its_line(store: sl.Store, tmp_path: Path, line: int) -> None:
    """Inside DuckDB's sniffing sample (line 3) or past it (line 3000)."""
    rows = [_row(i % 24) for i in range(4000)]
    rows[line - 2] = rows[line - 2].rstrip("\n") + ",extra\n"
    f = tmp_path / "p.csv"
    f.write_text(HEAD + "".join(rows))
    with pytest.raises(sl.FormatError, match=f"line {line}"):
        sl.ingest(store, f)
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_latin1_json_is_refused(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "h.json"
    doc = '{"SpotPriceHistory": [{"AvailabilityZone": "us-east-1a", "InstanceType": "caf\xe9"}]}'
    f.write_bytes(doc.encode("latin-1"))
    with pytest.raises(sl.FormatError, match=r"not UTF-8: byte 0xe9 .* iconv -f latin1"):
        sl.ingest(store, f)


def test_a_bom_does_not_hide_a_format(store: sl.Store, tmp_path: Path, fixtures: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_bytes(b"\xef\xbb\xbf" + (fixtures / "specs_catalog.csv").read_bytes())
    trace = tmp_path / "trace.csv"
    trace.write_bytes(b"\xef\xbb\xbf" + (fixtures / "events_parcae_p3trace.csv").read_bytes())
    a, b = sl.ingest(store, [catalog, trace], start="2023-01-01T00:00:00Z")
    assert (a.format, b.format) == ("specs-csv", "addremove-trace")
    assert a.rows_loaded > 0 and b.rows_rejected == 0
    plain = sl.ingest(sl.Store(":memory:"), fixtures / "events_parcae_p3trace.csv",
                      start="2023-01-01T00:00:00Z")[0]  # fmt: skip
    assert ingest_counts(b) == ingest_counts(plain)


def test_non_finite_availability_is_rejected_per_row(store: sl.Store, tmp_path: Path) -> None:
    trace = tmp_path / "aws-02-15-2023" / "us-east-1a_v100_1.json"
    trace.parent.mkdir()
    trace.write_text('{"metadata": {"gap_seconds": 600}, "data": [1, NaN, Infinity, 1e309, 2]}')
    (r,) = sl.ingest(store, trace)
    assert ingest_counts(r) == (5, 2, 0, 3)
    assert set(store.query("SELECT reason_code FROM rejects")["reason_code"]) == {
        "available_not_integer"
    }
    bamboo = tmp_path / "aws-spot-instances-g4dn-xlarge-us-east-1c-2020-11-20-1930-to-x.csv"
    bamboo.write_text("0,1\ninf,2\nnan,2\n1e300,2\n600,3\n")
    (r,) = sl.ingest(store, bamboo)
    assert ingest_counts(r) == (5, 2, 0, 3)
    got = store.query("SELECT reason_code FROM rejects WHERE source_id = ?", [r.source_id])
    assert set(got["reason_code"]) == {"time_offset_unparsable"}
    inf_gap = tmp_path / "aws-02-15-2023" / "us-east-1c_v100_1.json"
    inf_gap.write_text('{"metadata": {"gap_seconds": Infinity}, "data": [1]}')
    with pytest.raises(sl.FormatError, match="gap_seconds must be a number in"):
        sl.ingest(store, inf_gap)


@pytest.mark.parametrize("fmt", ["canonical-csv", "specs-csv", "aws-spot-history"])
def test_a_file_replaced_while_it_is_read_fails(
    fmt: str, store: sl.Store, fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows of one version under the hash of another would be a silent mix: the ingest
    checks the bytes it parses (in-memory readers) or the file's state after the load
    (DuckDB reads the file itself)."""
    src = {
        "canonical-csv": (HEAD + _row(0) + _row(1)).encode(),
        "specs-csv": (fixtures / "specs_catalog.csv").read_bytes(),
        "aws-spot-history": (fixtures / "aws_describe_spot_price_history.json").read_bytes(),
    }[fmt]
    f = tmp_path / ("file.json" if fmt.endswith("history") else "file.csv")
    f.write_bytes(src)
    reader = READERS[fmt]
    real_read = reader.read
    real_load = core._load_relation

    def replace() -> None:
        other = tmp_path / "other"
        other.write_bytes(src.replace(b"0.9", b"0.7").replace(b"USD", b"USD "))
        other.replace(f)  # as a download tool does: a new file under the old name

    def read(path: Path, **kw: object) -> object:
        if fmt != "canonical-csv":
            replace()  # before the reader reads its bytes
        return real_read(path, **kw)

    def load(*a: object, **k: object) -> object:
        got = real_load(*a, **k)
        replace()  # after DuckDB read the file
        return got

    monkeypatch.setattr(reader, "read", read)
    monkeypatch.setattr(core, "_load_relation", load)
    with pytest.raises(sl.IngestError, match="the file changed while it was being read"):
        sl.ingest(store, f, format=fmt)
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_a_100k_column_csv_fails_at_once(store: sl.Store, tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n")
    with pytest.raises(sl.FormatError, match="the first line is longer than 64 KiB"):
        sl.ingest(store, wide)
    some = tmp_path / "some.csv"
    some.write_text(",".join(f"c{i}" for i in range(1001)) + "\n" + "1," * 1000 + "1\n")
    with pytest.raises(sl.FormatError, match="the header has 1,001 columns; spotlab reads at"):
        sl.ingest(store, some)


def test_the_spot_bound_is_an_option_named_in_the_reason(store: sl.Store, tmp_path: Path) -> None:
    """Real AWS prices went above 10 x on-demand in 2015: the bound is an option."""
    f = tmp_path / "p.csv"
    f.write_text(
        "provider,zone,spec,ts,spot_price,on_demand_price,currency\n"
        "aws,us-east-1a,c3.8xlarge,2015-06-01T00:00:00Z,1.0,1.68,USD\n"
        "aws,us-east-1a,c3.8xlarge,2015-06-01T01:00:00Z,20.0,1.68,USD\n"
    )
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (2, 1, 0, 1)
    assert reject_reasons(store)[3] == (
        "spot price 20.0 above 10.0 x on-demand 1.68 (if it is real, raise the bound: "
        "-o max_spot_over_on_demand=N)"
    )
    (again,) = sl.ingest(store, f, max_spot_over_on_demand=20)
    assert ingest_counts(again) == (2, 1, 1, 0) and again.options == (
        '{"max_spot_over_on_demand":20.0}'
    )


def test_json_lines_still_read(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, EVENTS / "events_alibaba_eventbridge.jsonl")
    assert r.rows_read == len(
        [ln for ln in (EVENTS / "events_alibaba_eventbridge.jsonl").read_text().splitlines()
         if ln.strip()]
    )  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [b"a,b,c\n1,2,3\n\n4,5\n\r\n6,7,8,9", b"a,b\n", b"a,b", b"", b"x\n\n", b"a\tb\n1\t2\n",
     b'a,b\n"1,2",3\n', b"a,b\r\n1,2\r\n"],
)  # fmt: skip
def test_field_counts_are_the_lines_fields(data: bytes) -> None:
    """The vectorised count agrees with counting each line (and the csv module's records
    when the text has quotes)."""
    import csv
    import io

    from spotlab.ingest._common import field_counts

    sep = "\t" if b"\t" in data else ","
    if b'"' in data:
        want = [len(r) for r in csv.reader(io.StringIO(data.decode(), newline=""), delimiter=sep)]
    else:
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        want = [ln.count(sep.encode()) + 1 if ln.strip(b"\r") else 0 for ln in lines]
    assert field_counts(data, sep) == want
