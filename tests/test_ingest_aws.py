"""AWS spot price history: describe-spot-price-history JSON and the TSV (zstd) dumps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import zstandard

import spotlab as sl
from spotlab.ingest.aws_spot import AZ_ID_REGIONS, normalise_product
from tests.conftest import ingest_counts, reject_reasons


@pytest.fixture
def tsv_zst(fixtures: Path, tmp_path: Path) -> Path:
    out = tmp_path / "2024-04.tsv.zst"
    out.write_bytes(
        zstandard.ZstdCompressor().compress((fixtures / "aws_spot_prices.tsv").read_bytes())
    )
    return out


# -- JSON ----------------------------------------------------------------------------------


def test_json_response_accounts_for_every_item(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "aws_describe_spot_price_history.json")
    assert r.format == "aws-spot-history"
    # items 1, 2 (Amazon VPC counts as Linux/UNIX), 4, 7 load; 5 repeats 4's key;
    # 3 is Windows; 6 has an empty SpotPrice
    assert ingest_counts(r) == (7, 4, 1, 2)
    assert r.naive_timestamps == 1  # item 7: "2024-04-10 08:00:00"
    reasons = reject_reasons(store, r.source_id)
    assert sorted(reasons) == [3, 6]
    assert reasons[3].startswith("product 'Windows' not loaded")
    assert "product='Windows'" in reasons[3] and "--db" in reasons[3]
    assert reasons[6] == "neither spot price nor discount given"
    pts = store.query(
        "SELECT region, zone, spec, spot_price, currency, discount FROM spot_prices ORDER BY ts"
    )
    assert pts["region"].to_list() == ["us-west-2", "us-east-1", "us-east-1", "us-east-1"]
    assert pts["spot_price"].to_list() == pytest.approx([0.4036, 0.918, 0.2104, 0.1987])
    assert set(pts["currency"]) == {"USD"}
    assert pts["discount"].null_count() == 4  # AWS gives no on-demand price


def test_json_pages_and_overlap_deduplicate(store: sl.Store, fixtures: Path) -> None:
    sl.ingest(store, fixtures / "aws_describe_spot_price_history.json")
    (r,) = sl.ingest(store, fixtures / "aws_spot_price_history_pages.json")
    # page 0 item 1 repeats the first file's first point; item 3 is SUSE Linux
    assert ingest_counts(r) == (4, 2, 1, 1)
    assert list(reject_reasons(store, r.source_id)) == [3]  # items are numbered across pages
    tokyo = store.query("SELECT region FROM spot_prices WHERE zone = 'ap-northeast-1a'")
    assert tokyo["region"].to_list() == ["ap-northeast-1"]
    assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 6


def test_json_pages_alone(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "aws_spot_price_history_pages.json")
    assert ingest_counts(r) == (4, 3, 0, 1)


def test_json_other_product_on_request(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "aws_describe_spot_price_history.json", product="Windows")
    assert ingest_counts(r) == (7, 1, 0, 6)
    assert store.query("SELECT spot_price FROM spot_prices")["spot_price"].to_list() == [0.3904]
    assert "this ingest loads 'Windows'" in reject_reasons(store, r.source_id)[1]


def test_json_wrong_shape_names_the_json_path(store: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"SpotPriceHistory": []}, {"SpotPriceHistroy": []}]')
    with pytest.raises(sl.FormatError, match=r"\$\[1\]\.SpotPriceHistory.*Did you mean"):
        sl.ingest(store, bad, format="aws-spot-history")
    bad.write_text('{"SpotPriceHistory": {"AvailabilityZone": "us-east-1a"}}')
    with pytest.raises(sl.FormatError, match=r"wrong type at \$\.SpotPriceHistory.*list"):
        sl.ingest(store, bad, format="aws-spot-history")
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_json_truncated_is_a_format_error(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / "aws_describe_spot_price_history.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(sl.FormatError, match="truncated"):
        sl.ingest(store, cut)


def test_json_notes_a_next_token(store: sl.Store, tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text(
        '{"SpotPriceHistory": [{"AvailabilityZone": "us-east-1a", "InstanceType": "p3.2xlarge",'
        ' "ProductDescription": "Linux/UNIX", "SpotPrice": "0.9",'
        ' "Timestamp": "2024-04-10T10:00:00Z"}], "NextToken": "abc"}'
    )
    (r,) = sl.ingest(store, page)
    assert any("NextToken" in n for n in r.notes)


# -- TSV -----------------------------------------------------------------------------------


def test_tsv_zst_accounts_for_every_line(store: sl.Store, tsv_zst: Path) -> None:
    (r,) = sl.ingest(store, tsv_zst)
    assert r.format == "aws-spot-tsv"
    # lines 1, 3, 4, 10 load; 6 repeats 1; 2 Windows, 5 unknown AZ id prefix, 7 negative
    # price, 8 bad time, 9 an AZ name where an AZ id belongs
    assert ingest_counts(r) == (10, 4, 1, 5)
    reasons = reject_reasons(store, r.source_id)
    assert sorted(reasons) == [2, 5, 7, 8, 9]
    assert reasons[2].startswith("product 'Windows' not loaded")
    assert reasons[5].startswith("unknown AWS AZ id prefix 'zzz9' (in 'zzz9-az1')")
    assert reasons[7].startswith("spot price must be positive")
    assert reasons[8] == "unparsable time: not-a-time"
    assert reasons[9] == "not an AWS AZ id: 'us-east-1a' (expected like use1-az4)"
    raw = store.query("SELECT raw FROM rejects WHERE row_number = 2")["raw"][0]
    assert raw == "use1-az4\tg4dn.xlarge\tWindows\t0.394000\t2022-05-31T18:20:41+00:00"
    pts = store.query("SELECT zone, region FROM spot_prices ORDER BY zone")
    assert list(zip(pts["zone"], pts["region"], strict=True)) == [
        ("apne1-az1", "ap-northeast-1"),
        ("euw3-az2", "eu-west-3"),
        ("use1-az4", "us-east-1"),
        ("usw2-az1", "us-west-2"),
    ]


def test_tsv_same_bytes_twice_is_skipped(store: sl.Store, tsv_zst: Path) -> None:
    sl.ingest(store, tsv_zst)
    (again,) = sl.ingest(store, tsv_zst)
    assert again.skipped_as_duplicate_file and ingest_counts(again) == (0, 0, 0, 0)


def test_tsv_plain_and_gzip_sniffed(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    import gzip

    gz = tmp_path / "dump.tsv.gz"
    gz.write_bytes(gzip.compress((fixtures / "aws_spot_prices.tsv").read_bytes()))
    (r1,) = sl.ingest(store, fixtures / "aws_spot_prices.tsv")
    (r2,) = sl.ingest(store, gz)
    assert r1.format == r2.format == "aws-spot-tsv"
    assert ingest_counts(r2) == (10, 0, 5, 5)  # everything r1 loaded is a duplicate now


def test_tsv_truncated_zstd_is_a_format_error(store: sl.Store, tsv_zst: Path) -> None:
    data = tsv_zst.read_bytes()
    tsv_zst.write_bytes(data[: len(data) - 7])
    with pytest.raises(sl.FormatError, match="truncated"):
        sl.ingest(store, tsv_zst, format="aws-spot-tsv")
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_tsv_wrong_field_count_is_a_format_error(store: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("use1-az4\tg4dn.xlarge\tLinux/UNIX\n")
    with pytest.raises(sl.FormatError, match=r"5 tab-separated fields.*found: 3 field"):
        sl.ingest(store, bad, format="aws-spot-tsv")


def test_product_names() -> None:
    assert normalise_product("Linux/UNIX (Amazon VPC)") == "Linux/UNIX"
    assert normalise_product(" Windows ") == "Windows"
    assert AZ_ID_REGIONS["use1"] == "us-east-1"
    assert AZ_ID_REGIONS["euw3"] == "eu-west-3"
    assert AZ_ID_REGIONS["apne1"] == "ap-northeast-1"


def test_empty_product_option_is_refused(store: sl.Store, tsv_zst: Path) -> None:
    with pytest.raises(sl.FormatError, match="option product"):
        sl.ingest(store, tsv_zst, product="")


# -- the real dump in ../shared/data --------------------------------------------------------


def test_shared_may_2022_dump_accounts_for_all_rows(store: sl.Store, shared_data: Path) -> None:
    dump = shared_data / "aws-spot-price-history-2022-05-31" / "2022-05.tsv.zst"
    t0 = time.perf_counter()
    (r,) = sl.ingest(store, dump)
    seconds = time.perf_counter() - t0
    assert r.rows_read == 33_362
    assert r.rows_read == r.rows_loaded + r.rows_duplicate + r.rows_rejected
    # 9,281 Linux/UNIX points; the other three products are rejects that say how to load them
    assert ingest_counts(r) == (33_362, 9_281, 0, 24_081)
    by_reason = store.query(
        "SELECT regexp_extract(reason, '^product ''([^'']+)''', 1) AS product, count(*) AS n "
        "FROM rejects GROUP BY ALL ORDER BY product"
    )
    assert dict(zip(by_reason["product"], by_reason["n"], strict=True)) == {
        "Red Hat Enterprise Linux": 9_281,
        "SUSE Linux": 9_281,
        "Windows": 5_519,
    }
    regions = store.query(
        "SELECT count(DISTINCT region) AS n, count(DISTINCT zone) AS z FROM spot_prices"
    )
    assert regions["n"][0] == 17
    assert store.query("SELECT count(*) AS n FROM spot_prices WHERE region = zone")["n"][0] == 0
    (again,) = sl.ingest(store, dump)
    assert again.skipped_as_duplicate_file and again.rows_loaded == 0
    assert seconds < 30
