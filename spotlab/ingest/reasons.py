"""Why a row was rejected: a stable code and a message for people.

Every reject in ``rejects`` carries a ``reason_code`` (``spot_price_not_positive``,
``ts_out_of_range``, ``conflict``, ...) and a ``reason`` (the message, with the values that
made it fail). Reports and ``spotlab rejects`` group by the code; the message is for people.

The SQL rules of a :class:`~spotlab.ingest.core.Target` are (condition, code, message)
triples; a reader that rejects a row itself sets ``_reject`` to :func:`reject` (or
:func:`reject_expr` in polars), which packs the code and the message into one text value.
Codes are lower-case identifiers: the column (or the thing) first, then the problem.
"""

from __future__ import annotations

import re

import polars as pl

#: separates the code from the message inside ``_reject`` and ``_reason`` (ASCII unit
#: separator: never part of a code)
SEP = "\x1f"
#: a row whose key is stored (or earlier in the file) with another value
CONFLICT = "conflict"
#: rejects of a reader that gave no code (a reader should always give one)
UNCODED = "other"

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def check_code(code: str) -> str:
    """``code`` itself, after checking that it is a lower-case identifier."""
    if not _CODE.match(code):
        raise ValueError(f"a reason code is a lower-case identifier, not {code!r}")
    return code


def reject(code: str, message: str) -> str:
    """A reader's ``_reject`` value: the code and the message in one text."""
    return f"{check_code(code)}{SEP}{message}"


def reject_expr(code: str, message: pl.Expr | str) -> pl.Expr:
    """:func:`reject` as a polars expression over a message expression."""
    msg = pl.lit(message) if isinstance(message, str) else message
    return pl.lit(check_code(code) + SEP) + msg


def reason_sql(code: str, message_sql: str) -> str:
    """The SQL value of a rule's reason: ``'code' || SEP || message``."""
    return f"'{check_code(code)}' || chr(31) || ({message_sql})"


def code_sql(reason: str) -> str:
    """The code part of a packed reason (SQL), ``other`` when it has none."""
    return (
        f"CASE WHEN strpos({reason}, chr(31)) > 0 THEN split_part({reason}, chr(31), 1) "
        f"ELSE '{UNCODED}' END"
    )


def message_sql(reason: str) -> str:
    """The message part of a packed reason (SQL)."""
    return f"substr({reason}, strpos({reason}, chr(31)) + 1)"


def split(reason: str) -> tuple[str, str]:
    """(code, message) of a packed reason (Python)."""
    code, sep, message = reason.partition(SEP)
    return (code, message) if sep else (UNCODED, reason)
