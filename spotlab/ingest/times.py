"""Times in ingested rows: how text is read, which times are plausible, which are naive.

One rule for every reader (every time column of every target goes through
:func:`timestamp` and :func:`time_reasons`; reader options holding a time through
:func:`check_time`):

- **Parsing.** ISO 8601 as DuckDB reads it, with an offset (``Z``, ``+08:00``, ``+0800``,
  ``+08``) or a named zone (``2024-04-10 00:00:00 Asia/Shanghai``, ``UTC``, ``EST``); the
  compact form ``20190409T121826.922+0800`` (Alibaba CloudMonitor) too.
- **Naive times.** A time without an offset or a zone, and a date alone (``2024-04-10``),
  is taken as UTC and counted in ``naive_timestamps``.
- **Offsets.** An offset beyond ±14:59 (``+25:00``) is rejected (``ts_bad_offset``): no
  place keeps a clock more than 14 hours from UTC.
- **Plausible range.** A time before :data:`EARLIEST` (1970-01-01, the Unix epoch) or after
  the wall clock + :data:`AHEAD` (1 day) is rejected (``ts_out_of_range``), as are
  ``infinity`` and years 0 or 10000. No spot price history or trace spotlab reads is older
  than the epoch (AWS sold the first spot instances in 2009), and an add/remove trace's
  time zero defaults to it; a time in the future is a typo or a clock error, with a day
  of slack for a clock running ahead or a mislabelled zone. The wall clock is the one of
  the ingest (DuckDB's ``now()`` in SQL).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from spotlab.ingest.core import text_sql

#: the earliest time spotlab stores (inclusive)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: how far past the wall clock a time may be
AHEAD = timedelta(days=1)

_LATEST_SQL = f"(now() + INTERVAL '{int(AHEAD.total_seconds())} seconds')"
_EARLIEST_SQL = f"TIMESTAMPTZ '{EARLIEST:%Y-%m-%d %H:%M:%S}+00'"

# a time of day (00:00, 00:00:00.123, or the compact 121826.922) followed by a zone: Z, an
# offset, or a name (UTC, EST, Asia/Shanghai, UTC+8)
_TIME = r"\d{2}(:?\d{2}){1,2}([.,]\d+)?\s*"
_ZONE = r"(z|[+-]\d{2}(:?\d{2})?|[a-z][a-z0-9_+-]*(/[a-z0-9_+-]+)*)$"
_BAD_OFFSET = r"[+-]((1[5-9]|[2-9]\d)(:?\d{2})?|\d{2}:?[6-9]\d)$"


def range_text() -> str:
    """The plausible range in words, as rejects and errors state it."""
    return f"{EARLIEST:%Y-%m-%d} .. the wall clock + {AHEAD.days} day"


def latest(now: datetime | None = None) -> datetime:
    """The latest plausible time: the wall clock (or ``now``) + :data:`AHEAD`."""
    return (now or datetime.now(UTC)) + AHEAD


def check_time(value: datetime, what: str) -> str | None:
    """Why ``value`` is not a plausible time (None when it is), naming ``what``."""
    t = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if EARLIEST <= t <= latest():
        return None
    return f"{what} {value.isoformat()} is outside the plausible range {range_text()}"


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def timestamp(col: str, schema: dict[str, pl.DataType]) -> tuple[str, str]:
    """SQL for (parsed TIMESTAMPTZ, naive flag) of a time column (see the module doc)."""
    dtype = schema.get(col)
    if isinstance(dtype, pl.Datetime):
        naive = "FALSE" if dtype.time_zone else f"{_q(col)} IS NOT NULL"
        return f"CAST({_q(col)} AS TIMESTAMPTZ)", naive
    t = text_sql(col)
    raw = f"CAST({_q(col)} AS VARCHAR)"
    compact = (
        f"regexp_replace({t}, '^(\\d{{4}})(\\d{{2}})(\\d{{2}})T(\\d{{2}})(\\d{{2}})(\\d{{2}})', "
        f"'\\1-\\2-\\3T\\4:\\5:\\6')"
    )
    # the cast skips surrounding spaces; the trimmed text is needed only when it fails
    parsed = f"coalesce(try_cast({raw} AS TIMESTAMPTZ), try_cast({compact} AS TIMESTAMPTZ))"
    # a trailing Z or +00:00 (the usual cases) settles it without the regular expression
    naive = (
        f"CASE WHEN {utc_suffix(raw)} THEN FALSE "
        f"ELSE NOT regexp_matches({t}, '(?i){_TIME}{_ZONE}') END"
    )
    return parsed, naive


def utc_suffix(raw: str) -> str:
    """SQL: the text ends in ``Z`` or ``+00:00``, an offset that needs no other check."""
    return f"(ends_with({raw}, 'Z') OR ends_with({raw}, '+00:00'))"


def time_reasons(
    col: str,
    schema: dict[str, pl.DataType],
    parsed: str,
    name: str | None = None,
    required: bool = True,
) -> list[tuple[str, str, str]]:
    """The (condition, code, message) rules of a time column whose parsed value is
    ``parsed`` (a prepared name): missing (when ``required``), unparsable, a UTC offset
    beyond ±14:59, outside the plausible range.

    Codes: ``<col>_missing``, ``<col>_unparsable``, ``<col>_bad_offset``,
    ``<col>_out_of_range``."""
    label = name or col
    t = text_sql(col)
    rules = []
    if required:
        rules.append((f"{parsed} IS NULL AND {t} IS NULL", f"{col}_missing", f"'missing {label}'"))
    rules.append(
        (
            f"{parsed} IS NULL AND {t} IS NOT NULL",
            f"{col}_unparsable",
            f"'unparsable {label}: ' || {t}",
        )
    )
    if not isinstance(schema.get(col), pl.Datetime) and col in schema:
        raw = f"CAST({_q(col)} AS VARCHAR)"
        rules.append(
            (
                f"NOT {utc_suffix(raw)} AND regexp_matches({t}, '(?i){_TIME}{_BAD_OFFSET}')",
                f"{col}_bad_offset",
                f"'UTC offset outside -14:59 .. +14:59 in {label}: ' || {t}",
            )
        )
    rules.append(
        (
            f"{parsed} < {_EARLIEST_SQL} OR {parsed} > {_LATEST_SQL}",
            f"{col}_out_of_range",
            f"'{label} ' || CAST({parsed} AS VARCHAR) || ' is outside the plausible range "
            f"{EARLIEST:%Y-%m-%d} .. ' || strftime({_LATEST_SQL}, '%Y-%m-%d %H:%M') || "
            f"' UTC (the wall clock + {AHEAD.days} day)'",
        )
    )
    return rules


__all__ = ["AHEAD", "EARLIEST", "check_time", "latest", "range_text", "time_reasons", "timestamp"]
