"""spotlab's canonical price files: CSV (optionally gzip) or Parquet.

Columns (names exactly; ``--map src=dst`` renames anything else first):

========================  =============================================================
``provider``              ``alibaba``, ``aws``, ``gcp``, ... (required)
``region``                optional; derived from ``zone`` when absent
``zone``                  zone id (required; GCP prices are per region: zone = region)
``spec``                  instance type (required)
``ts``                    change-point time, ISO 8601; no offset means UTC (required)
``spot_price``            price per hour, or
``discount``              spot ÷ on-demand (one of the two is required)
``on_demand_price``       optional; filled from the specs catalog when absent
``currency``              ISO 4217 code (or pass ``currency=``)
========================  =============================================================

Row numbers in rejects are the file's line numbers (the header is line 1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError, wrap_errors
from spotlab.ingest._common import read_text_table, rename_columns
from spotlab.ingest.core import Staged, register

COLUMNS = (
    "provider", "region", "zone", "spec", "ts", "spot_price", "discount", "on_demand_price",
    "currency",
)  # fmt: skip
BATCH_ROWS = 2_000_000


def _prepare(
    frame: pl.DataFrame, path: Path, mapping: Mapping[str, str] | None, currency: str | None
) -> pl.DataFrame:
    frame = rename_columns(frame, mapping, path)
    if "spot_price" not in frame.columns and "discount" not in frame.columns:
        from spotlab.errors import did_you_mean

        hint = did_you_mean("spot_price", frame.columns) or did_you_mean("discount", frame.columns)
        raise FormatError(
            f"neither a spot_price nor a discount column.{hint} Use --map SRC=spot_price "
            "to name yours",
            path=path,
            expected=", ".join(COLUMNS),
            found=", ".join(c for c in frame.columns if not c.startswith("_")),
        )
    if currency is not None:
        if "currency" in frame.columns:
            frame = frame.with_columns(
                pl.col("currency").fill_null(pl.lit(currency, dtype=frame.schema["currency"]))
            )
        else:
            frame = frame.with_columns(pl.lit(currency).alias("currency"))
    keep = [c for c in frame.columns if c in COLUMNS or c.startswith("_")]
    return frame.select(keep)


class CanonicalCsv:
    name = "canonical-csv"
    kind = "prices"
    priority = 90  # tried last: any CSV no other reader claims is read as canonical

    def sniff(self, path: Path, head: bytes) -> bool:
        name = path.name.lower()
        return name.endswith((".csv", ".csv.gz", ".csv.zst"))

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        currency: str | None = None,
        **_: Any,
    ) -> Staged:
        frame = _prepare(read_text_table(path), path, map, currency)
        return Staged(kind=self.kind, batches=_slices(frame))


class CanonicalParquet:
    name = "canonical-parquet"
    kind = "prices"
    priority = 90

    def sniff(self, path: Path, head: bytes) -> bool:
        return head[:4] == b"PAR1"

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        currency: str | None = None,
        **_: Any,
    ) -> Staged:
        with wrap_errors("reading a Parquet file", path=path):
            frame = pl.read_parquet(path)
        frame = frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
        return Staged(kind=self.kind, batches=_slices(_prepare(frame, path, map, currency)))


def _slices(frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
    for offset in range(0, frame.height, BATCH_ROWS):
        yield frame.slice(offset, BATCH_ROWS)


register(CanonicalCsv())
register(CanonicalParquet())
