"""What was loaded: sources with their row accounting, and rejected rows."""

from __future__ import annotations

import polars as pl

from spotlab.store import Store


def sources(store: Store) -> pl.DataFrame:
    """Every loaded file: format, kind and ``rows_read = loaded + duplicate + rejected``."""
    return store.query("SELECT * FROM sources ORDER BY source_id")


def rejected_rows(
    store: Store, source_id: int | None = None, limit: int | None = None
) -> pl.DataFrame:
    """Rejected rows with the file they came from, their row number, reason and raw text."""
    where = "WHERE r.source_id = ?" if source_id is not None else ""
    params: list[object] = [source_id] if source_id is not None else []
    lim = f"LIMIT {int(limit)}" if limit else ""
    return store.query(
        "SELECT r.source_id, s.uri, r.row_number, r.reason, r.raw FROM rejects r "
        f"JOIN sources s USING (source_id) {where} ORDER BY r.source_id, r.row_number {lim}",
        params,
    )


def reject_reasons(store: Store) -> pl.DataFrame:
    """Rejects counted by source and reason (the reason's text before any value)."""
    return store.query(
        "SELECT source_id, regexp_replace(reason, ':.*$', '') AS reason, count(*) AS rows "
        "FROM rejects GROUP BY ALL ORDER BY source_id, rows DESC"
    )
