"""Other processes: a SIGKILLed ingest leaves the database as it was; a second writer gets a
StoreLockedError (CLI: exit 2 and a message), never a duckdb traceback."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest

import spotlab as sl

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ROWS = 150_000


def _big_canonical_csv(path: Path, rows: int = ROWS) -> Path:
    """A generated canonical price CSV: 60 series (3 zones x 20 specs), hourly points.

    More rows than one DuckDB row group (122,880), so DuckDB writes data blocks to the
    database file before the commit: the test also shows those are not visible after a kill.
    """
    i = pl.col("i")
    zone = (i % 3).replace_strict({0: "h", 1: "i", 2: "j"}, return_dtype=pl.String)
    frame = pl.DataFrame(pl.int_range(0, rows, eager=True).alias("i")).select(
        provider=pl.lit("alibaba"),
        zone=pl.format("cn-hangzhou-{}", zone),
        spec=pl.format("ecs.test.s{}", i % 20),
        ts=pl.datetime(2024, 1, 1, time_zone="UTC") + pl.duration(hours=i // 60),
        spot_price=1.0 + (i % 97) / 100.0,
        currency=pl.lit("CNY"),
    )
    frame.write_csv(path)
    return path


@contextmanager
def _child(args: list[str | Path]) -> Iterator[subprocess.Popen[str]]:
    """A child process with piped text output; killed (if still running) and reaped after."""
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def _wait_for_line(proc: subprocess.Popen[str], want: str, timeout: float = 60.0) -> str:
    """Read the child's stdout until a line starting with ``want`` (or fail with its stderr)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(want):
                return line
            if line == "" and proc.poll() is not None:
                break
    err = proc.stderr.read() if proc.stderr else ""
    proc.kill()
    raise AssertionError(f"child never printed {want!r}; stderr:\n{err}")


def _counts(db: Path) -> dict[str, int]:
    with sl.Store(db) as s:
        return {
            t: int(s.query(f"SELECT count(*) AS n FROM {t}")["n"][0])
            for t in ("sources", "rejects", "spot_prices", "specs")
        }


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_canonical_csv(tmp_path_factory.mktemp("big") / "big_prices.csv")


@pytest.mark.slow
def test_sigkill_midway_leaves_db_unchanged(tmp_path: Path, big_csv: Path) -> None:
    db = tmp_path / "kill.duckdb"
    with sl.Store(db):
        pass  # schema in place, nothing loaded
    # The child loads the rows of its first batch inside the file's transaction, reports
    # through the progress hook (before the sources row is finished and the commit), and
    # waits there to be killed.
    child = textwrap.dedent(
        f"""
        import sys, time
        import spotlab as sl
        store = sl.Store({str(db)!r})
        def progress(uri, rows):
            if rows:  # 0: the load has started; then the rows, once written
                print("batch-written", rows, flush=True)
                time.sleep(120)
        sl.ingest(store, {str(big_csv)!r}, progress=progress)
        print("committed", flush=True)
        """
    )
    with _child([PY, "-c", child]) as proc:
        line = _wait_for_line(proc, "batch-written")
        assert int(line.split()[1]) == ROWS  # all rows were inserted, none committed
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _counts(db) == {"sources": 0, "rejects": 0, "spot_prices": 0, "specs": 0}
    with sl.Store(db) as store:
        (r,) = sl.ingest(store, big_csv)
        assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (ROWS, ROWS, 0)
    assert _counts(db)["spot_prices"] == ROWS


@pytest.mark.slow
def test_sigkill_of_the_cli_is_all_or_nothing(tmp_path: Path, big_csv: Path) -> None:
    """Kill `spotlab ingest` as soon as it has started writing: the file is either absent or
    entirely there, never in part."""
    exe = ROOT / ".venv" / "bin" / "spotlab"
    if not exe.exists():
        pytest.skip("no .venv/bin/spotlab (run `make setup`)")
    db = tmp_path / "cli-kill.duckdb"
    with sl.Store(db):
        pass
    size0 = db.stat().st_size
    wal = Path(str(db) + ".wal")
    with _child([exe, "--db", str(db), "ingest", str(big_csv)]) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if wal.exists() or db.stat().st_size != size0:
                break  # DuckDB has begun writing
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    counts = _counts(db)
    assert counts in (
        {"sources": 0, "rejects": 0, "spot_prices": 0, "specs": 0},
        {"sources": 1, "rejects": 0, "spot_prices": ROWS, "specs": 0},
    )
    with sl.Store(db) as store:
        (r,) = sl.ingest(store, big_csv)
        assert r.skipped_as_duplicate_file == (counts["sources"] == 1)
    assert _counts(db)["spot_prices"] == ROWS


# -- two processes ---------------------------------------------------------------------------


@pytest.fixture
def held_db(tmp_path: Path) -> Iterator[Path]:
    """A database file held open for writing by another process until the test ends."""
    db = tmp_path / "held.duckdb"
    code = (
        f"import spotlab as sl, time\ns = sl.Store({str(db)!r})\n"
        "print('holding', flush=True)\ntime.sleep(120)\n"
    )
    with _child([PY, "-c", code]) as proc:
        _wait_for_line(proc, "holding")
        yield db


def test_second_writer_gets_store_locked_error(held_db: Path) -> None:
    with pytest.raises(sl.StoreLockedError) as info:
        sl.Store(held_db)
    msg = str(info.value)
    assert str(held_db) in msg and "locked" in msg
    assert "wait" in msg and "--db" in msg  # says what to do
    assert info.value.path == str(held_db)


def test_cli_on_a_locked_db_exits_2(held_db: Path, fixtures: Path) -> None:
    exe = ROOT / ".venv" / "bin" / "spotlab"
    if not exe.exists():
        pytest.skip("no .venv/bin/spotlab (run `make setup`)")
    out = subprocess.run(
        [
            exe,
            "--db",
            str(held_db),
            "ingest",
            str(fixtures / "aws_describe_spot_price_history.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert (
        out.stderr.startswith("error: ") and str(held_db) in out.stderr and "locked" in out.stderr
    )
    assert "Traceback" not in out.stderr and "duckdb" not in out.stderr.lower().split("locked")[0]


def test_lock_is_released_when_the_holder_ends(tmp_path: Path, fixtures: Path) -> None:
    db = tmp_path / "released.duckdb"
    code = (
        f"import spotlab as sl\nwith sl.Store({str(db)!r}) as s:\n    print('done', flush=True)\n"
    )
    subprocess.run([PY, "-c", code], check=True, capture_output=True, timeout=120)
    with sl.Store(db) as store:
        (r,) = sl.ingest(store, fixtures / "aws_describe_spot_price_history.json")
        assert r.rows_loaded == 4
