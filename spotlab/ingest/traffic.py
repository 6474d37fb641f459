"""A service's request rate over time, from CSV: ``service,ts,qps`` (header required).

``qps`` is queries per second averaged over the sample's interval; each row holds until the
next row of its service. ``ts`` is ISO 8601 (no offset: UTC, counted as naive). A file
without a ``service`` column takes ``-o service=<name>``; ``--map SRC=DST`` renames columns.

    service,ts,qps
    chat,2024-05-06T00:00:00Z,41.5
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest._common import read_text_table, rename_columns
from spotlab.ingest.core import Staged, Target, register, register_target
from spotlab.ingest.targets import number, text, timestamp

COLUMNS = ("service", "ts", "qps")


def _traffic_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    ts, naive = timestamp("ts", schema)
    return [f"{ts} AS _ts", f"{naive} AS _naive_in", f"{number('qps', schema)} AS _q"]


TRAFFIC = register_target(
    Target(
        kind="traffic",
        table="traffic",
        key=("service", "ts"),
        required=COLUMNS,
        prepare=_traffic_prepare,
        outputs=(
            ("service", text("service")),
            ("ts", "_ts"),
            ("qps", "_q"),
            ("_naive", "coalesce(_naive_in AND _ts IS NOT NULL, FALSE)"),
        ),
        reasons=(
            (f"{text('service')} IS NULL", "'missing service'"),
            ("_ts IS NULL", f"'unparsable time: ' || coalesce({text('ts')}, '(empty)')"),
            ("_q IS NULL", f"'unparsable qps: ' || coalesce({text('qps')}, '(empty)')"),
            ("isnan(_q) OR isinf(_q)", "'qps is not a finite number'"),
            ("_q < 0", "'qps must be >= 0, got ' || _q"),
        ),
    )
)


class TrafficCsv:
    name = "traffic-csv"
    sniff_rule = "a .csv (.gz) header with ts and qps"
    kind = "traffic"
    priority = 25

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.name.lower().endswith((".csv", ".csv.gz")):
            return False
        header = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").lower()
        cols = {c.strip().strip('"') for c in header.split(",")}
        return {"ts", "qps"} <= cols

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        service: str | None = None,
        **_: Any,
    ) -> Staged:
        frame = rename_columns(read_text_table(path), map, path)
        if "service" not in frame.columns:
            if service is None:
                raise FormatError(
                    "no service column: add one or pass -o service=<name>",
                    path=path,
                    expected=", ".join(COLUMNS),
                    found=", ".join(c for c in frame.columns if not c.startswith("_")),
                )
            frame = frame.with_columns(pl.lit(service).alias("service"))
        keep = [c for c in frame.columns if c in COLUMNS or c.startswith("_")]
        return Staged(kind=self.kind, batches=[frame.select(keep)])


register(TrafficCsv())
