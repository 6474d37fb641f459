"""Add/remove cluster traces (the Parcae format): ``time_ms,add|remove,node`` without header.

Each line says that a node joined (``add`` → ``launched``) or was preempted (``remove`` →
``reclaimed``) ``time_ms`` milliseconds after the trace began. The format carries no
absolute time and no instance type, so both are options:

- ``start``: ISO time of trace time zero (default ``1970-01-01T00:00:00Z``, which keeps
  durations and rates right but makes hour-of-day profiles meaningless — a note says so);
- ``spec``: the instance type of every node (default none: the events are kept but stay
  unattributed until an inventory names the nodes' spec);
- ``provider`` (default ``aws``, where the published trace comes from), ``zone``,
  ``is_spot`` (default true), ``service``, ``instance_prefix`` (prepended to node names,
  to keep two traces' ``node1`` apart).

>>> # spotlab ingest p3trace.csv -o spec=p3.2xlarge -o start=2023-01-01T00:00:00Z
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest._common import read_text_table
from spotlab.ingest.core import Staged, register

DEFAULT_START = "1970-01-01T00:00:00Z"
_LINE = re.compile(rb"^\s*\d+(\.\d+)?\s*,\s*(add|remove)\s*,", re.IGNORECASE)
ACTIONS = {"add": "launched", "remove": "reclaimed"}


def _start(value: str | None, path: Path) -> datetime:
    text = (value or DEFAULT_START).strip().replace("Z", "+00:00")
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FormatError(
            f"the start option is not an ISO time: {value!r}",
            path=path,
            expected="e.g. 2023-04-01T00:00:00Z",
        ) from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class AddRemoveTrace:
    name = "addremove-trace"
    sniff_rule = "text whose first line is 'seconds,add|remove,…' (an add/remove trace)"
    kind = "events"
    priority = 25

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.lstrip().split(b"\n", 1)[0]
        return bool(_LINE.match(first))

    def read(
        self,
        path: Path,
        start: str | None = None,
        spec: str | None = None,
        provider: str = "aws",
        zone: str | None = None,
        is_spot: str | bool = "true",
        service: str | None = None,
        instance_prefix: str = "",
        **_: Any,
    ) -> Staged:
        t0 = _start(start, path)
        raw = read_text_table(path, has_header=False, new_columns=["time_ms", "action", "node"])
        ms = pl.col("time_ms").str.strip_chars().cast(pl.Float64, strict=False)
        action = pl.col("action").str.strip_chars().str.to_lowercase()
        node = pl.col("node").str.strip_chars()
        frame = raw.select(
            pl.lit(provider).alias("provider"),
            pl.lit(zone, pl.String).alias("zone"),
            pl.lit(spec, pl.String).alias("spec"),
            (pl.lit(instance_prefix) + node).alias("instance_id"),
            pl.lit(service, pl.String).alias("service"),
            pl.lit(str(is_spot).lower()).alias("is_spot"),
            action.replace_strict(ACTIONS, default=None, return_dtype=pl.String).alias("event"),
            (
                pl.lit(t0)
                + pl.duration(
                    milliseconds=pl.when(ms.is_finite() & (ms.abs() < 1e15))
                    .then(ms)
                    .round(0)
                    .cast(pl.Int64, strict=False)
                )
            ).alias("ts"),
            pl.lit(path.name).alias("detail"),
            "_row",
            pl.concat_str(
                [pl.col("time_ms"), pl.col("action"), pl.col("node")],
                separator=",",
                ignore_nulls=True,
            ).alias("_raw"),
            pl.when(ms.is_null() | ~ms.is_finite() | (ms.abs() >= 1e15))
            .then(pl.lit("unparsable time_ms: ") + pl.col("time_ms").fill_null("(empty)"))
            .when(ms < 0)
            .then(pl.lit("negative time_ms: ") + pl.col("time_ms"))
            .when(~action.is_in(list(ACTIONS)) | action.is_null())
            .then(pl.lit("unknown action (add or remove): ") + pl.col("action").fill_null(""))
            .when(node.is_null() | (node == ""))
            .then(pl.lit("missing node name"))
            .alias("_reject"),
        )
        notes = []
        if start is None:
            notes.append(
                f"no start time given (-o start=ISO): trace time zero is {DEFAULT_START}; "
                "durations and rates hold, hour-of-day profiles do not"
            )
        if spec is None:
            notes.append(
                "no spec given (-o spec=TYPE): events are kept but unattributed until an "
                "inventory names the nodes' instance type"
            )
        return Staged(kind=self.kind, batches=[frame], notes=notes)


register(AddRemoveTrace())
