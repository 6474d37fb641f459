"""Conflicts: a row whose key is already stored, or earlier in its file, with another value.

A valid row whose key is taken is a *duplicate* when it agrees with the row holding the key
on every value column both give (a NULL agrees with anything, so a row that only adds an
on-demand price is a duplicate), and a *conflict* otherwise. A conflict is a reject with
reason code ``conflict`` whose message names the row holding the key (``source 3`` or
``row 12 of this file``) and both values; ``sources.rows_conflict`` counts them (they are
in ``rows_rejected`` too). The row holding the key is the stored one, else the first row
of the key in the file. Nothing is merged silently: loading Linux and Windows prices of
one AWS series as one canonical file loads one product and rejects the other's rows as
conflicts.

The functions here run inside a load, over ``_stage`` (the file's validated rows, with
``_rid`` and ``_row``); see :mod:`spotlab.ingest.core`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import polars as pl

from spotlab.ingest import reasons as rsn
from spotlab.store import scalar


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def match(a: str, b: str, cols: Iterable[str]) -> str:
    """SQL: ``a`` and ``b`` have the same ``cols`` (NULLs equal)."""
    return " AND ".join(f"{a}.{_q(c)} IS NOT DISTINCT FROM {b}.{_q(c)}" for c in cols)


def _differs_one(a: str, b: str, col: str) -> str:
    x, y = f"{a}.{_q(col)}", f"{b}.{_q(col)}"
    return f"({x} IS NOT NULL AND {y} IS NOT NULL AND {x} <> {y})"


def differs(a: str, b: str, cols: Sequence[str]) -> str:
    """SQL: some value column is given by both ``a`` and ``b`` and differs."""
    return " OR ".join(_differs_one(a, b, c) for c in cols) if cols else "FALSE"


def message(ref: str, row: str, key: Sequence[str], cols: Sequence[str], holder: str) -> str:
    """SQL for the reject message of ``row`` conflicting with ``ref`` (held by ``holder``,
    SQL text such as ``'source ' || t.source_id``)."""
    parts = ", ".join(
        f"CASE WHEN {_differs_one(ref, row, c)} THEN '{c} ' || CAST({ref}.{_q(c)} AS VARCHAR) "
        f"|| ' there, ' || CAST({row}.{_q(c)} AS VARCHAR) || ' here' END"
        for c in cols
    )
    return (
        f"'conflict with ' || {holder} || ' (same {', '.join(key)}): ' || concat_ws('; ', {parts})"
        " || '. Both cannot be stored: check the file (another product, currency or unit in "
        "one series?), or forget the other load (spotlab forget ID) and load this one'"
    )


def find(
    con: duckdb.DuckDBPyConnection,
    key: Sequence[str],
    cols: Sequence[str],
    table: str,
    stored: bool,
) -> int:
    """Find the conflicts among ``_stage``'s valid rows into ``_conf(_rid, _row, _reason)``
    (the reason packed with its code) and return how many.

    Also leaves ``_later(_rid)``: the valid rows whose key an earlier row of the file holds
    (None of them is loaded). ``stored``: compare rows with ``table``'s rows of the same key
    (insert mode); otherwise only repeats within the file conflict (upsert mode replaces
    stored rows).
    """
    keys = ", ".join(f"s.{_q(k)}" for k in key)
    con.execute("CREATE OR REPLACE TEMP TABLE _conf (_rid BIGINT, _row BIGINT, _reason VARCHAR)")
    # one hash aggregate finds the keys that repeat; only their rows are ranked
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cand AS SELECT hash({keys}) AS _h FROM _stage s "
        "WHERE s._reason IS NULL GROUP BY ALL HAVING count(*) > 1"
    )
    repeats = bool(scalar(con, "SELECT count(*) FROM _cand"))
    con.execute("CREATE OR REPLACE TEMP TABLE _later (_rid BIGINT, _first BIGINT)")
    if repeats:
        con.execute(
            "INSERT INTO _later SELECT _rid, _first FROM (SELECT s._rid, "
            f"first_value(s._rid) OVER (PARTITION BY {keys} ORDER BY s._row, s._rid) AS _first, "
            f"row_number() OVER (PARTITION BY {keys} ORDER BY s._row, s._rid) AS _n "
            f"FROM _stage s WHERE s._reason IS NULL AND hash({keys}) IN (SELECT _h FROM _cand)) "
            "WHERE _n > 1"
        )
    con.execute("DROP TABLE _cand")
    code = rsn.CONFLICT
    if stored and cols:
        held = message("t", "s", key, cols, "'source ' || t.source_id")
        con.execute(
            f"INSERT INTO _conf SELECT s._rid, s._row, {rsn.reason_sql(code, held)} "
            f"FROM _stage s JOIN {table} t ON {match('t', 's', key)} "
            f"WHERE s._reason IS NULL AND ({differs('t', 's', cols)})"
        )
    if repeats and cols:
        earlier = message("f", "s", key, cols, "'row ' || f._row || ' of this file'")
        unstored = (
            f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE {match('t', 's', key)})"
            if stored
            else ""
        )
        con.execute(
            f"INSERT INTO _conf SELECT s._rid, s._row, {rsn.reason_sql(code, earlier)} "
            "FROM _later l JOIN _stage s ON s._rid = l._rid JOIN _stage f ON f._rid = l._first "
            f"WHERE ({differs('f', 's', cols)}) {unstored}"
        )
    return int(scalar(con, "SELECT count(*) FROM _conf") or 0)


def stored_conflict(
    con: duckdb.DuckDBPyConnection,
    key: Sequence[str],
    cols: Sequence[str],
    table: str,
    rows_sql: str,
    source_id: int,
) -> bool:
    """Whether a valid row of ``rows_sql`` conflicts with a row of another source (the
    direct load's test: then it stages the file, which records the conflicts)."""
    if not cols:
        return False
    return bool(
        scalar(
            con,
            f"SELECT count(*) FROM (SELECT 1 FROM ({rows_sql}) s JOIN {table} t ON "
            f"{match('t', 's', key)} AND t.source_id <> {int(source_id)} "
            f"WHERE s._reason IS NULL AND ({differs('t', 's', cols)}) LIMIT 1)",
        )
    )


def record(
    con: duckdb.DuckDBPyConnection,
    source_id: int,
    schema: dict[str, pl.DataType],
    row_base: int | None,
) -> None:
    """Insert ``_conf`` into ``rejects`` with each row's raw text, read again from ``_in``
    (the valid rows kept none): by ``_row``, or by position from ``row_base``."""
    from spotlab.ingest.core import raw_sql

    raw = raw_sql(schema)
    if row_base is None:
        rows = f"SELECT _row, {raw} AS _raw FROM _in"
    else:
        # numbered by position: the scan must keep the file's order
        con.execute("SET preserve_insertion_order = true")
        rows = f"SELECT row_number() OVER () + {int(row_base) - 1} AS _row, {raw} AS _raw FROM _in"
    con.execute(
        "INSERT INTO rejects (source_id, row_number, reason_code, reason, raw) "
        f"SELECT ?, c._row, {rsn.code_sql('c._reason')}, {rsn.message_sql('c._reason')}, r._raw "
        f"FROM _conf c LEFT JOIN ({rows}) r ON r._row = c._row",
        [source_id],
    )
