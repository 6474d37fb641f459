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
from spotlab.store import first_row, scalar

#: ISO 4217 codes spotlab accepts for prices; anything else is rejected as unknown.
CURRENCIES: tuple[str, ...] = (
    "USD", "CNY", "EUR", "GBP", "JPY", "HKD", "SGD", "INR", "AUD", "CAD", "KRW", "BRL",
    "CHF", "SEK", "IDR", "MYR", "THB", "AED", "SAR",
)  # fmt: skip
MAX_SPOT_OVER_ON_DEMAND = 10.0
DISCOUNT_MAX = 1.5

_CURRENCY_LIST = ", ".join(f"'{c}'" for c in CURRENCIES)


def _q(col: str) -> str:
    return '"' + col + '"'


def text(col: str) -> str:
    """A column as trimmed text, empty strings as NULL (computed once per column by
    :func:`~spotlab.ingest.core.build_stage_sql`)."""
    return text_sql(col)


def number(col: str, schema: dict[str, pl.DataType]) -> str:
    """A column as DOUBLE (NULL when empty or unparsable)."""
    if col not in schema:
        return "NULL::DOUBLE"
    if schema[col].is_numeric():
        return f"CAST({_q(col)} AS DOUBLE)"
    # a cast skips surrounding spaces and gives NULL for '': no trimmed copy is needed
    return f"try_cast({_q(col)} AS DOUBLE)"


def timestamp(col: str, schema: dict[str, pl.DataType]) -> tuple[str, str]:
    """SQL for (parsed TIMESTAMPTZ, naive flag) of a time column.

    Text may carry an offset (``Z``, ``+08:00``, ``+0800``) or none (taken as UTC and
    counted); the compact form ``20190409T121826.922+0800`` is accepted too.
    """
    dtype = schema.get(col)
    if isinstance(dtype, pl.Datetime):
        naive = "FALSE" if dtype.time_zone else f"{_q(col)} IS NOT NULL"
        return f"CAST({_q(col)} AS TIMESTAMPTZ)", naive
    t = text(col)
    raw = f"CAST({_q(col)} AS VARCHAR)"
    compact = (
        f"regexp_replace({t}, '^(\\d{{4}})(\\d{{2}})(\\d{{2}})T(\\d{{2}})(\\d{{2}})(\\d{{2}})', "
        f"'\\1-\\2-\\3T\\4:\\5:\\6')"
    )
    # the cast skips surrounding spaces; the trimmed text is needed only when it fails
    parsed = f"coalesce(try_cast({raw} AS TIMESTAMPTZ), try_cast({compact} AS TIMESTAMPTZ))"
    # a trailing Z (the usual case) settles it without the regular expression
    naive = (
        f"CASE WHEN ends_with({raw}, 'Z') THEN FALSE "
        f"ELSE NOT regexp_matches({t}, '(?i)(z|[+-]\\d{{2}}(:?\\d{{2}})?)$') END"
    )
    return parsed, naive


def _positive_reasons(name: str, raw: str, parsed: str) -> list[tuple[str, str]]:
    return [
        # parsed first: the text is looked at only for the rows that did not parse
        (f"{parsed} IS NULL AND {raw} IS NOT NULL", f"'unparsable {name}: ' || {raw}"),
        (f"isnan({parsed})", f"'{name} is NaN'"),
        (f"{parsed} <= 0", f"'{name} must be positive, got ' || {parsed}"),
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
            ("_naive", "coalesce(_naive_in AND _ts IS NOT NULL, FALSE)"),
        ),
        reasons=(
            (f"{text('spec')} IS NULL", "'missing spec'"),
            (f"{text('zone')} IS NULL", "'missing zone'"),
            (f"{text('provider')} IS NULL", "'missing provider'"),
            (
                "_ts IS NULL",
                f"'unparsable time: ' || coalesce({text('ts')}, '(empty)')",
            ),
            *_positive_reasons("spot price", text("spot_price"), "_sp"),
            *_positive_reasons("discount", text("discount"), "_disc"),
            *_positive_reasons("on-demand price", text("on_demand_price"), "_od_in"),
            ("_sp IS NULL AND _disc IS NULL", "'neither spot price nor discount given'"),
            (
                f"_disc > {DISCOUNT_MAX}",
                f"'discount ' || _disc || ' outside (0, {DISCOUNT_MAX}]'",
            ),
            (
                f"_sp > {MAX_SPOT_OVER_ON_DEMAND} * {_OD}",
                f"'spot price ' || _sp || ' above {MAX_SPOT_OVER_ON_DEMAND:g} x on-demand ' "
                f"|| {_OD}",
            ),
            (
                f"coalesce({text('currency')}, _cur_cat) IS NULL",
                "'missing currency (pass currency=... or load a specs catalog first)'",
            ),
            (
                f"upper(coalesce({text('currency')}, _cur_cat)) NOT IN ({_CURRENCY_LIST})",
                f"'unknown currency ' || {text('currency')}",
            ),
        ),
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
            "' (this file)', NULL FROM _series s JOIN t USING (provider, zone, spec) "
            "WHERE s.lo <> t.currency LIMIT 1",
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
            (f"{text('spec')} IS NULL", "'missing spec'"),
            (f"{text('provider')} IS NULL", "'missing provider'"),
            (f"{text('region')} IS NULL", "'missing region'"),
            *_positive_reasons("vcpu", text("vcpu"), "_vcpu"),
            *_positive_reasons("memory_gib", text("memory_gib"), "_mem"),
            (f"{text('gpu_count')} IS NOT NULL AND _gpus IS NULL", "'unparsable gpu_count'"),
            ("_gpus < 0", "'gpu_count must be >= 0'"),
            ("_vcpu > 100000", "'vcpu ' || _vcpu || ' is out of range'"),
            ("_gpus > 1000", "'gpu_count ' || _gpus || ' is out of range'"),
            *_positive_reasons("gpu_memory_gib", text("gpu_memory_gib"), "_gmem"),
            *_positive_reasons("on-demand price", text("on_demand_price"), "_od"),
            (
                f"_od IS NOT NULL AND {text('currency')} IS NULL",
                "'missing currency for the on-demand price'",
            ),
            (
                f"upper({text('currency')}) NOT IN ({_CURRENCY_LIST})",
                f"'unknown currency ' || {text('currency')}",
            ),
        ),
        mode="upsert",
    )
)
