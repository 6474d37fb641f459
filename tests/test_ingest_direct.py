"""The direct load of clean canonical files (``core._direct_load``) against the staged path.

A clean file goes straight into ``spot_prices``; anything the direct load cannot settle
(rejects, rows needing the catalog, repeats of a key that differ, a failed check) is undone
and staged. Either way the tables and counts must be what the staged path alone gives.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import spotlab as sl
from tests.conftest import ingest_counts

core = importlib.import_module("spotlab.ingest.core")

HEADER = "provider,zone,spec,ts,spot_price,on_demand_price,currency\n"


def _row(
    zone: str = "a",
    hour: int = 0,
    price: str = "1.5",
    od: str = "10",
    cur: str = "CNY",
    tz: str = "Z",
) -> str:
    ts = f"2024-04-10T{hour:02d}:00:00{tz}"
    return f"alibaba,cn-hangzhou-{zone},ecs.gn7i-c8g1.2xlarge,{ts},{price},{od},{cur}\n"


class Spy:
    """Records what the direct load returned (None: undone, the staged path ran)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.results: list[Any] = []
        real = core._direct_load

        def spy(*args: Any, **kwargs: Any) -> Any:
            got = real(*args, **kwargs)
            self.results.append(got)
            return got

        monkeypatch.setattr(core, "_direct_load", spy)

    @property
    def kept(self) -> bool:
        return self.results[-1] is not None


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows))
    return path


def test_a_clean_file_loads_directly(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    f = _write(tmp_path / "clean.csv", [_row(hour=h) for h in range(5)])
    (r,) = sl.ingest(store, f)
    assert spy.kept and ingest_counts(r) == (5, 5, 0, 0)
    got = store.query("SELECT region, discount, source_id FROM spot_prices")
    assert set(got["region"]) == {"cn-hangzhou"} and set(got["discount"]) == {0.15}
    assert set(got["source_id"]) == {r.source_id}


def test_identical_repeats_are_kept_once(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    rows = [_row(hour=0), _row(hour=1), _row(hour=0), _row(hour=0), _row(hour=2)]
    (r,) = sl.ingest(store, _write(tmp_path / "rep.csv", rows))
    assert spy.kept and ingest_counts(r) == (5, 3, 2, 0)
    assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 3


def test_differing_repeats_go_staged_the_first_wins_the_rest_conflict(
    store: sl.Store, tmp_path: Path, spy: Spy
) -> None:
    rows = [_row(hour=0, price="2.5"), _row(hour=1), _row(hour=0, price="3.5")]
    (r,) = sl.ingest(store, _write(tmp_path / "rep.csv", rows))
    assert not spy.kept and ingest_counts(r) == (3, 2, 0, 1) and r.rows_conflict == 1
    price = store.query("SELECT spot_price FROM spot_prices WHERE hour(ts) = 0")["spot_price"]
    assert price.to_list() == [2.5]
    got = store.query("SELECT row_number, reason_code, reason, raw FROM rejects").row(0)
    assert got[:2] == (4, "conflict")
    assert "conflict with row 2 of this file" in got[2]
    assert "spot_price 2.5 there, 3.5 here" in got[2]
    assert got[3] == _row(hour=0, price="3.5").strip()  # its raw text, read again


def test_stored_conflicts_go_staged(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    """Rows left out as stored keys are duplicates only when their values agree."""
    (a,) = sl.ingest(store, _write(tmp_path / "a.csv", [_row(hour=h) for h in range(3)]))
    rows = [_row(hour=1), _row(hour=2, price="9"), _row(hour=3)]
    (r,) = sl.ingest(store, _write(tmp_path / "b.csv", rows))
    assert spy.results[-1] is None and ingest_counts(r) == (3, 1, 1, 1)
    assert r.rows_conflict == 1
    (reason,) = store.query("SELECT reason FROM rejects WHERE source_id = ?", [r.source_id])[
        "reason"
    ]
    assert (
        f"conflict with source {a.source_id}" in reason
        and "spot_price 1.5 there, 9.0 here" in reason
    )


def test_overlap_with_stored_rows_stays_direct(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    sl.ingest(store, _write(tmp_path / "a.csv", [_row(hour=h) for h in range(4)]))
    (r,) = sl.ingest(store, _write(tmp_path / "b.csv", [_row(hour=h) for h in range(2, 7)]))
    assert spy.kept and ingest_counts(r) == (5, 3, 2, 0)
    # the stored rows keep their source: nothing was replaced
    per_source = store.query(
        "SELECT source_id, count(*) AS n FROM spot_prices GROUP BY 1 ORDER BY 1"
    )
    assert per_source["n"].to_list() == [4, 3]


def test_rejects_get_their_lines(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    rows = [_row(hour=h, price="-1" if h in (1, 4) else "1.5") for h in range(6)]
    (r,) = sl.ingest(store, _write(tmp_path / "bad.csv", rows))
    assert spy.kept and ingest_counts(r) == (6, 4, 0, 2)
    got = store.query("SELECT row_number, reason, raw FROM rejects ORDER BY row_number")
    assert got["row_number"].to_list() == [3, 6]  # line 1 is the header
    assert all("positive" in reason for reason in got["reason"])
    assert got["raw"][0] == _row(hour=1, price="-1").strip()  # the file's columns only


def test_rejects_are_undone_with_the_rows(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    """A reject recorded by the direct load, then repeats that differ: the staged path
    records the reject again, once."""
    rows = [_row(hour=0, price="-1"), _row(hour=1), _row(hour=1, price="2")]
    (r,) = sl.ingest(store, _write(tmp_path / "both.csv", rows))
    assert not spy.kept and ingest_counts(r) == (3, 1, 0, 2) and r.rows_conflict == 1
    got = store.query("SELECT row_number, reason_code FROM rejects ORDER BY 1").rows()
    assert got == [(2, "spot_price_not_positive"), (4, "conflict")]


def test_rows_needing_the_catalog_go_staged(store: sl.Store, tmp_path: Path, spy: Spy) -> None:
    rows = [_row(hour=0), _row(hour=1, od="")]
    (r,) = sl.ingest(store, _write(tmp_path / "od.csv", rows))
    assert not spy.kept and ingest_counts(r) == (2, 2, 0, 0)
    od = store.query("SELECT on_demand_price FROM spot_prices ORDER BY ts")["on_demand_price"]
    assert od.to_list() == [10.0, None]  # no catalog entry: the price stays unknown


def test_mixed_currencies_name_the_row_after_the_direct_load(
    store: sl.Store, tmp_path: Path, spy: Spy
) -> None:
    rows = [_row(hour=0), _row(hour=1), _row(hour=2, cur="USD")]
    with pytest.raises(sl.IngestError, match=r"\(row 2\): mixed currencies"):
        sl.ingest(store, _write(tmp_path / "mixed.csv", rows))
    assert spy.results == [None]
    assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 0
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def _statements(monkeypatch: pytest.MonkeyPatch, helper: str, prefix: str) -> list[str]:
    """The SQL starting with ``prefix`` that the ingest runs through ``core.<helper>``."""
    seen: list[str] = []
    real = getattr(core, helper)

    def spy(con: Any, sql: str, *args: Any) -> Any:
        if sql.startswith(prefix):
            seen.append(sql)
        return real(con, sql, *args)

    monkeypatch.setattr(core, helper, spy)
    return seen


def test_late_naive_times_are_added_and_counted(
    store: sl.Store, tmp_path: Path, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first rows have offsets, so naive times are held out of the first insert; the
    file has some further down, so a second insert adds them."""
    monkeypatch.setattr(core, "NAIVE_SAMPLE", 8)
    inserts = _statements(monkeypatch, "scalar", "INSERT INTO spot_prices")
    rows = [_row(hour=h % 24, zone="ab"[h // 24]) for h in range(48)]
    rows[-1] = _row(hour=23, zone="b", tz="")
    (r,) = sl.ingest(store, _write(tmp_path / "late.csv", rows))
    assert spy.kept and ingest_counts(r) == (48, 48, 0, 0) and r.naive_timestamps == 1
    assert len(inserts) == 2 and "NOT s._naive" in inserts[0]
    assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 48


def test_line_count_settles_a_plain_file(
    store: sl.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain CSV with one row per line needs no count over the file; a gzip one, a file
    with a blank line or with bare carriage returns does, and all load the same rows."""
    counts = _statements(monkeypatch, "first_row", "SELECT count(*), ")
    body = "".join(_row(hour=h) for h in range(6))
    plain = tmp_path / "plain.csv"
    plain.write_text(HEADER + body)
    blank = tmp_path / "blank.csv"
    blank.write_text(HEADER + body + "\n")
    cr = tmp_path / "cr.csv"
    cr.write_bytes((HEADER + body).replace("\n", "\r").encode())
    gz = tmp_path / "plain.csv.gz"
    gz.write_bytes(__import__("gzip").compress((HEADER + body).encode()))
    results = []
    for f in (plain, blank, cr, gz):
        with sl.Store(":memory:") as s:
            before = len(counts)
            (r,) = sl.ingest(s, f)
            results.append((f.name, ingest_counts(r), len(counts) > before))
    assert results == [
        ("plain.csv", (6, 6, 0, 0), False),
        ("blank.csv", (6, 6, 0, 0), True),
        ("cr.csv", (6, 6, 0, 0), True),
        ("plain.csv.gz", (6, 6, 0, 0), True),
    ]


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", 0),
        (b"h\n", 1),
        (b"h\na", 2),
        (b"h\r\na\r\n", 2),
        (b"h\ra\r", None),
        (b"h\na\r", None),
        (b"h\n\n\n", 3),
    ],
)
def test_digest_counts_lines(tmp_path: Path, data: bytes, lines: int | None) -> None:
    import hashlib

    f = tmp_path / "f"
    f.write_bytes(data)
    assert core.digest_file(f) == (hashlib.sha256(data).hexdigest(), lines)


def test_digest_counts_across_chunks(tmp_path: Path) -> None:
    """A CR LF split between two 4 MiB reads is still one line end."""
    import hashlib

    size = 1 << 22
    data = b"x" * (size - 1) + b"\r\n" + b"y\r\n" * 3
    f = tmp_path / "f"
    f.write_bytes(data)
    assert core.digest_file(f) == (hashlib.sha256(data).hexdigest(), 4)


# -- the direct load gives what the staged path gives --------------------------------------

ROWS = st.lists(
    st.builds(
        _row,
        zone=st.sampled_from(["a", "b"]),
        hour=st.integers(0, 5),
        # "1.50" is 1.5 (a duplicate), "2" conflicts with it, "-1" and "x" are rejects
        price=st.sampled_from(["1.5", "1.50", "2", "-1", "x"]) | st.just("1.5"),
        od=st.sampled_from(["10", "10", "10", ""]),
        cur=st.sampled_from(["CNY", "CNY", "CNY", "USD"]),
        tz=st.sampled_from(["Z", "Z", "", "+00:00"]),
    ),
    min_size=1,
    max_size=12,
)


def _snapshot(store: sl.Store) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "spot_prices": "SELECT * EXCLUDE (source_id) FROM spot_prices ORDER BY ALL",
        "rejects": "SELECT row_number, reason_code, reason, raw FROM rejects ORDER BY ALL",
        "sources": "SELECT rows_read, rows_loaded, rows_duplicate, rows_rejected, "
        "rows_conflict, naive_timestamps FROM sources ORDER BY source_id",
    }
    return {k: store.con.execute(q).fetchall() for k, q in queries.items()}


def _run(files: list[list[str]], tmp: Path, direct: bool) -> Iterator[Any]:
    real, sample = core._direct_load, core.NAIVE_SAMPLE
    if not direct:
        core._direct_load = lambda *a, **k: None
    core.NAIVE_SAMPLE = 2  # a later naive time is held out and added by a second insert
    try:
        with sl.Store(":memory:") as store:
            for i, rows in enumerate(files):
                path = _write(tmp / f"{'d' if direct else 's'}{i}.csv", rows)
                try:
                    yield ingest_counts(sl.ingest(store, path)[0])
                except sl.SpotlabError as exc:
                    yield type(exc).__name__, str(exc).replace(str(path), "<file>")
            yield _snapshot(store)
    finally:
        core._direct_load, core.NAIVE_SAMPLE = real, sample


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=st.lists(ROWS, min_size=1, max_size=3))
@example(  # two series of the file clash with the store: both paths name the same (first)
    files=[
        [_row("b", 4, "x", "10", "CNY", "Z"), _row("b", 5, "1.5", "", "CNY", "+00:00"),
         _row("a", 3, "x", "10", "CNY", "Z")],
        [_row("a", 3, "-1", "10", "USD", "+00:00"), _row("b", 4, "-1", "10", "CNY", "Z"),
         _row("b", 3, "x", "10", "CNY", "Z"), _row("b", 1, "1.5", "", "CNY", ""),
         _row("a", 0, "1.5", "10", "USD", ""), _row("b", 2, "1.5", "", "CNY", "Z")],
        [_row("b", 5, "1.5", "", "USD", "Z"), _row("a", 1, "1.5", "10", "CNY", "Z")],
    ]
)  # fmt: skip
def test_direct_and_staged_loads_agree(files: list[list[str]], tmp_path: Path) -> None:
    """Conflicts included: repeats and stored keys with another price are rejects naming
    the row or source that holds the key, whichever path loads the file."""
    assert list(_run(files, tmp_path, direct=True)) == list(_run(files, tmp_path, direct=False))


def test_the_property_meets_conflicts(tmp_path: Path) -> None:
    """The example the property must get right: a stored key, an agreeing and a differing
    repeat, loaded by both paths."""
    files = [[_row(hour=0), _row(hour=1)], [_row(hour=1, price="1.50"), _row(hour=0, price="2"),
                                            _row(hour=2), _row(hour=2, price="2")]]  # fmt: skip
    direct = list(_run(files, tmp_path, direct=True))
    assert direct == list(_run(files, tmp_path, direct=False))
    assert direct[1] == (4, 1, 1, 2)
    codes = [r[1] for r in direct[2]["rejects"]]
    assert codes == ["conflict", "conflict"]
