"""Spot availability traces (spot-traces JSON, Bamboo step CSV) and traffic CSV ingestion.

Expected counts are worked out by hand from the fixture files (see tests/fixtures/README.md).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.errors import FormatError
from spotlab.ingest import ingest
from spotlab.ingest.availability import TRACE_SPECS, bamboo_names, trace_names

BAMBOO = "aws-spot-instances-p2-xlarge-us-east-1e-2020-11-23-1700-to-2020-11-24-0700.csv"
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def series(store: sl.Store, zone: str | None = None) -> pl.DataFrame:
    where = "WHERE zone = ?" if zone else ""
    return store.query(
        f"SELECT provider, zone, spec, ts, available FROM spot_availability {where} "
        "ORDER BY zone, ts",
        [zone] if zone else None,
    )


def test_names_from_the_public_layout() -> None:
    p = Path("availability/1-node/aws-02-15-2023/us-east-1a_v100_1.json")
    assert trace_names(p) == {
        "zone": "us-east-1a", "key": "v100_1", "provider": "aws", "start": datetime(2023, 2, 15)
    }  # fmt: skip
    g = trace_names(Path("data/GCP1/us-central1-a_a100_40gb_8.json"))
    assert g == {"zone": "us-central1-a", "key": "a100_40gb_8", "provider": "gcp"}
    assert TRACE_SPECS[("gcp", "a100_40gb_8")] == "a2-ultragpu-4g"
    assert bamboo_names(Path(BAMBOO)) == {
        "spec": "p2.xlarge", "zone": "us-east-1e", "start": datetime(2020, 11, 23, 17, 0)
    }  # fmt: skip
    odd = bamboo_names(Path("aws-spot-instances-p2-xlarge-us-east-1c-2020-11-22-15-30-to-x.csv"))
    assert odd["start"] == datetime(2020, 11, 22, 15, 30)
    assert "zone" not in bamboo_names(
        Path("aws-spot-instances-p2-xlarge-2020-11-20-to-2020-11-23.csv")
    )


def test_spot_traces_folder(store: sl.Store, fixtures: Path) -> None:
    results = ingest(store, fixtures / "spot_traces" / "aws-02-15-2023")
    assert [r.format for r in results] == ["spot-trace-json"] * 2
    for r in results:  # 6 samples each, all whole counts; the start has no time zone
        assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (6, 6, 0, 0)
        assert r.naive_timestamps == 6
    a = series(store, "us-east-1a")
    assert a["spec"].unique().to_list() == ["p3.2xlarge"]
    assert a["provider"].unique().to_list() == ["aws"]
    assert a["available"].to_list() == [1, 1, 0, 0, 1, 0]
    t0 = datetime(2023, 2, 15, tzinfo=UTC)
    assert a["ts"].to_list() == [t0 + timedelta(seconds=195 * i) for i in range(6)]


def test_folder_without_date_needs_start(store: sl.Store, fixtures: Path) -> None:
    path = fixtures / "spot_traces" / "GCP1" / "us-central1-a_a100_40gb_8.json"
    with pytest.raises(FormatError, match="start"):
        ingest(store, path)
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0
    (r,) = ingest(store, path, start="2023-05-08T12:00:00+08:00")
    # [4, 3, "x", 2.5, -1, 0]: "x" and 2.5 are not integers, -1 is negative
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (6, 3, 0, 3)
    assert r.naive_timestamps == 0
    got = series(store)
    assert got["spec"][0] == "a2-ultragpu-4g" and got["provider"][0] == "gcp"
    assert got["available"].to_list() == [4, 3, 0]
    t0 = datetime(2023, 5, 8, 4, 0, tzinfo=UTC)
    assert got["ts"].to_list() == [t0, t0 + timedelta(seconds=150), t0 + timedelta(seconds=750)]
    reasons = store.query("SELECT row_number, reason FROM rejects ORDER BY row_number").rows()
    assert [n for n, _ in reasons] == [3, 4, 5]
    assert "not an integer" in reasons[0][1] and "not an integer" in reasons[1][1]
    assert ">= 0" in reasons[2][1]


def test_unknown_gpu_key_suggests(store: sl.Store, tmp_path: Path) -> None:
    d = tmp_path / "aws-02-15-2023"
    d.mkdir()
    (d / "us-east-1a_v100_2.json").write_text('{"metadata":{"gap_seconds":60},"data":[1]}')
    with pytest.raises(FormatError, match="v100_1"):
        ingest(store, d)
    (r,) = ingest(store, d, spec="p3.8xlarge")
    assert r.rows_loaded == 1 and series(store)["spec"][0] == "p3.8xlarge"


def test_bad_gap_and_missing_keys(store: sl.Store, tmp_path: Path) -> None:
    d = tmp_path / "aws-01-02-2023"
    d.mkdir()
    (d / "us-west-2a_v100_1.json").write_text('{"metadata":{"gap_seconds":0},"data":[1]}')
    with pytest.raises(FormatError, match="gap_seconds"):
        ingest(store, d)
    (d / "us-west-2a_v100_1.json").write_text('{"metadata":{"gap_seconds":5},"dat":[1]}')
    with pytest.raises(FormatError, match="data"):
        ingest(store, d, format="spot-trace-json")


def test_bamboo_step_csv(store: sl.Store, fixtures: Path) -> None:
    (r,) = ingest(store, fixtures / BAMBOO)
    # 13 rows: the first opens level 10, then 6 changes written as (closing, opening) pairs;
    # each closing row restates its level's opening row: 7 loaded, 6 duplicates
    assert r.format == "bamboo-step-csv"
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (13, 7, 6, 0)
    got = series(store)
    t0 = datetime(2020, 11, 23, 17, 0, tzinfo=UTC)
    offsets = [0, 41093, 41885, 55744, 55746, 68250, 68252]
    assert got["ts"].to_list() == [t0 + timedelta(seconds=s) for s in offsets]
    assert got["available"].to_list() == [10, 9, 10, 9, 10, 9, 10]
    assert got["spec"][0] == "p2.xlarge" and got["zone"][0] == "us-east-1e"


def test_bamboo_scaled_is_in_hours(store: sl.Store, fixtures: Path) -> None:
    (r,) = ingest(store, fixtures / BAMBOO.replace(".csv", "_scaled.csv"))
    assert (r.rows_loaded, r.rows_duplicate) == (7, 6)
    ts = series(store)["ts"].to_list()
    assert ts[1] == datetime(2020, 11, 24, 4, 24, 54, tzinfo=UTC)  # 17:00 + 11.415 h


def test_bamboo_rejects_a_closing_row_that_disagrees(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "aws-spot-instances-g4dn-xlarge-us-east-1c-2020-11-20-1930-to-x.csv"
    f.write_text("0,0\n100,0\n100,4\n200,5\n200,2\nabc,3\n")
    (r,) = ingest(store, f)
    # row 4 closes level 4 with count 5; row 6 has no time; rows 1, 3, 5 open levels
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (6, 3, 1, 2)
    reasons = dict(store.query("SELECT row_number, reason FROM rejects").rows())
    assert "differs from the level's count 4 (opened at row 3)" in reasons[4]
    assert "unparsable time offset" in reasons[6]
    assert series(store)["available"].to_list() == [0, 4, 2]


def test_bamboo_without_zone_needs_option(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "aws-spot-instances-p2-xlarge-2020-11-20-to-2020-11-23.csv"
    f.write_text("0.000,0\n0.030,0\n0.030,9\n")
    with pytest.raises(FormatError, match="zone"):
        ingest(store, f)
    (r,) = ingest(store, f, zone="us-east-1a", time_unit="h")
    assert r.rows_loaded == 2
    assert series(store)["ts"].to_list()[1] == datetime(2020, 11, 20, 0, 1, 48, tzinfo=UTC)


@PROPS
@given(levels=st.lists(st.integers(0, 50), min_size=1, max_size=12), gaps=st.data())
def test_bamboo_round_trip(levels: list[int], gaps: st.DataObject) -> None:
    """Any step series written as Bamboo does (first row, then closing/opening pairs at each
    change) comes back as its change points; closing rows are duplicates."""
    steps = gaps.draw(st.lists(st.integers(1, 5000), min_size=len(levels), max_size=len(levels)))
    times = [sum(steps[:i]) for i in range(len(levels))]
    rows = [(0, levels[0])]
    for t, prev, new in zip(times[1:], levels, levels[1:], strict=False):
        rows += [(t, prev), (t, new)]
    with tempfile.TemporaryDirectory() as d, sl.Store(":memory:") as store:
        f = Path(d) / "aws-spot-instances-g4dn-xlarge-us-east-1d-2020-11-23-1730-to-x.csv"
        f.write_text("".join(f"{t},{v}\r\n" for t, v in rows))
        (r,) = ingest(store, f)
        assert r.rows_read == len(rows) == r.rows_loaded + r.rows_duplicate
        assert r.rows_rejected == 0
        got = series(store)
        t0 = datetime(2020, 11, 23, 17, 30, tzinfo=UTC)
        # the same time cannot hold two levels: a later change at an equal time wins
        # nothing here because every step is >= 1 s
        assert got["ts"].to_list() == [t0 + timedelta(seconds=t) for t in times]
        assert got["available"].to_list() == levels


@PROPS
@given(
    counts=st.lists(st.one_of(st.integers(-3, 20), st.just(1.5), st.just("x")), min_size=1,
                    max_size=30),
    gap=st.integers(1, 900),
)  # fmt: skip
def test_json_trace_accounts_for_every_sample(counts: list[object], gap: int) -> None:
    with tempfile.TemporaryDirectory() as d, sl.Store(":memory:") as store:
        folder = Path(d) / "aws-04-22-2023"
        folder.mkdir()
        f = folder / "us-west-2b_v100_1.json"
        f.write_text(json.dumps({"metadata": {"gap_seconds": gap}, "data": counts}))
        (r,) = ingest(store, f)
        good = [c for c in counts if isinstance(c, int) and c >= 0]
        assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (
            len(counts), len(good), len(counts) - len(good)
        )  # fmt: skip
        got = series(store)
        assert got["available"].to_list() == good
        t0 = datetime(2023, 4, 22, tzinfo=UTC)
        want = [t0 + timedelta(seconds=gap * i) for i, c in enumerate(counts) if c in good and
                isinstance(c, int)]  # fmt: skip
        assert got["ts"].to_list() == want


def test_traffic_csv(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "traffic.csv"
    f.write_text(
        "service,ts,qps\n"
        "chat,2024-05-06T00:00:00Z,10.5\n"
        "chat,2024-05-06T00:10:00+08:00,12\n"
        "chat,2024-05-06T00:20:00,-1\n"
        "chat,yesterday,3\n"
        ",2024-05-06T00:30:00Z,3\n"
        "chat,2024-05-06T00:00:00Z,99\n"
    )
    (r,) = ingest(store, f)
    # rows 2-3 load; -1 qps, a bad time and a missing service are rejected; the last row
    # repeats (service, ts) of row 2 with another qps: a conflict
    assert r.format == "traffic-csv"
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (6, 2, 0, 4)
    assert r.rows_conflict == 1
    got = store.query("SELECT service, ts, qps FROM traffic ORDER BY ts")
    assert got["qps"].to_list() == [12.0, 10.5]  # 00:10+08:00 is 16:10 the day before
    reasons = [x for (x,) in store.query("SELECT reason FROM rejects ORDER BY row_number").rows()]
    assert ">= 0" in reasons[0] and "unparsable time" in reasons[1] and "service" in reasons[2]


def test_traffic_csv_service_option(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "rate.csv"
    f.write_text("ts,qps\n2024-05-06T00:00:00Z,1\n")
    with pytest.raises(FormatError, match="service"):
        ingest(store, f)
    (r,) = ingest(store, f, service="api")
    assert r.rows_loaded == 1


def test_bundled_fleet_files_load_without_rejects(store: sl.Store) -> None:
    root = Path(__file__).resolve().parents[1] / "data"
    files = [root / "traffic_sample.csv", *sorted(root.glob("aws-spot-instances-*.csv"))]
    results = ingest(store, [f for f in files if f.exists()])
    assert results and all(r.rows_rejected == 0 for r in results)
    n = store.query("SELECT count(*) AS n FROM traffic")["n"][0]
    assert n == 2016  # 14 days x 144 ten-minute samples


def test_shared_nine_zone_trace(store: sl.Store, shared_data: Path) -> None:
    folder = shared_data / "skypilot-spot-traces/availability/1-node/aws-02-15-2023"
    results = ingest(store, sorted(folder.glob("us-east-1*.json")))
    assert [r.rows_loaded for r in results] == [20158] * 4
    row = store.query(
        "SELECT min(ts) AS first, max(ts) AS last, count(DISTINCT zone) AS zones, "
        "any_value(spec) AS spec FROM spot_availability"
    ).row(0, named=True)
    assert row["zones"] == 4 and row["spec"] == "p3.2xlarge"
    assert row["first"] == datetime(2023, 2, 15, tzinfo=UTC)
    assert row["last"] == row["first"] + timedelta(seconds=195 * 20157)
