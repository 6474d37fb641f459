"""The DuckDB store: one file holding every table of :mod:`spotlab.schema`.

>>> store = Store(":memory:")
>>> store.query("SELECT count(*) AS n FROM spot_prices")["n"][0]
0
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from spotlab import schema
from spotlab.errors import ExternalError, StoreError, StoreLockedError, wrap_errors

DEFAULT_PATH = "spotlab.duckdb"
ENV_VAR = "SPOTLAB_DB"

_CONFIG = {
    # No network here: a failed extension auto-install stalls for seconds.
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def first_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None
) -> tuple[Any, ...] | None:
    """The first row of a query (the result is read to its end: DuckDB 2 keeps an unread
    result open on the connection and refuses other work until it is finished)."""
    rows = (
        con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    )
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """The first value of the first row of a query (None when there is no row)."""
    row = first_row(con, sql, params)
    return row[0] if row else None


def resolve_path(path: str | os.PathLike[str] | None) -> str:
    """The database path: the argument, else ``$SPOTLAB_DB``, else ``./spotlab.duckdb``."""
    if path is not None:
        return str(path)
    return os.environ.get(ENV_VAR) or DEFAULT_PATH


class Store:
    """A spotlab database (DuckDB). Queries return polars frames.

    ``path`` defaults to ``$SPOTLAB_DB`` or ``./spotlab.duckdb``; ``":memory:"`` keeps it in
    memory. ``read_only=True`` opens an existing file for reading (notebooks), so several
    readers can share it; a writer then has to wait until they close.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, read_only: bool = False):
        self.path = resolve_path(path)
        self.read_only = read_only
        self._in_transaction = False
        self._con: duckdb.DuckDBPyConnection | None = self._connect()
        if read_only:
            self._check_version()
        else:
            with wrap_errors(f"migrating the spotlab database {self.path}"):
                schema.migrate(self._con)

    # -- connection -------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if self.read_only and not Path(self.path).exists():
                raise StoreError(
                    f"no spotlab database at {self.path}: ingest data first "
                    "(`spotlab ingest data/`) or pass another --db path",
                    path=self.path,
                )
            if not parent.exists():
                raise StoreError(
                    f"folder {parent} for the database {self.path} does not exist", path=self.path
                )
        try:
            con = duckdb.connect(self.path, read_only=self.read_only, config=dict(_CONFIG))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                holder = re.search(r"held in (.*?)(?: \(PID (\d+)\))?\.", str(exc))
                who = ""
                if holder:
                    who = f" by {holder.group(1)}" + (
                        f" (PID {holder.group(2)})" if holder.group(2) else ""
                    )
                raise StoreLockedError(
                    f"the database {self.path} is locked{who}. Another spotlab process "
                    "(an ingest, or a notebook kernel) is using it: wait for it to finish, "
                    "close that notebook's store (store.close()) or restart its kernel, "
                    "or use another file with --db / SPOTLAB_DB",
                    path=self.path,
                ) from exc
            raise StoreError(f"cannot open the database {self.path}: {exc}", self.path) from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}", self.path) from exc
        con.execute("SET TimeZone = 'UTC'")
        # progress bars would be drawn into CLI output and notebook cells
        con.execute("SET enable_progress_bar = false")
        return con

    def _check_version(self) -> None:
        done = schema.applied_versions(self.con)
        missing = {m.version for m in schema.MIGRATIONS} - done
        if missing:
            raise StoreError(
                f"the database {self.path} lacks schema migrations {sorted(missing)}; "
                "open it once for writing (e.g. `spotlab sources`) to upgrade it",
                path=self.path,
            )

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StoreError(f"the store {self.path} is closed", path=self.path)
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"Store({self.path!r}, {mode})"

    # -- queries ----------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a query and return its result as a polars frame."""
        with wrap_errors("querying the spotlab database"):
            rel = self.con.sql(sql, params=params)
            if rel is None:
                return pl.DataFrame()
            return rel.pl()

    def execute(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a statement; returns its rows (e.g. ``[(n,)]`` for an INSERT's count)."""
        with wrap_errors("writing to the spotlab database"):
            cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
            return cur.fetchall()

    def table(self, name: str) -> pl.DataFrame:
        """A whole table as a polars frame."""
        if name not in self.tables():
            from spotlab.errors import did_you_mean

            raise StoreError(f"no table {name!r}.{did_you_mean(name, self.tables())}", self.path)
        return self.query(f'SELECT * FROM "{name}"')

    def tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='main' "
            "ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    @property
    def schema_version(self) -> int:
        done = schema.applied_versions(self.con)
        return max(done) if done else 0

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed when the block ends, rolled back on any error.

        A transaction opened inside another joins it: the outer one commits or rolls back
        the whole (``spotlab fetch`` loads every page of a fetch as one)."""
        con = self.con
        if self._in_transaction:
            yield con
            return
        try:
            con.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            raise ExternalError("starting a transaction", exc) from exc
        self._in_transaction = True
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise ExternalError("committing a transaction", exc) from exc
        finally:
            self._in_transaction = False
