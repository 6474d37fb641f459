"""What was loaded: sources with their row accounting, rejected rows, and undoing a load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from spotlab.store import Store


def sources(store: Store) -> pl.DataFrame:
    """Every loaded file: format, kind, options and ``rows_read = loaded + duplicate +
    rejected`` (``rows_conflict`` of the rejects are conflicts)."""
    return store.query("SELECT * FROM sources ORDER BY source_id")


def rejected_rows(
    store: Store, source_id: int | None = None, limit: int | None = None
) -> pl.DataFrame:
    """Rejected rows with the file they came from, their row number, reason code, reason
    and raw text."""
    where = "WHERE r.source_id = ?" if source_id is not None else ""
    params: list[object] = [source_id] if source_id is not None else []
    lim = f"LIMIT {int(limit)}" if limit else ""
    return store.query(
        "SELECT r.source_id, s.uri, r.row_number, r.reason_code, r.reason, r.raw FROM rejects r "
        f"JOIN sources s USING (source_id) {where} ORDER BY r.source_id, r.row_number {lim}",
        params,
    )


def reject_reasons(store: Store, source_id: int | None = None) -> pl.DataFrame:
    """Rejects counted by source and reason code, most frequent first, with the first such
    reject's message as an example: ``source_id, reason_code, rows, reason``."""
    where = "WHERE source_id = ?" if source_id is not None else ""
    return store.query(
        "SELECT source_id, reason_code, count(*) AS rows, arg_min(reason, row_number) AS reason "
        f"FROM rejects {where} GROUP BY ALL ORDER BY source_id, rows DESC, reason_code",
        [source_id] if source_id is not None else None,
    )


@dataclass(frozen=True)
class Forgotten:
    """A source removed by :func:`forget`: its file and the rows removed per table."""

    source_id: int
    uri: str
    rows: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        parts = ", ".join(f"{n:,} from {t}" for t, n in self.rows.items() if n and t != "sources")
        return f"forgot source {self.source_id} ({self.uri}): " + (parts or "no rows")

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "uri": self.uri, "rows": dict(self.rows)}


def forget(store: Store, *source_ids: int) -> list[Forgotten]:
    """Remove sources and every row they loaded (prices, specs, events, rejects, ...) in one
    transaction; an unknown id removes nothing and is a StoreError.

    Rows a source *replaced* in an upsert table (a catalog's changed prices) are not brought
    back, and rows of later files that were duplicates of its rows were never stored: load
    those files again with ``reload=True`` (``spotlab ingest --reload``).

    >>> forget(store, 3)  # doctest: +SKIP
    [Forgotten(source_id=3, uri='prices.csv', rows={'rejects': 2, 'spot_prices': 120, ...})]
    """
    ids = list(dict.fromkeys(int(i) for i in source_ids))
    uris = dict(
        store.execute("SELECT source_id, uri FROM sources WHERE list_contains(?, source_id)", [ids])
    )
    removed = store.forget(*ids)
    return [Forgotten(i, str(uris.get(i, "")), removed.get(i, {})) for i in ids]
