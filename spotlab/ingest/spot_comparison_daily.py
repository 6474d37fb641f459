"""Daily spot prices of the ``cleanerzkp/spot-instance-comparison`` study (``SpotPricings.csv``).

Semicolon-separated, with a header: ``pricingID; name; regionCategory; date; price;
timestamp; createdAt; updatedAt; grouping; providerID``. One row per (instance type, region,
day): ``name`` is the type with its category (``t4g.xlarge-general-purpose``,
``ecs.g5.xlarge-general-purpose``, ``B4ms-general-purpose``), ``regionCategory`` the provider
code and region (``AWS-us-east-1``, ``ALB-eu-central-1``, ``AZR-eastus``, ``GCP-us-east4``),
``date`` the day's time with its offset, ``price`` the day's average spot price per hour,
``providerID`` one of ``ALB`` (Alibaba), ``AWS``, ``AZR`` (Azure), ``GCP``. The file states no
currency; option ``currency`` (default ``USD``: the study quotes international-site prices)
sets it. There is no on-demand price: analyses need a specs catalog or an estimate.

The set has plainly wrong rows (PROVENANCE.md). Each becomes a reject with its reason:

- a provider id that is not one of the four (``NULL``), or a region whose code disagrees;
- a ``name`` that is not an instance type: billing-SKU text (``C2D AMD Instance Core running
  in Doha``) or a bare family (``C2D``, ``E2``);
- a GCP region that is not a region id (``GCP-asia``, ``GCP-near-east``);
- a price more than :data:`OUTLIER_FACTOR` times its series' median, or less than its
  inverse (one Azure row at 1670.0 among prices near 0.25).

Each series is stored with zone = region (prices are per region). Rows are daily averages:
a row holds until the next one, as change points do.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from spotlab.errors import FormatError, did_you_mean, wrap_errors
from spotlab.ingest._common import read_text_table
from spotlab.ingest.core import Staged, register
from spotlab.ingest.options import Option
from spotlab.ingest.reasons import reject_expr

COLUMNS = (
    "pricingID", "name", "regionCategory", "date", "price", "timestamp", "createdAt",
    "updatedAt", "grouping", "providerID",
)  # fmt: skip
REQUIRED = ("name", "regionCategory", "date", "price", "providerID")
PROVIDERS = {"ALB": "alibaba", "AWS": "aws", "AZR": "azure", "GCP": "gcp"}
#: a price this many times its series' median (or below its inverse) is a wrong row
OUTLIER_FACTOR = 10.0
#: the categories the study appends to the instance type
_CATEGORY = r"-(general-purpose|compute-optimized|memory-optimized|storage-optimized)$"
#: instance type spellings per provider (after the category is removed)
_TYPE = {
    "aws": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
    "alibaba": r"^ecs\.[a-z0-9-]+\.[a-z0-9]+$",
    "azure": r"^[A-Za-z][A-Za-z0-9_]*\d[A-Za-z0-9_]*$",
    "gcp": r"^[a-z][a-z0-9]*-[a-z]+-\d+[a-z0-9-]*$",
}
_GCP_REGION = r"^[a-z]+-[a-z]+\d+$"


class SpotComparisonDaily:
    name = "spot-comparison-daily"
    kind = "prices"
    priority = 30
    sniff_rule = "semicolon-separated header with pricingID, regionCategory and providerID"
    options = (
        Option("currency", "currency", "the currency of the prices (the file states none; USD)"),
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        header = head.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff")
        cols = {c.strip().strip('"') for c in header.split(";")}
        return {"pricingID", "regionCategory", "providerID"} <= cols

    def read(self, path: Path, currency: str | None = None) -> Staged:
        with wrap_errors("reading daily spot prices (spot-instance-comparison)", path=path):
            return self._read(path, currency or "USD")

    def _read(self, path: Path, currency: str) -> Staged:
        if not (isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency.strip())):
            raise FormatError(
                f"option currency must be a 3-letter code, got {currency!r}",
                path=path,
                expected="e.g. USD, CNY",
            )
        raw = read_text_table(path, separator=";")
        raw = raw.rename({c: c.strip().lstrip("\ufeff") for c in raw.columns})
        missing = [c for c in REQUIRED if c not in raw.columns]
        if missing:
            hints = "".join(did_you_mean(m, raw.columns) for m in missing)
            raise FormatError(
                f"missing column(s) {', '.join(missing)}.{hints}",
                path=path,
                expected="; ".join(COLUMNS),
                found="; ".join(c for c in raw.columns if c != "_row"),
            )
        source_cols = [c for c in raw.columns if c != "_row"]
        code = pl.col("providerID").str.strip_chars()
        provider = code.replace_strict(PROVIDERS, default=None, return_dtype=pl.String)
        region_cat = pl.col("regionCategory").str.strip_chars()
        region_code = region_cat.str.extract(r"^([A-Z]+)-", 1)
        region = region_cat.str.replace(r"^[A-Z]+-", "")
        spec = pl.col("name").str.strip_chars().str.replace(_CATEGORY, "")
        f = raw.with_columns(
            _provider=provider,
            _code=code,
            _region=region,
            _region_code=region_code,
            _spec=spec,
            _price=pl.col("price").str.strip_chars().cast(pl.Float64, strict=False),
        )
        type_ok = pl.lit(False)
        for prov, pattern in _TYPE.items():
            type_ok = type_ok | (
                (pl.col("_provider") == prov) & pl.col("_spec").str.contains(pattern)
            )
        median = (
            pl.col("_price")
            .filter(pl.col("_price") > 0)
            .median()
            .over("_provider", "_region", "_spec")
        )
        reason = (
            pl.when(pl.col("_provider").is_null())
            .then(
                reject_expr(
                    "provider_unknown",
                    pl.format(
                        "unknown provider id '{}' (expected one of {})",
                        pl.col("_code").fill_null(""),
                        pl.lit(", ".join(PROVIDERS)),
                    ),
                )
            )
            .when(pl.col("_region_code") != pl.col("_code"))
            .then(
                reject_expr(
                    "region_not_of_provider",
                    pl.format(
                        "region '{}' does not belong to provider {}",
                        pl.col("regionCategory"),
                        pl.col("_code"),
                    ),
                )
            )
            .when(~type_ok)
            .then(
                reject_expr(
                    "spec_not_an_instance_type",
                    pl.format(
                        "'{}' is not a {} instance type (billing-SKU text or a bare family)",
                        pl.col("name"),
                        pl.col("_provider"),
                    ),
                )
            )
            .when((pl.col("_provider") == "gcp") & ~pl.col("_region").str.contains(_GCP_REGION))
            .then(
                reject_expr(
                    "region_not_gcp", pl.format("'{}' is not a GCP region id", pl.col("_region"))
                )
            )
            .when(
                (pl.col("_price") > OUTLIER_FACTOR * median)
                | (pl.col("_price") < median / OUTLIER_FACTOR)
            )
            .then(
                reject_expr(
                    "spot_price_outlier",
                    pl.format(
                        "price {} is more than {}× away from its series' median {}: a wrong row",
                        pl.col("price").str.strip_chars(),
                        pl.lit(f"{OUTLIER_FACTOR:g}"),
                        median.round(6),
                    ),
                )
            )
        )
        frame = f.select(
            pl.col("_provider").alias("provider"),
            pl.col("_region").alias("region"),
            pl.col("_region").alias("zone"),
            pl.col("_spec").alias("spec"),
            pl.col("date").str.strip_chars().alias("ts"),
            pl.col("price").alias("spot_price"),
            pl.lit(currency.strip().upper()).alias("currency"),
            "_row",
            pl.concat_str([pl.col(c).fill_null("") for c in source_cols], separator=";").alias(
                "_raw"
            ),
            reason.alias("_reject"),
        )
        notes = [
            f"the file states no currency: prices stored as {currency.strip().upper()} "
            "(option currency=...); it has no on-demand price"
        ]
        return Staged(kind=self.kind, batches=[frame], notes=notes)


register(SpotComparisonDaily())
