"""Spot prices derived from the specs catalog's on-demand price follow it when it changes
(an estimate replaced by a quote): the EAS discount's spot price, a spot price's discount,
and discounts no catalog priced yet. Hand-worked figures: a 0.1 discount of 10 CNY/h is
1.0 CNY/h; of 12 CNY/h, 1.2."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

import spotlab as sl
from spotlab import schema

SPEC = "ecs.gn7i-c8g1.2xlarge"
HEADER = (
    "provider,region,spec,family,vcpu,memory_gib,gpu_model,gpu_count,gpu_memory_gib,"
    "on_demand_price,currency,price_is_estimate\n"
)
PRICES = (  # rounded: 0.1 × 12 is 1.2000000000000002 in binary
    "SELECT zone, round(spot_price, 9), round(discount, 9), on_demand_price, catalog_filled "
    "FROM spot_prices "
)


def _catalog(path: Path, price: float, currency: str = "CNY", estimate: bool = False) -> Path:
    row = f"alibaba,cn-hangzhou,{SPEC},ecs.gn7i,8,30,A10,1,24,{price},{currency},{estimate}\n"
    path.write_text(HEADER + row)
    return path


def _discounts(path: Path, zone: str = "cn-hangzhou-h", discount: str = "0.1") -> Path:
    item = {"InstanceType": SPEC, "ZoneId": zone, "SpotDiscount": discount,
            "Timestamp": "2026-11-01T00:00:00Z"}  # fmt: skip
    path.write_text(json.dumps({"SpotDiscounts": [item]}))
    return path


def _canonical(path: Path, rows: str) -> Path:
    path.write_text("provider,zone,spec,ts,spot_price,on_demand_price,currency\n" + rows)
    return path


def _rows(store: sl.Store) -> list[tuple[object, ...]]:
    return store.query(PRICES + "ORDER BY zone").rows()


def test_a_quote_replacing_the_estimate_reprices_what_was_derived(
    store: sl.Store, tmp_path: Path
) -> None:
    sl.ingest(store, _catalog(tmp_path / "estimate.csv", 10, estimate=True))
    sl.ingest(store, _discounts(tmp_path / "disc.json"))
    # a spot price without on-demand (its discount from the catalog), one with its own
    sl.ingest(store, _canonical(tmp_path / "spot.csv", (
        f"alibaba,cn-hangzhou-i,{SPEC},2026-11-01T00:00:00Z,1.5,,CNY\n"
        f"alibaba,cn-hangzhou-j,{SPEC},2026-11-01T00:00:00Z,2.0,16,CNY\n")))  # fmt: skip
    assert _rows(store) == [
        ("cn-hangzhou-h", 1.0, 0.1, 10.0, "spot_price"),
        ("cn-hangzhou-i", 1.5, 0.15, 10.0, "discount"),
        ("cn-hangzhou-j", 2.0, 0.125, 16.0, None),
    ]
    (quote,) = sl.ingest(store, _catalog(tmp_path / "quote.csv", 12))
    assert _rows(store) == [
        ("cn-hangzhou-h", 1.2, 0.1, 12.0, "spot_price"),  # 0.1 × 12
        ("cn-hangzhou-i", 1.5, 0.125, 12.0, "discount"),  # 1.5 ÷ 12
        ("cn-hangzhou-j", 2.0, 0.125, 16.0, None),  # its own on-demand price: untouched
    ]
    assert any("re-priced 2 stored spot price rows" in n for n in quote.notes)
    # loading the discounts again finds them priced as a fresh load would: duplicates
    (again,) = sl.ingest(store, _discounts(tmp_path / "disc.json"), reload=True)
    assert (again.rows_loaded, again.rows_rejected) == (1, 0)
    assert _rows(store)[0] == ("cn-hangzhou-h", 1.2, 0.1, 12.0, "spot_price")


def test_an_estimate_never_reprices_and_a_same_price_is_no_note(
    store: sl.Store, tmp_path: Path
) -> None:
    sl.ingest(store, _catalog(tmp_path / "quote.csv", 12))
    sl.ingest(store, _discounts(tmp_path / "disc.json"))
    (estimate,) = sl.ingest(store, _catalog(tmp_path / "estimate.csv", 10, estimate=True))
    assert estimate.notes == []  # the quote survives the estimate (keep_stored): nothing moves
    assert _rows(store) == [("cn-hangzhou-h", 1.2, 0.1, 12.0, "spot_price")]


def test_a_discount_loaded_before_any_catalog_is_priced_by_the_first(
    store: sl.Store, tmp_path: Path
) -> None:
    sl.ingest(store, _discounts(tmp_path / "disc.json"), currency="CNY")
    assert _rows(store) == [("cn-hangzhou-h", None, 0.1, None, None)]
    (catalog,) = sl.ingest(store, _catalog(tmp_path / "quote.csv", 12))
    assert _rows(store) == [("cn-hangzhou-h", 1.2, 0.1, 12.0, "spot_price")]
    assert any("re-priced 1 stored" in n for n in catalog.notes)


def test_a_catalog_in_another_currency_leaves_the_series_alone(
    store: sl.Store, tmp_path: Path
) -> None:
    sl.ingest(store, _catalog(tmp_path / "estimate.csv", 10, estimate=True))
    sl.ingest(store, _discounts(tmp_path / "disc.json"))
    sl.ingest(store, _catalog(tmp_path / "usd.csv", 1.6, currency="USD"))
    assert _rows(store) == [("cn-hangzhou-h", 1.0, 0.1, 10.0, "spot_price")]


def test_migration_7_marks_the_discount_rows_loaded_before(tmp_path: Path) -> None:
    db = tmp_path / "v6.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                "description VARCHAR, applied_at TIMESTAMPTZ)")  # fmt: skip
    for m in schema.MIGRATIONS:
        if m.version <= 6:
            for stmt in m.statements:
                con.execute(stmt)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())",
                        [m.version, m.description])  # fmt: skip
    con.execute(
        "INSERT INTO sources (source_id, uri, sha256, format, kind, rows_read, rows_loaded, "
        "rows_duplicate, rows_rejected, ingested_at) VALUES "
        "(1, 'd.json', 'x', 'eas-spot-discount', 'prices', 2, 2, 0, 0, now()), "
        "(2, 'p.csv', 'y', 'canonical-csv', 'prices', 1, 1, 0, 0, now())"
    )
    con.execute(
        "INSERT INTO spot_prices VALUES "
        "('alibaba', 'cn-hangzhou', 'cn-hangzhou-h', 's', '2026-11-01', 1.0, 0.1, 10, 'CNY', 1), "
        "('alibaba', 'cn-hangzhou', 'cn-hangzhou-i', 's', '2026-11-01', NULL, 0.1, NULL, 'CNY', 1),"
        "('alibaba', 'cn-hangzhou', 'cn-hangzhou-j', 's', '2026-11-01', 2.0, 0.2, 10, 'CNY', 2)"
    )
    con.close()
    with sl.Store(db) as store:
        assert store.schema_version == schema.SCHEMA_VERSION
        got = store.query("SELECT zone, catalog_filled FROM spot_prices ORDER BY zone").rows()
    assert got == [("cn-hangzhou-h", "spot_price"), ("cn-hangzhou-i", None),
                   ("cn-hangzhou-j", None)]  # fmt: skip
