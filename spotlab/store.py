"""The DuckDB store: one file holding every table of :mod:`spotlab.schema`.

>>> store = Store(":memory:")
>>> store.query("SELECT count(*) AS n FROM spot_prices")["n"][0]
0
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import threading
import time
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


def source_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table (but ``sources``) with a ``source_id`` column: what a source loaded."""
    return [
        str(r[0])
        for r in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = "
            "'main' AND column_name = 'source_id' AND table_name <> 'sources' ORDER BY 1"
        ).fetchall()
    ]


def delete_sources(
    con: duckdb.DuckDBPyConnection, source_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Delete sources and every row they loaded, in the caller's transaction; return, per
    source, the rows deleted per table (``sources`` included)."""
    ids = [int(i) for i in source_ids]
    out: dict[int, dict[str, int]] = {i: {} for i in ids}
    for table in [*source_tables(con), "sources"]:
        rows = con.execute(
            f'SELECT source_id, count(*) FROM "{table}" WHERE list_contains(?, source_id) '
            "GROUP BY ALL",
            [ids],
        ).fetchall()
        for sid, n in rows:
            out[int(sid)][table] = int(n)
        con.execute(f'DELETE FROM "{table}" WHERE list_contains(?, source_id)', [ids])
    return out


def _holder(message: str) -> str:
    """`` by PROGRAM (PID n: its command line)`` from DuckDB's lock message, or ''."""
    m = re.search(r"held in (.+?) \(PID (\d+)\)", message) or re.search(
        r"held in (.+?)(?:\. See also|\.?$)", message
    )
    if not m:
        return ""
    program = m.group(1)
    pid = m.group(2) if m.lastindex and m.lastindex >= 2 else None
    if pid is None:
        return f" by {program}"
    command = ""
    with contextlib.suppress(OSError):  # /proc is Linux's; the PID may be gone already
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        command = " ".join(a.decode("utf-8", "replace") for a in args if a)
    return f" by {program} (PID {pid}" + (f": {command[:300]}" if command else "") + ")"


#: how long a store that opens the file per query (notebooks) waits for a writer
NOTEBOOK_WAIT_SECONDS = 10.0


class Store:
    """A spotlab database (DuckDB). Queries return polars frames.

    ``path`` defaults to ``$SPOTLAB_DB`` or ``./spotlab.duckdb``; ``":memory:"`` keeps it in
    memory. ``read_only=True`` opens an existing file for reading, so several readers can
    share it; a writer then has to wait until they close.

    ``keep_open=False`` opens the file for each query (each :meth:`connection` block, each
    :meth:`query`) and closes it after, so other processes can write between queries and
    every query sees the latest committed data: what notebooks use (see
    :func:`spotlab.notebook.setup`). While the file is locked by a writer, opening waits up
    to ``wait_seconds`` before :class:`StoreLockedError`.

    A database this call creates is removed again when creating it fails (a full disk):
    a half-written file would not open afterwards.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        keep_open: bool = True,
        wait_seconds: float = 0.0,
    ):
        self.path = resolve_path(path)
        self.read_only = read_only
        self.keep_open = keep_open or self.path == ":memory:"
        self.wait_seconds = wait_seconds
        self._depth = 0
        self._closed = False
        self._in_transaction = False
        created = self.path != ":memory:" and not Path(self.path).exists()
        self._con: duckdb.DuckDBPyConnection | None = None
        try:
            self._con = self._connect()
            if read_only:
                self._check_version()
            else:
                with wrap_errors(f"migrating the spotlab database {self.path}"):
                    schema.migrate(self._con)
        except BaseException as exc:
            self.close()
            if created:
                for leftover in (Path(self.path), Path(self.path + ".wal")):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
            cause = exc.cause if isinstance(exc, ExternalError) else exc.__cause__
            if created and cause is not None and _write_failed(cause):
                raise StoreError(
                    f"could not create the database {self.path}: {_first_line(cause)}. "
                    "Is the disk full? Nothing was left behind: free space and run again",
                    self.path,
                ) from exc
            raise
        if not self.keep_open:
            self.release()

    # -- connection -------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + max(self.wait_seconds, 0.0)
        while True:
            try:
                return self._open()
            except StoreLockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _open(self) -> duckdb.DuckDBPyConnection:
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
                raise StoreLockedError(
                    f"the database {self.path} is locked{_holder(str(exc))}. Another process "
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
        """The DuckDB connection (opened again if the store released it: use
        :meth:`connection` to hold it for a block)."""
        if self._closed:
            raise StoreError(f"the store {self.path} is closed", path=self.path)
        if self._con is None:
            self._con = self._connect()
        return self._con

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection for a block of work; a store that does not keep its file open
        closes it when the outermost block ends."""
        con = self.con
        self._depth += 1
        try:
            yield con
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.release()

    def release(self) -> None:
        """Close the file until the next query (stores with ``keep_open=False`` only)."""
        if not self.keep_open and self._depth == 0 and self._con is not None:
            self._con.close()
            self._con = None

    def close(self) -> None:
        self._closed = True
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
        with wrap_errors("querying the spotlab database"), self.connection() as con:
            rel = con.sql(sql, params=params)
            if rel is None:
                return pl.DataFrame()
            return rel.pl()

    def execute(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a statement; returns its rows (e.g. ``[(n,)]`` for an INSERT's count)."""
        with wrap_errors("writing to the spotlab database"), self.connection() as con:
            cur = con.execute(sql, params) if params is not None else con.execute(sql)
            return cur.fetchall()

    def table(self, name: str) -> pl.DataFrame:
        """A whole table as a polars frame."""
        if name not in self.tables():
            from spotlab.errors import did_you_mean

            raise StoreError(f"no table {name!r}.{did_you_mean(name, self.tables())}", self.path)
        return self.query(f'SELECT * FROM "{name}"')

    def tables(self) -> list[str]:
        with self.connection() as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='main' "
                "ORDER BY table_name"
            ).fetchall()
        return [r[0] for r in rows]

    @property
    def schema_version(self) -> int:
        with self.connection() as con:
            done = schema.applied_versions(con)
        return max(done) if done else 0

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed when the block ends, rolled back on any error
        (Ctrl-C included). A commit that cannot be written (a full disk) is a StoreError
        saying so; the database keeps its state from before the transaction.

        A transaction opened inside another joins it: the outer one commits or rolls back
        the whole (``spotlab fetch`` loads every page of a fetch as one)."""
        if self._in_transaction:
            yield self.con
            return
        with self.connection() as con:
            try:
                con.execute("BEGIN TRANSACTION")
            except duckdb.Error as exc:
                raise ExternalError("starting a transaction", exc) from exc
            self._in_transaction = True
            try:
                yield con
            except BaseException:
                # after a fatal error (e.g. a failed write) DuckDB may refuse the rollback
                # too; the first error is the one to report
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            finally:
                self._in_transaction = False
            try:
                con.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                if _write_failed(exc):
                    raise StoreError(
                        f"could not write the database {self.path}: {_first_line(exc)}. Is "
                        "the disk full? Nothing was committed: the database is as it was "
                        "before; free space and run again",
                        self.path,
                    ) from exc
                raise ExternalError("committing a transaction", exc) from exc

    def interrupt(self) -> None:
        """Stop the query running on this store's connection (from another thread): it
        raises, and its transaction rolls back."""
        if self._con is not None:
            self._con.interrupt()

    def forget(self, *source_ids: int) -> dict[int, dict[str, int]]:
        """Remove sources and every row they loaded, in one transaction; return, per source,
        the rows removed per table. Unknown ids are a StoreError (nothing is removed)."""
        if self.read_only:
            raise StoreError(f"the store {self.path} is read-only: open it writable to forget")
        with self.transaction() as con:
            known = {
                int(r[0])
                for r in con.execute(
                    "SELECT source_id FROM sources WHERE list_contains(?, source_id)",
                    [[int(i) for i in source_ids]],
                ).fetchall()
            }
            unknown = [i for i in source_ids if int(i) not in known]
            if unknown:
                ids = [int(r[0]) for r in con.execute("SELECT source_id FROM sources").fetchall()]
                listed = ", ".join(map(str, ids[-20:])) or "none"
                raise StoreError(
                    f"no source {', '.join(map(str, unknown))} in {self.path} (sources: "
                    f"{listed}); `spotlab sources` lists them",
                    self.path,
                )
            with wrap_errors(f"forgetting sources {', '.join(map(str, source_ids))}"):
                return delete_sources(con, list(source_ids))


@contextmanager
def snapshot(
    path: str | os.PathLike[str] | None = None, wait_seconds: float = NOTEBOOK_WAIT_SECONDS
) -> Iterator[Path]:
    """A private copy of a database file, removed when the block ends: whatever reads the
    copy (a report, and the notebooks it runs in other processes) sees one state, however
    many ingests commit meanwhile. The copy is taken while this process holds the file
    read-only, so no writer can be half-way through it; that takes as long as copying the
    file, after which writers are free again.

    >>> with snapshot("spotlab.duckdb") as copy:  # doctest: +SKIP
    ...     store = Store(copy, read_only=True)
    """
    src = Path(resolve_path(path))
    if str(src) == ":memory:":
        raise StoreError("a snapshot needs a database file, not :memory:", str(src))
    folder = Path(tempfile.mkdtemp(prefix="spotlab-snapshot-"))
    copy = folder / src.name
    try:
        with Store(src, read_only=True, wait_seconds=wait_seconds):
            shutil.copyfile(src, copy)
            wal = Path(str(src) + ".wal")  # commits not yet checkpointed into the file
            if wal.exists():
                shutil.copyfile(wal, Path(str(copy) + ".wal"))
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def interrupt_on_sigint(store: Store) -> Iterator[None]:
    """While the block runs in the main thread, Ctrl-C also stops the DuckDB statement that
    is running (DuckDB does not look at signals itself, so a long load would only stop when
    it ended): a watcher thread woken by the signal calls :meth:`Store.interrupt`. The
    command line uses it around an ingest; a library call leaves signals alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            got = os.read(read_fd, 64)
            if not got:
                return
            if signal.SIGINT in got and not done.is_set():
                store.interrupt()

    watcher = threading.Thread(target=watch, name="spotlab-sigint", daemon=True)
    watcher.start()
    try:
        yield
    except RuntimeError as exc:
        # what an interrupted DuckDB statement raises where spotlab did not wrap the call
        if str(exc).strip().lower() == "query interrupted":
            raise KeyboardInterrupt from exc
        raise
    finally:
        done.set()
        signal.set_wakeup_fd(previous)
        os.write(write_fd, b"\0")  # wake the watcher so that it ends
        watcher.join(timeout=5)
        os.close(write_fd)
        os.close(read_fd)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _write_failed(exc: BaseException) -> bool:
    """Whether a DuckDB error is a failed write of the database (a full disk, a file size
    limit), not a problem of the input."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.Error) and (
        isinstance(exc, duckdb.FatalException)
        or any(
            w in text
            for w in ("no space left", "file too large", "could not write", "disk is full",
                      "failed to write", "could not truncate", "could not fsync")
        )
    )  # fmt: skip
