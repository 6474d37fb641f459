"""The ingestion framework: readers turn files into canonical rows; targets validate and load.

A *reader* (one module per input format under ``spotlab/ingest/``) knows one file format:
it sniffs a file and turns it into batches of canonical rows (a polars frame with string or
typed columns, plus ``_row``, the 1-based row number in the file, and optionally ``_raw``,
the input text of that row, and ``_reject``, a reason the reader already found). A reader of
large tabular files (canonical CSV/Parquet) instead gives a DuckDB SELECT over the file
(``Staged.relation``): DuckDB then reads it in parallel, rows numbered by their position in
an ordered load, and no row passes through Python.

A *target* (one per table) validates those rows in DuckDB, vectorised: every row gets either
no reason (it is loaded or is a duplicate of a key already there) or the first reason it
fails. Rows are staged (validated into a temporary table, then inserted), except that a
``Staged.relation`` goes straight into its table when it can (:func:`_direct_load`), the
staged path being its fallback. Each file is loaded in one transaction and recorded in
``sources`` with ``rows_read = rows_loaded + rows_duplicate + rows_rejected``; rejected rows
go to ``rejects`` with their reason code, message and raw text (:mod:`spotlab.ingest.
reasons`). A row whose key is taken is a duplicate only when it agrees with the row holding
the key, else a conflict (:mod:`spotlab.ingest.conflicts`). A file-level problem raises
:class:`FormatError` or :class:`IngestError` and leaves the database as it was.

Readers and targets declare their options (:mod:`spotlab.ingest.options`), checked before
any file is read. The same bytes with the same format and options are the same ingest
(skipped); ``reload=True`` forgets a file's earlier loads first, in the same transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl

from spotlab.errors import FormatError, IngestError, SpotlabError, wrap_errors
from spotlab.ingest import conflicts
from spotlab.ingest import reasons as rsn
from spotlab.ingest._common import expect_digest
from spotlab.ingest.options import Option, normalized_options, resolve_options
from spotlab.store import Store, delete_sources, first_row, scalar

# -- readers -------------------------------------------------------------------------------


@dataclass
class Staged:
    """What a reader returns: batches of canonical rows for one target kind."""

    kind: str
    batches: Iterable[pl.DataFrame] = ()
    #: extra frames for other targets, loaded in the same transaction (e.g. catalog updates)
    side: dict[str, pl.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: instead of (or besides) batches: a DuckDB SELECT over the file itself (``read_csv``,
    #: ``read_parquet``) yielding the reader's columns and ``_row``. DuckDB then reads the
    #: file in parallel and the rows never pass through Python (large files).
    relation: str | None = None
    #: set when ``relation`` has no ``_row``: its rows, in order, are numbered from this
    #: (DuckDB keeps a file's order in an ordered load; ``row_number()`` would not be
    #: parallel, so it is used only when the rows must meet a lookup join)
    row_base: int | None = None
    #: the file is plain text with a header line and at most one row per line after it
    #: (a quoted value may span lines, a blank line holds no row): lines - 1 bounds the
    #: number of rows, and a load of that many rows has loaded every row
    one_row_per_line: bool = False


class Reader(Protocol):
    name: str
    kind: str
    #: one line for people: what in a file's name or first bytes picks this reader
    sniff_rule: str
    #: lower sorts first when a folder is ingested (catalogs before the prices that use them)
    priority: int

    @property
    def options(self) -> tuple[Option, ...]:
        """The options ``read`` takes (``-o KEY=VALUE``), checked before any file is read."""
        ...

    def sniff(self, path: Path, head: bytes) -> bool: ...

    # each reader's read takes its declared options as keywords
    def read(self, path: Path, *args: Any, **options: Any) -> Staged: ...


READERS: dict[str, Reader] = {}


def register(reader: Reader) -> Reader:
    """Register a reader under its format name (module level, at import)."""
    READERS[reader.name] = reader
    return reader


HEAD_BYTES = 64 * 1024
_SKIP_SUFFIXES = {".md", ".txt", ".py", ".ipynb", ".rst", ".html"}


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file, decompressed when it is gzip or zstd."""
    name = path.name.lower()
    try:
        if name.endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as fh:
                return fh.read(n)
        if name.endswith(".zst"):
            import zstandard

            with path.open("rb") as raw:
                # decompressobj, not stream_reader: a truncated frame must not read as empty
                d = zstandard.ZstdDecompressor().decompressobj()
                out = b""
                while len(out) < n and not d.eof:
                    chunk = raw.read(1 << 16)
                    if not chunk and raw.tell() == 0:
                        return b""  # an empty file, said as such by the caller
                    if not chunk:
                        raise EOFError("the zstd data ends inside a frame; is it truncated?")
                    out += d.decompress(chunk)
                return out[:n]
        with path.open("rb") as fh:
            return fh.read(n)
    except (OSError, EOFError) as exc:
        raise FormatError(f"cannot read the file: {exc}", path=path) from exc
    except Exception as exc:  # zstandard.ZstdError and friends
        raise FormatError(f"cannot decompress the file: {exc}", path=path) from exc


def sniff_format(path: Path) -> Reader:
    """Pick the reader for a file from its name and first bytes."""
    # a UTF-8 byte order mark (Excel writes one) says nothing about the format
    head = read_head(path).removeprefix(b"\xef\xbb\xbf")
    if not head.strip():
        raise FormatError("the file is empty", path=path, expected="a price, spec or event file")
    for reader in sorted(READERS.values(), key=lambda r: r.priority):
        if reader.sniff(path, head):
            return reader
    raise FormatError(
        "unknown format: no reader recognises this file",
        path=path,
        expected="one of " + ", ".join(sorted(READERS)) + " (pass --format to choose)",
        found=repr(head[:120].decode("utf-8", "replace")),
    )


def get_reader(name: str) -> Reader:
    if name not in READERS:
        from spotlab.errors import did_you_mean

        raise FormatError(
            f"unknown format {name!r}.{did_you_mean(name, READERS)}",
            expected=", ".join(sorted(READERS)),
        )
    return READERS[name]


# -- targets -------------------------------------------------------------------------------

#: (condition SQL, reason code, message SQL)
Rules = Sequence[tuple[str, str, str]]


@dataclass(frozen=True)
class Target:
    """How rows of one kind are validated and loaded into one table.

    ``prepare`` gives SQL select items computed from the reader's columns (parsed values);
    ``outputs`` the table's columns (SQL over the input and prepared names); ``reasons``
    ordered (condition, code, message) triples, SQL except the code (see
    :mod:`spotlab.ingest.reasons`), or a function of the input schema giving them: a row
    takes the first reason whose condition holds. ``checks`` raise :class:`IngestError` for
    file-level problems on ``_stage``.

    A valid row whose key is already stored (or earlier in the file) is a duplicate when its
    ``values`` agree with that row's (columns both sides give: a NULL agrees with
    anything), and a *conflict* otherwise: a reject naming both values. By default
    ``values`` are the outputs that are not the key. In ``upsert`` mode a changed row
    replaces the stored one instead; repeats within a file still conflict.
    """

    kind: str
    table: str
    key: tuple[str, ...]
    prepare: Callable[[dict[str, pl.DataType]], list[str]]
    outputs: tuple[tuple[str, str], ...]
    reasons: Rules | Callable[[dict[str, pl.DataType]], Rules]
    required: tuple[str, ...] = ()
    #: columns a reader may leave out; they are added as NULL
    optional: tuple[str, ...] = ()
    mode: str = "insert"  # "insert": keep existing rows; "upsert": replace changed rows
    #: upsert mode: (SQL condition over the new row ``f`` and the stored row ``t``, columns)
    #: under which the stored row's ``columns`` survive a replacement (e.g. a measured
    #: price is never replaced by an estimate)
    keep_stored: tuple[str, tuple[str, ...]] | None = None
    #: file-level checks: called with (connection, file path, source_id) while the file's
    #: rows are the view ``_stage``
    checks: Callable[[duckdb.DuckDBPyConnection, str, int], None] | None = None
    before: Callable[[duckdb.DuckDBPyConnection], None] | None = None
    #: called with (connection, source_id) once the file's rows are in, in the same
    #: transaction (e.g. rows of another table kept in step); a note it returns is added to
    #: the result
    after: Callable[[duckdb.DuckDBPyConnection, int], str | None] | None = None
    #: a FROM-clause suffix (``LEFT JOIN (...) _c ON ...``) adding lookup columns to the
    #: reader's rows (relation ``_in``) for ``prepare``; prefix their names (``_c_...``)
    joins: Callable[[dict[str, pl.DataType]], str] | None = None
    #: the (name, SQL type) of the columns ``joins`` adds, and a SQL condition (over the
    #: reader's and prepared columns) true for rows whose result may depend on them. With
    #: both, a large file is validated first without the join (in parallel, in order) and
    #: only run through the join when some row needs it.
    lookup_columns: tuple[tuple[str, str], ...] = ()
    lookup_needed: str | None = None
    #: the output columns ``checks`` read from ``_stage`` (besides ``_reason``, ``_row``)
    check_columns: tuple[str, ...] = ()
    #: the columns compared for conflicts (None: every output but the key)
    values: tuple[str, ...] | None = None
    #: options of every reader of this kind, read by the rules as ``getvariable(name)``
    options: tuple[Option, ...] = ()

    def rules(self, schema: dict[str, pl.DataType]) -> Rules:
        return tuple(self.reasons(schema) if callable(self.reasons) else self.reasons)

    def value_columns(self) -> list[str]:
        if self.values is not None:
            return list(self.values)
        return [c for c, _ in self.outputs if c not in self.key and not c.startswith("_")]


TARGETS: dict[str, Target] = {}


def register_target(target: Target) -> Target:
    TARGETS[target.kind] = target
    return target


# -- results -------------------------------------------------------------------------------


@dataclass
class IngestResult:
    """What happened to one file. ``rows_read = rows_loaded + rows_duplicate + rows_rejected``;
    ``rows_conflict`` counts the rejects that are conflicts (see
    :mod:`spotlab.ingest.conflicts`). ``options``: the options it was loaded with (JSON,
    defaults left out); ``replaced``: the sources ``reload`` forgot first."""

    uri: str
    format: str
    kind: str
    source_id: int | None
    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    rows_rejected: int
    naive_timestamps: int = 0
    skipped_as_duplicate_file: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    rows_conflict: int = 0
    options: str = "{}"
    replaced: list[int] = field(default_factory=list)

    @property
    def summary(self) -> str | None:
        """``N of M rows rejected, see `spotlab rejects ID` `` when any row was."""
        if not self.rows_rejected:
            return None
        conflicts = (
            f" ({self.rows_conflict} of them conflicts: the key is stored, or earlier in the "
            "file, with another value)"
            if self.rows_conflict
            else ""
        )
        return (
            f"{self.uri}: {self.rows_rejected} of {self.rows_read} rows rejected{conflicts}, "
            f"see `spotlab rejects {self.source_id}`"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"summary": self.summary}


#: ``progress(uri, rows_done)``: called as batches load; 0 when a file starts loading in one
#: go (a large CSV or Parquet read by DuckDB), its rows then reported when done
ProgressFn = Callable[[str, int], None]


# -- the pipeline --------------------------------------------------------------------------


def check_regular(path: Path) -> None:
    """A FormatError unless ``path`` is a regular file (a FIFO would block the read for
    ever, a device such as /dev/zero never ends)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise FormatError(f"cannot read the file: {exc}", path=path) from exc
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file"
        )  # fmt: skip
        raise FormatError(
            f"{kind}: spotlab reads regular files only; save the data to a file first",
            path=path,
        )


def expand_paths(paths: Sequence[str | Path] | str | Path) -> list[Path]:
    """Files named, and the data files below folders named (sorted; docs skipped).

    A folder without data files, a path that does not exist and a path that is not a
    regular file (a FIFO, a device) are FormatErrors."""
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
                and f.suffix.lower() not in _SKIP_SUFFIXES
            )
            if not found:
                raise FormatError(
                    "the folder holds no data files (hidden files and "
                    f"{', '.join(sorted(_SKIP_SUFFIXES))} are skipped)",
                    path=p,
                    expected="price, spec or event files",
                )
            out.extend(found)
        elif p.exists() or p.is_symlink():
            check_regular(p)
            out.append(p)
        else:
            raise FormatError("no such file or folder", path=p)
    return out


def sha256_file(path: Path) -> str:
    return digest_file(path)[0]


def digest_file(path: Path) -> tuple[str, int | None]:
    """The file's SHA-256 and its number of lines (newlines, plus a last line without one),
    counted in the same read: a row count's upper bound for a one-row-per-line file. The
    count is None when a carriage return stands alone (a CSV reader may end lines there).

    The count runs in a worker thread while this one hashes (hashlib releases the GIL),
    so it costs next to nothing on a machine with two cores.
    """
    from concurrent.futures import ThreadPoolExecutor

    h = hashlib.sha256()
    newlines = returns = crlf = 0
    last = b""
    with path.open("rb") as fh, ThreadPoolExecutor(1) as pool:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            # the count holds the GIL, so it is the one in the worker: it runs while this
            # thread is inside update(), which lets the GIL go
            counted = pool.submit(chunk.count, b"\n")
            h.update(chunk)
            if b"\r" in chunk or last == b"\r":
                returns += chunk.count(b"\r")
                crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
            newlines += counted.result()
    lines = newlines + (1 if last not in (b"", b"\n") else 0)
    return h.hexdigest(), lines if returns == crlf else None


def reader_options(reader: Reader) -> tuple[Option, ...]:
    """The options a reader takes: its own and those of its target."""
    target = TARGETS.get(reader.kind)
    return (*reader.options, *(target.options if target is not None else ()))


def ingest(
    store: Store,
    paths: Sequence[str | Path] | str | Path,
    format: str | None = None,
    progress: ProgressFn | None = None,
    reload: bool = False,
    **options: Any,
) -> list[IngestResult]:
    """Load files into the store, each in one transaction; return one result per file.

    ``format`` forces a reader (see ``spotlab.ingest.READERS``); otherwise each file is
    sniffed. Folders are walked; their catalogs load before the prices that use them.
    ``options`` are the readers' options (``currency="USD"``, ``map={...}``), checked before
    any file is read: an option none of the chosen formats takes, or a bad value, is a
    FormatError. Re-ingesting the same bytes with the same format and options is a no-op
    reported as ``skipped_as_duplicate_file``; ``reload=True`` instead forgets the earlier
    loads of each file (same bytes or same path) and loads it again, in one transaction.

    When a file fails, the files loaded before it stay committed; the error's notes (and
    the CLI's message) list them.
    """
    if store.read_only:
        raise SpotlabError(f"the store {store.path} is read-only: open it writable to ingest")
    files = expand_paths(paths)
    chosen = [(f, get_reader(format) if format else sniff_format(f)) for f in files]
    chosen.sort(key=lambda fr: fr[1].priority)  # stable: keeps path order within a priority
    readers = {r.name: r for _, r in chosen}
    resolve_options(options, [(n, reader_options(r)) for n, r in sorted(readers.items())])
    results: list[IngestResult] = []
    for f, r in chosen:
        mine = {k: v for k, v in options.items() if k in {o.name for o in reader_options(r)}}
        try:
            results.append(ingest_file(store, f, r, progress=progress, reload=reload, **mine))
        except (SpotlabError, KeyboardInterrupt) as exc:
            if results:
                done = ", ".join(
                    f"{x.uri} (source {x.source_id})"
                    for x in results
                    if not x.skipped_as_duplicate_file
                )
                exc.add_note(
                    f"{f} was not loaded; the files before it stay loaded: {done}"
                    if done
                    else f"{f} was not loaded; the files before it were already loaded"
                )
            raise
    return results


def _file_state(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def ingest_file(
    store: Store,
    path: Path,
    reader: Reader,
    progress: ProgressFn | None = None,
    reload: bool = False,
    **options: Any,
) -> IngestResult:
    """Load one file with ``reader`` in one transaction (see :func:`ingest`)."""
    t0 = time.perf_counter()
    uri = str(path)
    check_regular(path)
    offered = reader_options(reader)
    typed = resolve_options(options, [(reader.name, offered)])[reader.name]
    key_options = normalized_options(typed, offered)
    before = _file_state(path)
    digest, lines = digest_file(path)
    if not reload:
        seen = first_row(
            store.con,
            "SELECT source_id FROM sources WHERE sha256 = ? AND format = ? AND options = ? "
            "ORDER BY source_id LIMIT 1",
            [digest, reader.name, key_options],
        )
        if seen is not None:
            return IngestResult(
                uri, reader.name, reader.kind, int(seen[0]), 0, 0, 0, 0,
                skipped_as_duplicate_file=True,
                seconds=time.perf_counter() - t0,
                notes=[
                    f"same bytes, format and options as source {seen[0]}: nothing to do "
                    "(--reload loads it again, e.g. after loading a catalog)"
                ],
                options=key_options,
            )  # fmt: skip
    own = {o.name for o in reader.options}
    with expect_digest(path, digest):
        staged = reader.read(path, **{k: v for k, v in typed.items() if k in own})
    target = _target(staged.kind, path)
    counts = dict(_EMPTY)
    ignored: dict[str, None] = {}
    replaced: list[int] = []
    settings = _relation_settings(store) if staged.relation else contextlib.nullcontext()
    with settings, store.transaction() as con, expect_digest(path, digest):
        if reload:
            replaced = forget_file(con, uri, digest)
        for opt in target.options:
            value = typed.get(opt.name, opt.default)
            con.execute(f"SET VARIABLE {opt.name} = {float(value)!r}")
        source_id = int(scalar(con, "SELECT nextval('source_id_seq')"))
        con.execute(
            "INSERT INTO sources (source_id, uri, sha256, format, kind, options, rows_read, "
            "rows_loaded, rows_duplicate, rows_rejected, rows_conflict, ingested_at, "
            "naive_timestamps) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, now(), 0)",
            [source_id, uri, digest, reader.name, staged.kind, key_options],
        )
        if target.before is not None:
            target.before(con)
        for side_kind, frame in staged.side.items():
            _load_batch(con, _target(side_kind, path), frame, source_id, path, side=True)
        if staged.relation is not None:
            if progress is not None:
                progress(uri, 0)  # DuckDB reads the whole file in one go: say it started
            got = _load_relation(
                con, target, staged.relation, source_id, path, row_base=staged.row_base,
                max_rows=lines - 1 if staged.one_row_per_line and lines else None,
            )  # fmt: skip
            for k, v in got.items():
                counts[k] += v
            if progress is not None:
                progress(uri, counts["read"])
        for batch in staged.batches:
            got = _load_batch(con, target, batch, source_id, path, ignored=ignored)
            for k, v in got.items():
                counts[k] += v
            if progress is not None:
                progress(uri, counts["read"])
        if counts["read"] == 0:
            raise FormatError(
                "the file holds no rows", path=path, expected=f"{reader.name} rows", found="none"
            )
        if _file_state(path) != before:
            raise IngestError(
                "the file changed while it was being read (its size, time or inode differ "
                "from when it was hashed): nothing was loaded; ingest it again once it is "
                "complete",
                path=path,
            )
        # the targets the file wrote (its side frames' too: a price quote updates the catalog)
        touched = {t.kind: t for t in [target, *(_target(k, path) for k in staged.side)]}
        after = [n for t in touched.values() if t.after is not None
                 if (n := t.after(con, source_id))]  # fmt: skip
        dup = counts["read"] - counts["loaded"] - counts["rejected"]
        con.execute(
            "UPDATE sources SET rows_read=?, rows_loaded=?, rows_duplicate=?, rows_rejected=?, "
            "rows_conflict=?, naive_timestamps=? WHERE source_id=?",
            [counts["read"], counts["loaded"], dup, counts["rejected"], counts["conflict"],
             counts["naive"], source_id],
        )  # fmt: skip
    notes = list(staged.notes)
    notes.extend(after)
    if ignored:
        notes.append(
            f"ignored columns (not {staged.kind} columns): {', '.join(ignored)}; rename one "
            "with --map SRC=DST to use it"
        )
    if counts["naive"]:
        notes.append(f"{counts['naive']} timestamps had no UTC offset and were taken as UTC")
    if replaced:
        notes.append(
            "reloaded: forgot the earlier load(s) of this file first: source(s) "
            + ", ".join(map(str, replaced))
        )
    return IngestResult(
        uri, reader.name, staged.kind, source_id, counts["read"], counts["loaded"], dup,
        counts["rejected"], counts["naive"], False, time.perf_counter() - t0, notes,
        rows_conflict=counts["conflict"], options=key_options, replaced=replaced,
    )  # fmt: skip


def forget_file(con: duckdb.DuckDBPyConnection, uri: str, digest: str) -> list[int]:
    """Delete every earlier load of a file (same SHA-256, or the same path) inside the
    caller's transaction; return their source ids."""
    paths = {uri, str(Path(uri).resolve())}
    ids = [
        int(r[0])
        for r in con.execute(
            "SELECT source_id FROM sources WHERE sha256 = ? OR list_contains(?, uri) "
            "ORDER BY source_id",
            [digest, sorted(paths)],
        ).fetchall()
    ]
    if ids:
        delete_sources(con, ids)
    return ids


def _target(kind: str, path: Path) -> Target:
    if kind not in TARGETS:
        raise IngestError(f"no table is defined for rows of kind {kind!r}", path=path)
    return TARGETS[kind]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def text_sql(col: str) -> str:
    """A column as trimmed text, empty strings as NULL: the form every target reads.

    Equal to ``nullif(trim(x), '')`` (trim strips spaces only), but a value with no space
    at either end is passed through uncopied: trimming every value costs several times more.
    """
    x = f"CAST({_quote(col)} AS VARCHAR)"
    return (
        f"CASE WHEN {x} = '' THEN NULL WHEN starts_with({x}, ' ') OR ends_with({x}, ' ') "
        f"THEN nullif(trim({x}), '') ELSE {x} END"
    )


#: the columns a reader may set besides its canonical ones (see the module docstring)
INTERNAL = ("_row", "_raw", "_reject")


def raw_sql(schema: dict[str, pl.DataType]) -> str:
    """SQL for a row's raw text: the reader's ``_raw``, else its own columns joined by
    commas (the optional columns spotlab added as empty, typed Null, left out)."""
    if "_raw" in schema:
        return "_raw"
    cols = [c for c in schema if c not in INTERNAL and schema[c] != pl.Null]
    parts = ", ".join(f"coalesce(CAST({_quote(c)} AS VARCHAR), '')" for c in cols)
    return f"concat_ws(',', {parts})" if parts else "''"


def build_stage_sql(
    target: Target,
    schema: dict[str, pl.DataType],
    *,
    without_lookup: bool = False,
    rows: str = "_in",
) -> str:
    """The SELECT that validates the reader's rows (relation ``_in``) for ``target``.

    ``without_lookup``: a pure projection (no join, so DuckDB keeps the input's order), the
    lookup columns NULL, ``_row`` NULL (the caller numbers rows by position) and ``_needs``
    telling which rows would need the lookup (``Target.lookup_needed``).
    """
    inputs = [c for c in schema if c not in INTERNAL]
    prepared = target.prepare(schema)
    reject_in = "_reject" if "_reject" in schema else "NULL::VARCHAR"
    whens = " ".join(
        f"WHEN {cond} THEN {rsn.reason_sql(code, msg)}" for cond, code, msg in target.rules(schema)
    )
    reason = f"CASE WHEN {reject_in} IS NOT NULL THEN {reject_in} {whens} END"
    raw = raw_sql(schema)
    outs = ", ".join(f"{expr} AS {_quote(col)}" for col, expr in target.outputs)
    prep = (", " + ", ".join(prepared)) if prepared else ""
    joins = f" {target.joins(schema)}" if target.joins is not None else ""
    row, needs, nulls = "_row", "", ""
    if without_lookup:
        joins, row = "", "NULL::BIGINT AS _row"
        needs = f", coalesce({target.lookup_needed or 'FALSE'}, FALSE) AS _needs"
        nulls = "".join(f", NULL::{t} AS {_quote(c)}" for c, t in target.lookup_columns)
    # Rules repeat text_sql(col) many times over three nested levels (outputs, reasons,
    # prepared values, joins), which DuckDB would compute at each: trim each column once
    # in a bottom layer and let the rules read that.
    body = f"{outs}\0{reason}\0{prep}\0{joins}\0{needs}"
    cleaned = []
    # Only text columns that every row needs (outputs, joins, the lookup test): a column
    # whose text appears only in a rule's rare branch (a cast that failed, a reject
    # message) stays inline, where DuckDB evaluates it for those rows alone.
    eager = f"{outs}\0{joins}\0{needs}"
    for c in (c for c in inputs if schema[c] == pl.String):
        expr = text_sql(c)
        if expr in eager:
            body = body.replace(expr, _quote(f"_t_{c}"))
            cleaned.append(f"{expr} AS {_quote(f'_t_{c}')}")
    outs, reason, prep, joins, needs = body.split("\0")
    added = ", ".join(cleaned) + nulls if cleaned else nulls.lstrip(", ")
    source = f"(SELECT *, {added} FROM {rows}) _in" if added else f"{rows} _in"
    return (
        f"SELECT {outs}, {row}, _reason, CASE WHEN _reason IS NOT NULL THEN {raw} END AS _raw"
        f"{needs} FROM (SELECT *, {reason} AS _reason FROM (SELECT *{prep} FROM {source}{joins}))"
    )


_EMPTY = {"read": 0, "loaded": 0, "rejected": 0, "naive": 0, "conflict": 0}


def _check_columns(target: Target, columns: Sequence[str], path: Path) -> None:
    missing = [c for c in target.required if c not in columns]
    if missing:
        from spotlab.errors import did_you_mean

        hints = " ".join(did_you_mean(m, columns).strip() for m in missing)
        raise FormatError(
            f"missing required column(s) {', '.join(missing)}. {hints}".strip(),
            path=path,
            expected=", ".join(target.required),
            found=", ".join(c for c in columns if not c.startswith("_")),
        )


def _polars_type(duckdb_type: str) -> pl.DataType:
    """The polars dtype standing for a DuckDB column type in ``Target.prepare``."""
    t = duckdb_type.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE"):
        return pl.Datetime("us", "UTC")
    if t.startswith("TIMESTAMP"):
        return pl.Datetime("us")
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return pl.Float64()
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return pl.Int64()
    if t == "BOOLEAN":
        return pl.Boolean()
    if t == "DATE":
        return pl.Date()
    return pl.String()


def _load_relation(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    relation: str,
    source_id: int,
    path: Path,
    row_base: int | None = None,
    max_rows: int | None = None,
) -> dict[str, int]:
    """Validate and load the rows of a DuckDB SELECT over the file (see ``Staged.relation``).

    ``max_rows``: an upper bound on the file's rows (see ``Staged.one_row_per_line``)."""
    with wrap_errors(f"reading {target.kind} rows", path=path):
        described = con.execute(f"DESCRIBE {relation}").fetchall()
    schema = {str(r[0]): _polars_type(str(r[1])) for r in described}
    _check_columns(target, list(schema), path)
    absent = [c for c in target.optional if c not in schema]
    if absent:
        nulls = ", ".join(f"NULL::VARCHAR AS {_quote(c)}" for c in absent)
        relation = f"SELECT *, {nulls} FROM ({relation})"
        # typed Null in the schema: the rules read them as empty text, and a reject's raw
        # text leaves them out (it holds the file's own columns)
        schema |= {c: pl.Null() for c in absent}
    try:
        if row_base is not None:
            with wrap_errors(f"reading {target.kind} rows", path=path):
                con.execute(f"CREATE OR REPLACE TEMP VIEW _in_raw AS {relation}")
                con.execute("CREATE OR REPLACE TEMP VIEW _in AS SELECT * FROM _in_raw")
            if target.joins is None or target.lookup_needed is not None:
                if target.mode == "insert":
                    # Fastest: straight into the table, kept when the file is clean
                    got = _direct_load(con, target, schema, source_id, path, row_base, max_rows)
                    if got is not None:
                        return got
                # Fast path: validate in one ordered, parallel pass without the lookup join;
                # a row's number is its position. Kept unless some row needs the lookup.
                got = _stage_and_load(con, target, schema, source_id, path, row_base=row_base)
                if got is not None:
                    return got
            relation = f"SELECT row_number() OVER () + {int(row_base) - 1} AS _row, * FROM _in_raw"
            schema = {"_row": pl.Int64(), **schema}
        with wrap_errors(f"reading {target.kind} rows", path=path):
            con.execute(f"CREATE OR REPLACE TEMP VIEW _in AS {relation}")
        loaded = _stage_and_load(con, target, schema, source_id, path)
        assert loaded is not None
        return loaded
    finally:
        for view in ("_in", "_in_raw"):
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP VIEW IF EXISTS {view}")


#: how many of a file's first rows tell whether its times are expected to carry offsets
NAIVE_SAMPLE = 2048


def _direct_load(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    schema: dict[str, pl.DataType],
    source_id: int,
    path: Path,
    row_base: int,
    max_rows: int | None = None,
) -> dict[str, int] | None:
    """Load a file (relation ``_in``) straight into the target table, or change nothing
    and return None so that the caller stages it.

    Validating into a staging table and copying that into the table writes every row
    twice. Here the valid rows go straight in (in parallel, unordered). Whether that was
    every row is known without another pass when ``max_rows`` (the file's lines after the
    header) equals the rows inserted: the usual case. Otherwise one narrow, ordered pass
    (``_flags``: each row's reason, raw text and flags, by position) counts the rows and
    gives the rejects their line numbers; the rows left out that are not rejects are keys
    already stored (duplicates of earlier sources). Repeats of a key within the file are
    kept once when they are identical rows.

    Undone, for the staged path: rows that need the catalog lookup (seen in the first
    rows, nothing is tried), repeats of a key that differ (the first in the file must win,
    and this insert has no order), rows left out as stored keys whose values differ from
    the stored ones (conflicts: the staged path records them with their raw text) and a
    failed file-level check (the staged path names the row).

    Times without a UTC offset are counted, so when the first rows have none such rows are
    held out of the first insert (counting them would cost a pass) and added by a second
    one if the file has some after all.
    """
    sql = build_stage_sql(target, schema, without_lookup=True)
    head = build_stage_sql(
        target, schema, without_lookup=True, rows=f"(SELECT * FROM _in LIMIT {NAIVE_SAMPLE})"
    )
    has_naive = _has_naive(target)
    naive = "count(*) FILTER (WHERE _naive)" if has_naive else "0"
    with wrap_errors(f"loading {target.kind} rows", path=path):
        needs, head_naive = first_row(
            con, f"SELECT count(*) FILTER (WHERE _needs), {naive} FROM ({head})"
        ) or (0, 0)
    if needs:
        return None  # the catalog lookup: the staged path joins it
    hold_naive = has_naive and not head_naive
    cols = [c for c in _table_columns(con, target.table) if c != "source_id"]
    collist = ", ".join(_quote(c) for c in [*cols, "source_id"])
    sel = ", ".join(f"s.{_quote(c)}" for c in cols)
    # one condition, not two: DuckDB would push the second below the validation and
    # compute its inputs twice
    ok = "coalesce(s._reason, CASE WHEN s._needs THEN 'lookup' END) IS NULL"
    stored = bool(scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {target.table} LIMIT 1)"))
    if stored:
        # keys stored by other sources (a second insert below must not see the first's)
        match = _match("t", "s", target.key)
        ok += (
            f" AND NOT EXISTS (SELECT 1 FROM {target.table} t WHERE {match} "
            f"AND t.source_id <> {int(source_id)})"
        )
    mine = f"{target.table} WHERE source_id = {int(source_id)}"

    def insert(where: str) -> int:
        return int(
            scalar(
                con,
                f"INSERT INTO {target.table} ({collist}) SELECT {sel}, {int(source_id)} "
                f"FROM ({sql}) s WHERE {where}",
            )
            or 0
        )

    def undo() -> None:
        con.execute(f"DELETE FROM {mine}")
        con.execute("DELETE FROM rejects WHERE source_id = ?", [source_id])
        con.execute("DROP TABLE IF EXISTS _flags")
        con.execute("SET preserve_insertion_order = true")  # the staged path numbers rows

    with wrap_errors(f"loading {target.kind} rows", path=path):
        # unordered: rows are numbered, when needed, by the ordered _flags pass
        con.execute("SET preserve_insertion_order = false")
        inserted = insert(f"{ok} AND NOT s._naive" if hold_naive else ok)
        read, rejected, n_naive, numbered = inserted, 0, 0, ""
        if not (inserted and inserted == max_rows and (hold_naive or not has_naive)):
            con.execute("SET preserve_insertion_order = true")
            # narrow unless rows may have been left out as stored keys: then the checks
            # read their columns here rather than in two more passes over the file
            flagged = ["_reason", "_raw", "_needs", *(["_naive"] if has_naive else [])]
            if stored:
                # and the columns of the conflict test (and of the checks): rows left out
                # as stored keys must agree with the stored rows
                wide = [*target.key, *target.value_columns()]
                if target.checks is not None:
                    wide += target.check_columns
                flagged += [_quote(c) for c in dict.fromkeys(wide)]
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _flags AS SELECT {', '.join(flagged)} FROM ({sql})"
            )
            con.execute("SET preserve_insertion_order = false")
            row = first_row(
                con,
                "SELECT count(*), count(_reason), count(*) FILTER (WHERE _needs), "
                f"{naive}, coalesce(min(rowid), 0) FROM _flags",
            )
            read, rejected, needs, n_naive, first = (int(v or 0) for v in row or (0,) * 5)
            numbered = f"rowid - {first} + {int(row_base)}"
            if needs:
                undo()
                return None
            if rejected:
                _record_rejects(con, source_id, numbered, "_flags")
            if hold_naive and n_naive:
                inserted += insert(f"{ok} AND s._naive")
            if (
                stored
                and inserted + rejected < read
                and conflicts.stored_conflict(
                    con, target.key, target.value_columns(), target.table,
                    "SELECT * FROM _flags", source_id,
                )
            ):  # fmt: skip
                undo()  # the staged path records the conflicts with their raw text
                return None
        repeated = _drop_identical_repeats(con, mine, target.key, cols)
        if repeated is None:
            undo()
            return None
        if target.checks is not None:
            # the checks see every valid row of the file: the inserted ones, or, when some
            # were left out as stored keys (they may clash with the store), _flags's
            if inserted + rejected == read:
                rows = f"SELECT *, NULL::VARCHAR AS _reason, NULL::BIGINT AS _row FROM {mine}"
            elif not stored:  # cannot happen: only stored keys are left out unrecorded
                undo()
                return None
            else:
                rows = f"SELECT *, {numbered} AS _row FROM _flags"
            con.execute(f"CREATE OR REPLACE TEMP VIEW _stage AS {rows}")
            try:
                target.checks(con, str(path), source_id)
            except IngestError:
                # the staged path raises it again, naming the row
                con.execute("DROP VIEW _stage")
                undo()
                return None
            con.execute("DROP VIEW _stage")
        con.execute("DROP TABLE IF EXISTS _flags")
    return {"read": read, "loaded": inserted - repeated, "rejected": rejected, "naive": n_naive,
            "conflict": 0}  # fmt: skip


def _drop_identical_repeats(
    con: duckdb.DuckDBPyConnection, rows: str, key: Sequence[str], cols: Sequence[str]
) -> int | None:
    """Delete all but one of each group of identical rows sharing a key among ``rows``
    (``TABLE WHERE ...``) and return how many went, or None, deleting nothing, when rows
    of one key differ (then which one is kept depends on the file's order).

    One hash aggregate over the rows finds candidate keys; only rows whose hash repeats
    are compared exactly."""
    keys = ", ".join(_quote(k) for k in key)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _cand AS SELECT hash({keys}) AS _h FROM {rows} "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    try:
        if not scalar(con, "SELECT count(*) FROM _cand"):
            return 0
        repeats = f"{rows} AND hash({keys}) IN (SELECT _h FROM _cand)"
        every = ", ".join(_quote(c) for c in cols)
        differing = scalar(
            con,
            f"SELECT count(*) FROM (SELECT 1 FROM {repeats} GROUP BY {keys} "
            f"HAVING count(DISTINCT ({every})) > 1)",
        )
        if differing:
            return None
        return int(
            scalar(
                con,
                f"DELETE FROM {repeats} AND rowid NOT IN "
                f"(SELECT min(rowid) FROM {repeats} GROUP BY {keys})",
            )
            or 0
        )
    finally:
        # after a failed statement the transaction is aborted and this fails too: let the
        # first error, the one naming the cause, surface
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE _cand")


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND table_schema = 'main' ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


#: DuckDB's memory cap while a file-backed store loads a file through ``Staged.relation``:
#: work beyond it spills to ``<db>.tmp``, so a 10 M-row file peaks under 1 GB RSS (direct
#: load) or near 1.3 GB (staged).
RELATION_MEMORY_LIMIT = "1GB"
_UNITS = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _bytes(setting: str) -> float:
    """``'18.8 GiB'`` or ``'1GB'`` as bytes (infinite when unreadable: leave it alone)."""
    import re

    m = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", setting)
    if not m or m.group(2).upper() not in _UNITS:
        return float("inf")
    return float(m.group(1)) * _UNITS[m.group(2).upper()]


@contextlib.contextmanager
def _relation_settings(store: Store) -> Iterator[None]:
    """Settings for a load through ``Staged.relation``, restored afterwards (settings are
    not transactional, so this wraps the transaction): insertion order kept, since the
    readers number rows with ``row_number() OVER ()``; memory capped for file stores."""
    con = store.con
    wanted = {"preserve_insertion_order": "true"}
    old = {k: str(scalar(con, "SELECT current_setting(?)", [k])) for k in wanted}
    if store.path != ":memory:":  # an in-memory store has nowhere to spill to
        limit = str(scalar(con, "SELECT current_setting('memory_limit')"))
        if _bytes(limit) > _bytes(RELATION_MEMORY_LIMIT):
            wanted["memory_limit"] = RELATION_MEMORY_LIMIT
            old["memory_limit"] = limit
    for k, v in wanted.items():
        con.execute(f"SET {k} = '{v}'")
    try:
        yield
    finally:
        for k, v in old.items():
            with contextlib.suppress(duckdb.Error):
                # DuckDB shows a limit rounded ("18.8 GiB"): RESET restores a default
                # exactly, and SET of the shown value is the best a non-default can get
                con.execute(f"RESET {k}")
                if str(scalar(con, "SELECT current_setting(?)", [k])) != v:
                    con.execute(f"SET {k} = '{v}'")


def _stage_and_load(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    schema: dict[str, pl.DataType],
    source_id: int,
    path: Path,
    side: bool = False,
    row_base: int | None = None,
) -> dict[str, int] | None:
    """Validate the rows of ``_in`` into ``_stage`` in one pass, record rejects and load.

    With ``row_base`` (``_in`` has no ``_row``), validate without the lookup join in an
    ordered load and number rows by position; return None, changing nothing, when some row
    would need the lookup (the caller then numbers the rows and joins).
    """
    ordered = row_base is not None
    sql = build_stage_sql(target, schema, without_lookup=True) if ordered else None
    sql = sql or build_stage_sql(target, schema)
    with wrap_errors(f"validating {target.kind} rows", path=path):
        # _stage is a view over the staged rows adding _rid, a unique id of each one (and
        # the row number by position on the ordered path, where the table keeps file order)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_t AS {sql}")
        if ordered:
            if scalar(con, "SELECT count(*) FROM (SELECT 1 FROM _stage_t WHERE _needs LIMIT 1)"):
                con.execute("DROP TABLE _stage_t")
                return None
            # row ids of a table made in this transaction start at DuckDB's local offset
            first = int(scalar(con, "SELECT coalesce(min(rowid), 0) FROM _stage_t"))
            # rows are numbered now: the rest of the load may run unordered (faster); the
            # caller's _relation_settings restores the setting
            con.execute("SET preserve_insertion_order = false")
            con.execute(
                "CREATE OR REPLACE TEMP VIEW _stage AS SELECT * EXCLUDE (_needs) "
                f"REPLACE (rowid - {first} + {int(row_base or 0)} AS _row), rowid AS _rid "
                "FROM _stage_t"
            )
        else:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW _stage AS SELECT *, rowid AS _rid FROM _stage_t"
            )
        if target.checks is not None:
            target.checks(con, str(path), source_id)
        naive = "count(*) FILTER (WHERE _naive)" if _has_naive(target) else "0"
        row = first_row(con, f"SELECT count(*), count(_reason), {naive} FROM _stage_t")
        read, with_reason, n_naive = (int(v or 0) for v in (row or (0, 0, 0)))
        rejected = 0
        if not side and with_reason:
            rejected = _record_rejects(con, source_id, "_row", "_stage")
        loaded, n_conf = _insert(con, target, source_id)
        if side:
            n_conf = 0  # a side table's rows are not the file's rows: nothing to account
        elif n_conf:
            conflicts.record(con, source_id, schema, row_base)
        con.execute("DROP TABLE _conf")
        con.execute("DROP VIEW _stage")
        con.execute("DROP TABLE _stage_t")
    return {"read": read, "loaded": loaded, "rejected": rejected + n_conf, "naive": n_naive,
            "conflict": n_conf}  # fmt: skip


def _record_rejects(con: duckdb.DuckDBPyConnection, source_id: int, row: str, rows: str) -> int:
    """Insert the rows of ``rows`` (a relation with ``_reason``, ``_raw``) that have a
    reason into ``rejects``, the code split from the message; return how many."""
    return int(
        scalar(
            con,
            "INSERT INTO rejects (source_id, row_number, reason_code, reason, raw) "
            f"SELECT ?, {row}, {rsn.code_sql('_reason')}, {rsn.message_sql('_reason')}, _raw "
            f"FROM {rows} WHERE _reason IS NOT NULL",
            [source_id],
        )
        or 0
    )


def _has_naive(target: Target) -> bool:
    return "_naive" in [c for c, _ in target.outputs]


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    target: Target,
    frame: pl.DataFrame,
    source_id: int,
    path: Path,
    side: bool = False,
    ignored: dict[str, None] | None = None,
) -> dict[str, int]:
    """Validate and load a reader's frame. Columns the target does not know are added to
    ``ignored`` (the caller notes them); they stay in a reject's raw text."""
    if frame.height == 0:
        return dict(_EMPTY)
    if "_row" not in frame.columns:
        frame = frame.with_row_index("_row", offset=1)
    _check_columns(target, frame.columns, path)
    known = {*target.required, *target.optional}
    extra = [c for c in frame.columns if c not in known and c not in INTERNAL]
    if ignored is not None:
        ignored.update(dict.fromkeys(extra))
    # a file's own column named like one the rules compute (_ts, _c_currency...) would be
    # ambiguous in the SQL: it is renamed (its values stay in the raw text)
    frame = frame.rename({c: f"__spotlab_file_column_{i}" for i, c in enumerate(extra)
                          if c.startswith("_")})  # fmt: skip
    absent = [c for c in target.optional if c not in frame.columns]
    if absent:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in absent)
    with wrap_errors(f"validating {target.kind} rows", path=path):
        con.register("_in", frame)
    try:
        got = _stage_and_load(con, target, dict(frame.schema), source_id, path, side)
        assert got is not None
        return got
    finally:
        # After a failed statement the transaction is aborted and unregister fails as
        # well; suppress that so the first error, the one naming the cause, surfaces.
        with contextlib.suppress(duckdb.Error):
            con.unregister("_in")


def _insert(con: duckdb.DuckDBPyConnection, target: Target, source_id: int) -> tuple[int, int]:
    """Insert the valid rows of ``_stage`` whose key is new, and return (rows inserted,
    conflicts); the conflicts are left in ``_conf`` (see :mod:`spotlab.ingest.conflicts`).

    Insert mode: the first row of each key in the file (by ``_row``), none whose key is
    stored. Upsert mode: rows identical to what is there are duplicates; changed rows
    replace the stored ones. Repeats of a key within the file are found by one hash
    aggregate (only rows whose hash repeats are ranked), so a clean file costs no sort.
    """
    cols = [c for c in _table_columns(con, target.table) if c != "source_id"]
    sel = ", ".join(f"s.{_quote(c)}" for c in cols)
    collist = ", ".join(_quote(c) for c in [*cols, "source_id"])
    upsert = target.mode == "upsert"
    stored = bool(scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM {target.table} LIMIT 1)"))
    n_conf = conflicts.find(
        con, target.key, target.value_columns(), target.table, stored=stored and not upsert
    )
    where = ["s._reason IS NULL"]
    if scalar(con, "SELECT count(*) FROM (SELECT 1 FROM _later LIMIT 1)"):
        where.append("s._rid NOT IN (SELECT _rid FROM _later)")
    if not upsert:
        if stored:
            match = _match("t", "s", target.key)
            where.append(f"NOT EXISTS (SELECT 1 FROM {target.table} t WHERE {match})")
        n = scalar(
            con,
            f"INSERT INTO {target.table} ({collist}) SELECT {sel}, {source_id} FROM _stage s "
            f"WHERE {' AND '.join(where)}",
        )
        con.execute("DROP TABLE _later")
        return int(n or 0), n_conf
    fresh = f"SELECT {sel}, {source_id} FROM _stage s WHERE {' AND '.join(where)}"
    same = _match("t", "s", cols)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _fresh AS SELECT * FROM ({fresh}) s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {target.table} t WHERE {same})"
    )
    if target.keep_stored is not None:
        cond, keep = target.keep_stored
        sets = ", ".join(f"{_quote(c)} = t.{_quote(c)}" for c in keep)
        con.execute(
            f"UPDATE _fresh f SET {sets} FROM {target.table} t "
            f"WHERE {_match('t', 'f', target.key)} AND ({cond})"
        )
        # a row that kept the stored values and changes nothing else is a duplicate
        con.execute(
            f"DELETE FROM _fresh f WHERE EXISTS (SELECT 1 FROM {target.table} t "
            f"WHERE {_match('t', 'f', cols)})"
        )
    con.execute(
        f"DELETE FROM {target.table} t WHERE EXISTS (SELECT 1 FROM _fresh f WHERE "
        f"{_match('t', 'f', target.key)})"
    )
    n = scalar(con, f"INSERT INTO {target.table} ({collist}) SELECT * FROM _fresh")
    con.execute("DROP TABLE _fresh")
    con.execute("DROP TABLE _later")
    return int(n or 0), n_conf


def _match(a: str, b: str, cols: Iterable[str]) -> str:
    return " AND ".join(f"{a}.{_quote(c)} IS NOT DISTINCT FROM {b}.{_quote(c)}" for c in cols)


def batched(frame: pl.DataFrame, size: int = 1_000_000) -> Iterator[pl.DataFrame]:
    """Slices of a frame, for readers that hold their whole file in memory."""
    for offset in range(0, max(frame.height, 1), size):
        yield frame.slice(offset, size)
