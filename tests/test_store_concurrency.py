"""Issue #12, point 9: a notebook's store never blocks the terminal; the lock message names
the holder; a report reads one snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import spotlab as sl
from spotlab import notebook
from spotlab.store import snapshot

ROOT = Path(__file__).resolve().parents[1]
EXE = str(ROOT / ".venv" / "bin" / "spotlab")
HEAD = "provider,zone,spec,ts,spot_price,on_demand_price,currency\n"


def _prices(path: Path, hours: range, spec: str = "ecs.gn7i-c8g1.2xlarge") -> Path:
    path.write_text(HEAD + "".join(
        f"alibaba,cn-hangzhou-h,{spec},2026-11-{1 + h // 24:02d}T{h % 24:02d}:00:00Z,"
        f"{1 + h % 5 / 10},10,CNY\n" for h in hours))  # fmt: skip
    return path


def _spotlab(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_a_notebook_store_does_not_block_the_terminal(tmp_path: Path, fixtures: Path) -> None:
    db = tmp_path / "nb.duckdb"
    with sl.Store(db) as s:
        sl.ingest(s, [fixtures / "eas_config_specs_catalog.csv", _prices(tmp_path / "a.csv",
                                                                        range(72))])  # fmt: skip
    store = notebook.setup(db, charts=False)  # as the notebooks open it
    try:
        assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 72
        sl.price_stats(store)  # an analysis between the terminal's commands
        new = _prices(tmp_path / "b.csv", range(72, 96))
        for args in (
            ["ingest", new],
            ["sources", "--json"],
            ["rejects", "--json"],
            ["prices", "ecs.gn7i-c8g1.2xlarge", "--json"],
            ["export", "--out", tmp_path / "cfg", "--name", "svc",
             "--image", "registry.example.com/svc:1", "--gpu-memory-gib", "16"],
        ):  # fmt: skip
            proc = _spotlab("--db", db, *args)
            assert proc.returncode in (0, 1), (args, proc.stderr)
            assert "locked" not in proc.stderr
        # the notebook's next query sees what the terminal loaded
        assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 96
    finally:
        store.close()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """Another process holding the database for writing until the test ends."""
    db = tmp_path / "held.duckdb"
    code = textwrap.dedent(f"""
        import sys, time
        import spotlab as sl
        s = sl.Store({str(db)!r})
        print("holding", flush=True)
        sys.stdin.readline()
    """)
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        try:
            yield db, proc
        finally:
            if proc.poll() is None:
                proc.kill()


def test_the_lock_message_names_the_holder(holder: tuple[Path, subprocess.Popen[str]]) -> None:
    db, proc = holder
    with pytest.raises(sl.StoreLockedError) as info:
        sl.Store(db, read_only=True)
    msg = str(info.value)
    program = os.path.realpath(sys.executable)
    assert f" is locked by {program} (PID {proc.pid}: " in msg  # the full path, not cut
    assert "import spotlab" in msg  # its command line, where /proc has it


def test_a_notebook_query_waits_for_a_writer(
    holder: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    db, proc = holder
    store = None
    with pytest.raises(sl.StoreLockedError):
        store = sl.Store(db, read_only=True, keep_open=False, wait_seconds=0.3)
    assert store is None
    assert proc.stdin is not None
    proc.stdin.write("done\n")  # the writer ends while the next open waits
    proc.stdin.flush()
    with sl.Store(db, read_only=True, keep_open=False, wait_seconds=30) as waited:
        assert waited.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_a_report_reads_one_snapshot(
    tmp_path: Path, fixtures: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """An ingest commits into the database between the report's steps: the report, its
    config and its notebooks still read the state from the start."""
    from spotlab import htmlreport, overview
    from spotlab.cli import main

    db = tmp_path / "r.duckdb"
    with sl.Store(db) as s:
        sl.ingest(s, [fixtures / "eas_config_specs_catalog.csv",
                      _prices(tmp_path / "a.csv", range(72))])  # fmt: skip
    real_export = overview.export_overview_config
    seen: dict[str, object] = {}

    def export_after_an_ingest(
        ov: object, store: sl.Store, out: Path, *a: object, **kw: object
    ) -> list[Path]:
        with sl.Store(db) as writer:  # the original file is free: the report holds a copy
            (r,) = sl.ingest(writer, _prices(tmp_path / "b.csv", range(72, 96), "ecs.other"))
            seen["ingested"] = r.rows_loaded
        seen["report_db"] = store.path
        seen["series_seen"] = store.query("SELECT count(DISTINCT spec) AS n FROM spot_prices")
        return real_export(ov, store, out, *a, **kw)  # type: ignore[arg-type]

    def render(out: Path, db_path: str, *a: object, **k: object) -> list[object]:
        with sl.Store(db_path, read_only=True) as s:
            seen["notebook_series"] = s.query("SELECT count(DISTINCT spec) AS n FROM spot_prices")
        return []

    monkeypatch.setattr(overview, "export_overview_config", export_after_an_ingest)
    monkeypatch.setattr(htmlreport, "render_notebooks", render)
    monkeypatch.setattr(sys, "argv", ["spotlab", "--db", str(db), "report", "--out",
                                      str(tmp_path / "o"), "--json"])  # fmt: skip
    main()
    rep = json.loads(capsys.readouterr().out)
    assert seen["ingested"] == 24 and seen["report_db"] != str(db)
    assert seen["series_seen"]["n"][0] == 1 and seen["notebook_series"]["n"][0] == 1
    assert rep["totals"]["sources"] == 2  # not 3: the ingest during the report is not in it
    with sl.Store(db, read_only=True) as s:  # while the database itself has it
        assert s.query("SELECT count(*) AS n FROM sources")["n"][0] == 3
    assert not Path(str(seen["report_db"])).exists()  # the copy is gone


def test_snapshot_of_memory_is_refused() -> None:
    with (
        pytest.raises(sl.StoreError, match="a snapshot needs a database file"),
        snapshot(":memory:"),
    ):
        pass


def test_a_keep_open_false_store_reopens_per_query(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    with sl.Store(db):
        pass
    store = sl.Store(db, read_only=True, keep_open=False)
    assert store._con is None  # nothing held after opening
    store.query("SELECT 1")
    assert store._con is None  # nor after a query
    with store.connection() as con:
        assert store.con is con  # one connection for a block of work
    assert store._con is None
    store.close()
    with pytest.raises(sl.StoreError, match="closed"):
        store.query("SELECT 1")
