"""GCP VM price change points: spot rows load, on-demand-only rows are explained rejects
that still feed the specs catalog."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

import spotlab as sl
from spotlab.ingest.gcp_changepoints import NO_PRICE, NO_SPOT_AFTER, NO_SPOT_BEFORE, NOT_GPU
from tests.conftest import ingest_counts, reject_reasons

EXCERPT = "gcp_changepoints_excerpt.csv"


def test_excerpt_accounts_for_every_line(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / EXCERPT)
    assert r.format == "gcp-changepoints"
    # lines 5-8, 10, 13, 14 carry a spot price; the others are on-demand-only points
    assert ingest_counts(r) == (13, 7, 0, 6)
    assert reject_reasons(store, r.source_id) == {
        2: NO_SPOT_BEFORE,  # 2022-02-09, before spot prices appear in the history
        3: NO_SPOT_BEFORE,
        4: NO_SPOT_BEFORE,  # 2023-04-24
        9: NO_SPOT_BEFORE,
        11: NO_SPOT_AFTER,  # 2023-06-27 m2-hypermem-416: no spot offer
        12: NO_PRICE,  # t2a-standard-1 listed at 0 on demand, no spot
    }
    raw = store.query("SELECT raw FROM rejects WHERE row_number = 12")["raw"][0]
    assert raw == "2023-06-27T19:56:02Z,c61fd8321668,t2a-standard-1,europe-west10,1,4,,,0,"


def test_spot_rows_are_region_level_with_discount(store: sl.Store, fixtures: Path) -> None:
    sl.ingest(store, fixtures / EXCERPT)
    a2 = store.query(
        "SELECT region, zone, ts, spot_price, on_demand_price, discount, currency FROM "
        "spot_prices WHERE spec = 'a2-highgpu-1g' ORDER BY ts"
    )
    assert a2["zone"].to_list() == ["us-central1", "us-central1"]
    assert a2["region"].to_list() == a2["zone"].to_list()
    assert a2["spot_price"].to_list() == pytest.approx([1.1020155, 1.21219])
    assert a2["discount"].to_list() == pytest.approx([1.1020155 / 3.673385, 1.21219 / 3.673385])
    assert set(a2["currency"]) == {"USD"}
    assert str(a2["ts"][0]) == "2023-05-08 06:42:47+00:00"
    # an empty on-demand price with a spot price: the spot row loads, no on-demand is known
    c2 = store.query(
        "SELECT spot_price, on_demand_price FROM spot_prices WHERE spec='c2-standard-4'"
    )
    assert c2.rows() == [(0.03419112, None)]


def test_newest_on_demand_facts_go_to_specs(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / EXCERPT)
    specs = store.query(
        "SELECT region, spec, vcpu, memory_gib, gpu_model, gpu_count, on_demand_price, currency, "
        "source_id FROM specs ORDER BY region, spec"
    )
    assert specs.height == 7  # one row per (region, machine_type) pair
    got = {(row["region"], row["spec"]): row for row in specs.to_dicts()}
    a2 = got[("us-central1", "a2-highgpu-1g")]
    # newest row: 2023-06-22 (85 GiB; the 2022-02-09 row said 58 GiB and $3.558986)
    assert (a2["vcpu"], a2["memory_gib"], a2["gpu_model"], a2["gpu_count"]) == (12, 85, "a100", 1)
    assert a2["on_demand_price"] == pytest.approx(3.673385) and a2["currency"] == "USD"
    assert a2["source_id"] == r.source_id
    # on-demand-only series are not lost: their price is in specs
    assert got[("europe-west10", "m2-hypermem-416")]["on_demand_price"] == pytest.approx(103.576704)
    # 0 means "not listed": no price rather than a zero price
    assert got[("europe-west10", "t2a-standard-1")]["on_demand_price"] is None
    # fractional counts do not fit the integer columns
    assert got[("us-central1", "e2-micro")]["vcpu"] is None
    g4 = got[("asia-south2", "g4-standard-6")]
    assert (g4["vcpu"], g4["gpu_count"], g4["gpu_model"]) == (6, None, "rtx6000")
    assert any("fractional" in n for n in r.notes)


def test_gpu_only(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / EXCERPT, gpu_only=True)
    # GPU lines: 2-8 and 14; of those 2, 3, 4 are on-demand only
    assert ingest_counts(r) == (13, 5, 0, 8)
    reasons = reject_reasons(store, r.source_id)
    assert [n for n, why in reasons.items() if why == NOT_GPU] == [9, 10, 11, 12, 13]
    assert store.query("SELECT count(*) AS n FROM specs WHERE gpu_model IS NULL")["n"][0] == 0
    assert store.query("SELECT count(*) AS n FROM specs")["n"][0] == 3


def test_gpu_only_accepts_cli_text(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / EXCERPT, gpu_only="true")
    assert r.rows_loaded == 5


def test_gzip_and_overlap(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / EXCERPT).read_text().splitlines()
    # a second file: the last five lines of the excerpt plus one new point
    newer = [*text[:1], *text[-5:], text[-1].replace("2026-04-29", "2026-05-13")]
    gz = tmp_path / "newer.csv.gz"
    gz.write_bytes(gzip.compress(("\n".join(newer) + "\n").encode()))
    sl.ingest(store, fixtures / EXCERPT)
    (r,) = sl.ingest(store, gz)
    assert r.format == "gcp-changepoints"
    # lines 10, 13, 14 were loaded before (duplicates); 11, 12 rejected again; one new point
    assert ingest_counts(r) == (6, 1, 3, 2)


def test_missing_column_did_you_mean(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / EXCERPT).read_text().replace("hour_ondemand_usd", "hour_on_demand_usd", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(
        sl.FormatError, match=r"hour_ondemand_usd.*Did you mean 'hour_on_demand_usd'"
    ):
        sl.ingest(store, bad, format="gcp-changepoints")
    assert store.query("SELECT count(*) AS n FROM specs")["n"][0] == 0


def test_truncated_gzip_is_a_format_error(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    data = gzip.compress((fixtures / EXCERPT).read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(sl.FormatError, match="truncated"):
        sl.ingest(store, cut, format="gcp-changepoints")


def test_bundled_subset_if_present(store: sl.Store) -> None:
    """The real-format GCP subset shipped in data/ (by the data helper) reads the same way."""
    data = Path(__file__).resolve().parents[1] / "data"
    files = [p for p in data.glob("*.csv*") if _is_gcp(p)] if data.is_dir() else []
    if not files:
        pytest.skip("no GCP change-point subset in data/ yet")
    for result in sl.ingest(store, files):
        assert result.format == "gcp-changepoints"
        assert result.rows_read == result.rows_loaded + result.rows_duplicate + result.rows_rejected
        assert result.rows_loaded > 0


def _is_gcp(path: Path) -> bool:
    from spotlab.ingest.core import read_head

    return b"hour_spot_usd" in read_head(path, 4096)


def test_shared_full_file_every_reject_explained(store: sl.Store, shared_data: Path) -> None:
    path = shared_data / "gcp-pricing-history-cyclenerd"
    path = path / "gcp_vm_price_changepoints_2022-02_to_2026-07.csv.gz"
    t0 = time.perf_counter()
    (r,) = sl.ingest(store, path)
    seconds = time.perf_counter() - t0
    assert r.rows_read == 267_754
    assert r.rows_read == r.rows_loaded + r.rows_duplicate + r.rows_rejected
    reasons = store.query("SELECT reason, count(*) AS n FROM rejects GROUP BY ALL")
    got = dict(zip(reasons["reason"], reasons["n"], strict=True))
    # every reject is one of the explained cases; 8,845 rows have no spot price
    assert set(got) <= {NO_SPOT_BEFORE, NO_SPOT_AFTER, NO_PRICE}
    assert sum(got.values()) == r.rows_rejected == 8_845
    assert ingest_counts(r) == (267_754, 258_909, 0, 8_845)
    assert store.query("SELECT count(*) AS n FROM specs")["n"][0] == 18_129
    gpu = store.query("SELECT count(DISTINCT spec) AS n FROM specs WHERE gpu_model IS NOT NULL")
    assert gpu["n"][0] > 20
    first = store.query("SELECT min(ts) AS t FROM spot_prices")["t"][0]
    assert first.date().isoformat() == "2023-05-08"
    (again,) = sl.ingest(store, path)
    assert again.skipped_as_duplicate_file and again.rows_loaded == 0
    assert seconds < 60
    # every loaded row is one GCP spot price point, each a positive price
    stored = store.query(
        "SELECT count(*) AS n, count(*) FILTER (WHERE NOT spot_price > 0) AS bad, "
        "count(DISTINCT provider) AS providers FROM spot_prices"
    ).row(0, named=True)
    assert stored == {"n": r.rows_loaded, "bad": 0, "providers": 1}
