"""spotlab's errors, under one root.

    SpotlabError
    ├── StoreError
    │   └── StoreLockedError      another process holds the database file
    ├── FormatError               a file is not in the format spotlab expected
    ├── IngestError               a file parsed but cannot be loaded as a whole
    ├── ConfigError               an EAS config is malformed or fails validation
    ├── AnalysisError             an analysis cannot answer (no data, bad parameter)
    │   └── NoDataError           nothing to analyse for the selection (ingest data first)
    ├── ExternalError             an error of duckdb, polars, pyarrow or pydantic, wrapped
    └── FetchError                a provider API call failed (``spotlab fetch``)

Every error carries its context as attributes (``path``, ``row``, ``json_path``) and a
message that says what to do. Errors raised by duckdb, polars, pyarrow and pydantic are
caught where spotlab calls them (:func:`wrap_errors`) and re-raised as spotlab errors that
name the user's input.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SpotlabError(Exception):
    """Root of every error spotlab raises on purpose."""


class StoreError(SpotlabError):
    """The DuckDB store cannot be opened or used."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = str(path) if path is not None else None


class StoreLockedError(StoreError):
    """Another process holds the database file for writing."""


class FormatError(SpotlabError):
    """A file is not in the format spotlab expected; nothing was loaded."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        expected: str | None = None,
        found: str | None = None,
        row: int | None = None,
    ) -> None:
        parts = [message]
        if expected is not None:
            parts.append(f"expected: {expected}")
        if found is not None:
            parts.append(f"found: {found}")
        where = f"{path}" if path is not None else ""
        if row is not None:
            where += f" (row {row})"
        text = "; ".join(parts)
        super().__init__(f"{where}: {text}" if where else text)
        self.path = str(path) if path is not None else None
        self.expected = expected
        self.found = found
        self.row = row


class IngestError(SpotlabError):
    """A file cannot be loaded as a whole; the database is unchanged."""

    def __init__(self, message: str, path: str | Path | None = None, row: int | None = None):
        where = f"{path}" if path is not None else ""
        if row is not None:
            where += f" (row {row})"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = str(path) if path is not None else None
        self.row = row


class ConfigError(SpotlabError):
    """An EAS config is malformed, mistyped or fails lint with errors."""

    def __init__(
        self, message: str, json_path: str | None = None, findings: list[Any] | None = None
    ) -> None:
        super().__init__(f"{json_path}: {message}" if json_path else message)
        self.json_path = json_path
        self.findings = findings or []


class AnalysisError(SpotlabError):
    """An analysis cannot answer: no data in the window, or a bad parameter."""


class NoDataError(AnalysisError):
    """Nothing to analyse: no rows for the selection. Callers that can do without the
    analysis (the config linter without bid advice, say) catch this one, never more."""


class ExternalError(SpotlabError):
    """An error of an underlying library, wrapped with the context spotlab had."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(f"{message}: {type(cause).__name__}: {cause}")
        self.cause = cause


class FetchError(SpotlabError):
    """A provider API call of ``spotlab fetch`` failed; the database is unchanged.

    ``reason`` is one of ``no-credentials``, ``denied``, ``throttled``, ``network``,
    ``bad-response``, ``bad-request``; ``source`` and ``region`` name what was fetched."""

    def __init__(self, message: str, source: str, region: str | None, reason: str) -> None:
        where = f"{source} ({region})" if region else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.region = region
        self.reason = reason


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ' Did you mean 'x'?' for close matches of ``word``, or ''."""
    matches = difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"


def _external_types() -> tuple[type[BaseException], ...]:
    import duckdb
    import polars.exceptions as ple
    import pyarrow as pa

    types: list[type[BaseException]] = [duckdb.Error, ple.PolarsError, pa.ArrowException]
    try:
        import pydantic

        types.append(pydantic.ValidationError)
    except ImportError:  # pragma: no cover - pydantic is a dependency
        pass
    return tuple(types)


@contextmanager
def wrap_errors(context: str, path: str | Path | None = None) -> Iterator[None]:
    """Re-raise errors of duckdb, polars, pyarrow and pydantic as spotlab errors.

    ``context`` says what spotlab was doing ("reading prices", ...); ``path`` names the
    user's file when there is one, so the message points at the input, not at a library.
    """
    try:
        yield
    except SpotlabError:
        raise
    except _external_types() as exc:
        where = f"{context} ({path})" if path is not None else context
        if path is not None:
            raise FormatError(
                f"{context} failed: {type(exc).__name__}: {_first_line(exc)}. "
                "Check that the file is complete and in the format named",
                path=path,
            ) from exc
        raise ExternalError(where, exc) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
