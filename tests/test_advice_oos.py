"""The out-of-sample evaluation script (benchmarks/advice_oos.py), small and fast: the
bundled real GCP subset. The full run (every real set of ../shared/data) prints the README
table."""

from __future__ import annotations

import sys

import polars as pl
import pytest

import spotlab as sl
from spotlab.advise.backtest import backtest_bids, compare_strategies
from tests.conftest import ROOT


def _script():
    """The script as a module (benchmarks/ is not a package)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import advice_oos

    return advice_oos


def test_fast_run_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert _script().main(["--fast"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| bundled GCP subset")]
    assert len(lines) == 6 and "**spotlab (cost model)**" in lines[0]
    assert not any("**yes**" in line for line in lines)  # spotlab dominated by no rule


def test_spotlab_is_not_dominated_on_the_bundled_gcp_subset(store: sl.Store) -> None:
    sl.ingest(
        store, sl.notebook.BUNDLED_DATA / "gcp_gpu_vm_price_changepoints_2023-05_to_2026-07.csv.gz"
    )
    r = backtest_bids(store, window="30d", horizon="30d")
    spotlab = r.summary.filter(pl.col("strategy") == "spotlab").row(0, named=True)
    assert spotlab["share_series_met"] >= 0.95
    assert not compare_strategies(r.summary)["dominates"].any()


def test_on_demand_estimate_uses_the_first_look_back_only(store: sl.Store) -> None:
    """AWS us-east-1 t4g.xlarge at 0.10 for 14 days, then 0.20: the estimate divides the
    first look-back's mean (0.10) by 1 - s/100 with the 2025 feed's s for that type (63 %)."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2023, 9, 1, tzinfo=UTC)
    pts = pl.DataFrame(
        {
            "provider": "aws", "region": "us-east-1", "zone": "us-east-1",
            "spec": "t4g.xlarge", "ts": [t0, t0 + timedelta(days=14)],
            "spot_price": [0.10, 0.20], "on_demand_price": [None, None],
        },
        schema_overrides={"on_demand_price": pl.Float64},
    )  # fmt: skip
    out = _script().estimated_on_demand(pts, store, "14d")
    assert out["on_demand_price"].to_list() == pytest.approx([0.10 / 0.37] * 2)
