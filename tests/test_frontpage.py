"""out/index.html: one self-contained page with the money first, the advised deployment,
three charts, the assumptions, the data flags and the links (on the bundled data)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import spotlab as sl
from spotlab.htmlreport import external_references
from spotlab.report import write_index, write_report
from tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object, Path]:
    out = tmp_path_factory.mktemp("site")
    store = sl.Store(":memory:")
    sl.ingest(store, BUNDLED)
    rep = write_report(store, out)
    front = write_index(store, rep, out, notebooks=["00_overview", "02_bid_advisor"])
    return front.index.read_text(encoding="utf-8"), front, out


def test_first_line_says_period_and_nature(page: tuple[str, object, Path]) -> None:
    html, front, _ = page
    first = front.first_line  # type: ignore[attr-defined]
    assert first.startswith("Prices 2026-10-28 → 2026-11-26 (30 days, alibaba)")
    assert "SYNTHETIC alibaba spot prices" in first and "estimated on-demand prices" in first
    # it is the page's first paragraph, before the money
    assert html.index("first-line") < html.index("The money")


def test_the_money_is_the_overviews(page: tuple[str, object, Path]) -> None:
    html, front, _ = page
    money = front.overview.money()  # type: ignore[attr-defined]
    for figure in (money.now_per_month, money.advised_per_month, money.saving_per_month):
        assert f"{figure:,.0f} CNY" in html
    assert money.saving_low is not None and money.saving_high is not None
    assert f"out of sample {money.saving_low:,.0f} to {money.saving_high:,.0f}" in html
    assert money.saving_low <= money.saving_per_month <= money.saving_high
    # now = all-regular; the saving is what the plan saves against it
    assert money.saving_per_month == pytest.approx(money.now_per_month - money.advised_per_month)


def test_deployment_charts_assumptions_flags_links(page: tuple[str, object, Path]) -> None:
    html, front, out = page
    ov = front.overview  # type: ignore[attr-defined]
    first = next(e for e in ov.ordering.entries if e.spot)
    assert f"{first.spec} bid ≤ {first.spot_price_limit:g} CNY/h" in html
    assert "regular fallback" in html and "dedicated floor" in html
    assert len(re.findall(r"<figure><svg ", html)) == 3  # price vs bid, plan, policies
    assert "Price vs bid" in html and "Plan vs demand" in html and "Cost by policy" in html
    assert "<th>assumption</th>" in html and "one month" in html and "730 h" in html
    assert "SYNTHETIC data" in html and "Estimated prices" in html and "Stale series" in html
    for p in front.config:  # type: ignore[attr-defined]
        assert f"href='config/{p.name}'" in html and (out / "config" / p.name).exists()
    assert "href='notebooks/00_overview.html'" in html
    assert external_references(html) == []
    assert "<script" not in html  # nothing to run: charts are inline SVG


def test_plan_cost_on_the_page_is_the_one_month(page: tuple[str, object, Path]) -> None:
    html, front, _ = page
    plan = front.overview.plan  # type: ignore[attr-defined]
    assert f"{plan.per_month()['cost']:,.0f} CNY" in html
