"""What spotlab writes for people and their tools: terminal-safe text, strict JSON, safe CSV.

Spec names, reasons and raw rows come from input files, so anything printed or written may
hold what the input held:

- :func:`printable` shows control characters (ANSI escape sequences, carriage returns,
  C1 controls, bidirectional overrides) as visible escapes, so a spec name cannot recolour,
  rewrite or hide what the terminal shows;
- :func:`strict_json` writes JSON without ``NaN``/``Infinity`` (not JSON: other parsers
  reject them): a non-finite number becomes ``null``;
- :func:`write_csv` neutralises cells a spreadsheet would run as a formula (``=``, ``+``,
  ``-``, ``@``, tab or carriage return first) by prefixing ``'``.

>>> printable("ecs.\\x1b[31mred")
'ecs.\\\\x1b[31mred'
>>> strict_json({"r2": float("nan"), "n": 1}, indent=None)
'{"r2": null, "n": 1}'
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import polars as pl

# C0 controls but tab and newline, DEL, C1 controls, zero-width and bidirectional marks
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# in JSON text: json.dumps escapes C0 itself, but leaves C1 and the marks raw
_UNSAFE_JSON = re.compile("[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
#: a spreadsheet runs a cell starting with one of these as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``); newlines and
    tabs are kept."""
    return _UNSAFE.sub(_escape, text)


class PrintableWriter(io.TextIOBase):
    """A text stream that passes what is written through :func:`printable` to ``stream``
    (the CLI's stdout: every command's output, whoever prints it)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding or "utf-8"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def strict_json(
    data: Any, default: Callable[[Any], Any] | None = None, indent: int | None = 2
) -> str:
    """``data`` as strict JSON text: NaN and infinities become null (``default`` converts
    what json cannot, as in :func:`json.dumps`); C1 controls and bidirectional marks are
    escaped as ``\\uXXXX`` (the same string to a JSON reader, inert on a terminal)."""
    plain = json.loads(json.dumps(data, default=default, ensure_ascii=False))
    text = json.dumps(_finite(plain), indent=indent, ensure_ascii=False, allow_nan=False)
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def spreadsheet_safe(value: str) -> str:
    """A cell value a spreadsheet shows as text: ``'`` before a formula-like start.

    >>> spreadsheet_safe("=HYPERLINK(\\"http://x\\")"), spreadsheet_safe("ecs.gn8is.2xlarge")
    ('\\'=HYPERLINK("http://x")', 'ecs.gn8is.2xlarge')
    """
    return "'" + value if value.startswith(FORMULA_START) else value


def write_csv(frame: pl.DataFrame, path: str | Path, **options: Any) -> None:
    """``frame.write_csv(path, **options)`` with every text cell made spreadsheet-safe
    (numbers are written as numbers: a negative price stays a number)."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]"))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )
    safe.write_csv(path, **options)
