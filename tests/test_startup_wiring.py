"""The cold-start model's predicted start-up replaces the default restart cost."""

from __future__ import annotations

import json

import pytest

import spotlab as sl
from spotlab.advise.bids import DEFAULT_STARTUP_SECONDS
from spotlab.advise.coldstart import startup_seconds_for_store
from spotlab.cli import app
from tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("wiring") / "w.duckdb"
    with sl.Store(path) as store:
        sl.ingest(store, BUNDLED)
    return str(path)


def test_prediction_grows_with_model_size(db: str) -> None:
    with sl.Store(db, read_only=True) as store:
        small = startup_seconds_for_store(store, 2.0, 1.34, "plain")
        large = startup_seconds_for_store(store, 30.0, 1.34, "plain")
    assert set(small) == set(large) and small
    assert all(large[s] > small[s] for s in small)


def test_bids_cli_prices_restart_with_the_prediction(db: str) -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    spec = "ecs.gn8is.2xlarge"
    base = runner.invoke(app, ["--db", db, "bids", "--spec", spec, "--json"])
    big = runner.invoke(
        app, ["--db", db, "bids", "--spec", spec, "--model-size-gb", "30", "--setup", "plain",
              "--json"],
    )  # fmt: skip
    assert base.exit_code == 0 and big.exit_code == 0, base.output + big.output
    od = json.loads(base.output)["specs"][0]["on_demand"]
    cost = json.loads(big.output)["specs"][0]["restart_cost"]
    assert json.loads(base.output)["specs"][0]["restart_cost"] == pytest.approx(
        DEFAULT_STARTUP_SECONDS * od / 3600
    )
    with sl.Store(db, read_only=True) as store:
        seconds = startup_seconds_for_store(store, 30.0, 1.34, "plain")[spec]
    assert cost == pytest.approx(seconds * od / 3600)
