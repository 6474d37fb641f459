"""Reader options (``-o KEY=VALUE`` on the CLI, keywords of ``sl.ingest``): declared, typed,
checked.

Every reader declares the options it takes (``Reader.options``), and a target may declare
options that hold for every reader of its kind (``Target.options``, e.g. the bound on spot
prices). Before any file is read, :func:`resolve_options` checks the options given: an unknown
name fails with a suggestion (``-o curency=USD``: did you mean 'currency'?), a value of the
wrong type or out of range fails naming the option. The typed values that differ from the
defaults, as canonical JSON (:func:`normalized_options`), are part of what makes two ingests of the
same bytes the same ingest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from spotlab.errors import FormatError, did_you_mean

_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


@dataclass(frozen=True)
class Option:
    """One option: its name, kind and default, and what it means.

    ``kind``: ``text`` (a non-empty string), ``bool``, ``number`` (a finite float in
    ``[low, high]``; ``low`` exclusive when ``low_open``), ``time`` (ISO 8601, a plausible
    time), ``choice`` (one of ``choices``), ``currency`` (an ISO 4217 code spotlab knows) or
    ``map`` (column renames, ``--map SRC=DST``)."""

    name: str
    kind: str
    help: str
    default: Any = None
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    lower: bool = False  # text kind: lower-case the value

    def parse(self, value: Any) -> Any:
        """The typed value, or a FormatError naming the option."""
        if value is None:
            return None
        parse = _PARSERS.get(self.kind)
        if parse is None:  # pragma: no cover - a declaration error, caught by the tests
            raise ValueError(f"option {self.name}: unknown kind {self.kind!r}")
        return parse(self, value)

    def fail(self, value: Any, expected: str) -> FormatError:
        shown = value if isinstance(value, str) else repr(value)
        return FormatError(
            f"option {self.name}={shown} is not valid: expected {expected} "
            f"({self.name}: {self.help})"
        )


def _text(opt: Option, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise opt.fail(value, "a non-empty text")
    text = value.strip()
    return text.lower() if opt.lower else text


def _bool(opt: Option, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    raise opt.fail(value, "true or false")


def _number(opt: Option, value: Any) -> float:
    lo = "" if opt.low is None else f"{'>' if opt.low_open else '>='} {opt.low:g}"
    hi = "" if opt.high is None else f"<= {opt.high:g}"
    bounds = " and ".join(b for b in (lo, hi) if b)
    expected = f"a finite number{' ' + bounds if bounds else ''}"
    if isinstance(value, bool):
        raise opt.fail(value, expected)
    try:
        x = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise opt.fail(value, expected) from None
    if not math.isfinite(x):
        raise opt.fail(value, expected)
    if opt.low is not None and (x <= opt.low if opt.low_open else x < opt.low):
        raise opt.fail(value, expected)
    if opt.high is not None and x > opt.high:
        raise opt.fail(value, expected)
    return x


def _time(opt: Option, value: Any) -> datetime:
    from spotlab.ingest.times import check_time

    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise opt.fail(value, "an ISO 8601 time, e.g. 2023-02-15T00:00:00Z") from None
    else:
        raise opt.fail(value, "an ISO 8601 time, e.g. 2023-02-15T00:00:00Z")
    problem = check_time(t, f"option {opt.name}")
    if problem:
        raise FormatError(problem)
    return t if t.tzinfo is None else t.astimezone(UTC)


def _choice(opt: Option, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in opt.choices:
        hint = did_you_mean(text, opt.choices)
        raise opt.fail(value, f"one of {', '.join(opt.choices)}.{hint}")
    return text


def _currency(opt: Option, value: Any) -> str:
    from spotlab.ingest.targets import CURRENCIES

    text = str(value).strip().upper()
    if text not in CURRENCIES:
        hint = did_you_mean(text, CURRENCIES)
        raise opt.fail(value, f"an ISO 4217 code spotlab knows ({', '.join(CURRENCIES)}).{hint}")
    return text


def _map(opt: Option, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items()
    ):
        raise opt.fail(value, "column renames SRC=DST (--map)")
    return {str(k): str(v) for k, v in value.items()}


_PARSERS: dict[str, Callable[[Option, Any], Any]] = {
    "text": _text,
    "bool": _bool,
    "number": _number,
    "time": _time,
    "choice": _choice,
    "currency": _currency,
    "map": _map,
}

MAP = Option("map", "map", "rename columns before the file is read (--map SRC=DST)")


def resolve_options(
    given: Mapping[str, Any], offered: Iterable[tuple[str, Iterable[Option]]]
) -> dict[str, dict[str, Any]]:
    """Check the options ``given`` against what each format offers; return, per format
    name, the typed options it takes (only those given).

    ``offered``: (format name, its options) for every format this ingest will use. An
    option no format takes is an error with a suggestion; so is a bad value.
    """
    formats = [(name, {o.name: o for o in opts}) for name, opts in offered]
    known = {n for _, opts in formats for n in opts}
    for key in given:
        if key not in known:
            names = ", ".join(sorted(known)) or "none"
            which = ", ".join(sorted({f for f, _ in formats})) or "the formats chosen"
            hint = did_you_mean(key, known)
            flag = "--map" if key == "map" else f"-o {key}"
            raise FormatError(
                f"unknown option {flag} for {which}" + (f".{hint}" if hint else ""),
                expected=f"options of {which}: {names}",
            )
    typed: dict[str, dict[str, Any]] = {}
    parsed: dict[tuple[str, str], Any] = {}
    for fmt, opts in formats:
        out = {}
        for key, value in given.items():
            if key in opts:
                opt = opts[key]
                cache = (key, opt.kind + repr(opt))
                if cache not in parsed:
                    parsed[cache] = opt.parse(value)
                out[key] = parsed[cache]
        typed[fmt] = out
    return typed


def normalized_options(values: Mapping[str, Any], options: Iterable[Option]) -> str:
    """Canonical JSON of typed option values, leaving out those equal to their default."""
    by_name = {o.name: o for o in options}
    out: dict[str, Any] = {}
    for key, value in values.items():
        opt = by_name.get(key)
        if value is None or (opt is not None and value == opt.default):
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Mapping):
            value = dict(sorted(value.items()))
        out[key] = value
    return json.dumps(out, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
