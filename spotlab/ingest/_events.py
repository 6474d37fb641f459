"""Helpers shared by the event and band readers: flattening JSON items into canonical rows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest._common import json_text, load_json
from spotlab.ingest.options import Option
from spotlab.ingest.reasons import reject

#: the canonical columns of ``instance_events`` rows, as the readers produce them (text)
EVENT_COLUMNS = (
    "provider", "region", "zone", "spec", "instance_id", "service", "is_spot", "event",
    "ts", "detail",
)  # fmt: skip

#: a flattened item: canonical column → text, or a reason (:func:`~spotlab.ingest.reasons.
#: reject`: code and message) when the item is unusable
Flat = dict[str, str | None] | str


def load_items(path: Path, what: str) -> list[Any]:
    """A JSON file's items: one object, an array, or JSON lines."""
    doc = load_json(path)
    if isinstance(doc, list):
        if not doc:
            raise FormatError(f"the JSON array holds no {what}", path=path)
        return doc
    if isinstance(doc, Mapping):
        return [doc]
    raise FormatError(
        f"expected a JSON object or array of {what}", path=path, found=type(doc).__name__
    )


def items_frame(
    items: Sequence[Any],
    flatten: Callable[[Mapping[str, Any]], Flat],
    columns: Sequence[str],
    label: str,
) -> pl.DataFrame:
    """Canonical rows (all text) from JSON items; ``_row`` numbers items from 1.

    ``flatten`` maps one item to its canonical columns, or to a reason it cannot be used
    (the item is then rejected with that reason). ``_raw`` keeps each item's JSON text.
    """
    rows: list[dict[str, str | None]] = []
    rejects: list[str | None] = []
    for item in items:
        flat: Flat = (
            flatten(item)
            if isinstance(item, Mapping)
            else reject("not_an_object", f"{label} is not an object")
        )
        if isinstance(flat, str):
            rows.append({})
            rejects.append(flat)
        else:
            rows.append(flat)
            rejects.append(None)
    data = {c: [r.get(c) for r in rows] for c in columns}
    frame = pl.DataFrame(data, schema={c: pl.String for c in columns})
    return frame.with_columns(
        pl.Series("_row", range(1, len(items) + 1), dtype=pl.Int64),
        pl.Series("_raw", [json.dumps(i, ensure_ascii=False) for i in items], dtype=pl.String),
        pl.Series("_reject", rejects, dtype=pl.String),
    )


def text_of(v: Any) -> str | None:
    """A JSON scalar as text (None stays None; objects as JSON)."""
    return json_text(v)


def last_path_part(arn: Any) -> str | None:
    """``acs:ecs:cn-hangzhou:123:instance/i-bp1`` or ``arn:aws:ec2:...:instance/i-0ab`` → id."""
    if not isinstance(arn, str) or "/" not in arn:
        return None
    return arn.rsplit("/", 1)[1] or None


_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


#: the option of the feeds: when they were observed
OBSERVED_AT = Option(
    "observed_at", "time", "when the feed was observed (default: a date in the file name)"
)


def observed_at(path: Path, option: datetime | str | None, notes: list[str]) -> str:
    """When a feed was observed: the option, else a date in the file name, else now."""
    if isinstance(option, datetime):
        return option.isoformat()
    if option:
        return option
    m = _DATE_IN_NAME.search(path.name)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            return datetime(y, mo, d, tzinfo=UTC).isoformat()
        except ValueError:
            pass
    now = datetime.now(UTC).replace(microsecond=0)
    notes.append(
        f"no observation date in the file name: observed_at set to the ingest time {now:%F %T} "
        "UTC (pass -o observed_at=YYYY-MM-DD to set it)"
    )
    return now.isoformat()


_BAND = re.compile(r"^\s*([<>])?\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*%?\s*$")


def band_bounds(label: str | None) -> tuple[float | None, float | None]:
    """Percent bounds of a band label: ``<5%`` → (0, 5); ``5-10%`` → (5, 10); ``>20%`` →
    (20, 100); ``10-100%`` → (10, 100). Unknown labels give (None, None)."""
    if not label:
        return None, None
    m = _BAND.match(label)
    if not m:
        return None, None
    op, a, b = m.group(1), float(m.group(2)), m.group(3)
    if op == "<":
        return 0.0, a
    if op == ">":
        return a, 100.0
    if b is None:
        return a, a
    return a, float(b)
