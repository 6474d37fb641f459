"""Shared fixtures: an in-memory store, the real-format fixtures and ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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
