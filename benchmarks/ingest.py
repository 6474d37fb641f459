"""Ingest throughput: ``spotlab ingest`` against a bare DuckDB load of the same file.

    .venv/bin/python benchmarks/ingest.py            # 10 M rows (about 1 GB of CSV)
    .venv/bin/python benchmarks/ingest.py --rows 1000000
    .venv/bin/python benchmarks/ingest.py --repeat 3 --rejects 100000 --cli

Generates SYNTHETIC canonical price rows (:func:`spotlab.datasets.canonical_prices`) as CSV
and Parquet under ``benchmarks/_work/`` (kept between runs), then times, each in a fresh
subprocess writing a fresh DuckDB file:

- baseline: ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` (``read_parquet``) of the file;
- spotlab: ``spotlab.ingest(Store(file), path)``: validation, de-duplication, row accounting;
- with ``--cli``, also the command ``spotlab --db FILE ingest PATH --json``, timed from outside
  so that its start-up (about 1 s of imports) counts.

A clean file takes spotlab's direct path (validated rows straight into ``spot_prices``);
``--rejects N`` adds a copy of the CSV with every N-th row rejected, which takes the
validating path (staging table, row numbers, rejects) and shows what that costs.

It prints rows/s for both, the ratio spotlab ÷ baseline and each side's peak RSS (VmHWM).
Targets: ratio >= 0.5, spotlab's peak RSS <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"


def _child(mode: str, path: str, db: str) -> None:
    """Run one load in this process and print JSON: rows, seconds, peak RSS."""
    import duckdb

    import spotlab as sl

    t0 = time.perf_counter()
    if mode == "cli":
        # the command a user types, start-up (imports) included
        exe = Path(sys.executable).with_name("spotlab")
        out = subprocess.run(
            [str(exe), "--db", db, "ingest", path, "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        seconds = time.perf_counter() - t0
        (r,) = json.loads(out)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            json.dumps(
                {"rows": r["rows_loaded"], "seconds": seconds, "rss_mib": rss}
                | {k: r[k] for k in ("rows_read", "rows_duplicate", "rows_rejected")}
            )
        )
        return
    if mode.startswith("duckdb"):
        con = duckdb.connect(db)
        fn = "read_parquet" if path.endswith(".parquet") else "read_csv"
        con.execute(f"CREATE TABLE t AS SELECT * FROM {fn}(?)", [path])
        rows = con.execute("SELECT count(*) FROM t").fetchall()[0][0]
        con.close()
        extra: dict[str, object] = {}
    else:
        with sl.Store(db) as store:
            (r,) = sl.ingest(store, path)
        rows = r.rows_loaded
        extra = {
            "rows_read": r.rows_read,
            "rows_duplicate": r.rows_duplicate,
            "rows_rejected": r.rows_rejected,
        }
    seconds = time.perf_counter() - t0
    print(json.dumps({"rows": rows, "seconds": seconds, "rss_mib": _peak_rss_mib(), **extra}))


def _peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent across fork/exec, so a child would report the (large) parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(mode: str, path: Path) -> dict[str, float]:
    db = WORK / f"{mode}.duckdb"
    for f in (db, Path(str(db) + ".wal")):
        f.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(db)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    db.unlink(missing_ok=True)
    return json.loads(out.strip().splitlines()[-1])


def _inputs(rows: int, series: int) -> tuple[Path, Path]:
    from spotlab.datasets import canonical_prices, write_canonical_csv, write_canonical_parquet

    WORK.mkdir(parents=True, exist_ok=True)
    csv = WORK / f"prices_{rows}.csv"
    parquet = WORK / f"prices_{rows}.parquet"
    if not (csv.exists() and parquet.exists()):
        t0 = time.perf_counter()
        frame = canonical_prices(rows, series, seed=0)
        write_canonical_csv(frame, csv)
        write_canonical_parquet(frame, parquet)
        del frame
        print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s")
    return csv, parquet


def _with_rejects(csv: Path, every: int) -> Path:
    """The same file with every ``every``-th row's spot price made negative (a reject):
    spotlab then takes its validating path, which numbers rows and records rejects."""
    out = csv.with_name(csv.stem + f"_rejects{every}.csv")
    if not out.exists():
        import duckdb

        con = duckdb.connect()
        # one thread keeps the file's order (the rows stay as generated)
        con.execute("SET threads = 1")
        con.execute(
            "COPY (SELECT * REPLACE (CASE WHEN (row_number() OVER ()) % ? = 0 THEN '-1' "
            "ELSE spot_price END AS spot_price) FROM read_csv(?, all_varchar = true)) "
            "TO ? (HEADER, DELIMITER ',')",
            [every, str(csv), str(out)],
        )
        con.close()
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import polars

    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}, polars {polars.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--series", type=int, default=2_000)
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each side this many times, alternating, and keep each side's fastest run "
        "(other work on a shared machine only ever slows a run down)",
    )
    ap.add_argument(
        "--rejects",
        type=int,
        default=0,
        metavar="N",
        help="also load a copy of the CSV in which every N-th row is rejected (the "
        "validating path: row numbers, rejects); 0 skips it",
    )
    ap.add_argument(
        "--cli",
        action="store_true",
        help="also time the command `spotlab --db F ingest FILE --json`, start-up included",
    )
    ap.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    csv, parquet = _inputs(args.rows, args.series)
    print(_machine())
    print(
        f"input: {args.rows:,} SYNTHETIC canonical rows, {csv.stat().st_size / 2**20:,.0f} MiB CSV"
    )
    inputs = [("CSV", csv), ("Parquet", parquet)]
    if args.rejects:
        inputs.append(
            (f"CSV, 1 row in {args.rejects:,} rejected", _with_rejects(csv, args.rejects))
        )
    modes = ["duckdb", "spotlab", *(["cli"] if args.cli else [])]
    for label, path in inputs:
        runs = [[_run(m, path) for m in modes] for _ in range(args.repeat)]
        best = [min((r[i] for r in runs), key=lambda r: r["seconds"]) for i in range(len(modes))]
        base = best[0]
        b_rate = base["rows"] / base["seconds"]
        print(
            f"{label}\n  {'bare DuckDB':30s} {b_rate:>12,.0f} rows/s ({base['seconds']:.2f} s, "
            f"RSS {base['rss_mib']:,.0f} MiB)"
        )
        for mode, ours in zip(modes[1:], best[1:], strict=True):
            assert ours["rows_read"] == args.rows, ours
            if args.rejects and path.name.endswith(f"_rejects{args.rejects}.csv"):
                assert ours["rows_rejected"] == args.rows // args.rejects, ours
            s_rate = ours["rows"] / ours["seconds"]
            name = "spotlab.ingest()" if mode == "spotlab" else "spotlab ingest (CLI, start-up)"
            print(
                f"  {name:30s} {s_rate:>12,.0f} rows/s ({ours['seconds']:.2f} s, "
                f"RSS {ours['rss_mib']:,.0f} MiB) | ratio {s_rate / b_rate:.2f}"
            )


if __name__ == "__main__":
    main()
