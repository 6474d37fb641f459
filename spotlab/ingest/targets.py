"""Validation and loading rules for the foundation tables: ``spot_prices`` and ``specs``.

Every rule is SQL over the reader's columns, run in DuckDB on whole batches.
"""

from __future__ import annotations

import duckdb
import polars as pl

from spotlab.domain import family_of_spec_sql as family_of_spec
from spotlab.domain import region_of_zone_sql as region_of_zone
from spotlab.errors import IngestError
from spotlab.ingest.core import Target, register_target, text_sql
from spotlab.ingest.options import Option
from spotlab.ingest.times import time_reasons, timestamp
from spotlab.store import first_row, scalar

#: ISO 4217 codes spotlab accepts for prices; anything else is rejected as unknown.
CURRENCIES: tuple[str, ...] = (
    "USD", "CNY", "EUR", "GBP", "JPY", "HKD", "SGD", "INR", "AUD", "CAD", "KRW", "BRL",
    "CHF", "SEK", "IDR", "MYR", "THB", "AED", "SAR",
)  # fmt: skip
#: default bound on spot ÷ on-demand; real prices have gone above it (AWS, 2015), so it is
#: an option of every price reader (``-o max_spot_over_on_demand=N``)
MAX_SPOT_OVER_ON_DEMAND = 10.0
DISCOUNT_MAX = 1.5

MAX_SPOT_OPTION = Option(
    "max_spot_over_on_demand",
    "number",
    "reject spot prices above this many times the on-demand price",
    default=MAX_SPOT_OVER_ON_DEMAND,
    low=1.0,
    high=1e6,
)

_CURRENCY_LIST = ", ".join(f"'{c}'" for c in CURRENCIES)


def _q(col: str) -> str:
    return '"' + col + '"'


def text(col: str) -> str:
    """A column as trimmed text, empty strings as NULL (computed once per column by
    :func:`~spotlab.ingest.core.build_stage_sql`)."""
    return text_sql(col)


def number(col: str, schema: dict[str, pl.DataType]) -> str:
    """A column as DOUBLE (NULL when empty or unparsable; ``inf`` and ``1e309`` parse as
    infinite, which :func:`finite_reasons` rejects)."""
    if col not in schema:
        return "NULL::DOUBLE"
    if schema[col].is_numeric():
        return f"CAST({_q(col)} AS DOUBLE)"
    # a cast skips surrounding spaces and gives NULL for '': no trimmed copy is needed
    return f"try_cast({_q(col)} AS DOUBLE)"


def missing_reasons(*cols: str) -> list[tuple[str, str, str]]:
    """``<col>_missing`` rules: the column is empty."""
    return [(f"{text(c)} IS NULL", f"{c}_missing", f"'missing {c}'") for c in cols]


def finite_reasons(col: str, parsed: str, label: str | None = None) -> list[tuple[str, str, str]]:
    """(condition, code, message) rules of a number column: unparsable text, NaN or
    infinite (``inf``, ``1e309``, a 400-digit number). Codes ``<col>_unparsable``,
    ``<col>_not_finite``."""
    name = label or col
    raw = text(col)
    return [
        # parsed first: the text is looked at only for the rows that did not parse
        (f"{parsed} IS NULL AND {raw} IS NOT NULL", f"{col}_unparsable",
         f"'unparsable {name}: ' || {raw}"),
        (f"NOT isfinite({parsed})", f"{col}_not_finite",
         f"'{name} is not a finite number: ' || {raw}"),
    ]  # fmt: skip


def positive_reasons(col: str, parsed: str, label: str | None = None) -> list[tuple[str, str, str]]:
    """:func:`finite_reasons` and ``<col>_not_positive`` (zero or negative)."""
    name = label or col
    return [
        *finite_reasons(col, parsed, label),
        (f"{parsed} <= 0", f"{col}_not_positive", f"'{name} must be positive, got ' || {parsed}"),
    ]


# -- spot_prices ---------------------------------------------------------------------------


def _prices_joins(schema: dict[str, pl.DataType]) -> str:
    """The specs catalog, joined on (provider, region, spec) to fill on-demand price and
    currency. Its columns are renamed (_c_*) so that the reader's column names stay
    unambiguous; the key is the catalog's primary key, so a row matches at most once."""
    region = f"coalesce({text('region')}, {region_of_zone(text('zone'))})"
    return (
        "LEFT JOIN (SELECT provider AS _c_provider, region AS _c_region, spec AS _c_spec, "
        "currency AS _c_currency, on_demand_price AS _c_on_demand_price FROM specs) _c "
        f"ON _c._c_provider = lower({text('provider')}) AND _c._c_region = {region} "
        f"AND _c._c_spec = {text('spec')}"
    )


def _prices_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    ts, naive = timestamp("ts", schema)
    cur = text("currency")
    same_currency = f"(_c_currency = upper({cur}) OR {cur} IS NULL)"
    return [
        f"{ts} AS _ts",
        f"{naive} AS _naive_in",
        f"{number('spot_price', schema)} AS _sp",
        f"{number('discount', schema)} AS _disc",
        f"{number('on_demand_price', schema)} AS _od_in",
        f"CASE WHEN {same_currency} THEN _c_on_demand_price END AS _od_cat",
        f"CASE WHEN {same_currency} THEN _c_currency END AS _cur_cat",
    ]


_OD = "coalesce(_od_in, _od_cat)"
#: which price the catalog's on-demand price derived (see the schema's migration 7)
_CATALOG_FILLED = (
    "CASE WHEN _od_in IS NULL AND _od_cat IS NOT NULL THEN CASE WHEN _sp IS NULL THEN "
    "'spot_price' WHEN _disc IS NULL THEN 'discount' ELSE 'on_demand_price' END END"
)
#: the bound on spot ÷ on-demand of this ingest (set per ingest from the option)
SPOT_BOUND = f"coalesce(getvariable('{MAX_SPOT_OPTION.name}'), {MAX_SPOT_OVER_ON_DEMAND})"


def _prices_reasons(schema: dict[str, pl.DataType]) -> list[tuple[str, str, str]]:
    cur = f"coalesce({text('currency')}, _cur_cat)"
    return [
        *missing_reasons("spec", "zone", "provider"),
        *time_reasons("ts", schema, "_ts", "time"),
        *positive_reasons("spot_price", "_sp", "spot price"),
        *positive_reasons("discount", "_disc"),
        *positive_reasons("on_demand_price", "_od_in", "on-demand price"),
        ("_sp IS NULL AND _disc IS NULL", "price_missing",
         "'neither spot price nor discount given'"),
        (f"_disc > {DISCOUNT_MAX}", "discount_out_of_range",
         f"'discount ' || _disc || ' outside (0, {DISCOUNT_MAX}]'"),
        (f"_sp > {SPOT_BOUND} * {_OD}", "spot_price_above_bound",
         f"'spot price ' || _sp || ' above ' || {SPOT_BOUND} || ' x on-demand ' || {_OD} || "
         f"' (if it is real, raise the bound: -o {MAX_SPOT_OPTION.name}=N)'"),
        (f"{cur} IS NULL", "currency_missing",
         "'missing currency (pass currency=... or load a specs catalog first)'"),
        (f"upper({cur}) NOT IN ({_CURRENCY_LIST})", "currency_unknown",
         f"'unknown currency ' || {text('currency')}"),
    ]  # fmt: skip


PRICES = register_target(
    Target(
        kind="prices",
        table="spot_prices",
        key=("provider", "zone", "spec", "ts"),
        required=("provider", "zone", "spec", "ts"),
        optional=("region", "spot_price", "discount", "on_demand_price", "currency"),
        prepare=_prices_prepare,
        joins=_prices_joins,
        lookup_columns=(("_c_currency", "VARCHAR"), ("_c_on_demand_price", "DOUBLE")),
        # the catalog only fills a missing on-demand price or currency
        lookup_needed=f"_od_in IS NULL OR {text('currency')} IS NULL",
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", f"coalesce({text('region')}, {region_of_zone(text('zone'))})"),
            ("zone", text("zone")),
            ("spec", text("spec")),
            ("ts", "_ts"),
            ("spot_price", f"coalesce(_sp, _disc * {_OD})"),
            ("discount", f"coalesce(_disc, _sp / {_OD})"),
            ("on_demand_price", _OD),
            ("currency", f"upper(coalesce({text('currency')}, _cur_cat))"),
            ("catalog_filled", _CATALOG_FILLED),
            ("_naive", "coalesce(_naive_in AND _ts IS NOT NULL, FALSE)"),
        ),
        # what the catalog filled in is bookkeeping, not a value two sources can disagree on
        values=("region", "spot_price", "discount", "on_demand_price", "currency"),
        reasons=_prices_reasons,
        options=(MAX_SPOT_OPTION,),
        checks=lambda con, path, source_id: _check_one_currency_per_series(con, path, source_id),
        check_columns=("provider", "zone", "spec", "currency"),
    )
)


def _check_one_currency_per_series(
    con: duckdb.DuckDBPyConnection, path: str, source_id: int
) -> None:
    """A series (provider, zone, spec) has one currency, in the file and in the store.

    The file's rows are ``_stage``; the stored rows are those of other sources (a direct
    load has already inserted this file's rows under ``source_id``)."""
    stored = scalar(
        con,
        "SELECT count(*) FROM (SELECT 1 FROM spot_prices WHERE source_id <> ? LIMIT 1)",
        [source_id],
    )
    lo, hi = first_row(
        con, "SELECT min(currency), max(currency) FROM _stage WHERE _reason IS NULL"
    ) or (None, None)
    if lo == hi and not stored:
        return  # one currency in the whole file and nothing stored: nothing can be mixed
    # One aggregate over the file: one row per series with its lowest and highest currency.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _series AS SELECT provider, zone, spec, "
        "min(currency) AS lo, max(currency) AS hi, min(_row) AS first_row FROM _stage "
        "WHERE _reason IS NULL GROUP BY ALL"
    )
    row = first_row(
        con,
        "SELECT provider, zone, spec, NULL, first_row FROM _series WHERE lo <> hi "
        "ORDER BY first_row LIMIT 1",
    )
    if row is not None:
        listed = scalar(
            con,
            "SELECT string_agg(DISTINCT currency, ', ' ORDER BY currency) FROM _stage "
            "WHERE _reason IS NULL AND provider = ? AND zone = ? AND spec = ?",
            list(row[:3]),
        )
        row = (*row[:3], listed, row[4])
    elif stored:
        row = first_row(
            con,
            "WITH t AS (SELECT provider, zone, spec, any_value(currency) AS currency "
            "FROM spot_prices WHERE source_id <> ? AND (provider, zone, spec) IN "
            "(SELECT (provider, zone, spec) FROM _series) GROUP BY ALL) "
            "SELECT s.provider, s.zone, s.spec, t.currency || ' (stored), ' || s.lo || "
            "' (this file)', s.first_row FROM _series s JOIN t USING (provider, zone, spec) "
            "WHERE s.lo <> t.currency ORDER BY s.first_row LIMIT 1",
            [source_id],
        )
    con.execute("DROP TABLE _series")
    if row is not None:
        provider, zone, spec, currencies, at_row = row
        raise IngestError(
            f"mixed currencies in one price series ({provider}, {zone}, {spec}): "
            f"{currencies}. A series must use one currency: split the file or convert "
            "the prices before loading",
            path=path,
            row=at_row,
        )


# -- specs ---------------------------------------------------------------------------------


def _specs_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    return [
        f"{number('vcpu', schema)} AS _vcpu",
        f"{number('memory_gib', schema)} AS _mem",
        f"{number('gpu_count', schema)} AS _gpus",
        f"{number('gpu_memory_gib', schema)} AS _gmem",
        f"{number('on_demand_price', schema)} AS _od",
    ]


def _bool(col: str) -> str:
    return f"coalesce(lower({text(col)}) IN ('true', 't', '1', 'yes', 'y', 'estimate'), FALSE)"


def reprice_from_catalog(con: duckdb.DuckDBPyConnection, source_id: int) -> str | None:
    """Keep the spot prices derived from the catalog in step with the on-demand prices the
    catalog rows of ``source_id`` now hold, and return a note saying how many changed.

    A row whose on-demand price came from the catalog (``catalog_filled``) takes the new
    one, and so does the price derived from it: the spot price of an EAS discount (discount
    × on-demand) or the discount of a spot price (spot ÷ on-demand). A discount stored
    without any price (no catalog knew the spec when it was loaded) is priced now. Rows in
    another currency than the catalog row are left as they are."""
    n = scalar(
        con,
        "UPDATE spot_prices s SET on_demand_price = c.on_demand_price, "
        "spot_price = CASE WHEN coalesce(s.catalog_filled, 'spot_price') = 'spot_price' "
        "THEN s.discount * c.on_demand_price ELSE s.spot_price END, "
        "discount = CASE WHEN s.catalog_filled = 'discount' "
        "THEN s.spot_price / c.on_demand_price ELSE s.discount END, "
        "catalog_filled = coalesce(s.catalog_filled, 'spot_price') "
        "FROM specs c WHERE c.source_id = ? AND c.provider = s.provider "
        "AND c.region = s.region AND c.spec = s.spec AND c.on_demand_price IS NOT NULL "
        "AND c.currency = s.currency "
        "AND (s.catalog_filled IS NOT NULL "
        "OR (s.spot_price IS NULL AND s.on_demand_price IS NULL)) "
        "AND s.on_demand_price IS DISTINCT FROM c.on_demand_price",
        [source_id],
    )
    if not n:
        return None
    return (
        f"re-priced {int(n)} stored spot price rows from this catalog's on-demand prices "
        "(their on-demand price, and the spot price or discount derived from it, came from "
        "the catalog)"
    )


SPECS = register_target(
    Target(
        kind="specs",
        table="specs",
        key=("provider", "region", "spec"),
        required=("provider", "region", "spec"),
        optional=(
            "family",
            "vcpu",
            "memory_gib",
            "gpu_model",
            "gpu_count",
            "gpu_memory_gib",
            "on_demand_price",
            "currency",
            "price_is_estimate",
        ),
        prepare=_specs_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", text("region")),
            ("spec", text("spec")),
            ("family", f"coalesce({text('family')}, {family_of_spec(text('spec'))})"),
            ("vcpu", "TRY_CAST(_vcpu AS INTEGER)"),
            ("memory_gib", "_mem"),
            ("gpu_model", text("gpu_model")),
            ("gpu_count", "TRY_CAST(_gpus AS INTEGER)"),
            ("gpu_memory_gib", "_gmem"),
            ("on_demand_price", "_od"),
            ("currency", f"upper({text('currency')})"),
            ("price_is_estimate", _bool("price_is_estimate")),
        ),
        reasons=(
            *missing_reasons("spec", "provider", "region"),
            *positive_reasons("vcpu", "_vcpu"),
            *positive_reasons("memory_gib", "_mem"),
            *finite_reasons("gpu_count", "_gpus"),
            ("_gpus < 0", "gpu_count_negative", "'gpu_count must be >= 0, got ' || _gpus"),
            ("_vcpu > 100000", "vcpu_out_of_range", "'vcpu ' || _vcpu || ' is out of range'"),
            (
                "_gpus > 1000",
                "gpu_count_out_of_range",
                "'gpu_count ' || _gpus || ' is out of range'",
            ),
            *positive_reasons("gpu_memory_gib", "_gmem"),
            *positive_reasons("on_demand_price", "_od", "on-demand price"),
            (
                f"_od IS NOT NULL AND {text('currency')} IS NULL",
                "currency_missing",
                "'missing currency for the on-demand price'",
            ),
            (
                f"upper({text('currency')}) NOT IN ({_CURRENCY_LIST})",
                "currency_unknown",
                f"'unknown currency ' || {text('currency')}",
            ),
        ),
        mode="upsert",
        after=reprice_from_catalog,
        # a catalog estimate (or a row without a price) never replaces a price a provider
        # gave (a fetched DescribePrice / price list, a catalog row not marked as estimate):
        # the hardware fields still update
        keep_stored=(
            "(f.on_demand_price IS NULL OR coalesce(f.price_is_estimate, false)) "
            "AND t.on_demand_price IS NOT NULL AND NOT coalesce(t.price_is_estimate, false)",
            ("on_demand_price", "currency", "price_is_estimate"),
        ),
    )
)
