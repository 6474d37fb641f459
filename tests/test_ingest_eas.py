"""EAS DescribeSpotDiscountHistory: discounts stored, spot prices from the specs catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import spotlab as sl
from tests.conftest import ingest_counts, reject_reasons

EAS = "eas_spot_discount_history.json"


def test_specs_catalog_fixture(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "specs_catalog.csv")
    assert r.format == "specs-csv"
    assert ingest_counts(r) == (5, 3, 0, 2)
    assert reject_reasons(store, r.source_id) == {5: "unparsable vcpu: four", 6: "missing region"}
    est = store.query("SELECT bool_and(price_is_estimate) AS e FROM specs")["e"][0]
    assert est is True


def test_with_catalog_fills_spot_price(store: sl.Store, fixtures: Path) -> None:
    sl.ingest(store, fixtures / "specs_catalog.csv")
    (r,) = sl.ingest(store, fixtures / EAS)
    assert r.format == "eas-spot-discount"
    # items 1, 2, 4 load; 3 repeats 2; 5 discount 1.8, 6 "abc", 7 a spec the catalog lacks
    # in cn-shanghai (so no currency), 8 no InstanceType
    assert ingest_counts(r) == (8, 3, 1, 4)
    reasons = reject_reasons(store, r.source_id)
    assert reasons[5] == "discount 1.8 outside (0, 1.5]"
    assert reasons[6] == "unparsable discount: abc"
    assert reasons[7].startswith("missing currency (pass currency=")
    assert reasons[8] == "missing spec"
    pts = store.query(
        "SELECT spec, region, ts, discount, spot_price, on_demand_price, currency "
        "FROM spot_prices ORDER BY ts, spec"
    )
    assert pts["spec"].to_list() == [
        "ecs.gn7i-c8g1.2xlarge",  # 10:00+08:00 is 02:00 UTC
        "ml.gu7i.c8m30.1-gu30",
        "ml.gu7i.c8m30.1-gu30",
    ]
    assert str(pts["ts"][0]) == "2024-04-10 02:00:00+00:00"
    assert pts["region"].to_list() == ["cn-hangzhou"] * 3
    assert pts["discount"].to_list() == pytest.approx([0.15, 0.1, 0.12])
    assert pts["spot_price"].to_list() == pytest.approx([0.15 * 9.74, 0.8, 0.96])
    assert pts["on_demand_price"].to_list() == pytest.approx([9.74, 8.0, 8.0])
    assert set(pts["currency"]) == {"CNY"}


def test_without_catalog_needs_a_currency(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / EAS)
    # without a catalog nothing gives a currency: every valid row says so
    assert ingest_counts(r) == (8, 0, 0, 8)
    missing = [n for n, why in reject_reasons(store, r.source_id).items() if "currency" in why]
    assert missing == [1, 2, 3, 4, 7]


def test_currency_option_stores_discount_only(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / EAS, currency="CNY")
    assert ingest_counts(r) == (8, 4, 1, 3)
    pts = store.query("SELECT discount, spot_price FROM spot_prices ORDER BY ts, spec")
    assert pts["spot_price"].null_count() == 4  # no on-demand price known
    assert sorted(pts["discount"].to_list()) == pytest.approx([0.1, 0.12, 0.15, 0.2])


def test_array_of_responses(store: sl.Store, fixtures: Path, tmp_path: Path) -> None:
    doc = json.loads((fixtures / EAS).read_text())
    pages = tmp_path / "pages.json"
    pages.write_text(
        json.dumps(
            [
                {"SpotDiscounts": doc["SpotDiscounts"][:4]},
                {"SpotDiscounts": doc["SpotDiscounts"][4:]},
            ]
        )
    )
    (r,) = sl.ingest(store, pages, currency="CNY")
    assert ingest_counts(r) == (8, 4, 1, 3)
    assert sorted(reject_reasons(store, r.source_id)) == [5, 6, 8]


def test_wrong_shape_is_a_format_error(store: sl.Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"SpotDiscounts": {"InstanceType": "x"}}')
    with pytest.raises(sl.FormatError, match=r"wrong type at \$\.SpotDiscounts"):
        sl.ingest(store, bad)
    bad.write_text('[{"SpotDiscounts": []}, 7]')
    with pytest.raises(sl.FormatError, match=r"expected an object at \$\[1\]"):
        sl.ingest(store, bad, format="eas-spot-discount")
    bad.write_text('{"SpotDiscounts": []}')
    with pytest.raises(sl.FormatError, match="no rows"):
        sl.ingest(store, bad)
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_item_that_is_not_an_object_is_a_reject(store: sl.Store, tmp_path: Path) -> None:
    f = tmp_path / "odd.json"
    f.write_text(
        '{"SpotDiscounts": [{"InstanceType": "ml.gu7i.c8m30.1-gu30", "ZoneId": "cn-hangzhou-h",'
        ' "SpotDiscount": "0.1", "Timestamp": "2024-04-10T10:00:00Z"}, "oops"]}'
    )
    (r,) = sl.ingest(store, f, currency="CNY")
    assert ingest_counts(r) == (2, 1, 0, 1)
    assert reject_reasons(store, r.source_id) == {2: "$.SpotDiscounts item is not a JSON object"}
