"""Validation and loading rules for the interruption tables.

``instance_events`` (lifecycle events), ``instances`` (an inventory), ``instance_exposure``
(instance-hours when a log holds only interruptions) and ``interruption_bands`` (the
providers' interruption feeds). Every rule is SQL over the readers' columns, run in DuckDB
on whole batches, as in :mod:`spotlab.ingest.targets`.
"""

from __future__ import annotations

import polars as pl

from spotlab.ingest.core import Target, register_target
from spotlab.ingest.targets import (
    finite_reasons,
    missing_reasons,
    number,
    region_of_zone,
    text,
)
from spotlab.ingest.times import time_reasons, timestamp

#: the lifecycle events spotlab keeps (anything else a reader meets is rejected with a reason)
EVENTS: tuple[str, ...] = (
    "launched",
    "ready",
    "interruption_warning",
    "rebalance_recommendation",
    "reclaimed",
    "terminated",
    "rebuilt",
)
_EVENT_LIST = ", ".join(f"'{e}'" for e in EVENTS)

_TRUE = "('true', 't', '1', 'yes', 'y', 'spot', 'preemptible')"
_FALSE = "('false', 'f', '0', 'no', 'n', 'regular', 'on-demand', 'ondemand', 'payg')"


def boolean(col: str) -> str:
    """A yes/no column as BOOLEAN: NULL when empty or not a recognised word."""
    t = f"lower({text(col)})"
    return f"CASE WHEN {t} IN {_TRUE} THEN TRUE WHEN {t} IN {_FALSE} THEN FALSE END"


def _bool_reason(col: str) -> tuple[str, str, str]:
    return (
        f"{text(col)} IS NOT NULL AND ({boolean(col)}) IS NULL",
        f"{col}_unparsable",
        f"'unparsable {col} (use true/false): ' || {text(col)}",
    )


def _region() -> str:
    return f"coalesce({text('region')}, {region_of_zone(text('zone'))})"


# -- instance_events -----------------------------------------------------------------------


def _events_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    ts, naive = timestamp("ts", schema)
    return [f"{ts} AS _ts", f"{naive} AS _naive_in", f"lower({text('event')}) AS _event"]


EVENTS_TARGET = register_target(
    Target(
        kind="events",
        table="instance_events",
        key=("provider", "instance_id", "event", "ts"),
        required=("provider", "instance_id", "event", "ts"),
        optional=("region", "zone", "spec", "service", "is_spot", "detail"),
        prepare=_events_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", _region()),
            ("zone", text("zone")),
            ("spec", text("spec")),
            ("instance_id", text("instance_id")),
            ("service", text("service")),
            ("is_spot", boolean("is_spot")),
            ("event", "_event"),
            ("ts", "_ts"),
            ("detail", text("detail")),
            ("_naive", "coalesce(_naive_in AND _ts IS NOT NULL, FALSE)"),
        ),
        reasons=lambda schema: (
            *missing_reasons("instance_id", "provider"),
            ("_event IS NULL", "event_missing", "'missing event'"),
            (
                f"_event NOT IN ({_EVENT_LIST})",
                "event_unknown",
                f"'unknown event ' || _event || ' (spotlab keeps: {', '.join(EVENTS)})'",
            ),
            *time_reasons("ts", schema, "_ts", "time"),
            _bool_reason("is_spot"),
        ),
    )
)


# -- instances (inventory) -----------------------------------------------------------------

INSTANCES_TARGET = register_target(
    Target(
        kind="instances",
        table="instances",
        key=("provider", "instance_id"),
        required=("instance_id", "spec"),
        optional=("provider", "region", "zone", "is_spot", "service"),
        prepare=lambda schema: [],
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("instance_id", text("instance_id")),
            ("region", _region()),
            ("zone", text("zone")),
            ("spec", text("spec")),
            ("is_spot", boolean("is_spot")),
            ("service", text("service")),
        ),
        reasons=(*missing_reasons("instance_id", "spec"), _bool_reason("is_spot")),
        mode="upsert",
    )
)


# -- instance_exposure ---------------------------------------------------------------------


def _exposure_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    start, _ = timestamp("period_start", schema)
    end, _ = timestamp("period_end", schema)
    return [
        f"{number('instance_hours', schema)} AS _hours",
        f"{start} AS _start",
        f"{end} AS _end",
    ]


EXPOSURE_TARGET = register_target(
    Target(
        kind="exposure",
        table="instance_exposure",
        key=("provider", "zone", "spec", "is_spot", "service", "period_start"),
        required=("spec", "instance_hours"),
        optional=("provider", "region", "zone", "is_spot", "service", "period_start", "period_end"),
        prepare=_exposure_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", _region()),
            ("zone", text("zone")),
            ("spec", text("spec")),
            # an exposure table without is_spot describes spot instances (it exists to give
            # interruption-only logs their denominator)
            ("is_spot", f"coalesce({boolean('is_spot')}, TRUE)"),
            ("service", text("service")),
            ("period_start", "_start"),
            ("period_end", "_end"),
            ("instance_hours", "_hours"),
        ),
        reasons=lambda schema: (
            *missing_reasons("spec", "instance_hours"),
            *finite_reasons("instance_hours", "_hours"),
            (
                "_hours < 0",
                "instance_hours_negative",
                "'instance_hours must be >= 0, got ' || _hours",
            ),
            *time_reasons("period_start", schema, "_start", required=False),
            *time_reasons("period_end", schema, "_end", required=False),
            ("_end < _start", "period_end_before_start", "'period_end is before period_start'"),
            (
                "_end IS NOT NULL AND _start IS NOT NULL AND _hours > 1e6 * "
                "epoch(_end - _start) / 3600",
                "instance_hours_implausible",
                "'more than a million instances over the period: check instance_hours'",
            ),
            _bool_reason("is_spot"),
        ),
        mode="upsert",
    )
)


# -- interruption_bands --------------------------------------------------------------------


def _bands_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    ts, naive = timestamp("observed_at", schema)
    return [
        f"{ts} AS _obs",
        f"{naive} AS _naive_in",
        f"{number('band_low_pct', schema)} AS _low",
        f"{number('band_high_pct', schema)} AS _high",
        f"{number('rate_pct', schema)} AS _rate",
        f"{number('savings_pct', schema)} AS _sav",
    ]


def _pct_reasons(col: str, parsed: str) -> list[tuple[str, str, str]]:
    return [
        *finite_reasons(col, parsed),
        (f"{parsed} < 0 OR {parsed} > 100", f"{col}_out_of_range",
         f"'{col} outside [0, 100]: ' || {parsed}"),
    ]  # fmt: skip


BANDS_TARGET = register_target(
    Target(
        kind="bands",
        table="interruption_bands",
        key=("provider", "region", "zone", "spec", "os", "observed_at"),
        required=("provider", "region", "spec", "band_label", "observed_at"),
        optional=("zone", "os", "band_low_pct", "band_high_pct", "rate_pct", "savings_pct"),
        prepare=_bands_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("region", _region()),
            ("zone", text("zone")),
            ("spec", text("spec")),
            ("os", text("os")),
            ("band_label", text("band_label")),
            ("band_low_pct", "_low"),
            ("band_high_pct", "_high"),
            ("rate_pct", "_rate"),
            ("savings_pct", "_sav"),
            ("observed_at", "_obs"),
            ("_naive", "coalesce(_naive_in AND _obs IS NOT NULL, FALSE)"),
        ),
        reasons=lambda schema: (
            *missing_reasons("spec"),
            (f"{_region()} IS NULL", "region_missing", "'missing region'"),
            (f"{text('band_label')} IS NULL", "band_label_missing", "'missing band label'"),
            *_pct_reasons("band_low_pct", "_low"),
            *_pct_reasons("band_high_pct", "_high"),
            (
                "_low > _high",
                "band_inverted",
                "'band low ' || _low || ' above band high ' || _high",
            ),
            *_pct_reasons("rate_pct", "_rate"),
            *finite_reasons("savings_pct", "_sav"),
            ("_sav > 100", "savings_pct_out_of_range", "'savings_pct above 100: ' || _sav"),
            *time_reasons("observed_at", schema, "_obs"),
        ),
    )
)

__all__ = [
    "BANDS_TARGET",
    "EVENTS",
    "EVENTS_TARGET",
    "EXPOSURE_TARGET",
    "INSTANCES_TARGET",
    "boolean",
]
