"""AWS EC2 spot price history: the ``describe-spot-price-history`` JSON and TSV dumps.

**JSON** (``aws ec2 describe-spot-price-history``): ``{"SpotPriceHistory": [{
"AvailabilityZone": "us-west-1a", "InstanceType", "ProductDescription", "SpotPrice":
"0.080000", "Timestamp"}], "NextToken": ""}``: one response, a JSON array of responses, or
JSON lines of responses (pages). Prices are strings, in USD per hour; AWS gives no on-demand
price, so ``discount`` stays empty unless the specs catalog knows the type in that region.

**TSV** (the dumps of ``ericpauley/aws-spot-price-history``, zstd or gzip or plain, no
header): ``az_id, instance_type, product_description, spot_price_usd, timestamp`` with AZ
*ids* such as ``use1-az4``. The zone stored is the AZ id (AZ names like ``us-east-1a`` map to
different physical zones in different accounts; ids do not); the region comes from the id's
prefix through :data:`AZ_ID_REGIONS`. An id whose prefix is not in the table is a reject that
says so.

A price series is keyed (provider, zone, spec, ts), so it can hold one product: option
``product`` (default ``"Linux/UNIX"``; ``"Linux/UNIX (Amazon VPC)"`` counts as the same) picks
it, and rows of other products are rejects whose reason says how to load them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError, wrap_errors
from spotlab.ingest._common import load_json, paged_records, read_text_table
from spotlab.ingest.core import Staged, batched, register
from spotlab.ingest.options import Option
from spotlab.ingest.reasons import reject_expr

PRODUCT = Option(
    "product",
    "text",
    "the product whose prices to load (a series holds one): Linux/UNIX, Windows, ...",
    default="Linux/UNIX",
)

#: AZ id prefix → region. AWS documents AZ ids as ``<region code><n>-az<m>``; the codes here
#: are the ones AWS uses in its AZ ids (see "AZ IDs" in the EC2 user guide).
AZ_ID_REGIONS: dict[str, str] = {
    "use1": "us-east-1", "use2": "us-east-2", "usw1": "us-west-1", "usw2": "us-west-2",
    "usge1": "us-gov-east-1", "usgw1": "us-gov-west-1",
    "cac1": "ca-central-1", "caw1": "ca-west-1", "mxc1": "mx-central-1", "sae1": "sa-east-1",
    "euc1": "eu-central-1", "euc2": "eu-central-2", "euw1": "eu-west-1", "euw2": "eu-west-2",
    "euw3": "eu-west-3", "eun1": "eu-north-1", "eus1": "eu-south-1", "eus2": "eu-south-2",
    "ape1": "ap-east-1", "apne1": "ap-northeast-1", "apne2": "ap-northeast-2",
    "apne3": "ap-northeast-3", "aps1": "ap-south-1", "aps2": "ap-south-2",
    "apse1": "ap-southeast-1", "apse2": "ap-southeast-2", "apse3": "ap-southeast-3",
    "apse4": "ap-southeast-4", "apse5": "ap-southeast-5", "apse7": "ap-southeast-7",
    "mes1": "me-south-1", "mec1": "me-central-1", "afs1": "af-south-1", "ilc1": "il-central-1",
    "cnn1": "cn-north-1", "cnnw1": "cn-northwest-1",
}  # fmt: skip

DEFAULT_PRODUCT = "Linux/UNIX"
TSV_COLUMNS = ("az_id", "instance_type", "product_description", "spot_price_usd", "timestamp")
_AZ_ID = r"^([a-z]+[0-9]+)-az[0-9]+$"
_VPC_SUFFIX = r"(?i)\s*\(amazon vpc\)$"

JSON_COLUMNS = {
    "zone": "AvailabilityZone",
    "spec": "InstanceType",
    "ts": "Timestamp",
    "spot_price": "SpotPrice",
    "product": "ProductDescription",
}
CANONICAL = ("provider", "region", "zone", "spec", "ts", "spot_price", "currency")


def normalise_product(product: str) -> str:
    """``"Linux/UNIX (Amazon VPC)"`` → ``"Linux/UNIX"`` (EC2-Classic and VPC rows are one)."""
    return re.sub(_VPC_SUFFIX, "", product.strip())


def region_from_az(zone: pl.Expr) -> pl.Expr:
    """Region of an AZ id (``use1-az4`` → ``us-east-1``); null for anything else."""
    prefix = zone.str.strip_chars().str.extract(_AZ_ID, 1)
    return prefix.replace_strict(AZ_ID_REGIONS, default=None, return_dtype=pl.String)


def az_id_reason(zone: pl.Expr, ids_only: bool) -> pl.Expr:
    """Why a zone cannot be placed in a region (null when it can, or the zone is empty).

    ``ids_only``: the zone must be an AZ id (TSV dumps); otherwise AZ names such as
    ``us-east-1a`` pass (their region is the name without the letter).
    """
    z = zone.str.strip_chars()
    prefix = z.str.extract(_AZ_ID, 1)
    unknown = reject_expr(
        "az_id_unknown",
        pl.format(
            "unknown AWS AZ id prefix '{}' (in '{}'): no region is known for it; add it to "
            "spotlab.ingest.aws_spot.AZ_ID_REGIONS",
            prefix,
            z,
        ),
    )
    not_id = reject_expr(
        "zone_not_az_id", pl.format("not an AWS AZ id: '{}' (expected like use1-az4)", z)
    )
    return (
        pl.when(z.is_null() | (z == ""))
        .then(None)
        .when(prefix.is_null())
        .then(not_id if ids_only else None)
        .when(region_from_az(z).is_null())
        .then(unknown)
        .otherwise(None)
    )


def product_reason(product: pl.Expr, wanted: str) -> pl.Expr:
    """Why a row's product is not loaded (null when it is the product asked for)."""
    p = product.str.strip_chars()
    norm = p.str.replace(_VPC_SUFFIX, "")
    return (
        pl.when(p.is_null() | (p == ""))
        .then(
            reject_expr(
                "product_missing",
                "missing product description: cannot tell which product's series it is",
            )
        )
        .when(norm.str.to_lowercase() != wanted.lower())
        .then(
            reject_expr(
                "product_not_loaded",
                pl.format(
                    "product '{}' not loaded: this ingest loads '{}' and a price series holds "
                    "one product; load it on its own with product='{}' (CLI: -o product='{}') "
                    "into another database (--db)",
                    norm,
                    pl.lit(wanted),
                    norm,
                    norm,
                ),
            )
        )
        .otherwise(None)
    )


def _with_reasons(frame: pl.DataFrame, *reasons: pl.Expr) -> pl.DataFrame:
    current = pl.col("_reject") if "_reject" in frame.columns else pl.lit(None, pl.String)
    return frame.with_columns(pl.coalesce(current, *reasons).alias("_reject"))


def wanted_product(product: Any, path: Path) -> str:
    if not isinstance(product, str) or not product.strip():
        raise FormatError(
            f"option product must be a product description, got {product!r}",
            path=path,
            expected="e.g. 'Linux/UNIX', 'Windows', 'SUSE Linux', 'Red Hat Enterprise Linux'",
        )
    return normalise_product(product)


class AwsSpotPriceHistory:
    """``aws ec2 describe-spot-price-history`` JSON output."""

    name = "aws-spot-history"
    sniff_rule = 'JSON with "SpotPriceHistory" (describe-spot-price-history)'
    kind = "prices"
    priority = 20
    options = (PRODUCT,)

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"SpotPriceHistory"' in head

    def read(self, path: Path, product: str = DEFAULT_PRODUCT) -> Staged:
        with wrap_errors("reading AWS spot price history JSON", path=path):
            return self._read(path, product)

    def _read(self, path: Path, product: str) -> Staged:
        wanted = wanted_product(product, path)
        frame, pages = paged_records(
            load_json(path), path, ["SpotPriceHistory"], JSON_COLUMNS,
            {"provider": "aws", "currency": "USD"}, '[{"SpotPriceHistory": […]}]',
        )  # fmt: skip
        notes: list[str] = []
        last = pages[-1]
        if isinstance(last, dict) and last.get("NextToken"):
            notes.append(
                "the last response has a NextToken: AWS has more pages that are not in this file"
            )
        frame = _with_reasons(
            frame,
            az_id_reason(pl.col("zone"), ids_only=False),
            product_reason(pl.col("product"), wanted),
        )
        frame = frame.with_columns(region=region_from_az(pl.col("zone")))
        return Staged(kind=self.kind, batches=[frame.drop("product")], notes=notes)


class AwsSpotPriceTsv:
    """AWS spot price TSV dump (no header; AZ ids)."""

    name = "aws-spot-tsv"
    sniff_rule = "5 tab-separated fields, no header; a .tsv name or an AZ id first"
    kind = "prices"
    priority = 30
    options = (PRODUCT,)

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
        fields = first.split("\t")
        if len(fields) != len(TSV_COLUMNS):
            return False
        by_name = path.name.lower().endswith((".tsv", ".tsv.zst", ".tsv.gz"))
        return by_name or re.match(_AZ_ID, fields[0].strip()) is not None

    def read(self, path: Path, product: str = DEFAULT_PRODUCT) -> Staged:
        with wrap_errors("reading an AWS spot price TSV dump", path=path):
            return self._read(path, product)

    def _read(self, path: Path, product: str) -> Staged:
        wanted = wanted_product(product, path)
        raw = read_text_table(path, separator="\t", has_header=False)
        fields = [c for c in raw.columns if c not in ("_row", "_reject")]
        if len(fields) != len(TSV_COLUMNS):
            raise FormatError(
                "not an AWS spot price TSV dump",
                path=path,
                expected=f"{len(TSV_COLUMNS)} tab-separated fields: " + ", ".join(TSV_COLUMNS),
                found=f"{len(fields)} field(s) on line 1",
            )
        raw = raw.rename(dict(zip(fields, TSV_COLUMNS, strict=True)))
        zone = pl.col("az_id").str.strip_chars()
        frame = raw.select(
            pl.lit("aws").alias("provider"),
            region_from_az(zone).alias("region"),
            zone.alias("zone"),
            pl.col("instance_type").alias("spec"),
            pl.col("timestamp").alias("ts"),
            pl.col("spot_price_usd").alias("spot_price"),
            pl.lit("USD").alias("currency"),
            "_row",
            pl.concat_str([pl.col(c).fill_null("") for c in TSV_COLUMNS], separator="\t").alias(
                "_raw"
            ),
            pl.coalesce(
                pl.col("_reject"),
                az_id_reason(pl.col("az_id"), ids_only=True),
                product_reason(pl.col("product_description"), wanted),
            ).alias("_reject"),
        )
        return Staged(kind=self.kind, batches=batched(frame))


register(AwsSpotPriceHistory())
register(AwsSpotPriceTsv())
