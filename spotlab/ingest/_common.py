"""Helpers shared by the readers: loading JSON and CSV with errors that name the file.

Every reader reads its bytes through :func:`read_bytes`, which checks them against the
SHA-256 the ingest recorded for the file (:func:`expect_digest`): a file replaced between
the hash and the read fails instead of loading rows of one version under the hash of
another. JSON must be UTF-8 and nested at most :data:`MAX_JSON_DEPTH` levels; a delimited
text file's header must fit in its first 64 KiB with at most :data:`MAX_COLUMNS` columns,
no NUL byte and none of spotlab's own column names (``_row``, ``_raw``, ``_reject``). A row
with fewer fields than the header (a truncated last line) is a reject; a row with more
fields is an error naming its line.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spotlab.errors import FormatError, IngestError, wrap_errors
from spotlab.ingest.reasons import reject

#: JSON nested deeper than this is refused (the feeds spotlab reads nest 6 levels at most;
#: Python's parser would otherwise fail with a RecursionError near 1,000)
MAX_JSON_DEPTH = 64
#: at most this many columns in a delimited text file (spotlab's formats have 12 at most)
MAX_COLUMNS = 1000
#: the header line must end within this many bytes
MAX_HEADER_BYTES = 64 * 1024
#: column names spotlab itself gives the rows it reads
RESERVED_COLUMNS = ("_row", "_raw", "_reject")

_BOM = b"\xef\xbb\xbf"
_EXPECTED: contextvars.ContextVar[tuple[Path, str] | None] = contextvars.ContextVar(
    "spotlab_expected_digest", default=None
)


@contextlib.contextmanager
def expect_digest(path: Path, digest: str) -> Iterator[None]:
    """While the block runs, :func:`read_bytes` of ``path`` checks that the bytes it reads
    have this SHA-256 (the one the ingest records for the file)."""
    token = _EXPECTED.set((path, digest))
    try:
        yield
    finally:
        _EXPECTED.reset(token)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in .gz or .zst (and checked against the
    digest the ingest expects, see :func:`expect_digest`)."""
    name = path.name.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read the file: {exc}", path=path) from exc
    expected = _EXPECTED.get()
    if (
        expected is not None
        and expected[0] == path
        and hashlib.sha256(data).hexdigest() != expected[1]
    ):
        raise IngestError(
            "the file changed while it was being read (its bytes no longer match the "
            "SHA-256 taken at the start): nothing was loaded; ingest it again once it is "
            "complete",
            path=path,
        )
    try:
        if name.endswith(".gz"):
            return gzip.decompress(data)
        if name.endswith(".zst"):
            return _unzstd(data)
        return data
    except Exception as exc:  # gzip.BadGzipFile, EOFError, zstandard.ZstdError
        raise FormatError(
            f"cannot decompress the file ({type(exc).__name__}: {exc}); is it truncated?",
            path=path,
        ) from exc


def _unzstd(data: bytes) -> bytes:
    """Every zstd frame of ``data``; EOFError when the last frame is cut short (a truncated
    download decompresses silently to a prefix otherwise)."""
    import zstandard

    out = []
    while data:
        d = zstandard.ZstdDecompressor().decompressobj()
        out.append(d.decompress(data))
        if not d.eof:
            raise EOFError("the zstd data ends inside a frame")
        data = d.unused_data
    return b"".join(out)


def load_json(path: Path) -> Any:
    """Parse a JSON document, or JSON lines (one object per line) when that fails.

    The bytes must be UTF-8 (a BOM is allowed); numbers too long for Python (over 4,300
    digits) and nesting deeper than :data:`MAX_JSON_DEPTH` are FormatErrors."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}); JSON "
            "must be UTF-8: convert the file (e.g. iconv -f latin1 -t utf-8)",
            path=path,
        ) from exc
    if not text.strip():
        raise FormatError("the file is empty", path=path, expected="JSON")
    try:
        doc = _parse(text, path)
    except json.JSONDecodeError as exc:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{"):
            try:
                doc = [_parse(ln, path) for ln in lines]
            except json.JSONDecodeError:
                pass
            else:
                check_depth(doc, path)
                return doc
        raise FormatError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "the file may be truncated: fetch it again",
            path=path,
        ) from exc
    check_depth(doc, path)
    return doc


def _parse(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise FormatError(
            f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels): not a feed spotlab reads",
            path=path,
        ) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise FormatError(f"cannot read a JSON value: {exc}", path=path) from None


def check_depth(doc: Any, path: Path, limit: int = MAX_JSON_DEPTH) -> None:
    """A FormatError naming the JSON path when ``doc`` nests deeper than ``limit`` levels
    (walked without recursion; scalars are not visited one by one)."""
    stack: list[tuple[Any, int, str]] = [(doc, 1, "$")]
    while stack:
        node, depth, where = stack.pop()
        if depth > limit:
            raise FormatError(
                f"JSON nested more than {limit} levels deep at {where}: not a feed spotlab reads",
                path=path,
            )
        if isinstance(node, dict):
            stack.extend(
                (v, depth + 1, f"{where}.{k}")
                for k, v in node.items()
                if isinstance(v, dict | list)
            )
        elif isinstance(node, list):
            stack.extend(
                (v, depth + 1, f"{where}[{i}]")
                for i, v in enumerate(node)
                if isinstance(v, dict | list)
            )


def expect(obj: Any, key: str, jpath: str, path: Path, kind: type | tuple[type, ...]) -> Any:
    """``obj[key]``, checked to be of ``kind``; a FormatError naming the JSON path if not."""
    if not isinstance(obj, Mapping):
        raise FormatError(
            f"expected an object at {jpath}", path=path, expected="object",
            found=type(obj).__name__,
        )  # fmt: skip
    if key not in obj:
        from spotlab.errors import did_you_mean

        hint = did_you_mean(key, [str(k) for k in obj])
        raise FormatError(
            f"missing key {jpath}.{key}.{hint}", path=path, expected=key,
            found=", ".join(map(str, list(obj)[:12])),
        )  # fmt: skip
    value = obj[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise FormatError(
            f"wrong type at {jpath}.{key}", path=path, expected=names, found=type(value).__name__
        )
    return value


def json_text(v: Any) -> str | None:
    """A JSON value as text: None stays None, numbers keep their digits, objects as JSON."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def records_frame(
    records: Sequence[Any],
    columns: Mapping[str, str | None],
    constants: Mapping[str, Any] | None = None,
    first_row: int = 1,
    label: str = "item",
) -> pl.DataFrame:
    """Canonical rows (all text) from a list of JSON objects.

    ``columns`` maps canonical column → key in each object (None: always null);
    ``constants`` adds fixed columns. Items that are not objects are rejected with a reason.
    ``_raw`` keeps each item's JSON text; ``_row`` counts items from ``first_row``.
    """
    objs = [r if isinstance(r, Mapping) else {} for r in records]
    data: dict[str, list[str | None]] = {
        col: [json_text(o.get(key)) for o in objs] if key else [None] * len(objs)
        for col, key in columns.items()
    }
    frame = pl.DataFrame(data, schema={c: pl.String for c in data})
    for col, value in (constants or {}).items():
        frame = frame.with_columns(pl.lit(value, pl.String).alias(col))
    rejects = [
        None if isinstance(r, Mapping) else reject("not_an_object", f"{label} is not a JSON object")
        for r in records
    ]
    return frame.with_columns(
        pl.Series("_row", range(first_row, first_row + len(records)), dtype=pl.Int64),
        pl.Series("_raw", [json.dumps(r, ensure_ascii=False) for r in records], dtype=pl.String),
        pl.Series("_reject", rejects, dtype=pl.String),
    )


def header_fields(head: bytes, path: Path, separator: str = ",") -> list[str]:
    """The fields of a delimited text file's first line, checked: it ends within
    :data:`MAX_HEADER_BYTES`, holds no NUL byte and at most :data:`MAX_COLUMNS` fields."""
    head = head.removeprefix(_BOM)
    ends = [i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0]
    end = min(ends) if ends else -1
    if end < 0 and len(head) >= MAX_HEADER_BYTES:
        raise FormatError(
            f"the first line is longer than {MAX_HEADER_BYTES // 1024} KiB: not a header "
            f"spotlab reads (at most {MAX_COLUMNS} columns)",
            path=path,
        )
    line = head if end < 0 else head[:end]
    nul = line.find(b"\x00")
    if nul >= 0:
        raise FormatError(
            f"a NUL byte in the header (byte {nul + 1} of line 1): is this a binary file, or "
            "text in UTF-16?",
            path=path,
        )
    text = line.decode("utf-8", "replace").rstrip("\r")
    fields = next(csv.reader([text], delimiter=separator), [])
    if len(fields) > MAX_COLUMNS:
        raise FormatError(
            f"the header has {len(fields):,} columns; spotlab reads at most {MAX_COLUMNS:,}",
            path=path,
        )
    return fields


def sniff_header(head: bytes, separator: str = ",") -> set[str]:
    """Lower-cased column names of a delimited text's first line, for sniffing (a BOM and
    quotes stripped)."""
    line = head.removeprefix(_BOM).split(b"\n", 1)[0].decode("utf-8", "replace").lower()
    return {c.strip().strip('"') for c in line.rstrip("\r").split(separator)}


def check_reserved(columns: Sequence[str], path: Path) -> None:
    """A FormatError when a file's column is named like one spotlab adds to its rows."""
    taken = [c for c in columns if c in RESERVED_COLUMNS]
    if taken:
        raise FormatError(
            f"column name(s) {', '.join(map(repr, taken))} are reserved for spotlab's own "
            "use (row numbers, raw text, reasons): rename the column in the file",
            path=path,
        )


def field_counts(data: bytes, separator: str, universal: bool = False) -> list[int]:
    """Fields in each record of a delimited text (0 for a blank line), as polars splits it:
    by lines when the text holds no quote, else by the csv module's records.
    ``universal``: a lone carriage return ends a line too (as DuckDB reads it)."""
    if not data:
        return []
    if b'"' not in data and not universal and len(separator.encode()) == 1:
        # vectorised: the separators between two line ends, by binary search
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        if not data.endswith(b"\n"):
            ends = np.append(ends, arr.size)
        starts = np.concatenate(([0], ends[:-1] + 1))
        seps = np.flatnonzero(arr == separator.encode()[0])
        fields = np.searchsorted(seps, ends) - np.searchsorted(seps, starts) + 1
        width = ends - starts
        first = arr[np.minimum(starts, arr.size - 1)]
        blank = (width == 0) | ((width == 1) & (first == 13))
        return [int(n) for n in np.where(blank, 0, fields).tolist()]
    if b'"' not in data:
        lines = data.splitlines() if universal else data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        sep = separator.encode()
        return [ln.count(sep) + 1 if ln.strip(b"\r") else 0 for ln in lines]
    text = data.decode("utf-8", "replace")
    return [len(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=separator)]


def read_text_table(
    path: Path,
    separator: str = ",",
    has_header: bool = True,
    new_columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """A CSV/TSV (optionally compressed) as all-text columns with ``_row`` = line number and
    ``_reject`` set for rows with fewer fields than the header (a truncated line). A row
    with more fields than the header fails the file, naming its line."""
    data = read_bytes(path).removeprefix(_BOM)
    if not data.strip():
        raise FormatError("the file is empty", path=path, expected="a header and rows")
    header = header_fields(data[:MAX_HEADER_BYTES], path, separator)
    if has_header:
        check_reserved(header, path)
    width = len(new_columns) if new_columns else len(header)
    offset = 2 if has_header else 1
    try:
        with wrap_errors("reading a delimited text file", path=path):
            frame = pl.read_csv(
                io.BytesIO(data),
                separator=separator,
                has_header=has_header,
                new_columns=list(new_columns) if new_columns else None,
                infer_schema=False,
                truncate_ragged_lines=False,
            )
    except FormatError:
        # polars says only that some row is too long: name it
        body = field_counts(data, separator)[offset - 1 :]
        for i, n in enumerate(body):
            if n > width:
                raise FormatError(
                    f"line {i + offset} has {n} fields, the "
                    f"{'header' if has_header else 'file'} has {width}: quote a value that "
                    "holds the separator, or fix the line",
                    path=path,
                    row=i + offset,
                ) from None
        raise
    short = _short_rows(data, frame, separator, width, offset - 1)
    return frame.with_row_index("_row", offset=offset).with_columns(
        pl.col("_row").cast(pl.Int64), pl.Series("_reject", short, dtype=pl.String)
    )


def _short_rows(
    data: bytes, frame: pl.DataFrame, separator: str, width: int, skip: int
) -> list[str | None]:
    """A ``row_truncated`` reject for each row with fewer fields than ``width`` (polars
    pads them with nulls). Only rows whose last column is null can be short, so only their
    lines are counted (a clean file costs one scan of a column)."""
    none: list[str | None] = [None] * frame.height
    if frame.width == 0:
        return none
    idx = frame.select(pl.arg_where(pl.col(frame.columns[-1]).is_null())).to_series().to_list()
    if not idx:
        return none
    if b'"' in data:  # records may span lines: count the csv module's records
        body = field_counts(data, separator)[skip:]
        if len(body) != frame.height:
            return none
        counts = {i: body[i] for i in idx}
    else:
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10).tolist()
        sep = separator.encode()
        counts = {}
        for i in idx:
            k = i + skip
            start = ends[k - 1] + 1 if k > 0 else 0
            line = data[start : ends[k] if k < len(ends) else len(data)]
            counts[i] = line.count(sep) + 1 if line.strip(b"\r") else 0
    for i, n in counts.items():
        if 0 < n < width:
            none[i] = reject(
                "row_truncated", f"the row has {n} of {width} fields: is the line cut short?"
            )
    return none


def rename_columns(
    frame: pl.DataFrame, mapping: Mapping[str, str] | None, path: Path
) -> pl.DataFrame:
    """Apply a user's column mapping (source name → canonical name)."""
    if not mapping:
        return frame
    unknown = [s for s in mapping if s not in frame.columns]
    if unknown:
        from spotlab.errors import did_you_mean

        hints = " ".join(did_you_mean(u, frame.columns) for u in unknown)
        raise FormatError(
            f"--map names column(s) not in the file: {', '.join(unknown)}.{hints}",
            path=path,
            found=", ".join(c for c in frame.columns if not c.startswith("_")),
        )
    return frame.rename(dict(mapping))


def paged_records(
    doc: Any,
    path: Path,
    keys: Sequence[str],
    columns: Mapping[str, str | None],
    constants: Mapping[str, Any],
    expected: str,
    page_constants: Callable[[Any], Mapping[str, Any]] | None = None,
) -> tuple[pl.DataFrame, list[Any]]:
    """Canonical rows from an API response, or a JSON array of response pages.

    ``keys`` lead from a page to its list of items (``["SpotPrices", "SpotPriceType"]``);
    a missing or mistyped key is a FormatError naming its JSON path. ``page_constants``
    adds columns taken from each page's envelope (e.g. its currency). Items are numbered
    across pages. Returns the rows and the pages.
    """
    pages = doc if isinstance(doc, list) else [doc]
    if not pages:
        raise FormatError("the JSON array holds no responses", path=path, expected=expected)
    frames, row = [], 1
    for i, page in enumerate(pages):
        where = f"$[{i}]" if isinstance(doc, list) else "$"
        node = page
        for j, key in enumerate(keys):
            node = expect(node, key, where, path, list if j == len(keys) - 1 else dict)
            where = f"{where}.{key}"
        extra = dict(page_constants(page)) if page_constants is not None else {}
        frames.append(
            records_frame(
                node,
                columns,
                constants={**constants, **extra},
                first_row=row,
                label=f"{where} item",
            )
        )
        row += len(node)
    return pl.concat(frames, how="vertical"), pages
