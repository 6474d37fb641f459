from __future__ import annotations

import pytest

import spotlab as sl


def test_page_accounts_for_every_item(store: sl.Store, fixtures) -> None:
    (r,) = sl.ingest(store, fixtures / "alibaba_spot_history_page.json")
    assert r.format == "alibaba-spot-history"
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (6, 2, 1, 3)
    reasons = store.query("SELECT row_number, reason FROM rejects ORDER BY row_number")
    assert reasons["row_number"].to_list() == [3, 5, 6]
    assert reasons["reason"][0].startswith("spot price must be positive")
    pts = store.table("spot_prices").sort("ts")
    assert pts["currency"].to_list() == ["CNY", "CNY"]
    assert pts["region"][0] == "cn-hangzhou"
    assert pts["discount"][0] == pytest.approx(0.036 / 0.354)


def test_same_bytes_twice_is_a_noop(store: sl.Store, fixtures) -> None:
    sl.ingest(store, fixtures / "alibaba_spot_history_page.json")
    (again,) = sl.ingest(store, fixtures / "alibaba_spot_history_page.json")
    assert again.skipped_as_duplicate_file and again.rows_loaded == 0
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 1


def test_missing_envelope_key_names_json_path(store: sl.Store, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"Currency": "CNY", "SpotPrices": {"SpotPriceTyp": []}}]')
    with pytest.raises(sl.FormatError, match=r"\$\[0\]\.SpotPrices\.SpotPriceType"):
        sl.ingest(store, bad, format="alibaba-spot-history")
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_folder_of_pages_and_array_of_pages(store: sl.Store, tmp_path) -> None:
    import json

    def item(hour: int, price: float) -> dict[str, object]:
        return {
            "ZoneId": "cn-hangzhou-h", "InstanceType": "ecs.gn7i-c8g1.2xlarge",
            "OriginPrice": 9.74, "SpotPrice": price, "Timestamp": f"2024-04-10T{hour:02d}:00:00Z",
        }  # fmt: skip

    def page(items: list[dict[str, object]], nxt: int) -> dict[str, object]:
        return {"Currency": "CNY", "NextOffset": nxt, "SpotPrices": {"SpotPriceType": items}}

    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "page-01.json").write_text(json.dumps(page([item(0, 1.1), item(1, 1.2)], 2)))
    (folder / "page-02.json").write_text(json.dumps(page([item(1, 1.2), item(2, 1.3)], 0)))
    (folder / "README.md").write_text("notes beside the pages are skipped")
    results = sl.ingest(store, folder)
    assert [(r.rows_read, r.rows_loaded, r.rows_duplicate) for r in results] == [
        (2, 2, 0),
        (2, 1, 1),  # hour 01 was on the first page
    ]
    both = tmp_path / "both.json"
    both.write_text(json.dumps([page([item(2, 1.3)], 1), page([item(3, 1.25)], 0)]))
    (r,) = sl.ingest(store, both)
    assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (2, 1, 1, 0)
    prices = store.query("SELECT spot_price FROM spot_prices ORDER BY ts")["spot_price"]
    assert prices.to_list() == [1.1, 1.2, 1.3, 1.25]
