"""AWS ``describe-spot-price-history`` saved the two other common ways: pandas CSV and CLI text.

**CSV** (``aws-spot-csv``): boto3's ``describe_spot_price_history`` → ``pandas.DataFrame`` →
``to_csv``: a header ``AvailabilityZone, InstanceType, ProductDescription, SpotPrice,
Timestamp`` (any order; ``AvailabilityZoneId`` may be there too, from newer botocore),
with or without pandas' index as a first, unnamed column. Times as pandas writes them
(``2024-05-01 12:00:00+00:00``).

**Text** (``aws-spot-text``): ``aws ec2 describe-spot-price-history --output text``: one
``SPOTPRICEHISTORY`` line per price, tab-separated, the fields in the CLI's order (keys
sorted by name): ``AvailabilityZone, [AvailabilityZoneId,] InstanceType,
ProductDescription, SpotPrice, Timestamp``. A ``NEXTTOKEN`` line (more pages at AWS) is
noted, not a row; any other line is a reject that says what it is.

Both keep products apart exactly as the JSON and TSV readers do
(:mod:`spotlab.ingest.aws_spot`): option ``product`` (default ``"Linux/UNIX"``) picks the
product loaded, rows of other products are rejects saying how to load them. The zone stored
is the ``AvailabilityZone`` name, as for the JSON of the same call. Prices are USD per hour.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError, wrap_errors
from spotlab.ingest._common import read_bytes, read_text_table
from spotlab.ingest.aws_spot import (
    DEFAULT_PRODUCT,
    PRODUCT,
    az_id_reason,
    product_reason,
    region_from_az,
    wanted_product,
)
from spotlab.ingest.core import Staged, batched, register
from spotlab.ingest.reasons import reject

#: the columns of a boto3 SpotPriceHistory frame, as pandas writes them
CSV_COLUMNS = ("AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp")
#: what pandas calls its index column when a CSV written with it is read back
_INDEX_NAMES = ("", "Unnamed: 0", "index")
TEXT_TAG = "SPOTPRICEHISTORY"
_AZ_ID = re.compile(r"^[a-z]+[0-9]+-az[0-9]+$")


def _header(head: bytes) -> list[str]:
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").rstrip("\r")
    return [c.strip().strip('"') for c in first.split(",")]


def _prices(
    frame: pl.DataFrame, product: pl.Expr, wanted: str, raw: pl.Expr, zone: pl.Expr
) -> pl.DataFrame:
    """Canonical price rows; rejects for zones without a region and for other products."""
    return frame.select(
        pl.lit("aws").alias("provider"),
        region_from_az(zone).alias("region"),
        zone.alias("zone"),
        pl.col("InstanceType").alias("spec"),
        pl.col("Timestamp").alias("ts"),
        pl.col("SpotPrice").alias("spot_price"),
        pl.lit("USD").alias("currency"),
        "_row",
        raw.alias("_raw"),
        pl.coalesce(
            *([pl.col("_reject")] if "_reject" in frame.columns else []),
            az_id_reason(zone, ids_only=False),
            product_reason(product, wanted),
        ).alias("_reject"),
    )


class AwsSpotPriceCsv:
    """boto3 → pandas CSV of ``describe_spot_price_history``."""

    name = "aws-spot-csv"
    sniff_rule = "CSV header with AvailabilityZone, InstanceType, SpotPrice, Timestamp, … (boto3)"
    kind = "prices"
    priority = 20
    options = (PRODUCT,)

    def sniff(self, path: Path, head: bytes) -> bool:
        cols = _header(head)
        if cols and cols[0] in _INDEX_NAMES and len(cols) > len(CSV_COLUMNS):
            cols = cols[1:]
        return set(CSV_COLUMNS) <= set(cols)

    def read(self, path: Path, product: str = DEFAULT_PRODUCT) -> Staged:
        with wrap_errors("reading an AWS spot price CSV (boto3 / pandas)", path=path):
            return self._read(path, product)

    def _read(self, path: Path, product: str) -> Staged:
        wanted = wanted_product(product, path)
        raw = read_text_table(path)
        cols = [c for c in raw.columns if c not in ("_row", "_reject")]
        if cols and cols[0].strip() in _INDEX_NAMES and cols[0] not in CSV_COLUMNS:
            raw = raw.drop(cols[0])  # pandas' index: row labels, not data
            cols = cols[1:]
        missing = [c for c in CSV_COLUMNS if c not in cols]
        if missing:
            raise FormatError(
                f"missing column(s) {', '.join(missing)}",
                path=path,
                expected=", ".join(CSV_COLUMNS),
                found=", ".join(cols),
            )
        line = pl.concat_str([pl.col(c).fill_null("") for c in cols], separator=",")
        frame = _prices(raw, pl.col("ProductDescription"), wanted, line, pl.col("AvailabilityZone"))
        return Staged(kind=self.kind, batches=batched(frame))


class AwsSpotPriceText:
    """``aws ec2 describe-spot-price-history --output text``."""

    name = "aws-spot-text"
    sniff_rule = "AWS CLI text output: lines starting with SPOTPRICEHISTORY and a tab"
    kind = "prices"
    priority = 20
    options = (PRODUCT,)

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8-sig", "replace").lstrip()
        return text.startswith(TEXT_TAG + "\t")

    def read(self, path: Path, product: str = DEFAULT_PRODUCT) -> Staged:
        with wrap_errors("reading AWS CLI text output", path=path):
            return self._read(path, product)

    def _read(self, path: Path, product: str) -> Staged:
        wanted = wanted_product(product, path)
        lines = read_bytes(path).decode("utf-8-sig", "replace").splitlines()
        names = ("AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice")
        rows: dict[str, list[Any]] = {c: [] for c in (*names, "Timestamp", "_row", "_raw")}
        rejects: list[str | None] = []
        notes: list[str] = []
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r").split("\t")
            if fields[0] == "NEXTTOKEN":
                notes.append(
                    f"line {n} is a NEXTTOKEN: AWS has more pages that are not in this file"
                )
                continue
            reason = None
            if fields[0] != TEXT_TAG:
                reason = reject(
                    "not_a_price_line", f"not a {TEXT_TAG} line (starts with {fields[0][:40]!r})"
                )
            elif len(fields) == 7 and _AZ_ID.match(fields[2].strip()):
                del fields[2]  # AvailabilityZoneId, sorted after AvailabilityZone
            if reason is None and len(fields) != 6:
                reason = reject(
                    "field_count",
                    f"expected {TEXT_TAG} and 5 tab-separated fields ("
                    + ", ".join((*names, "Timestamp"))
                    + f"), found {len(fields) - 1}",
                )
            values = fields[1:6] if reason is None else [None] * 5
            for col, v in zip((*names, "Timestamp"), values, strict=True):
                rows[col].append(v)
            rows["_row"].append(n)
            rows["_raw"].append(line)
            rejects.append(reason)
        if not rows["_row"]:
            raise FormatError("no SPOTPRICEHISTORY lines", path=path, expected=TEXT_TAG + " lines")
        frame = pl.DataFrame(
            {**rows, "_reject": rejects},
            schema={
                **{c: pl.String for c in (*names, "Timestamp")},
                "_row": pl.Int64,
                "_raw": pl.String,
                "_reject": pl.String,
            },
        )
        # a line already rejected keeps its reason; the rules below see only parsed lines
        parsed = pl.col("_reject").is_null()
        frame = _prices(
            frame,
            pl.when(parsed).then(pl.col("ProductDescription")).otherwise(pl.lit(wanted)),
            wanted,
            pl.col("_raw"),
            pl.col("AvailabilityZone"),
        )
        return Staged(kind=self.kind, batches=[frame], notes=notes)


register(AwsSpotPriceCsv())
register(AwsSpotPriceText())
