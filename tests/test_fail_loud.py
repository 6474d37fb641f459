"""Issue #12, point 5: each bad input or mishap is one ``error:`` line and exit 2 (130 for
Ctrl-C), never a traceback, a hang or a corrupt database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import spotlab as sl

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
EXE = str(ROOT / ".venv" / "bin" / "spotlab")


def _one_error_line(code: int, err: str, expected: int = 2) -> str:
    assert code == expected, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "SELECT" not in err
    return err


def test_ingest_of_an_empty_folder(cli, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "README.md").write_text("docs are skipped")
    code, out, err = cli("ingest", folder)
    assert "the folder holds no data files" in _one_error_line(code, err) and out == ""


def test_prices_since_yesterday(cli, fixtures: Path) -> None:
    cli("ingest", fixtures / "aws_spot_prices.tsv")
    code, _, err = cli("prices", "g4dn.xlarge", "--since", "yesterday")
    assert "cannot read the time 'yesterday'" in _one_error_line(code, err)


def test_bids_on_an_empty_database(cli) -> None:
    code, _, _ = cli("sources")  # creates the empty database
    code, _, err = cli("bids")
    assert "no price data: ingest price files first" in _one_error_line(code, err)


DEEP = b"[" * 1000 + b"]" * 1000
JSON_READERS = [
    "alibaba-spot-history", "eas-spot-discount", "aws-spot-history", "alibaba-events",
    "aws-events", "aws-spot-advisor", "alibaba-spot-advice", "serverlessllm-json",
    "spot-trace-json",
]  # fmt: skip


@pytest.mark.parametrize("fmt", JSON_READERS)
def test_deeply_nested_json(fmt: str, store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "aws-02-15-2023" / "us-east-1a_v100_1_m_sllm_5_cached.json"
    f.parent.mkdir()
    for doc in (DEEP, b'{"SpotPriceHistory": ' + DEEP + b"}"):
        f.write_bytes(doc)
        with pytest.raises(sl.FormatError, match="nested"):
            sl.ingest(store, f, format=fmt)
    # nested 100 levels: parses, and is still refused
    f.write_bytes(b'{"a": ' * 100 + b"1" + b"}" * 100)
    with pytest.raises(sl.FormatError, match=r"nested more than 64 levels deep at \$\.a\.a"):
        sl.ingest(store, f, format=fmt)


def test_deeply_nested_json_in_lint(cli, tmp_path: Path) -> None:
    f = tmp_path / "service.json"
    f.write_bytes(b'{"name": ' + DEEP + b"}")
    code, _, err = cli("lint", f)
    assert "nested too deeply" in _one_error_line(code, err)


def test_a_digit_string_too_long_for_python(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "h.json"
    f.write_text('{"SpotPriceHistory": [{"SpotPrice": ' + "9" * 5000 + "}]}")
    with pytest.raises(sl.FormatError, match="cannot read a JSON value"):
        sl.ingest(store, f)


CSV_READERS = [
    ("specs-csv", "c.csv"), ("canonical-csv", "p.csv"), ("gcp-changepoints", "g.csv"),
    ("lifecycle-csv", "l.csv"), ("inventory-csv", "i.csv"), ("exposure-csv", "x.csv"),
    ("traffic-csv", "t.csv"), ("load-benchmarks-csv", "b.csv"), ("aws-spot-tsv", "d.tsv"),
    ("addremove-trace", "a.csv"),
    ("bamboo-step-csv", "aws-spot-instances-g4dn-xlarge-us-east-1c-2020-11-20-1930-x.csv"),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "name"), CSV_READERS)
def test_nul_bytes_in_a_csv_header(fmt: str, name: str, store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / name
    f.write_bytes(b"provider,re\x00gion,spec,ts,spot_price,currency\naws,x,y,z,1,USD\n")
    with pytest.raises(sl.FormatError, match=r"a NUL byte in the header \(byte 12 of line 1\)"):
        sl.ingest(store, f, format=fmt)


@pytest.mark.parametrize("column", ["_row", "_reject", "_raw"])
def test_user_columns_named_like_spotlabs(column: str, store: sl.Store, tmp_path: Path) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text(f"provider,region,spec,vcpu,{column}\naws,us-east-1,p3,8,x\n")
    with pytest.raises(sl.FormatError, match=f"'{column}' are reserved"):
        sl.ingest(store, catalog)
    prices = tmp_path / "p.csv"  # the canonical reader reads only its columns: noted
    prices.write_text(f"provider,zone,spec,ts,spot_price,currency,{column}\n"
                      "aws,us-east-1a,p3,2024-04-10T00:00:00Z,0.9,USD,x\n")  # fmt: skip
    (r,) = sl.ingest(store, prices)
    assert r.rows_loaded == 1 and any(column in n for n in r.notes)


def _run(*args: str | Path, timeout: float = 120) -> tuple[int, str, str]:
    proc = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def test_ingest_and_lint_of_a_fifo_refuse(tmp_path: Path) -> None:
    """Run as subprocesses with a timeout: a regression would block on the FIFO."""
    fifo = tmp_path / "prices.csv"
    os.mkfifo(fifo)
    db = tmp_path / "f.duckdb"
    code, _, err = _run("--db", db, "ingest", fifo, timeout=60)
    assert "a FIFO (named pipe): spotlab reads regular files only" in _one_error_line(code, err)
    code, _, err = _run("--db", db, "lint", fifo, timeout=60)
    assert "is not a config file" in _one_error_line(code, err)


def test_lint_and_ingest_of_dev_zero(cli) -> None:
    code, _, err = cli("lint", "/dev/zero")
    assert "is not a config file" in _one_error_line(code, err)
    code, _, err = cli("ingest", "/dev/zero")
    assert "a device: spotlab reads regular files only" in _one_error_line(code, err)


def test_bad_option_value(cli, fixtures: Path) -> None:
    sllm = next((fixtures / "coldstart_sllm").rglob("*.json"))
    code, _, err = cli("ingest", sllm, "-o", "bytes_per_param=abc")
    assert "option bytes_per_param=abc is not valid: expected a finite number > 0 and <= 16" in (
        _one_error_line(code, err)
    )


# -- Ctrl-C ---------------------------------------------------------------------------------


def _counts(db: Path) -> tuple[int, int]:
    with sl.Store(db) as s:
        return tuple(  # type: ignore[return-value]
            int(s.query(f"SELECT count(*) AS n FROM {t}")["n"][0])
            for t in ("sources", "spot_prices")
        )


@pytest.mark.slow
def test_ctrl_c_during_an_ingest(tmp_path: Path, fixtures: Path) -> None:
    """The first file commits; Ctrl-C while the second loads: exit 130, one line naming the
    committed file, the second file's rows rolled back."""
    db = tmp_path / "c.duckdb"
    big = tmp_path / "prices.csv"
    big.write_text("provider,zone,spec,ts,spot_price,currency\n" + "".join(
        f"aws,us-east-1a,p3,2024-04-10T{h:02d}:00:00Z,0.9,USD\n" for h in range(24)))  # fmt: skip
    child = textwrap.dedent(f"""
        import sys, time
        from spotlab.ingest import core
        real = core._load_relation
        def slow(*a, **k):
            got = real(*a, **k)  # the rows are in, not committed
            print("loaded", flush=True)
            time.sleep(60)
            return got
        core._load_relation = slow
        sys.argv = ["spotlab", "--db", {str(db)!r}, "ingest",
                    {str(fixtures / "specs_catalog.csv")!r}, {str(big)!r}]
        from spotlab.cli import main
        main()
    """)
    with subprocess.Popen([PY, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "loaded"
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    _one_error_line(proc.returncode, err, expected=130)
    assert err.startswith("error: interrupted: the file being loaded was rolled back; ")
    assert f"{big} was not loaded; the files before it stay loaded: " in err
    assert _counts(db) == (1, 0)


@pytest.mark.slow
def test_ctrl_c_stops_a_running_duckdb_statement(tmp_path: Path) -> None:
    """DuckDB ignores signals: the CLI's watcher interrupts the statement, which would
    otherwise run for minutes."""
    child = textwrap.dedent("""
        import time
        from spotlab.errors import wrap_errors
        from spotlab.store import Store, interrupt_on_sigint
        store = Store(":memory:")
        print("go", flush=True)
        t0 = time.perf_counter()
        try:
            with interrupt_on_sigint(store), wrap_errors("loading", path="x.csv"):
                store.con.execute("SELECT count(*) FROM range(10000000000000) t(i) "
                                  "WHERE i % 7 = 3").fetchall()
        except KeyboardInterrupt as exc:
            # the statement's error, or the signal's own KeyboardInterrupt if it came first
            print("interrupted", flush=True)
    """)
    with subprocess.Popen([PY, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "go"
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert out.strip() == "interrupted", err  # well before the statement's minutes


# -- a full disk (a file size limit: no root, no tmpfs) --------------------------------------

_FULL = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.argv = ["spotlab", "--db", sys.argv[2], "ingest", sys.argv[3]]
    from spotlab.cli import main
    main()
""")


def _full_disk(limit: int, db: Path, data: Path) -> tuple[int, str]:
    proc = subprocess.run([PY, "-c", _FULL, str(limit), str(db), str(data)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    return proc.returncode, proc.stderr


def _prices(path: Path, rows: int) -> Path:
    path.write_text("provider,zone,spec,ts,spot_price,currency\n" + "".join(
        f"aws,us-east-1{'abc'[i % 3]},p3.s{i % 40},2024-01-01T00:00:00Z,{1 + i % 7},USD\n"
        .replace("T00:00", f"T{i // 120 % 24:02d}:{i // 3 % 40:02d}")
        for i in range(rows)))  # fmt: skip
    return path


@pytest.mark.slow
@pytest.mark.parametrize("rows", [20_000, 200_000])
def test_a_full_disk_leaves_the_database_as_it_was(tmp_path: Path, rows: int) -> None:
    """20,000 rows fail at the commit (the WAL cannot grow); 200,000 rows fail earlier,
    when DuckDB writes row groups to the file. Either way: one line that blames the disk,
    not the input, and the database opens with what it had."""
    db = tmp_path / "full.duckdb"
    with sl.Store(db):
        pass  # the schema is in place (about 800 KB)
    size = db.stat().st_size
    data = _prices(tmp_path / "p.csv", rows)
    code, err = _full_disk(size + 100_000, db, data)
    msg = _one_error_line(code, err)
    assert "Is the disk full?" in msg and "File too large" in msg
    assert "Check that the file is complete" not in msg  # the input is not blamed
    assert _counts(db) == (0, 0)
    with sl.Store(db) as store:  # space freed: the same file loads
        (r,) = sl.ingest(store, data)
        assert r.rows_loaded + r.rows_duplicate + r.rows_rejected == rows


@pytest.mark.slow
def test_a_database_created_on_a_full_disk_is_not_left_corrupt(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    data = _prices(tmp_path / "p.csv", 10)
    code, err = _full_disk(5_000, db, data)
    assert "could not create the database" in _one_error_line(code, err)
    assert "Nothing was left behind" in err
    assert not db.exists() and not Path(str(db) + ".wal").exists()
    with sl.Store(db) as store:  # space freed: it is created and loads
        (r,) = sl.ingest(store, data)
        assert r.rows_read == 10


def test_cli_json_of_a_clean_run_has_no_summary(cli, tmp_path: Path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text("provider,zone,spec,ts,spot_price,currency\n"
                 "aws,us-east-1a,p3,2024-04-10T00:00:00Z,0.9,USD\n")  # fmt: skip
    code, out, _ = cli("ingest", "--json", f)
    assert code == 0 and json.loads(out)[0]["summary"] is None
