"""The headless report (``make report``, ``spotlab report --out out/``).

What was loaded (every source with its row accounting, rejects counted by reason) and what
the prices look like (one time-weighted summary row per price series). :func:`build_report`
only reads the store; :func:`write_report` also writes the tables as CSV and a Markdown
summary under a folder.

>>> import spotlab as sl
>>> rep = sl.build_report(sl.Store(":memory:"))
>>> rep.totals()["rows_read"]
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.prices import price_summary
from spotlab.sources import reject_reasons
from spotlab.store import Store

#: source files whose rows are SYNTHETIC (made by spotlab.datasets), by path fragment
SYNTHETIC_PATHS = ("eas_sample/",)

SOURCE_COLUMNS = (
    "source_id", "uri", "format", "kind", "rows_read", "rows_loaded", "rows_duplicate",
    "rows_rejected", "naive_timestamps", "synthetic",
)  # fmt: skip
COUNTS = ("rows_read", "rows_loaded", "rows_duplicate", "rows_rejected", "naive_timestamps")


@dataclass
class Report:
    """The report's tables; ``files`` lists what :func:`write_report` wrote."""

    database: str
    sources: pl.DataFrame
    reject_reasons: pl.DataFrame
    prices: pl.DataFrame
    files: list[Path] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Row counts over every source (``rows_read = loaded + duplicate + rejected``)."""
        return {c: int(self.sources[c].sum() or 0) for c in COUNTS} | {
            "sources": self.sources.height,
            "price_series": self.prices.height,
        }

    def markdown(self) -> str:
        """The summary as Markdown: totals, sources, reject reasons, price series."""
        t = self.totals()
        balanced = t["rows_read"] == t["rows_loaded"] + t["rows_duplicate"] + t["rows_rejected"]
        lines = [
            "# spotlab report",
            "",
            f"Database: `{self.database}`.",
            "",
            "## Ingest",
            "",
            f"{t['sources']} source files: {t['rows_read']:,} rows read = "
            f"{t['rows_loaded']:,} loaded + {t['rows_duplicate']:,} duplicates + "
            f"{t['rows_rejected']:,} rejected"
            + ("" if balanced else " (DOES NOT ADD UP)")
            + f"; {t['naive_timestamps']:,} timestamps without an offset were taken as UTC.",
            "",
        ]
        if self.sources["synthetic"].any():
            lines += [
                "Sources marked `synthetic` hold SYNTHETIC data made by `spotlab.datasets` "
                "(see data/README.md), not measured prices.",
                "",
            ]
        lines += [markdown_table(self.sources), "", "### Reject reasons", ""]
        if self.reject_reasons.height:
            lines.append(markdown_table(self.reject_reasons))
        else:
            lines.append("No row was rejected.")
        lines += [
            "",
            "## Prices",
            "",
            f"{t['price_series']} price series (provider, zone, spec). Prices are per hour in "
            "the series' currency; `tw_mean` and `tw_mean_discount` are time-weighted (each "
            "change point holds until the next one; the last until the newest time stored); "
            "`tw_mean_discount` is spot ÷ on-demand.",
            "",
            markdown_table(self.prices) if self.prices.height else "No prices are stored.",
            "",
        ]
        return "\n".join(lines)


def build_report(store: Store) -> Report:
    """The report's tables from a store (reads only)."""
    src = store.query(
        "SELECT source_id, uri, format, kind, rows_read, rows_loaded, rows_duplicate, "
        "rows_rejected, naive_timestamps FROM sources ORDER BY source_id"
    )
    uri = pl.col("uri").str.replace_all("\\", "/", literal=True)
    marks = [uri.str.contains(p, literal=True) for p in SYNTHETIC_PATHS]
    src = src.with_columns(synthetic=pl.any_horizontal(marks)).select(SOURCE_COLUMNS)
    reasons = reject_reasons(store)
    if reasons.height:
        reasons = reasons.join(src.select("source_id", "uri"), on="source_id", how="left").select(
            "source_id", "uri", "reason_code", "reason", "rows"
        )
    return Report(store.path, src, reasons, price_summary(store))


def write_report(store: Store, out: str | Path) -> Report:
    """Build the report and write it under ``out``: ``sources.csv``, ``reject_reasons.csv``,
    ``price_summary.csv`` and ``summary.md``. Returns the report with ``files`` set."""
    rep = build_report(store)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "sources.csv": rep.sources,
        "reject_reasons.csv": rep.reject_reasons,
        "price_summary.csv": rep.prices,
    }
    for name, frame in tables.items():
        frame.write_csv(folder / name, datetime_format="%Y-%m-%dT%H:%M:%SZ")
        rep.files.append(folder / name)
    summary = folder / "summary.md"
    summary.write_text(rep.markdown(), encoding="utf-8")
    rep.files.append(summary)
    return rep


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pl.DataFrame) -> str:
    """A frame as a GitHub Markdown table (floats to 4 significant digits, UTC minutes)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if dt.is_numeric() else "---" for dt in frame.dtypes) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *body])
