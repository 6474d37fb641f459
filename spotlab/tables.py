"""Tables for people: units and currency in the headers, values rounded to meaningful
digits, as text that fits a terminal (the CLI) or as HTML (notebooks and the report).

A column's unit comes from its name: spotlab names carry them (``_seconds``, ``_gib``,
``_per_day``, ``monthly_…``), and the price columns (``bid``, ``on_demand``,
``effective_cost``, …) are per hour in the frame's ``currency`` column when it holds one
currency. ``units=`` overrides or adds labels.

>>> import polars as pl
>>> frame = pl.DataFrame({"spec": ["a"], "bid": [2.881], "currency": ["CNY"]})
>>> print(text_table(frame, width=80))
spec  bid      currency
      (CNY/h)
────  ───────  ────────
a       2.881  CNY
"""

from __future__ import annotations

import html
import json
import math
import textwrap
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

#: columns priced per hour in the frame's currency
PRICE_COLUMNS = frozenset(
    {
        "bid", "on_demand", "mean_paid", "effective_cost", "rule20_bid", "optimal_bid",
        "target_level", "market_mean", "market_max", "restart_cost", "rule20_mean_paid",
        "rule20_effective_cost", "optimal_mean_paid", "optimal_effective_cost", "tw_mean",
        "spot_price_limit", "cost_per_replica_hour", "on_demand_price", "price", "spot_price",
        "regular_price", "p50", "p90", "p99", "min", "max", "mean", "elastic",
    }
)  # fmt: skip
#: columns that are a share or a ratio (no unit beyond that)
SHARE_COLUMNS = frozenset(
    {
        "availability", "rule20_availability", "optimal_availability", "max_availability",
        "replica_availability", "regular_share", "share_above_rule", "saving", "rule20_saving",
        "optimal_saving", "discount", "tw_mean_discount", "share_series_met", "share_runs_met",
        "mean_availability", "share_on_regular", "share_of_floor", "stock_probability",
    }
)  # fmt: skip
RATIO_COLUMNS = frozenset({"cost_ratio", "mean_cost_ratio", "r2"})
#: money totals in the frame's currency
MONEY_COLUMNS = {
    "monthly_cost": "{cur}/month",
    "monthly_saving": "{cur}/month",
    "cost_per_reclaim": "{cur}",
    "cost": "{cur}",
    "all_regular_cost": "{cur}",
}
#: name endings and their unit, longest first
SUFFIX_UNITS = (
    ("_gb_per_s", "GB/s"),
    ("_per_hour", "/h"),
    ("_per_day", "/day"),
    ("_per_month", "/month"),
    ("_seconds", "s"),
    ("_seconds_lo", "s"),
    ("_seconds_hi", "s"),
    ("_hours", "h"),
    ("_age_h", "h"),
    ("_gib", "GiB"),
    ("_gb", "GB"),
    ("_pct", "%"),
    ("_pct_low", "%"),
    ("_pct_high", "%"),
)
EXACT_UNITS = {
    "hours": "h",
    "per_month": "/month",
    "per_month_low": "/month",
    "per_month_high": "/month",
    "rate_low": "/h",
    "rate_high": "/h",
    "rate_used": "/h",
    "rate_modelled": "/h",
    "throughput_lo": "GB/s",
    "throughput_hi": "GB/s",
    "overhead_lo": "s",
    "overhead_hi": "s",
    "ts": "UTC",
    "start": "UTC",
    "end": "UTC",
    "first": "UTC",
    "last": "UTC",
    "origin": "UTC",
}

#: a text cell longer than this is cut with "…" unless the table is wide
MAX_TEXT = 48
#: the narrowest room a last text column is wrapped into (narrower: it is left out)
_MIN_WRAP = 16


def frame_currency(frame: pl.DataFrame) -> str | None:
    """The one currency of a frame's ``currency`` column (None: none or several)."""
    if "currency" not in frame.columns:
        return None
    values = frame["currency"].drop_nulls().unique().to_list()
    return str(values[0]) if len(values) == 1 else None


def column_unit(name: str, frame: pl.DataFrame | None = None, currency: str | None = None) -> str:
    """The unit of a column, '' when it has none (a name, a count)."""
    cur = currency or (frame_currency(frame) if frame is not None else None)
    mixed = frame is not None and "currency" in frame.columns and cur is None
    money = cur or ("see currency" if mixed else "")
    if name in PRICE_COLUMNS:
        if (
            name in {"min", "max", "mean"}
            and frame is not None
            and not ({"on_demand", "currency"} & set(frame.columns))
        ):
            return ""
        return f"{money}/h" if money else "per h"
    if name in MONEY_COLUMNS:
        return MONEY_COLUMNS[name].format(cur=money or "money").strip()
    if name in SHARE_COLUMNS:
        return "share"
    if name in RATIO_COLUMNS:
        return "ratio"
    if name in EXACT_UNITS:
        return EXACT_UNITS[name]
    for suffix, unit in SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return ""


def column_label(
    name: str,
    frame: pl.DataFrame | None = None,
    units: Mapping[str, str] | None = None,
    currency: str | None = None,
) -> str:
    """``name (unit)``, or the name alone when it has no unit."""
    unit = (units or {}).get(name)
    if unit is None:
        unit = column_unit(name, frame, currency)
    return f"{name} ({unit})" if unit else name


def format_value(value: Any) -> str:
    """A value for people: floats to 4 significant digits (thousands grouped, no decimals
    from 10,000), times to the minute (UTC), booleans yes/no, nulls empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        if value == 0:
            return "0"
        if abs(value) >= 1e4:
            return f"{value:,.0f}"
        if abs(value) < 1e-4:
            return f"{value:.2e}"
        digits = max(0, 3 - math.floor(math.log10(abs(value))))
        text = f"{value:,.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds() / 3600:,.4g} h"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value).replace("\n", " ")


def _numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)] + "…"


def text_table(
    frame: pl.DataFrame,
    width: int | None = None,
    wide: bool = False,
    max_rows: int = 200,
    units: Mapping[str, str] | None = None,
    currency: str | None = None,
) -> str:
    """A frame as aligned text: name and unit on two header lines, numbers right-aligned.

    With ``width`` (the terminal's columns) and not ``wide``, long text cells are cut at
    :data:`MAX_TEXT` characters and columns that do not fit are left out, named in a last
    line. ``max_rows`` rows at most (the rest are counted).
    """
    if frame.width == 0:
        return "(no columns)"
    limit = MAX_TEXT if width is not None and not wide else None
    shown = frame.head(max_rows)
    cols = []
    for name, dtype in zip(frame.columns, frame.dtypes, strict=True):
        unit = (units or {}).get(name, column_unit(name, frame, currency))
        cells = [_cut(format_value(v), limit) for v in shown[name].to_list()]
        head = [name, f"({unit})" if unit else ""]
        size = max([len(h) for h in head] + [len(c) for c in cells] + [1])
        cols.append((name, head, cells, size, _numeric(dtype)))
    kept = cols
    dropped: list[str] = []
    if width is not None and not wide:
        total = 0
        kept = []
        for i, col in enumerate(cols):
            need = col[3] + (2 if kept else 0)
            if total + need > width and kept:
                # a text column still gets the room left, wrapped, when there is enough
                text_fits = not col[4] and width - total - 2 >= _MIN_WRAP
                kept += [col] if text_fits else []
                dropped = [c[0] for c in cols[i + text_fits :]]
                break
            kept.append(col)
            total += need
        last = kept[-1]
        room = width - sum(c[3] + 2 for c in kept[:-1])
        full = [format_value(v) for v in shown[last[0]].to_list()]
        longest = max(map(len, full), default=0)
        if not last[4] and room >= _MIN_WRAP and (longest > last[3] or last[3] > room):
            # text in the last column: wrap it into the room left instead of cutting it
            size = min(room, max(map(len, full)))
            lines = [textwrap.wrap(t, size) or [""] for t in full]
            size = max([len(h) for h in last[1]] + [len(x) for ls in lines for x in ls])
            kept[-1] = (last[0], last[1], ["\n".join(ls) for ls in lines], size, False)

    def line(parts: list[str]) -> str:
        return "  ".join(parts).rstrip()

    def pad(text: str, size: int, num: bool) -> str:
        return text.rjust(size) if num else text.ljust(size)

    out = [
        line([pad(c[1][0], c[3], False) for c in kept]),
        line([pad(c[1][1], c[3], False) for c in kept]),
        line(["─" * c[3] for c in kept]),
    ]
    if not out[1]:
        del out[1]
    for r in range(shown.height):
        row_lines = [c[2][r].split("\n") for c in kept]
        for i in range(max(len(x) for x in row_lines)):
            parts = [x[i] if i < len(x) else "" for x in row_lines]
            out.append(line([pad(t, c[3], c[4]) for t, c in zip(parts, kept, strict=True)]))
    if frame.height > shown.height:
        out.append(f"… {frame.height - shown.height:,} more rows (--json gives all)")
    if dropped:
        more = ", ".join(dropped)
        note = (
            f"… {len(dropped)} more column{'s' if len(dropped) > 1 else ''} ({more}): "
            "--wide shows all, --json gives everything"
        )
        out += textwrap.wrap(note, width) if width else [note]
    return "\n".join(out)


_TABLE_CSS = (
    "<style>table.spotlab-table{border-collapse:collapse;font-size:13px;margin:4px 0}"
    "table.spotlab-table th,table.spotlab-table td{padding:3px 8px;border-bottom:1px solid "
    "#ddd;vertical-align:top;text-align:left!important}table.spotlab-table th{background:"
    "#f4f4f4;font-weight:600}table.spotlab-table td.num{text-align:right!important;"
    "font-variant-numeric:"
    "tabular-nums;white-space:nowrap}table.spotlab-table caption{caption-side:bottom;"
    "text-align:left;color:#666;font-size:12px;padding-top:3px}</style>"
)


def html_table(
    frame: pl.DataFrame,
    max_rows: int = 60,
    units: Mapping[str, str] | None = None,
    caption: str | None = None,
    currency: str | None = None,
) -> str:
    """A frame as an HTML table: labelled headers (units, currency), rounded values, no
    dtype row; at most ``max_rows`` rows (the rest are counted in the caption)."""
    shown = frame.head(max_rows)
    heads = "".join(
        f"<th>{html.escape(column_label(c, frame, units, currency))}</th>" for c in frame.columns
    )
    nums = [_numeric(d) for d in frame.dtypes]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{html.escape(format_value(v))}</td>"
            if num
            else f"<td>{html.escape(format_value(v))}</td>"
            for v, num in zip(row, nums, strict=True)
        )
        + "</tr>"
        for row in shown.iter_rows()
    )
    notes = [caption] if caption else []
    if frame.height > shown.height:
        notes.append(f"{shown.height} of {frame.height:,} rows shown")
    cap = f"<caption>{html.escape('; '.join(notes))}</caption>" if notes else ""
    return (
        f"{_TABLE_CSS}<table class='spotlab-table'>{cap}<thead><tr>{heads}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
