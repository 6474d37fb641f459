"""The AWS Spot Instance Advisor feed (``spot-advisor-data.json``) → ``interruption_bands``.

Keys: ``spot_advisor{region: {Linux|Windows: {type: {"s": savings %, "r": band index}}}}``
and ``ranges[{index, label, max}]``, where ``r`` indexes ``ranges``: 0 = <5%, 1 = 5–10%,
2 = 10–15%, 3 = 15–20%, 4 = >20% of instances interrupted in the trailing month. One row
per (region, OS, type); the feed is per region, so ``zone`` is empty. ``observed_at`` is
the option, else a date in the file name (``spot-advisor-data_2025-07-28.json``), else the
ingest time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest import _events
from spotlab.ingest._common import expect, load_json
from spotlab.ingest.core import Staged, register

COLUMNS = (
    "provider", "region", "spec", "os", "band_label", "band_low_pct", "band_high_pct",
    "savings_pct", "observed_at",
)  # fmt: skip


class AwsSpotAdvisor:
    name = "aws-spot-advisor"
    sniff_rule = 'JSON with "spot_advisor" (the Spot Instance Advisor feed)'
    kind = "bands"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"spot_advisor"' in head

    def read(self, path: Path, observed_at: str | None = None, **_: Any) -> Staged:
        doc = load_json(path)
        regions = expect(doc, "spot_advisor", "$", path, dict)
        ranges = expect(doc, "ranges", "$", path, list)
        labels: dict[int, str] = {}
        for i, r in enumerate(ranges):
            if not isinstance(r, Mapping) or not isinstance(r.get("index"), int):
                raise FormatError(f"$.ranges[{i}] lacks an integer 'index'", path=path)
            labels[int(r["index"])] = str(r.get("label"))
        notes: list[str] = []
        when = _events.observed_at(path, observed_at, notes)
        rows: list[tuple[Any, ...]] = [
            (region, os_name, spec, cell)
            for region, by_os in regions.items()
            if isinstance(by_os, Mapping)
            for os_name, by_type in by_os.items()
            if isinstance(by_type, Mapping)
            for spec, cell in by_type.items()
        ]
        bad_regions = [r for r, v in regions.items() if not isinstance(v, Mapping)]
        if bad_regions:
            raise FormatError(
                f"$.spot_advisor.{bad_regions[0]} is not an object", path=path, expected="object"
            )
        frame = pl.DataFrame(
            {
                "region": [r[0] for r in rows],
                "os": [r[1] for r in rows],
                "spec": [r[2] for r in rows],
                "s": [_num(r[3], "s") for r in rows],
                "r": [_num(r[3], "r") for r in rows],
                "_raw": [
                    json.dumps({"region": r[0], "os": r[1], "type": r[2], "cell": r[3]})
                    for r in rows
                ],
            },
            schema={
                "region": pl.String, "os": pl.String, "spec": pl.String, "s": pl.String,
                "r": pl.String, "_raw": pl.String,
            },
        )  # fmt: skip
        label_map = {str(k): v for k, v in labels.items()}
        bounds = {k: _events.band_bounds(v) for k, v in label_map.items()}
        frame = frame.with_row_index("_row", offset=1).select(
            pl.col("_row").cast(pl.Int64),
            pl.lit("aws").alias("provider"),
            "region",
            "spec",
            "os",
            pl.col("r").replace_strict(label_map, default=None).alias("band_label"),
            pl.col("r")
            .replace_strict({k: _s(v[0]) for k, v in bounds.items()}, default=None)
            .alias("band_low_pct"),
            pl.col("r")
            .replace_strict({k: _s(v[1]) for k, v in bounds.items()}, default=None)
            .alias("band_high_pct"),
            pl.col("s").alias("savings_pct"),
            pl.lit(when).alias("observed_at"),
            "_raw",
            pl.when(pl.col("r").is_null())
            .then(pl.lit("no band index 'r'"))
            .when(~pl.col("r").is_in(list(label_map)))
            .then(pl.lit("band index r=") + pl.col("r") + pl.lit(" is not in $.ranges"))
            .alias("_reject"),
        )
        return Staged(kind=self.kind, batches=[frame], notes=notes)


def _num(cell: Any, key: str) -> str | None:
    if not isinstance(cell, Mapping):
        return None
    v = cell.get(key)
    if isinstance(v, bool) or v is None:
        return None
    return str(v)


def _s(v: float | None) -> str | None:
    return None if v is None else repr(v)


register(AwsSpotAdvisor())
