"""The config code calls the advisors directly: a broken advisor fails loudly, and "no data"
is the only outcome turned into "no advice"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import spotlab as sl
from spotlab.advise import coldstart
from spotlab.eas import advice
from spotlab.eas.export import build_config, config_from_store
from spotlab.eas.lint import lint
from spotlab.errors import AnalysisError, NoDataError

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SERVICE = {
    "metadata": {"name": "x", "instance": 1},
    "cloud": {"computing": {"instances": [
        {"type": "ecs.gn8is.2xlarge", "spot_price_limit": 2.5},
        {"type": "ml.gu7i.c8m30.1-gu30"},
    ]}},
}  # fmt: skip


@pytest.fixture
def priced(store: sl.Store) -> sl.Store:
    sl.ingest(store, [FIX / "eas_config_specs_catalog.csv", FIX / "eas_config_spot_prices.csv"])
    return store


def test_a_broken_bid_advisor_fails_lint(priced: sl.Store, monkeypatch) -> None:
    def renamed(*_a: object, **_k: object) -> None:
        raise TypeError("recommend_bids() got an unexpected keyword argument 'specs'")

    monkeypatch.setattr(advice, "recommend_bids", renamed)
    advice._BID_CACHE.clear()
    with pytest.raises(TypeError, match="unexpected keyword"):
        lint(SERVICE, priced)


def test_the_bid_advisor_is_used_when_there_are_prices(priced: sl.Store) -> None:
    # the fixture prices two of the three specs asked for
    asked = ["ecs.gn8is.2xlarge", "ml.gu7i.c8m30.1-gu30", "ecs.gn7i-c8g1.2xlarge"]
    bids, label = advice.advised_bids(priced, asked)
    assert set(bids) == set(asked[:2]) and label == "bid advisor, 30d window"
    assert bids["ecs.gn8is.2xlarge"] > 0


def test_no_prices_is_no_advice_not_an_error(store: sl.Store) -> None:
    sl.ingest(store, FIX / "eas_config_specs_catalog.csv")
    assert advice.advised_bids(store, ["ecs.gn8is.2xlarge"]) == ({}, "")
    assert advice.priced_specs(store, ["ecs.gn8is.2xlarge"]) == []
    found = lint(SERVICE, store)
    assert "bid-off-advice" not in {f.rule for f in found}


def test_the_ordering_advisor_error_surfaces(priced: sl.Store) -> None:
    # once swallowed into "no ordering" and a silent fallback to the catalog's cheapest specs
    with pytest.raises(AnalysisError, match="meets the requirements"):
        config_from_store(priced, "x", "r/x:1", requirements={"gpu_memory_gib": 1000})
    # an empty catalog is no data: no ordering, and the config says what is missing
    with sl.Store(":memory:") as empty:
        assert advice.advised_ordering(empty, {"gpu_memory_gib": 24}) is None
        with pytest.raises(sl.ConfigError, match="no specs catalog"):
            config_from_store(empty, "x", "r/x:1", requirements={"gpu_memory_gib": 24})


def test_no_data_is_a_typed_outcome() -> None:
    assert issubclass(NoDataError, AnalysisError)
    with sl.Store(":memory:") as empty, pytest.raises(NoDataError):
        sl.recommend_ordering({"gpu_memory_gib": 24}, empty)


def test_typed_advice_objects_are_read_directly(priced: sl.Store) -> None:
    bids = sl.recommend_bids(priced, specs=["ecs.gn8is.2xlarge"])
    saving = sl.coldstart_saving(7.2, reclaims_per_month=4)
    bundle = build_config(
        "x", "r/x:1", instances=[{"type": "ecs.gn8is.2xlarge", "spot_price_limit": None}],
        bids=bids, coldstart=saving, model_oss_path="oss://b/m/", store=priced,
    )  # fmt: skip
    limit = bundle.service.instances[0].spot_price_limit
    assert limit == pytest.approx(bids.specs["bid"][0])
    out = advice.coldstart_saving_s(7.2, None, 4)
    assert out["model_s"] == pytest.approx(saving.model_s)
    assert out["cache_monthly"] == pytest.approx(saving.monthly_saving["cachefs"])


@pytest.mark.parametrize(
    "path",
    [
        *sorted((ROOT / "spotlab" / "eas").glob("*.py")),
        ROOT / "spotlab" / "advise" / "coldstart.py",
    ],
    ids=lambda p: p.name,
)
def test_no_probes_or_blanket_catches(path: Path) -> None:
    text = path.read_text()
    banned = [r"\bimportlib\b", r"\bhasattr\(", r"except \(SpotlabError", r"except Exception\b",
              r"except ImportError", r"except SpotlabError"]  # fmt: skip
    assert not [b for b in banned if re.search(b, text)], path


def test_coldstart_reads_the_interruption_analytics_directly() -> None:
    assert coldstart.interruption_rates is sl.interruption_rates
