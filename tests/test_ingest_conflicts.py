"""Issue #12, point 1: nothing is merged silently.

A canonical file's columns spotlab does not read are named in a notice; a row whose key is
stored, or earlier in its file, with another value is a *conflict* (a reject naming both
values), counted in ``sources.rows_conflict``; only a row that agrees is a duplicate.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

import spotlab as sl
from tests.conftest import ingest_counts, reject_reasons

# Hand-made rows in the layout boto3 / `aws ec2 describe-spot-price-history --output text`
# users export: four products of one series at one time (prices as in issue #12: Linux
# 0.0318, the others 0.0918 / 0.1238), then a later Linux point.
BOTO3_CSV = """AvailabilityZone,InstanceType,ProductDescription,SpotPrice,Timestamp
us-east-1a,m5d.large,SUSE Linux,0.091800,2022-05-31T21:09:24+00:00
us-east-1a,m5d.large,Linux/UNIX,0.031800,2022-05-31T21:09:24+00:00
us-east-1a,m5d.large,Red Hat Enterprise Linux,0.091800,2022-05-31T21:09:24+00:00
us-east-1a,m5d.large,Windows,0.123800,2022-05-31T21:09:24+00:00
us-east-1a,m5d.large,Linux/UNIX,0.031900,2022-05-31T22:00:00+00:00
"""
MAP = [
    "--map", "AvailabilityZone=zone", "--map", "InstanceType=spec",
    "--map", "SpotPrice=spot_price", "--map", "Timestamp=ts",
]  # fmt: skip


def test_products_are_not_merged_silently_from_the_cli(cli, tmp_path: Path) -> None:
    f = tmp_path / "boto3.csv"
    f.write_text(BOTO3_CSV)
    args = ["ingest", "--format", "canonical-csv", *MAP, "-o", "provider=aws", "-o", "currency=USD"]
    code, out, err = cli(*args, f)
    assert code == 0, err
    # the product column is named as ignored, the differing prices are conflicts, the
    # RHEL row (same price as the SUSE row that holds the key) is a duplicate
    assert "ignored columns (not canonical price columns): ProductDescription" in out
    assert "2 of 5 rows rejected (2 of them conflicts" in out
    assert "see `spotlab rejects 1`" in out
    code, out, _ = cli(*args, "--json", f)  # the same ingest again: skipped
    assert json.loads(out)[0]["skipped_as_duplicate_file"] is True
    with sl.Store(cli.db) as store:
        src = store.query("SELECT rows_read, rows_loaded, rows_duplicate, rows_rejected, "
                          "rows_conflict FROM sources").row(0)  # fmt: skip
        assert src == (5, 2, 1, 2, 2)
        why = reject_reasons(store)
        assert set(why) == {3, 5}
        assert "spot_price 0.0918 there, 0.0318 here" in why[3]
        assert "spot_price 0.0918 there, 0.1238 here" in why[5]
        assert all(r.startswith("conflict with row 2 of this file") for r in why.values())
        codes = store.query("SELECT DISTINCT reason_code FROM rejects")["reason_code"]
        assert codes.to_list() == ["conflict"]
    code, out, _ = cli("rejects", "--by-code", "--json")
    assert [(g["reason_code"], g["rows"]) for g in json.loads(out)] == [("conflict", 2)]


def test_real_products_at_one_key_are_conflicts(shared_data: Path, tmp_path: Path) -> None:
    """The real AWS dump as boto3-style CSV: every row that lands on a key holding another
    product's different price is a conflict; none is counted as a duplicate unless its
    price agrees."""
    import zstandard

    raw = (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress(
            (shared_data / "aws-spot-price-history-2022-05-31" / "2022-05.tsv.zst").read_bytes()
        )
    )
    cols = ["AvailabilityZone", "InstanceType", "ProductDescription", "SpotPrice", "Timestamp"]
    frame = pl.read_csv(io.BytesIO(raw), separator="\t", has_header=False, new_columns=cols,
                        infer_schema=False)  # fmt: skip
    f = tmp_path / "boto3.csv"
    frame.write_csv(f)
    mapping = {"AvailabilityZone": "zone", "InstanceType": "spec", "SpotPrice": "spot_price",
               "Timestamp": "ts"}  # fmt: skip
    with sl.Store(":memory:") as store:
        (r,) = sl.ingest(store, f, format="canonical-csv", map=mapping, provider="aws",
                         currency="USD")  # fmt: skip
        keys = frame.group_by("AvailabilityZone", "InstanceType", "Timestamp").agg(
            prices=pl.col("SpotPrice").cast(pl.Float64).n_unique()
        )
        assert r.rows_loaded == keys.height
        # each key keeps one row: the others are duplicates (same price) or conflicts
        assert r.rows_duplicate + r.rows_conflict == frame.height - keys.height
        assert r.rows_conflict == int((keys["prices"] - 1).sum())
        assert r.rows_conflict > 5000 and r.rows_rejected == r.rows_conflict
        assert any("ProductDescription" in n for n in r.notes)


def test_stored_conflict_names_the_source(store: sl.Store, tmp_path: Path) -> None:
    head = "provider,zone,spec,ts,spot_price,currency\n"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(head + "aws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,0.9,USD\n")
    b.write_text(
        head + "aws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,0.9,USD\n"  # agrees: duplicate
        "aws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,1.2,USD\n"  # differs: conflict
    )
    (ra,) = sl.ingest(store, a)
    (rb,) = sl.ingest(store, b)
    assert ingest_counts(rb) == (2, 0, 1, 1) and rb.rows_conflict == 1
    assert reject_reasons(store, rb.source_id)[3].startswith(
        f"conflict with source {ra.source_id} (same provider, zone, spec, ts): "
        "spot_price 0.9 there, 1.2 here"
    )
    assert store.query("SELECT spot_price FROM spot_prices")["spot_price"].to_list() == [0.9]


def test_a_row_that_only_adds_a_value_is_a_duplicate(store: sl.Store, tmp_path: Path) -> None:
    """NULL agrees with anything: a later file giving the on-demand price of a stored point
    with the same spot price is a duplicate, not a conflict."""
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("provider,zone,spec,ts,spot_price,currency\n"
                 "aws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,0.9,USD\n")  # fmt: skip
    b.write_text("provider,zone,spec,ts,spot_price,on_demand_price,currency\n"
                 "aws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,0.9,3.06,USD\n")  # fmt: skip
    sl.ingest(store, a)
    (r,) = sl.ingest(store, b)
    assert ingest_counts(r) == (1, 0, 1, 0)


def test_upsert_tables_conflict_only_within_a_file(store: sl.Store, tmp_path: Path) -> None:
    """A catalog replaces the rows it changes (documented upsert); two rows of one key with
    different values in one catalog are a conflict."""
    head = "provider,region,spec,vcpu,on_demand_price,currency\n"
    first, second = tmp_path / "c1.csv", tmp_path / "c2.csv"
    first.write_text(head + "aws,us-east-1,p3.2xlarge,8,3.06,USD\n")
    second.write_text(
        head + "aws,us-east-1,p3.2xlarge,8,3.10,USD\naws,us-east-1,p3.2xlarge,8,3.20,USD\n"
    )
    sl.ingest(store, first)
    (r,) = sl.ingest(store, second)
    assert ingest_counts(r) == (2, 1, 0, 1) and r.rows_conflict == 1
    assert store.query("SELECT on_demand_price FROM specs")["on_demand_price"].to_list() == [3.1]


def test_unknown_columns_of_spotlab_formats_are_named(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "catalog.csv"
    f.write_text("provider,region,spec,vcpu,os,_note\naws,us-east-1,p3.2xlarge,8,Windows,x\n")
    (r,) = sl.ingest(store, f)
    assert any(n.startswith("ignored columns (not specs columns): os, _note") for n in r.notes)
    # a column named like the rules' own names (_note vs _c_..., _ts) is kept apart
    assert ingest_counts(r) == (1, 1, 0, 0)


@pytest.mark.parametrize(
    ("rows", "counts"),
    [
        # three bad discounts: one code, three rows
        (["1.8", "2.0", "3.5", "0.2"], (4, 1, 0, 3)),
    ],
)
def test_rejects_group_by_code(cli, tmp_path: Path, rows: list[str], counts: tuple) -> None:
    f = tmp_path / "d.csv"
    f.write_text(
        "provider,zone,spec,ts,discount,on_demand_price,currency\n"
        + "".join(
            f"alibaba,cn-hangzhou-h,ecs.gn7i-c8g1.2xlarge,2024-04-10T0{i}:00:00Z,{d},10,CNY\n"
            for i, d in enumerate(rows)
        )
    )
    code, out, _ = cli("ingest", "--json", f)
    r = json.loads(out)[0]
    assert (r["rows_read"], r["rows_loaded"], r["rows_duplicate"], r["rows_rejected"]) == counts
    code, out, _ = cli("rejects", "--by-code", "--json")
    (group,) = json.loads(out)
    assert (group["reason_code"], group["rows"]) == ("discount_out_of_range", 3)
    assert group["reason"] == "discount 1.8 outside (0, 1.5]"  # the first one, as an example
    code, out, _ = cli("rejects")
    assert code == 0 and "rejects by reason code:" in out and "discount_out_of_range" in out
    with sl.Store(cli.db, read_only=True) as store:
        rep = sl.build_report(store)
    assert rep.reject_reasons.select("reason_code", "rows").rows() == [("discount_out_of_range", 3)]
