"""Benchmark: ``recommend_bids`` over 1,000 series × 90 days of 5-minute change points.

Generates SYNTHETIC prices (vectorised numpy/polars) into a DuckDB store on disk (about
26 M rows, 280 MB), times ``recommend_bids`` over every series twice (the first run reads
the file) for the 30-day window (the default) and the whole 90 days, then runs the same
algorithm as a per-row Python loop on a 10-series sample and reports the per-row speed
ratio, checking that both give the same bids (the cost-optimal level before rounding).

    .venv/bin/python benchmarks/bids.py                  # full size (a few minutes)
    .venv/bin/python benchmarks/bids.py --series 50      # quick look

Prices: per spec an on-demand price (2-200 per hour, the same in its zones), per series a
discount that follows a mean-reverting walk around 8-20% of on-demand with occasional spikes
to 22-45%, rounded to 0.01 (a tick), one point every 5 minutes; 1,000 series = 100 specs ×
10 zones in 2 regions.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

import spotlab as sl
from spotlab.advise.costmodel import DEFAULT_STARTUP_SECONDS
from spotlab.domain import WARNING_LEAD_SECONDS

STEP_S = 300
END = datetime(2026, 7, 1, tzinfo=UTC)
ZONES = tuple(f"cn-{r}-{z}" for r in ("hangzhou", "shanghai") for z in "hijkl")


def series_frame(i: int, n_points: int, rng: np.random.Generator) -> pl.DataFrame:
    """One SYNTHETIC series: ``n_points`` 5-minute change points ending at END."""
    # one on-demand price per spec, shared by its zones (as a provider's catalog has it)
    spec_rng = np.random.default_rng(10_000 + i // len(ZONES))
    od = round(float(spec_rng.uniform(2.0, 200.0)), 2)
    base = rng.uniform(0.08, 0.20)
    # mean-reverting AR(1) walk x_n = phi x_(n-1) + e_n, vectorised by its closed form
    # x_n = phi^n * cumsum(e_k / phi^k) (phi^-n stays far below the float range here)
    phi = 0.995
    powers = phi ** np.arange(n_points)
    disc = base + np.cumsum(rng.normal(0.0, 0.004, size=n_points) / powers) * powers
    spike_start = rng.random(n_points) < 0.0008
    length = rng.geometric(1 / 24, size=n_points)
    ends = np.where(spike_start, np.arange(n_points) + length, -1)
    spike = np.maximum.accumulate(ends) > np.arange(n_points)
    disc = np.where(spike, rng.uniform(0.22, 0.45, size=n_points), disc).clip(0.05, 0.6)
    price = np.round(disc * od, 2).clip(0.01, None)
    start = END - timedelta(seconds=STEP_S * n_points)
    ts = np.datetime64(start.replace(tzinfo=None), "us") + np.arange(n_points) * STEP_S * 10**6
    zone = ZONES[i % len(ZONES)]
    return pl.DataFrame(
        {
            "provider": "alibaba",
            "region": zone[:-2],
            "zone": zone,
            "spec": f"ecs.bench-{i // len(ZONES)}",
            "ts": pl.Series(ts.astype("datetime64[us]")).dt.replace_time_zone("UTC"),
            "spot_price": price,
            "discount": price / od,
            "on_demand_price": od,
            "currency": "CNY",
            "source_id": 0,
        }
    )


def build_store(path: Path, n_series: int, days: int, seed: int = 7) -> int:
    """Write the SYNTHETIC benchmark rows into a store at ``path``; returns the row count."""
    rng = np.random.default_rng(seed)
    n_points = days * 86400 // STEP_S
    store = sl.Store(path)
    rows = 0
    chunk = 50
    for lo in range(0, n_series, chunk):
        frame = pl.concat(
            [series_frame(i, n_points, rng) for i in range(lo, min(lo + chunk, n_series))]
        )
        store.con.register("_bench_chunk", frame)
        store.con.execute("INSERT INTO spot_prices SELECT * FROM _bench_chunk")
        store.con.unregister("_bench_chunk")
        rows += frame.height
    store.close()
    return rows


# -- the naive baseline: the same decision, one Python step per row ----------------------


def _total(
    share: float, paid: float | None, ups: int, hours: float, od: float, startup_s: float
) -> tuple[float, float]:
    """(total cost, service availability) of a bid: the cost model's formulas (a regular
    fallback at on-demand, no capacity reclaims, a lost replica-hour valued at on-demand)."""
    start_h = startup_s / 3600
    down_h = max(0.0, startup_s - WARNING_LEAD_SECONDS["alibaba"]) / 3600
    crossings_h = ups / hours
    billed = (
        share * (paid or 0.0)
        + (1 - share) * od
        + crossings_h * start_h * (od + (paid if paid is not None else od))
    )
    downtime = min(1.0, crossings_h * down_h)
    return billed + downtime * od, 1.0 - downtime


def _choose(cands: list[tuple[float, float, float]], od: float, target: float) -> float | None:
    """The cheapest candidate (level, total, availability) meeting the target; near-equal
    costs prefer a bid at or above on-demand, then the lowest."""
    ok = [c for c in cands if c[2] >= target - 1e-9]
    if not ok:
        return None
    return min(ok, key=lambda c: (round(c[1], 9), c[0] < od - 1e-9, c[0]))[0]


def _sequence(
    points: list[tuple[datetime, float]], start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    pts = sorted(points)
    carry = [p for p in pts if p[0] <= start]
    inside = [p for p in pts if start < p[0] < end]
    return ([(start, carry[-1][1])] if carry else []) + inside


def naive_bid(
    points: list[tuple[datetime, float]],
    start: datetime,
    end: datetime,
    od: float,
    target: float,
    startup_s: float = DEFAULT_STARTUP_SECONDS,
) -> float | None:
    """spotlab's cost-optimal level (before rounding) with a per-row Python loop: held time,
    paid time and rises per level in one pass, then running sums over levels."""
    seq = _sequence(points, start, end)
    total = (end - seq[0][0]).total_seconds()
    held: dict[float, float] = defaultdict(float)
    paid: dict[float, float] = defaultdict(float)
    rises: dict[float, int] = defaultdict(int)
    for k, (t, p) in enumerate(seq):
        t_next = seq[k + 1][0] if k + 1 < len(seq) else end
        dur = (t_next - t).total_seconds()
        held[p] += dur
        paid[p] += p * dur
        if k and seq[k - 1][1] < p:
            rises[seq[k - 1][1]] += 1
            rises[p] -= 1
    sums = []
    cum_h = cum_p = 0.0
    ups = 0
    for level in sorted(held):
        cum_h += held[level]
        cum_p += paid[level]
        ups += rises[level]
        sums.append((level, cum_h, cum_p, ups))
    cands = []
    for at in sorted({*held, od}):
        below = [x for x in sums if x[0] <= at]
        h, pp, u = (below[-1][1], below[-1][2], below[-1][3]) if below else (0.0, 0.0, 0)
        cost, avail = _total(h / total, pp / h if h else None, u, total / 3600, od, startup_s)
        cands.append((at, cost, avail))
    return _choose(cands, od, target)


def naive_scan_bid(
    points: list[tuple[datetime, float]],
    start: datetime,
    end: datetime,
    od: float,
    target: float,
    startup_s: float = DEFAULT_STARTUP_SECONDS,
) -> float | None:
    """The same answer straight from the definitions: for every candidate bid, walk every
    row (rows × candidates steps)."""
    seq = _sequence(points, start, end)
    total = (end - seq[0][0]).total_seconds()
    durs = [
        ((seq[k + 1][0] if k + 1 < len(seq) else end) - t).total_seconds()
        for k, (t, _) in enumerate(seq)
    ]
    cands = []
    for at in sorted({p for _, p in seq} | {od}):
        held = paid = 0.0
        ups = 0
        for k, (_, p) in enumerate(seq):
            if p <= at:
                held += durs[k]
                paid += p * durs[k]
            elif k and seq[k - 1][1] <= at:
                ups += 1
        cost, avail = _total(
            held / total, paid / held if held else None, ups, total / 3600, od, startup_s
        )
        cands.append((at, cost, avail))
    return _choose(cands, od, target)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def timed_cpu(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU seconds (all threads of this process) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def window_rows(store: sl.Store, days: int) -> int:
    """Rows inside the last ``days`` days of the store (what a window analyses)."""
    return int(
        store.query(
            "SELECT count(*) AS n FROM spot_prices WHERE ts > (SELECT max(ts) FROM spot_prices)"
            f" - INTERVAL {int(days)} DAY"
        )["n"][0]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--sample", type=int, default=10, help="series for the naive version")
    ap.add_argument("--db", type=Path, default=None, help="reuse or keep this store file")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="spotlab-bench-")
    db = args.db or Path(tmp.name) / "bench.duckdb"
    if not db.exists():
        t0 = time.perf_counter()
        rows = build_store(db, args.series, args.days)
        print(f"built {rows:,} rows in {time.perf_counter() - t0:.1f} s -> {db}")
    store = sl.Store(db, read_only=True)
    rows = store.query("SELECT count(*) AS n FROM spot_prices")["n"][0]
    n_series = store.query("SELECT count(DISTINCT (zone, spec)) AS n FROM spot_prices")["n"][0]
    print(f"store: {rows:,} rows, {n_series:,} series, {os.cpu_count()} CPUs")

    print(f"load average before: {os.getloadavg()[0]:.1f} (other jobs share the 2 cores)")
    print("| window | rows in window | run | wall (s) | CPU (s) |")
    print("|---|---|---|---|---|")
    timings = {}
    for window in ("30d", "all"):
        in_window = rows if window == "all" else window_rows(store, 30)
        for run in ("first", "second"):
            wall, cpu, advice = timed_cpu(lambda w=window: sl.recommend_bids(store, window=w))
            timings[window] = wall
            print(f"| {window} | {in_window:,} | {run} | {wall:.2f} | {cpu:.2f} |")
    assert isinstance(advice, sl.BidAdvice)
    # the bids alone: no intervals and no out-of-sample check (one pass over the window)
    wall, cpu, _ = timed_cpu(
        lambda: sl.recommend_bids(store, window="30d", intervals=False, holdout=False)
    )
    print(f"| 30d, intervals=False, holdout=False | {window_rows(store, 30):,} | second | "
          f"{wall:.2f} | {cpu:.2f} |")  # fmt: skip

    # naive: the first `sample` series, 30-day window, compute only (rows fetched first)
    advice30 = sl.recommend_bids(store, window="30d")
    sample = advice30.zones.head(args.sample)
    inputs = []
    for r in sample.iter_rows(named=True):
        pts = store.query(
            "SELECT ts, spot_price FROM spot_prices WHERE zone = ? AND spec = ? ORDER BY ts",
            [r["zone"], r["spec"]],
        )
        points = list(zip(pts["ts"].to_list(), pts["spot_price"].to_list(), strict=True))
        inputs.append((r, points, r["end"] - timedelta(days=30), r["end"]))
    sample_rows = sum(sum(1 for t, _ in p if s < t < e) + 1 for _, p, s, e in inputs)
    fast_per_row = timings["30d"] / window_rows(store, 30)
    print(
        f"naive versions on {args.sample} series ({sample_rows:,} rows in their 30-day "
        f"windows), computing only (rows already fetched); vectorised: "
        f"{fast_per_row * 1e9:.0f} ns per row in the window"
    )
    for name, fn in (
        ("one pass per row (spotlab's algorithm in Python)", naive_bid),
        ("every row for every candidate bid (the definitions)", naive_scan_bid),
    ):
        naive_s, levels = timed(
            lambda f=fn: [f(p, s, e, r["on_demand"], 0.99) for r, p, s, e in inputs]
        )
        assert isinstance(levels, list)
        agree = sum(
            lv is not None and abs(lv - r["decision_level"]) < 1e-9
            for lv, (r, *_) in zip(levels, inputs, strict=True)
        )
        per_row = naive_s / sample_rows
        print(
            f"  {name}: {naive_s:.2f} s, {per_row * 1e9:,.0f} ns per row -> "
            f"{per_row / fast_per_row:,.1f}x slower per row; same bid on "
            f"{agree}/{args.sample}"
        )
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory (max RSS of this process): {peak_gib:.2f} GiB")
    store.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
