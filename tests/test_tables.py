"""spotlab.tables: labelled, rounded tables as text (fitting a width) and as HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlab.tables import column_label, format_value, html_table, text_table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (6567.315068, "6,567"),
        (26290.67, "26,291"),
        (1.3216106, "1.322"),
        (0.9985, "0.9985"),
        (0.000123, "0.000123"),
        (2.5, "2.5"),
        (8.0, "8"),
        (0.0, "0"),
        (float("nan"), "–"),
        (1234567, "1,234,567"),
        (True, "yes"),
        (None, ""),
        (datetime(2026, 11, 1, 3, 4, 5, tzinfo=UTC), "2026-11-01 03:04"),
    ],
)
def test_format_value(value: object, text: str) -> None:
    assert format_value(value) == text


@given(st.floats(min_value=1e-4, max_value=1e9, allow_nan=False))
def test_floats_keep_four_significant_digits(x: float) -> None:
    shown = float(format_value(x).replace(",", ""))
    assert shown == pytest.approx(x, rel=5e-4)


def test_labels_carry_units_and_the_frames_currency() -> None:
    cny = pl.DataFrame({"bid": [1.0], "currency": ["CNY"]})
    mixed = pl.DataFrame({"bid": [1.0, 2.0], "currency": ["CNY", "USD"]})
    assert column_label("bid", cny) == "bid (CNY/h)"
    assert column_label("bid", mixed) == "bid (see currency/h)"
    assert column_label("monthly_saving", cny) == "monthly_saving (CNY/month)"
    assert column_label("total_seconds") == "total_seconds (s)"
    assert column_label("interruptions_per_day") == "interruptions_per_day (/day)"
    assert column_label("memory_gib") == "memory_gib (GiB)"
    assert column_label("availability") == "availability (share)"
    assert column_label("spec") == "spec"
    assert column_label("qps", units={"qps": "req/s"}) == "qps (req/s)"


def test_text_table_drops_columns_that_do_not_fit_and_says_which() -> None:
    frame = pl.DataFrame({f"column_{i}": [i * 1.5] for i in range(10)})
    text = text_table(frame, width=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "more columns" in text and "column_9" in text
    assert "column_9" in text_table(frame, width=40, wide=True).splitlines()[0]


def test_text_table_wraps_long_text_in_the_last_column() -> None:
    frame = pl.DataFrame({"k": ["a"], "reason": ["word " * 30]})
    lines = text_table(frame, width=40).splitlines()
    assert all(len(line) <= 40 for line in lines) and len(lines) > 3
    assert "…" not in "".join(lines)


def test_html_table_has_no_dtype_row_and_counts_hidden_rows() -> None:
    frame = pl.DataFrame({"spec": ["a", "b", "c"], "bid": [1.23456, 2.0, 3.0]})
    page = html_table(frame.with_columns(pl.lit("CNY").alias("currency")), max_rows=2)
    assert "bid (CNY/h)" in page and "1.235" in page
    assert "f64" not in page and "str" not in page
    assert "2 of 3 rows shown" in page
