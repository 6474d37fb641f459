"""`spotlab bids`, `spotlab backtest` and `spotlab interruptions` through the real entry
point, on the bundled data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spotlab.notebook import BUNDLED_DATA
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bids") / "bids.duckdb"
    import spotlab as sl

    with sl.Store(path) as store:
        sl.ingest(store, BUNDLED_DATA)
    return path


def run(db: Path, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    return run_cli(monkeypatch, capsys, "--db", db, *args)


def test_bids_json(db, monkeypatch, capsys):
    code, out, _ = run(db, monkeypatch, capsys, "bids", "--spec", "ecs.gn8is.2xlarge", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["window"] == "30d" and data["target_availability"] == 0.99
    (spec,) = data["specs"]
    assert spec["spec"] == "ecs.gn8is.2xlarge" and spec["on_demand"] == 14.4
    assert spec["rule20_bid"] == 2.88  # the seed's example: 20% of 14.4 CNY/h
    # the SYNTHETIC market never exceeds on-demand: bid the pay-as-you-go price
    assert spec["advice"] == "spot" and spec["bid"] == 14.4
    assert spec["availability"] >= 0.99 and spec["currency"] == "CNY"
    assert {z["zone"] for z in data["zones"]} == {"cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"}


def test_bids_table_has_currency_flags_and_fits(db, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(db, monkeypatch, capsys, "bids", "--provider", "gcp", "--window", "7d")
    assert code == 0
    table = out.split("\n\n")[0].splitlines()
    assert table and max(len(line) for line in table) <= 80
    assert "cur" in table[0] and "flags" in table[0] and "USD" in out
    # every reason names its region, and shows the same bid as the table
    reasons = [line for line in out.splitlines() if ": gcp " in line]
    assert reasons and all(line.split(": gcp ", 1)[1].split(":")[0] for line in reasons)
    monkeypatch.setenv("COLUMNS", "300")
    code, wide, _ = run(db, monkeypatch, capsys, "bids", "--provider", "gcp", "--wide")
    assert "avail (OOS)" in wide and "cost÷OD (OOS)" in wide


def test_bids_options(db, monkeypatch, capsys):
    code, out, _ = run(
        db, monkeypatch, capsys, "bids", "--zone", "cn-hangzhou-h", "--window", "7d",
        "--target", "0.95", "--per-zone", "--max-price", "3", "--json",
    )  # fmt: skip
    assert code == 0
    zones = json.loads(out)["zones"]
    capped = [z for z in zones if z["optimal_bid"] is not None and z["optimal_bid"] > 3]
    assert capped and all(z["bid"] == 3.0 and "Budget cap 3.00" in z["reason"] for z in capped)


def test_bids_errors_exit_2(db, monkeypatch, capsys):
    code, _, err = run(db, monkeypatch, capsys, "bids", "--spec", "ecs.gn8is.2xlargee")
    assert code == 2 and "Did you mean 'ecs.gn8is.2xlarge'" in err
    code, _, err = run(db, monkeypatch, capsys, "bids", "--window", "soon")
    assert code == 2 and "cannot read the window" in err
    code, _, err = run(db, monkeypatch, capsys, "bids", "--target", "2")
    assert code == 2 and "target_availability" in err
    for cmd in ("bids", "backtest"):
        code, _, err = run(db, monkeypatch, capsys, cmd, "--window", "99999999d")
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: the window")
        assert "use 'all'" in err and "Traceback" not in err


def test_backtest_json_and_table(db, monkeypatch, capsys):
    code, out, _ = run(
        db, monkeypatch, capsys, "backtest", "--provider", "alibaba", "--window", "7d",
        "--horizon", "7d", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [s["strategy"] for s in data["summary"]] == [
        "spotlab", "rule20", "max_observed", "on_demand", "lowest_level", "previous",
    ]  # fmt: skip
    assert "series" not in data
    code, out, _ = run(
        db, monkeypatch, capsys, "backtest", "--spec", "ecs.gn8is.2xlarge", "--window", "7d",
        "--horizon", "7d", "--per-series",
    )  # fmt: skip
    assert code == 0 and "share_series_met" in out and "cn-hangzhou-j" in out
    assert "dominates" in out


def test_interruptions_by_unknown_column(db, monkeypatch, capsys):
    code, _, err = run(db, monkeypatch, capsys, "interruptions", "--by", "foo")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: unknown cell column 'foo'")
    code, _, err = run(db, monkeypatch, capsys, "interruptions", "--by", "provider,spce")
    assert code == 2 and "Did you mean 'spec'" in err
