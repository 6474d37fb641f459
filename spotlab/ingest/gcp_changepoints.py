"""GCP VM price change points (CSV, optionally gzip), as derived from the weekly versions of
``Cyclenerd/google-cloud-pricing-cost-calculator``'s ``pricing.yml``.

Columns: ``snapshot_time_utc, commit, machine_type, region, cpu, ram_gib, accelerator,
accelerator_count, hour_ondemand_usd, hour_spot_usd``. A row is written when a price of a
(machine_type, region) pair changes or the pair first appears; each row holds until the next
one of its pair. GCP prices spot per region, so the zone stored is the region. USD per hour.

- Rows with a spot price load into ``spot_prices`` (with the row's on-demand price, so the
  discount is known).
- Rows without one are on-demand-only change points (this history has spot prices from
  2023-05-08 on): they are rejects whose reason says so. They are not lost: the newest
  positive on-demand price of every (region, machine_type), with its cpu, RAM and
  accelerator, is upserted into ``specs`` in the same transaction.
- ``gpu_only=True`` keeps only machine types with an accelerator (a2, a3, g2, g4); the other
  rows are rejects saying ``gpu_only``.

Fractional counts (``e2-micro``: 0.25 vCPU; ``g4-standard-6``: 0.125 GPU) do not fit the
integer ``vcpu``/``gpu_count`` columns of ``specs``; they are left empty there (a note says
how many).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError, did_you_mean, wrap_errors
from spotlab.ingest._common import read_text_table
from spotlab.ingest.core import Staged, batched, register

COLUMNS = (
    "snapshot_time_utc", "commit", "machine_type", "region", "cpu", "ram_gib", "accelerator",
    "accelerator_count", "hour_ondemand_usd", "hour_spot_usd",
)  # fmt: skip
REQUIRED = ("snapshot_time_utc", "machine_type", "region", "hour_ondemand_usd", "hour_spot_usd")
#: first snapshot of this history with spot prices (before it, every row is on-demand only)
SPOT_HISTORY_START = "2023-05-08"

NO_SPOT_BEFORE = (
    "no spot price in this change point (on-demand only; GCP spot prices in this history "
    f"start {SPOT_HISTORY_START}); the newest on-demand price of the series is kept in specs"
)
NO_SPOT_AFTER = (
    "no spot price in this change point (on-demand only: the snapshot lists no spot price "
    "for this machine type in this region); the newest on-demand price of the series is kept "
    "in specs"
)
NO_PRICE = (
    "no price in this change point (spot empty, on-demand empty or 0: the snapshot lists "
    "the machine type without a price); nothing to load"
)
NOT_GPU = "not a GPU machine type (no accelerator) and gpu_only=True: skipped"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


def _num(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)


def _whole(col: str) -> pl.Expr:
    """The column as text when it is a whole number, else null (integer columns in specs)."""
    x = _num(col)
    whole = x.is_finite() & (x == x.floor())
    return pl.when(whole).then(x.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(None)


class GcpChangePoints:
    name = "gcp-changepoints"
    sniff_rule = "CSV header with machine_type, region and hour_spot_usd"
    kind = "prices"
    priority = 30

    def sniff(self, path: Path, head: bytes) -> bool:
        header = head.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
        cols = {c.strip().strip('"') for c in header.split(",")}
        return {"machine_type", "region", "hour_spot_usd"} <= cols

    def read(self, path: Path, gpu_only: bool | str = False, **_: Any) -> Staged:
        with wrap_errors("reading GCP price change points", path=path):
            return self._read(path, gpu_only)

    def _read(self, path: Path, gpu_only: bool | str) -> Staged:
        raw = read_text_table(path)
        missing = [c for c in REQUIRED if c not in raw.columns]
        if missing:
            hints = "".join(did_you_mean(m, raw.columns) for m in missing)
            raise FormatError(
                f"missing column(s) {', '.join(missing)}.{hints}",
                path=path,
                expected=", ".join(COLUMNS),
                found=", ".join(c for c in raw.columns if c != "_row"),
            )
        for c in COLUMNS:
            if c not in raw.columns:
                raw = raw.with_columns(pl.lit(None, pl.String).alias(c))
        gpu = _truthy(gpu_only)
        has_gpu = pl.col("accelerator").str.strip_chars().fill_null("") != ""
        spot = pl.col("hour_spot_usd").str.strip_chars().fill_null("")
        od = _num("hour_ondemand_usd")
        early = pl.col("snapshot_time_utc").str.strip_chars().str.slice(0, 10)
        reason = (
            pl.when(pl.lit(gpu) & ~has_gpu)
            .then(pl.lit(NOT_GPU))
            .when((spot == "") & (od > 0))
            .then(
                pl.when(early < SPOT_HISTORY_START)
                .then(pl.lit(NO_SPOT_BEFORE))
                .otherwise(pl.lit(NO_SPOT_AFTER))
            )
            .when(spot == "")
            .then(pl.lit(NO_PRICE))
            .otherwise(None)
        )
        source_cols = [c for c in raw.columns if c != "_row"]
        frame = raw.select(
            pl.lit("gcp").alias("provider"),
            pl.col("region").alias("region"),
            pl.col("region").alias("zone"),
            pl.col("machine_type").alias("spec"),
            pl.col("snapshot_time_utc").alias("ts"),
            pl.col("hour_spot_usd").alias("spot_price"),
            # a 0 on-demand price means "not listed": keep the spot row, without a discount
            pl.when(od == 0)
            .then(None)
            .otherwise(pl.col("hour_ondemand_usd"))
            .alias("on_demand_price"),
            pl.lit("USD").alias("currency"),
            "_row",
            pl.concat_str([pl.col(c).fill_null("") for c in source_cols], separator=",").alias(
                "_raw"
            ),
            reason.alias("_reject"),
        )
        specs, notes = _specs(raw, gpu)
        return Staged(kind=self.kind, batches=batched(frame), side={"specs": specs}, notes=notes)


def _specs(raw: pl.DataFrame, gpu_only: bool) -> tuple[pl.DataFrame, list[str]]:
    """Newest facts per (region, machine_type): cpu, RAM, accelerator, on-demand price."""
    keyed = raw.with_columns(
        pl.col("region").str.strip_chars(),
        pl.col("machine_type").str.strip_chars(),
        pl.col("snapshot_time_utc").str.strip_chars(),
        _od=_num("hour_ondemand_usd"),
    ).filter(
        (pl.col("region").fill_null("") != "")
        & (pl.col("machine_type").fill_null("") != "")
        & (pl.col("snapshot_time_utc").fill_null("") != "")
    )
    if gpu_only:
        keyed = keyed.filter(pl.col("accelerator").str.strip_chars().fill_null("") != "")
    newest = (
        keyed.sort("snapshot_time_utc")
        .group_by("region", "machine_type")
        .agg(
            pl.col("cpu", "ram_gib", "accelerator", "accelerator_count").last(),
            pl.col("hour_ondemand_usd").filter(pl.col("_od") > 0).last().alias("od"),
        )
        .sort("region", "machine_type")
    )
    specs = newest.select(
        pl.lit("gcp").alias("provider"),
        "region",
        pl.col("machine_type").alias("spec"),
        _whole("cpu").alias("vcpu"),
        pl.col("ram_gib").alias("memory_gib"),
        pl.col("accelerator").str.strip_chars().replace("", None).alias("gpu_model"),
        _whole("accelerator_count").alias("gpu_count"),
        pl.col("od").alias("on_demand_price"),
        pl.lit("USD").alias("currency"),
        pl.lit("false").alias("price_is_estimate"),
    )
    fractional = newest.filter(
        (_num("cpu") != _num("cpu").floor())
        | (_num("accelerator_count") != _num("accelerator_count").floor())
    ).height
    notes = []
    if fractional:
        notes.append(
            f"{fractional} catalog rows have a fractional vCPU or GPU count (e.g. e2-micro, "
            "g4-standard-6): left empty in specs.vcpu/gpu_count"
        )
    return specs, notes


register(GcpChangePoints())
