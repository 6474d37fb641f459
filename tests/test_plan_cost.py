"""One plan cost: the overview, ``spotlab scale`` and the plan widget agree on the same inputs.

They used to give three answers for the bundled service (11,486, 6,482 and 6,567 CNY):
``spotlab scale`` and the widget printed the cost over the 336-hour traffic span, the
overview scaled it to a 720-hour month, and each priced the dedicated replica differently.
Now all three print :meth:`ScalingPlan.per_month` (730 h), and the inputs are the
registry's.
"""

from __future__ import annotations

import json

import pytest

import spotlab as sl
from spotlab.domain import HOURS_PER_MONTH
from spotlab.fleet.scaling import DEDICATED_SHARE, traffic_series
from spotlab.overview import overview
from spotlab.widgets.fleet import PlanWidget
from tests.conftest import BUNDLED, run_cli


@pytest.fixture(scope="module")
def bundled_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("plan") / "bundled.duckdb"
    with sl.Store(db) as store:
        sl.ingest(store, BUNDLED)
    return str(db)


def test_overview_scale_and_widget_give_one_monthly_plan_cost(
    bundled_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with sl.Store(bundled_db, read_only=True) as store:
        ov = overview(store)
        traffic = traffic_series(store, "synthetic-chat")
    plan = ov.plan
    assert plan is not None and plan.service == "synthetic-chat"
    p = plan.prices
    # the overview's dedicated replica is the registry's share of on-demand over 730 h
    assert p["dedicated_monthly"] == pytest.approx(DEDICATED_SHARE * p["regular"] * 730)
    startup = ov.startup_seconds[next(e.spec for e in ov.ordering.entries if e.spot)]

    code, out, err = run_cli(
        monkeypatch, capsys, "--db", bundled_db, "scale", "synthetic-chat",
        "--qps-per-replica", "20", "--regular-price", repr(p["regular"]),
        "--spot-price", repr(p["spot"]), "--dedicated-monthly-price", repr(p["dedicated_monthly"]),
        "--startup-seconds", repr(startup), "--json",
    )  # fmt: skip
    assert code == 0, err
    scale_month = json.loads(out)["per_month"]["cost"]

    widget = PlanWidget(
        traffic, service="synthetic-chat", qps_per_replica=20.0, regular_price=p["regular"],
        spot_price=p["spot"], dedicated_monthly_price=p["dedicated_monthly"],
        startup_seconds=startup, currency=plan.currency,
    )  # fmt: skip
    assert widget.plan is not None
    widget_month = widget.plan.per_month()["cost"]

    money = ov.money()
    assert money is not None
    assert scale_month == pytest.approx(money.advised_per_month, rel=1e-12)
    assert widget_month == pytest.approx(money.advised_per_month, rel=1e-12)
    # a month is 730 h: the 14-day (336 h) simulation scaled by 730 / 336
    sim = plan.simulated
    assert sim["hours"] == pytest.approx(336.0)
    assert money.advised_per_month == pytest.approx(sim["cost"] * HOURS_PER_MONTH / 336.0)
    # every front end prints that figure, labelled per month
    shown = dict(widget.plan.summary().iter_rows())
    assert shown["plan cost per month (CNY)"] == f"{widget_month:,.0f}"
    head = dict(ov.headline().iter_rows())
    assert f"→ {money.advised_per_month:,.0f} CNY" in head["cost per month, now → advised"]
