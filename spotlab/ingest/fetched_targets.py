"""Validation and loading rules for what the provider APIs give besides price histories.

- ``spec_facts`` → ``specs``: facts about a spec from a provider API (its pay-as-you-go
  price from a price list, its hardware from a spec list), *merged* into the catalog row:
  a fact given replaces the stored one, a fact absent keeps it. A row with a price sets
  ``price_is_estimate`` from the reader (false for a provider's own price list); the row's
  ``source_id`` then names the page it came from (``sources.format`` says which API).
- ``placement_scores`` → ``spot_placement_scores``; ``spec_stock`` → ``spec_stock``.

Rules are SQL over the readers' columns, as in :mod:`spotlab.ingest.targets`.
"""

from __future__ import annotations

import polars as pl

from spotlab.domain import family_of_spec_sql
from spotlab.ingest.core import Target, register_target
from spotlab.ingest.event_targets import boolean
from spotlab.ingest.targets import (
    CURRENCIES,
    finite_reasons,
    missing_reasons,
    number,
    positive_reasons,
    reprice_from_catalog,
    text,
)
from spotlab.ingest.times import time_reasons, timestamp

_CURRENCY_LIST = ", ".join(f"'{c}'" for c in CURRENCIES)
_STORED = (
    "family", "vcpu", "memory_gib", "gpu_model", "gpu_count", "gpu_memory_gib",
    "on_demand_price", "currency", "price_is_estimate",
)  # fmt: skip


def _facts_joins(schema: dict[str, pl.DataType]) -> str:
    """The stored catalog row of the same (provider, region, spec), its columns ``_s_*``."""
    cols = ", ".join(f"{c} AS _s_{c}" for c in _STORED)
    return (
        f"LEFT JOIN (SELECT provider AS _s_provider, region AS _s_region, spec AS _s_spec, "
        f"{cols} FROM specs) _s ON _s._s_provider = lower({text('provider')}) "
        f"AND _s._s_region = {text('region')} AND _s._s_spec = {text('spec')}"
    )


def _facts_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    return [
        f"{number('vcpu', schema)} AS _vcpu",
        f"{number('memory_gib', schema)} AS _mem",
        f"{number('gpu_count', schema)} AS _gpus",
        f"{number('gpu_memory_gib', schema)} AS _gmem",
        f"{number('on_demand_price', schema)} AS _od",
    ]


_ESTIMATE = f"coalesce(lower({text('price_is_estimate')}) IN ('true', 't', '1', 'yes'), FALSE)"

SPEC_FACTS = register_target(
    Target(
        kind="spec_facts",
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
        prepare=_facts_prepare,
        joins=_facts_joins,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", text("region")),
            ("spec", text("spec")),
            (
                "family",
                f"coalesce({text('family')}, _s_family, {family_of_spec_sql(text('spec'))})",
            ),
            ("vcpu", "coalesce(TRY_CAST(_vcpu AS INTEGER), _s_vcpu)"),
            ("memory_gib", "coalesce(_mem, _s_memory_gib)"),
            ("gpu_model", f"coalesce({text('gpu_model')}, _s_gpu_model)"),
            ("gpu_count", "coalesce(TRY_CAST(_gpus AS INTEGER), _s_gpu_count)"),
            ("gpu_memory_gib", "coalesce(_gmem, _s_gpu_memory_gib)"),
            ("on_demand_price", "coalesce(_od, _s_on_demand_price)"),
            (
                "currency",
                f"CASE WHEN _od IS NOT NULL THEN upper({text('currency')}) ELSE _s_currency END",
            ),
            (
                "price_is_estimate",
                f"CASE WHEN _od IS NOT NULL THEN {_ESTIMATE} "
                "ELSE coalesce(_s_price_is_estimate, FALSE) END",
            ),
        ),
        reasons=(
            *missing_reasons("spec", "provider", "region"),
            *positive_reasons("vcpu", "_vcpu"),
            *positive_reasons("memory_gib", "_mem"),
            *finite_reasons("gpu_count", "_gpus"),
            ("_gpus < 0", "gpu_count_negative", "'gpu_count must be >= 0, got ' || _gpus"),
            *positive_reasons("gpu_memory_gib", "_gmem"),
            *positive_reasons("on_demand_price", "_od", "on-demand price"),
            (
                f"_od IS NOT NULL AND {text('currency')} IS NULL",
                "currency_missing",
                "'missing currency for the on-demand price'",
            ),
            (
                f"_od IS NOT NULL AND upper({text('currency')}) NOT IN ({_CURRENCY_LIST})",
                "currency_unknown",
                f"'unknown currency ' || {text('currency')}",
            ),
        ),
        mode="upsert",
        # a quoted price re-prices the spot prices derived from the estimate it replaces
        after=reprice_from_catalog,
    )
)


def _scores_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    at, _naive = timestamp("observed_at", schema)
    return [
        f"{number('score', schema)} AS _score",
        f"{number('target_capacity', schema)} AS _cap",
        f"{at} AS _at",
    ]


PLACEMENT_SCORES = register_target(
    Target(
        kind="placement_scores",
        table="spot_placement_scores",
        key=("provider", "region", "zone", "specs", "target_capacity", "observed_at"),
        required=("provider", "region", "specs", "target_capacity", "score", "observed_at"),
        optional=("zone",),
        prepare=_scores_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", text("region")),
            ("zone", text("zone")),
            ("specs", text("specs")),
            ("target_capacity", "TRY_CAST(_cap AS INTEGER)"),
            ("score", "TRY_CAST(_score AS INTEGER)"),
            ("observed_at", "_at"),
        ),
        reasons=lambda schema: (
            *missing_reasons("region", "specs", "score"),
            *finite_reasons("score", "_score"),
            (
                "_score < 1 OR _score > 10 OR _score <> round(_score)",
                "score_out_of_range",
                "'score ' || _score || ' is not an integer in 1..10'",
            ),
            *finite_reasons("target_capacity", "_cap"),
            (
                "_cap IS NULL OR _cap < 1 OR _cap <> round(_cap) OR _cap > 2147483647",
                "target_capacity_invalid",
                "'target capacity must be a whole number >= 1, got ' || "
                f"coalesce({text('target_capacity')}, '(empty)')",
            ),
            *time_reasons("observed_at", schema, "_at"),
        ),
    )
)


def _stock_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    at, _naive = timestamp("observed_at", schema)
    return [
        f"{number('min_spot_discount', schema)} AS _d",
        f"{number('min_spot_discount_unprotected', schema)} AS _du",
        f"{at} AS _at",
    ]


SPEC_STOCK = register_target(
    Target(
        kind="spec_stock",
        table="spec_stock",
        key=("provider", "region", "spec", "observed_at"),
        required=("provider", "region", "spec", "observed_at"),
        optional=(
            "stock_status",
            "is_available",
            "min_spot_discount",
            "min_spot_discount_unprotected",
        ),
        prepare=_stock_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", text("region")),
            ("spec", text("spec")),
            ("stock_status", text("stock_status")),
            ("is_available", boolean("is_available")),
            ("min_spot_discount", "_d"),
            ("min_spot_discount_unprotected", "_du"),
            ("observed_at", "_at"),
        ),
        reasons=lambda schema: (
            *missing_reasons("spec", "region"),
            *positive_reasons("min_spot_discount", "_d", "spot discount"),
            *positive_reasons("min_spot_discount_unprotected", "_du", "unprotected spot discount"),
            (
                f"{text('is_available')} IS NOT NULL AND ({boolean('is_available')}) IS NULL",
                "is_available_unparsable",
                f"'unparsable is_available: ' || {text('is_available')}",
            ),
            *time_reasons("observed_at", schema, "_at"),
        ),
    )
)
