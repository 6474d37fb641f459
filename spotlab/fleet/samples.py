"""SYNTHETIC sample inputs for the fleet notebook and tests, the same for the same seed.

``python -m spotlab.fleet.samples`` rewrites ``data/traffic_sample.csv``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

TRAFFIC_FILE = Path(__file__).resolve().parents[2] / "data" / "traffic_sample.csv"
SERVICE = "synthetic-chat"


def synthetic_traffic(
    days: int = 14,
    step_minutes: int = 10,
    peak_qps: float = 300.0,
    weekend_factor: float = 0.6,
    seed: int = 20240506,
    start: datetime = datetime(2024, 5, 5, 16, 0, tzinfo=UTC),  # Mon 00:00 Asia/Shanghai
    service: str = SERVICE,
) -> pl.DataFrame:
    """``service, ts, qps``: a SYNTHETIC diurnal request rate (UTC+8 office hours with
    a midday and an evening peak, quieter weekends, 5 % multiplicative noise)."""
    n = days * 24 * 60 // step_minutes
    minutes = np.arange(n) * step_minutes
    local_h = ((minutes / 60.0) + 8.0 + start.hour + start.minute / 60.0) % 24.0
    local_day = ((minutes / 60.0 + 8.0 + start.hour) // 24).astype(int)
    weekday = (start.weekday() + local_day) % 7  # 0 = Monday (start is Sunday 16:00 UTC)
    shape = (
        0.15
        + 0.55 * np.exp(-0.5 * ((local_h - 11.0) / 2.2) ** 2)
        + 0.45 * np.exp(-0.5 * ((local_h - 21.0) / 1.8) ** 2)
        + 0.25 * np.exp(-0.5 * ((local_h - 15.5) / 2.5) ** 2)
    )
    shape = shape / shape.max()
    week = np.where(weekday >= 5, weekend_factor, 1.0)
    rng = np.random.default_rng(seed)
    qps = peak_qps * shape * week * rng.lognormal(0.0, 0.05, n)
    ts = [start + timedelta(minutes=int(m)) for m in minutes]
    return pl.DataFrame(
        {
            "service": [service] * n,
            "ts": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in ts],
            "qps": np.round(qps, 1),
        }
    )


def write_traffic_sample(path: Path = TRAFFIC_FILE) -> pl.DataFrame:
    frame = synthetic_traffic()
    frame.write_csv(path)
    return frame


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else TRAFFIC_FILE
    print(write_traffic_sample(out).describe())
