"""Split-half coverage of interruption-rate intervals on every real log in ../shared/data.

``.venv/bin/python tools/interruption_coverage.py`` prints the README table (section
"Interruptions"): for each log (and each zone of a trace), the first half's rate with the
exact Poisson 90 % interval (what the rates table gives as ``rate_low/high``) and with the
overdispersion-aware prediction interval (``rate_low_drift/high_drift``: quasi-Poisson over
:data:`~spotlab.advise.interruptions.DRIFT_PARTS` equal parts, for a period as long as the
first half), the second half's rate, and whether each interval covered it
(:func:`spotlab.advise.interruptions.split_half_check`). The number of parts is chosen on
the SkyPilot availability traces only (printed first) and reported on the other logs.

Logs: the Parcae add/remove trace (an instance log); the SkyPilot preemption traces (a spot
instance kept running, its count per tick: a drop is a reclaim); the SkyPilot and SpotHedge
availability traces and the Bamboo live-instance counts (a drop of the count read as
reclaims). SpotHedge's AWS1/AWS2/AWS3 are cuts of the SkyPilot traces and are left out;
its GCP1 trace is new (start time given, since the file has none). Bamboo's ``_scaled``
files repeat the unscaled ones and are left out. The confidence (90 %) was fixed before
looking.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import spotlab as sl  # noqa: E402
from spotlab.advise import interruptions as it  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CELL = ("provider", "spec", "zone")


#: candidates for the drift interval's buckets: 1-hour clock buckets (None) or K equal parts
CANDIDATES: tuple[int | None, ...] = (None, 2, 3, 4, 6, 8, 16, 32)

Pieces = tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]


def parcae() -> Pieces:
    store = sl.Store(":memory:")
    sl.ingest(store, SHARED / "parcae-p3-trace" / "p3trace.csv", spec="p3.2xlarge")
    pieces, events = it.log_pieces(it.lifecycles(store), ("provider", "spec"))
    return pieces.with_columns(zone=pl.lit("–")), events.with_columns(zone=pl.lit("–")), CELL


#: files whose names lack a field the reader needs (the p2.xlarge file spans the region's
#: zones and names none, and counts its time in hours; its start date is in its name)
OPTIONS = {
    "aws-spot-instances-p2-xlarge-2020-11-20-to-2020-11-23.csv": {
        "zone": "us-east-1", "start": "2020-11-20T00:00:00Z", "time_unit": "h",
    },
}  # fmt: skip


def traces(files: list[Path], **options: str) -> Pieces:
    store = sl.Store(":memory:")
    for f in files:
        sl.ingest(store, f, **options, **OPTIONS.get(f.name, {}))
    frame = store.query("SELECT provider, zone, spec, ts, available FROM spot_availability")
    pieces, events = it.trace_pieces(frame)
    return pieces, events, CELL


def choice_logs() -> dict[str, Pieces]:
    """The set the bucket scheme is chosen on: the SkyPilot availability traces."""
    sky = SHARED / "skypilot-spot-traces" / "availability"
    return {
        f"SkyPilot availability {d.parent.name}/{d.name}": traces(sorted(d.glob("*.json")))
        for d in sorted(sky.glob("*/*"))
    }


def report_logs() -> dict[str, Pieces]:
    """Every other real log (reported with the chosen scheme)."""
    sky = SHARED / "skypilot-spot-traces" / "preemption"
    out = {"Parcae p3trace (instance log)": parcae()}
    for d in sorted(sky.glob("*/*")):
        out[f"SkyPilot preemption {d.parent.name}/{d.name}"] = traces(sorted(d.glob("*.json")))
    gcp1 = sorted((SHARED / "spothedge-traces" / "data" / "GCP1").glob("*.json"))
    out["SpotHedge availability GCP1"] = traces(gcp1, start="2023-01-01T00:00:00Z")
    bamboo = [
        f
        for f in sorted((SHARED / "bamboo-spot-availability-2020").glob("*.csv"))
        if not f.name.endswith("_scaled.csv")
    ]
    out["Bamboo live instances"] = traces(bamboo)
    return out


def check(logs: dict[str, Pieces], parts: int | None) -> pl.DataFrame:
    cols = ["log", "provider", "spec", "zone"]
    frames = [
        it.split_half_check(p, e, by, parts=parts).with_columns(log=pl.lit(name))
        for name, (p, e, by) in logs.items()
    ]
    return pl.concat(
        [f.select(*cols, pl.exclude(cols)) for f in frames if f.height], how="vertical_relaxed"
    )


def selection(logs: dict[str, Pieces]) -> tuple[int | None, str]:
    """The candidate whose split-half coverage on ``logs`` is closest to 90 % (narrowest
    median interval ÷ rate on ties), and the table of all candidates."""
    lines = [
        "| drift buckets | cells | covered | median width ÷ rate |",
        "|---|---|---|---|",
    ]
    scored = []
    for c in CANDIDATES:
        rows = check(logs, c)
        cover = float(rows["covered_drift"].mean())  # type: ignore[arg-type]
        width = float(
            ((rows["drift_high"] - rows["drift_low"]) / rows["first_rate"])
            .filter(rows["first_rate"] > 0)
            .median()  # type: ignore[arg-type]
        )
        scored.append((abs(cover - 0.9), width, c))
        label = "1-hour buckets" if c is None else f"{c} equal parts"
        lines.append(f"| {label} | {rows.height} | {cover:.0%} | {width:.2f} |")
    best = min(scored, key=lambda x: (round(x[0], 9), x[1]))[2]
    return best, "\n".join(lines)


def table(rows: pl.DataFrame) -> str:
    def iv(lo: float, hi: float) -> str:
        return f"{lo:.3f}–{hi:.3f}"

    lines = [
        "| log | spec, zone | first half: reclaims / h, rate | Poisson 90% | covered | "
        "drift 90% (φ) | covered | second half rate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.iter_rows(named=True):
        lines.append(
            f"| {r['log']} | {r['spec']} {r['zone']} | {r['first_k']:.0f} / "
            f"{r['first_hours']:.1f}, {r['first_rate']:.3f} | "
            f"{iv(r['poisson_low'], r['poisson_high'])} | "
            f"{'yes' if r['covered_poisson'] else '**no**'} | "
            f"{iv(r['drift_low'], r['drift_high'])} ({r['dispersion']:.2f}) | "
            f"{'yes' if r['covered_drift'] else '**no**'} | {r['second_rate']:.3f} |"
        )
    n = rows.height
    lines.append("")
    lines.append(
        f"Covered: Poisson {int(rows['covered_poisson'].sum())} of {n}, Poisson prediction "
        f"interval (φ = 1) {int(rows['covered_poisson_pi'].sum())} of {n}, drift "
        f"{int(rows['covered_drift'].sum())} of {n}."
    )
    return "\n".join(lines)


def main() -> int:
    if not SHARED.is_dir():
        print("../shared/data is absent", file=sys.stderr)
        return 2
    best, chosen_table = selection(choice_logs())
    print("Choice set (SkyPilot availability traces):\n")
    print(chosen_table)
    print(f"\nchosen: {best} parts; spotlab.advise.interruptions.DRIFT_PARTS = {it.DRIFT_PARTS}")
    if best != it.DRIFT_PARTS:
        print("warning: the library's DRIFT_PARTS differs from this choice", file=sys.stderr)
    print("\nReported on every other log:\n")
    print(table(check(report_logs(), it.DRIFT_PARTS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
