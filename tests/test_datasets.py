"""spotlab.datasets: the SYNTHETIC EAS-like sample, the bundled catalog and GCP subset, and
the large canonical inputs; plus row accounting of the DuckDB-read canonical path on them."""

from __future__ import annotations

import gzip
import json
import math
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

import spotlab as sl
from spotlab import datasets as ds

BUNDLED = Path(__file__).resolve().parents[1] / "data"


def _time_weighted(sample: pl.DataFrame, end) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    """Seconds each point held (the last one until ``end``)."""
    return sample.sort("zone", "spec", "ts").with_columns(
        held=(pl.col("ts").shift(-1).over("zone", "spec").fill_null(end) - pl.col("ts"))
        .dt.total_seconds()
        .cast(pl.Float64)
    )


# -- the EAS-like sample -------------------------------------------------------------------


def test_sample_is_deterministic_under_a_seed() -> None:
    a, b = ds.eas_sample(seed=7), ds.eas_sample(seed=7)
    assert a.equals(b)
    assert not a.equals(ds.eas_sample(seed=8))


def test_sample_shape_specs_zones_days() -> None:
    p = ds.EasSampleParams()
    s = ds.eas_sample(p)
    specs = {spec for spec, _ in p.specs}
    assert len(specs) >= 6
    assert {"ecs.gn8v-8x.48xlarge", "ecs.gn8is-8x.32xlarge"} <= specs  # the seed's example
    series = s.group_by("zone", "spec").agg(
        pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"), pl.len()
    )
    assert series.height == len(specs) * 3
    start = p.end - timedelta(days=30)
    assert (series["first"] == start).all()  # every series starts at the start
    assert (series["last"] < p.end).all()
    assert (series["last"] > p.end - timedelta(days=3)).all()  # and runs to near the end
    # change points at irregular times: the gaps of one series are not all equal
    gaps = s.filter(pl.col("zone") == "cn-hangzhou-h", pl.col("spec") == "ecs.gn8is.2xlarge")[
        "ts"
    ].diff()
    assert gaps.n_unique() > 10
    # unique key, so every row loads
    assert s.select(pl.struct("zone", "spec", "ts").is_unique().all()).item()


def test_spot_mostly_8_to_20_percent_with_spikes_and_a_worse_zone() -> None:
    p = ds.EasSampleParams()
    d = _time_weighted(ds.eas_sample(p), p.end)
    within = d.filter(pl.col("discount").is_between(0.08, 0.20))["held"].sum() / d["held"].sum()
    assert within >= 0.85
    assert d["discount"].max() > 0.20  # spikes exist
    assert d.filter(pl.col("spike"))["discount"].min() >= p.spike_range[0] - 0.001
    above = d.group_by("zone").agg(
        (pl.col("held").filter(pl.col("discount") > 0.20).sum() / pl.col("held").sum()).alias(
            "share"
        )
    )
    share = dict(zip(above["zone"], above["share"], strict=True))
    assert share["cn-hangzhou-j"] > share["cn-hangzhou-h"]  # regime-like: one zone worse


def test_no_spike_probability_keeps_every_price_in_band() -> None:
    p = ds.EasSampleParams(
        specs=(("ecs.gn8is.2xlarge", 2.0),), zones=(("cn-hangzhou-h", 0.12, 0.0),), days=10
    )
    s = ds.eas_sample(p, seed=3)
    assert not s["spike"].any()
    # 14.4 CNY/h on demand: 8.5 % .. 19.5 % is 1.224 .. 2.808 CNY/h (rounded to 3 decimals)
    assert s["spot_price"].min() >= 1.224 and s["spot_price"].max() <= 2.808
    assert (s["on_demand_price"] == 14.4).all()


def test_pages_follow_the_real_envelope_and_page_size() -> None:
    sample = ds.eas_sample()
    pages = ds.spot_price_pages(sample, page_size=100)
    spec = "ecs.gn7i-c8g1.2xlarge"
    n = sample.filter(pl.col("spec") == spec).height
    assert len(pages[spec]) == math.ceil(n / 100)
    offsets = [pg["NextOffset"] for pg in pages[spec]]
    assert offsets == [*range(100, 100 * len(offsets), 100), 0]
    for pg in pages[spec]:
        assert pg["Currency"] == "CNY" and "SYNTHETIC" in pg["RequestId"]
        items = pg["SpotPrices"]["SpotPriceType"]
        assert 0 < len(items) <= 100
        assert set(items[0]) == {
            "ZoneId", "InstanceType", "IoOptimized", "NetworkType", "OriginPrice",
            "SpotPrice", "Timestamp",
        }  # fmt: skip
        assert items[0]["Timestamp"].endswith("Z")


def test_bundled_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = ds.write_eas_sample(tmp_path / "eas_sample")
    bundled = sorted((BUNDLED / "eas_sample").glob("*.json"))
    assert [p.name for p in sorted(written)] == [p.name for p in bundled]
    for mine in written:
        assert mine.read_bytes() == (BUNDLED / "eas_sample" / mine.name).read_bytes()
    ds.specs_catalog().write_csv(tmp_path / "catalog.csv")
    assert (tmp_path / "catalog.csv").read_bytes() == (BUNDLED / "specs_catalog.csv").read_bytes()
    for page in bundled:
        doc = json.loads(page.read_text())
        assert len(doc["SpotPrices"]["SpotPriceType"]) <= 1000  # the real API's page limit


def test_bundled_sample_ingests_with_no_rejects(store: sl.Store) -> None:
    results = sl.ingest(store, [BUNDLED / "specs_catalog.csv", BUNDLED / "eas_sample"])
    assert all(r.rows_rejected == 0 and r.rows_duplicate == 0 for r in results)
    prices = [r for r in results if r.kind == "prices"]
    assert {r.format for r in prices} == {"alibaba-spot-history"}
    assert sum(r.rows_loaded for r in prices) == ds.eas_sample().height
    n = store.query("SELECT count(DISTINCT (zone, spec)) AS n FROM spot_prices")["n"][0]
    assert n == 8 * 3


# -- the catalog ---------------------------------------------------------------------------


def test_catalog_known_prices_and_estimates() -> None:
    cat = ds.specs_catalog()
    assert cat.select(pl.struct("provider", "region", "spec").is_unique().all()).item()
    row = {r["spec"]: r for r in cat.iter_rows(named=True)}
    assert row["ecs.gn8is.2xlarge"]["on_demand_price"] == 14.4  # the seed's 8 vCPU + 1 x L20
    assert not row["ecs.gn8is.2xlarge"]["price_is_estimate"]
    assert row["ecs.gn7i-c8g1.2xlarge"]["on_demand_price"] == 9.74
    assert not row["ecs.gn7i-c8g1.2xlarge"]["price_is_estimate"]
    assert row["ml.gu7i.c8m30.1-gu30"]["on_demand_price"] == 8.0
    assert row["ml.gu7i.c8m30.1-gu30"]["price_is_estimate"]  # "<= 8 CNY/h" is an estimate
    assert cat.filter(~pl.col("spec").is_in(list(ds.KNOWN_PRICES)))["price_is_estimate"].all()
    # by hand: 128 vCPU x 0.12 + 1024 GiB x 0.03 + 8 L20 x (14.4 - 8 x 0.12 - 64 x 0.03)
    assert row["ecs.gn8is-8x.32xlarge"]["on_demand_price"] == pytest.approx(138.24)
    assert row["ecs.gn8is-8x.32xlarge"]["gpu_count"] == 8


# -- large canonical inputs ----------------------------------------------------------------


def test_canonical_prices_rows_series_and_bounds() -> None:
    f = ds.canonical_prices(10_001, n_series=37, seed=5)
    assert f.height == 10_001
    assert f.select(pl.struct("zone", "spec").n_unique()).item() == 37
    assert f.select(pl.struct("provider", "zone", "spec", "ts").is_unique().all()).item()
    share = f["spot_price"] / f["on_demand_price"]
    assert share.min() >= 0.05 - 1e-4 and share.max() <= 0.40 + 1e-4
    assert f.equals(ds.canonical_prices(10_001, n_series=37, seed=5))
    with pytest.raises(ValueError):
        ds.canonical_prices(3, n_series=5)


def test_csv_then_parquet_of_the_same_rows_are_all_duplicates(
    store: sl.Store, tmp_path: Path
) -> None:
    f = ds.canonical_prices(5_000, n_series=50, seed=1)
    csv = ds.write_canonical_csv(f, tmp_path / "p.csv")
    parquet = ds.write_canonical_parquet(f, tmp_path / "p.parquet")
    (a,) = sl.ingest(store, csv)
    (b,) = sl.ingest(store, parquet)
    assert (a.rows_read, a.rows_loaded, a.rows_rejected) == (5_000, 5_000, 0)
    assert (b.rows_read, b.rows_loaded, b.rows_duplicate) == (5_000, 0, 5_000)
    stored = store.query(
        "SELECT zone, spec, ts, spot_price FROM spot_prices ORDER BY zone, spec, ts"
    )
    assert stored.equals(f.select("zone", "spec", "ts", "spot_price").sort("zone", "spec", "ts"))


def test_row_numbers_and_first_wins_across_a_large_file(
    store: sl.Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB reads a large CSV in parallel chunks: reject row numbers must still be the
    file's line numbers, and of two rows with one key the earlier line must win (the later
    one, with another price, is a conflict naming the earlier line)."""
    from spotlab.ingest import canonical

    monkeypatch.setattr(canonical, "CSV_BUFFER_SIZE", 1_000_000)  # ~20 chunks of this file
    n = 250_000
    f = ds.canonical_prices(n, n_series=100, seed=2).with_columns(
        pl.col("spot_price").cast(pl.String)
    )
    bad_lines = [2, 61_234, 187_000, n + 1]  # line 1 is the header; row i is line i + 2
    spot = f["spot_price"].to_list()
    for line in bad_lines:
        spot[line - 2] = "-1"
    # line 150_002 repeats the key of line 10 with another price: line 10 must win
    dup = f.row(8, named=True) | {"spot_price": "999"}
    f = f.with_columns(pl.Series("spot_price", spot))
    f = pl.concat([f.slice(0, 150_000), pl.DataFrame([dup], schema=f.schema), f.slice(150_000)])
    path = ds.write_canonical_csv(f, tmp_path / "big.csv")
    (r,) = sl.ingest(store, path)
    assert (r.rows_read, r.rows_rejected, r.rows_duplicate) == (n + 1, 5, 0)
    assert r.rows_loaded == n + 1 - 5 and r.rows_conflict == 1
    got = store.query("SELECT row_number, reason, raw FROM rejects WHERE reason_code <> "
                      "'conflict' ORDER BY row_number")  # fmt: skip
    # the inserted line 150_002 moves the later bad lines down by one
    assert got["row_number"].to_list() == [b if b < 150_002 else b + 1 for b in bad_lines]
    assert all(",-1," in raw for raw in got["raw"])
    (conflict,) = store.query("SELECT row_number, reason, raw FROM rejects WHERE reason_code = "
                              "'conflict'").rows()  # fmt: skip
    assert conflict[0] == 150_002 and conflict[1].startswith("conflict with row 10 of this")
    assert ",999," in conflict[2]
    kept = store.query(
        "SELECT spot_price FROM spot_prices WHERE zone = ? AND spec = ? AND ts = ?",
        [dup["zone"], dup["spec"], dup["ts"]],
    )
    assert kept["spot_price"].to_list() == [float(f["spot_price"][8])]


# -- the GCP subset ------------------------------------------------------------------------


def test_gcp_subset_is_the_real_rows(shared_data: Path, tmp_path: Path) -> None:
    src = (
        shared_data
        / "gcp-pricing-history-cyclenerd"
        / "gcp_vm_price_changepoints_2022-02_to_2026-07.csv.gz"
    )
    n = ds.write_gcp_gpu_subset(src, tmp_path / "subset.csv.gz")
    # the same rows (compressed bytes may differ with another zlib)
    assert gzip.decompress((tmp_path / "subset.csv.gz").read_bytes()) == gzip.decompress(
        (BUNDLED / ds.GCP_SUBSET_NAME).read_bytes()
    )
    lines = gzip.decompress((tmp_path / "subset.csv.gz").read_bytes()).decode().splitlines()
    assert len(lines) == n + 1
    original = set(gzip.decompress(src.read_bytes()).decode().splitlines())
    assert set(lines) <= original  # lines copied unchanged
    frame = pl.read_csv(BUNDLED / ds.GCP_SUBSET_NAME, infer_schema=False)
    assert frame["hour_spot_usd"].is_not_null().all()
    assert set(frame["region"]) == set(ds.GCP_SUBSET_REGIONS)
    assert frame["machine_type"].str.contains(r"^(a2|a3|g2)-").all()
    assert (BUNDLED / ds.GCP_SUBSET_NAME).stat().st_size < 1_000_000


def test_bundled_gcp_subset_ingests_with_no_rejects(store: sl.Store) -> None:
    (r,) = sl.ingest(store, BUNDLED / ds.GCP_SUBSET_NAME)
    assert r.rows_rejected == 0 and r.rows_read == r.rows_loaded + r.rows_duplicate
    assert r.rows_loaded > 1000


def test_rows_needing_the_catalog_take_the_join_and_keep_row_numbers(
    store: sl.Store, tmp_path: Path
) -> None:
    """A canonical file without on-demand prices or currency needs the specs catalog: the
    ordered fast path gives way to the numbered join, with the same row accounting."""
    sl.ingest(store, BUNDLED / "specs_catalog.csv")
    path = tmp_path / "discounts.csv"
    path.write_text(
        "provider,zone,spec,ts,discount\n"
        "alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T00:00:00Z,0.1\n"
        "alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T01:00:00Z,2.0\n"
        "alibaba,cn-hangzhou-h,ecs.unknown,2026-11-01T01:00:00Z,0.1\n"
        "alibaba,cn-hangzhou-i,ecs.gn7i-c8g1.2xlarge,2026-11-01T02:00:00+08:00,0.15\n"
    )
    (r,) = sl.ingest(store, path)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (4, 2, 2)
    got = store.query("SELECT row_number, reason FROM rejects ORDER BY row_number").rows()
    assert got[0] == (3, "discount 2.0 outside (0, 1.5]")
    assert got[1][0] == 4 and got[1][1].startswith("missing currency")
    rows = store.query("SELECT spec, spot_price, currency FROM spot_prices ORDER BY spec").rows()
    # 0.15 x 9.74 and 0.1 x 14.4 CNY/h from the catalog
    assert [r[0] for r in rows] == ["ecs.gn7i-c8g1.2xlarge", "ecs.gn8is.2xlarge"]
    assert rows[0][1] == pytest.approx(1.461) and rows[1][1] == pytest.approx(1.44)
    assert {r[2] for r in rows} == {"CNY"}


def test_large_file_load_restores_duckdb_settings(tmp_path: Path) -> None:
    """The relation path caps memory and switches insertion order for its load only, also
    when the file fails."""
    f = ds.canonical_prices(2_000, n_series=10, seed=4)
    good = ds.write_canonical_csv(f, tmp_path / "good.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text().replace("alibaba,", "alibaba,x,", 1))  # a ragged line
    with sl.Store(tmp_path / "s.duckdb") as store:
        store.execute("SET preserve_insertion_order = false")
        before = store.query(
            "SELECT current_setting('memory_limit') AS m, "
            "current_setting('preserve_insertion_order') AS p"
        )
        with pytest.raises(sl.FormatError):
            sl.ingest(store, bad)
        (r,) = sl.ingest(store, good)
        assert r.rows_loaded == 2_000
        after = store.query(
            "SELECT current_setting('memory_limit') AS m, "
            "current_setting('preserve_insertion_order') AS p"
        )
        assert after.equals(before)
