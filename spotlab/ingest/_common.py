"""Helpers shared by the readers: loading JSON and CSV with errors that name the file."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError, wrap_errors


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in .gz or .zst."""
    name = path.name.lower()
    try:
        data = path.read_bytes()
        if name.endswith(".gz"):
            return gzip.decompress(data)
        if name.endswith(".zst"):
            return _unzstd(data)
        return data
    except OSError as exc:
        raise FormatError(f"cannot read the file: {exc}", path=path) from exc
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
    """Parse a JSON document, or JSON lines (one object per line) when that fails."""
    data = read_bytes(path)
    text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise FormatError("the file is empty", path=path, expected="JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) > 1 and lines[0].lstrip().startswith("{"):
            try:
                return [json.loads(ln) for ln in lines]
            except json.JSONDecodeError:
                pass
        raise FormatError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "the file may be truncated: fetch it again",
            path=path,
        ) from exc


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
    reject = [None if isinstance(r, Mapping) else f"{label} is not a JSON object" for r in records]
    return frame.with_columns(
        pl.Series("_row", range(first_row, first_row + len(records)), dtype=pl.Int64),
        pl.Series("_raw", [json.dumps(r, ensure_ascii=False) for r in records], dtype=pl.String),
        pl.Series("_reject", reject, dtype=pl.String),
    )


def read_text_table(
    path: Path,
    separator: str = ",",
    has_header: bool = True,
    new_columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """A CSV/TSV (optionally compressed) as all-text columns with ``_row`` = line number."""
    data = read_bytes(path)
    if not data.strip():
        raise FormatError("the file is empty", path=path, expected="a header and rows")
    with wrap_errors("reading a delimited text file", path=path):
        frame = pl.read_csv(
            io.BytesIO(data),
            separator=separator,
            has_header=has_header,
            new_columns=list(new_columns) if new_columns else None,
            infer_schema=False,
            truncate_ragged_lines=False,
        )
    offset = 2 if has_header else 1
    return frame.with_row_index("_row", offset=offset).with_columns(pl.col("_row").cast(pl.Int64))


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
