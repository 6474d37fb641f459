"""Shared fixtures: an in-memory store, the real-format fixtures and ../shared/data."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from spotlab import Store

# CI explores the same examples every run (a red CI should be reproducible, not luck);
# locally hypothesis keeps searching new ones. HYPOTHESIS_PROFILE=dev forces the latter.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
BUNDLED = ROOT / "data"
#: the hand-written event examples (documented formats), shipped with the package
EVENTS = ROOT / "examples" / "events"


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store(":memory:")
    yield s
    s.close()


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; tests using it skip when a clone has no ../shared beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (only present beside the project's own clone)")
    return SHARED_DATA


def accounted(result: object) -> bool:
    r = result
    return r.rows_read == r.rows_loaded + r.rows_duplicate + r.rows_rejected  # type: ignore[attr-defined]


def ingest_counts(r: Any) -> tuple[int, int, int, int]:
    """(rows_read, rows_loaded, rows_duplicate, rows_rejected) of an IngestResult."""
    return (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected)


def reject_reasons(store: Store, source_id: int | None = None) -> dict[int, str]:
    """The rejects of one source (of all, when None): row number -> reason."""
    rows = store.query(
        "SELECT row_number, reason FROM rejects WHERE source_id = ? OR ? IS NULL "
        "ORDER BY source_id, row_number",
        [source_id, source_id],
    )
    return dict(zip(rows["row_number"].to_list(), rows["reason"].to_list(), strict=True))


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, *args: str | Path
) -> tuple[int, str, str]:
    """Run ``spotlab ARGS`` in-process through ``main()`` and its real exit-code mapping;
    return (exit code, stdout, stderr)."""
    from spotlab.cli import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["spotlab", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)  # main() exits with an int (or None for 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[..., tuple[int, str, str]]:
    """``cli(*ARGS)`` runs ``spotlab --db <tmp>/cli.duckdb ARGS`` (see :func:`run_cli`);
    ``cli.db`` is that database."""
    db = tmp_path / "cli.duckdb"

    def run(*args: str | Path) -> tuple[int, str, str]:
        return run_cli(monkeypatch, capsys, "--db", db, *args)

    run.db = db  # type: ignore[attr-defined]
    return run
