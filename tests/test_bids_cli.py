"""`spotlab bids` and `spotlab backtest` on the bundled data, through the real entry point."""

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
    assert spec["advice"] == "spot" and spec["bid"] <= 14.4
    assert spec["availability"] >= 0.99
    assert len(data["zones"]) == 3 and {z["zone"] for z in data["zones"]} == {
        "cn-hangzhou-h",
        "cn-hangzhou-i",
        "cn-hangzhou-j",
    }
    # the spec bid holds in every zone
    assert all(z["target_level"] <= spec["bid"] for z in data["zones"])


def test_bids_table_and_options(db, monkeypatch, capsys):
    code, out, _ = run(
        db, monkeypatch, capsys, "bids", "--zone", "cn-hangzhou-h", "--window", "7d",
        "--target", "0.95", "--per-zone", "--headroom", "0",
    )  # fmt: skip
    assert code == 0
    assert "cn-hangzhou-h" in out and "ml.gu7i.c8m30.1-gu30: market exceeded 1.60" in out


def test_bids_errors_exit_2(db, monkeypatch, capsys):
    code, _, err = run(db, monkeypatch, capsys, "bids", "--spec", "ecs.gn8is.2xlargee")
    assert code == 2 and "Did you mean 'ecs.gn8is.2xlarge'" in err
    code, _, err = run(db, monkeypatch, capsys, "bids", "--window", "soon")
    assert code == 2 and "cannot read the window" in err
    code, _, err = run(db, monkeypatch, capsys, "bids", "--target", "2")
    assert code == 2 and "target_availability" in err


def test_backtest_json_and_table(db, monkeypatch, capsys):
    code, out, _ = run(
        db, monkeypatch, capsys, "backtest", "--provider", "alibaba", "--window", "7d",
        "--horizon", "7d", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [s["strategy"] for s in data["summary"]] == ["spotlab", "rule20", "max_observed"]
    assert "series" not in data
    code, out, _ = run(
        db, monkeypatch, capsys, "backtest", "--spec", "ecs.gn8is.2xlarge", "--window", "7d",
        "--horizon", "7d", "--per-series",
    )  # fmt: skip
    assert code == 0 and "share_series_met" in out and "cn-hangzhou-j" in out
