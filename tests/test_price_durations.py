"""The last point of a series holds until its provider's newest time, not another's."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from spotlab.prices import with_durations


def _pts() -> pl.DataFrame:
    t = lambda d, h: datetime(2024, 1, d, h, tzinfo=UTC)  # noqa: E731
    return pl.DataFrame(
        {
            "provider": ["gcp", "gcp", "alibaba", "alibaba"],
            "zone": ["r1", "r1", "z1", "z1"],
            "spec": ["g", "g", "a", "a"],
            "ts": [t(1, 0), t(1, 6), t(1, 0), t(3, 0)],
            "spot_price": [1.0, 2.0, 3.0, 4.0],
        }
    )


def test_last_point_holds_until_its_providers_newest_time() -> None:
    d = with_durations(_pts()).sort("provider", "ts")
    # alibaba: 48 h then its newest point holds 0 s; gcp: 6 h then 0 s (not until Jan 3)
    assert d["held_s"].to_list() == pytest.approx([48 * 3600, 0.0, 6 * 3600, 0.0])


def test_explicit_until_applies_to_every_series() -> None:
    until = datetime(2024, 1, 4, tzinfo=UTC)
    d = with_durations(_pts(), until=until).sort("provider", "ts")
    assert d["held_s"].to_list() == pytest.approx([48 * 3600, 24 * 3600, 6 * 3600, 66 * 3600])
