"""The spot-instance-comparison daily CSV reader (spotlab.ingest.spot_comparison_daily).

Fixture (hand-written, invented prices), 15 rows, worked by hand:

    loaded (8): AWS t4g.xlarge us-east-1 × 3 days, Alibaba ecs.g5.xlarge × 2, Azure B4ms
                × 2 (0.20, 0.21), GCP e2-standard-4 us-east4
    duplicate (1): line 15 repeats line 2 exactly
    rejected (6): line 8 (1670.0 against a median of 0.21), line 10 (SKU text), line 11
                  (bare family C2D), line 12 (GCP-asia is no region id), line 14 (provider
                  NULL), line 16 (an AWS row in an Alibaba region)
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spotlab as sl
from tests.conftest import accounted, ingest_counts, reject_reasons

HEADER = (
    "pricingID;name;regionCategory;date;price;timestamp;createdAt;updatedAt;grouping;providerID"
)


def test_fixture_accounts_for_every_row(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "spot_comparison_daily.csv")
    assert r.format == "spot-comparison-daily" and accounted(r)
    assert ingest_counts(r) == (15, 8, 1, 6)
    reasons = reject_reasons(store, r.source_id)
    assert sorted(reasons) == [8, 10, 11, 12, 14, 16]
    assert "1670.0000 is more than 10× away from its series' median 0.21" in reasons[8]
    assert "is not a gcp instance type" in reasons[10] and "is not a gcp" in reasons[11]
    assert reasons[12] == "'asia' is not a GCP region id"
    assert reasons[14].startswith("unknown provider id 'NULL'")
    assert reasons[16] == "region 'ALB-us-east-1' does not belong to provider AWS"
    rows = store.query(
        "SELECT provider, region, zone, spec, count(*) AS n, any_value(currency) AS cur "
        "FROM spot_prices GROUP BY ALL ORDER BY provider"
    )
    assert rows.to_dicts() == [
        {"provider": "alibaba", "region": "us-east-1", "zone": "us-east-1",
         "spec": "ecs.g5.xlarge", "n": 2, "cur": "USD"},
        {"provider": "aws", "region": "us-east-1", "zone": "us-east-1", "spec": "t4g.xlarge",
         "n": 3, "cur": "USD"},
        {"provider": "azure", "region": "eastus", "zone": "eastus", "spec": "B4ms", "n": 2,
         "cur": "USD"},
        {"provider": "gcp", "region": "us-east4", "zone": "us-east4", "spec": "e2-standard-4",
         "n": 1, "cur": "USD"},
    ]  # fmt: skip
    ts = store.query("SELECT min(ts) AS t FROM spot_prices WHERE provider = 'aws'")["t"][0]
    assert ts.isoformat() == "2023-09-01T00:00:00+00:00"  # 02:00+02


def test_currency_option_and_bad_header(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    sl.ingest(store, fixtures / "spot_comparison_daily.csv", currency="EUR")
    assert store.query("SELECT DISTINCT currency FROM spot_prices")["currency"].to_list() == ["EUR"]
    bad = tmp_path / "SpotPricings.csv"
    bad.write_text(HEADER.replace("price;", "prise;") + "\n1;a;AWS-x;2023-01-01;1;;;;;AWS\n")
    with pytest.raises(sl.SpotlabError, match="Did you mean 'prise'"):
        sl.ingest(store, bad, format="spot-comparison-daily")
    with sl.Store(":memory:") as fresh, pytest.raises(sl.SpotlabError, match="currency"):
        sl.ingest(fresh, fixtures / "spot_comparison_daily.csv", currency="dollars")


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prices=st.lists(st.floats(0.01, 5.0), min_size=1, max_size=12),
    code=st.sampled_from(["AWS", "ALB", "AZR"]),
)
def test_valid_rows_all_load(tmp_path_factory, prices, code) -> None:
    name = {"AWS": "c6a.xlarge", "ALB": "ecs.c6.xlarge", "AZR": "D4s_v3"}[code]
    region = {"AWS": "us-west-1", "ALB": "us-west-1", "AZR": "westus"}[code]
    # keep every price within 10× of the median so that none is an outlier
    median = sorted(prices)[len(prices) // 2]
    prices = [min(max(p, median / 9.9), median * 9.9) for p in prices]
    lines = [HEADER] + [
        f"{i};{name}-compute-optimized;{code}-{region};2023-09-{i + 1:02d} 00:00:00+00;"
        f"{p:.6f};;;;CO1;{code}"
        for i, p in enumerate(prices)
    ]
    path = tmp_path_factory.mktemp("sc") / "SpotPricings.csv"
    path.write_text("\n".join(lines) + "\n")
    with sl.Store(":memory:") as s:
        (r,) = sl.ingest(s, path)
        assert accounted(r) and r.rows_rejected == 0 and r.rows_loaded == len(prices)


def test_real_file_every_row_accounted(store: sl.Store, shared_data: Path) -> None:
    path = shared_data / "alibaba-aws-azure-gcp-spot-daily-2023-cleanerzkp" / "SpotPricings.csv"
    (r,) = sl.ingest(store, path)
    assert accounted(r) and ingest_counts(r) == (1559, 1498, 4, 57)
    reasons = pl.Series(list(reject_reasons(store, r.source_id).values()))
    # the plainly wrong rows PROVENANCE.md names are among the rejects
    assert reasons.str.contains("1670.0000 is more than 10×").sum() == 1
    assert reasons.str.contains("running in").sum() >= 5  # SKU text as names
    assert reasons.str.contains("unknown provider id 'NULL'").sum() == 1
