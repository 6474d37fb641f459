"""A catalog estimate never replaces a price the provider gave (make lab re-ingests the
bundled catalog into a database that fetched real prices)."""

from __future__ import annotations

from pathlib import Path

import spotlab as sl

HEAD = "provider,region,spec,gpu_count,gpu_memory_gib,on_demand_price,currency,price_is_estimate\n"


def _specs(store: sl.Store) -> list[tuple]:
    return store.query(
        "SELECT spec, gpu_count, on_demand_price, price_is_estimate FROM specs ORDER BY spec"
    ).rows()


def test_an_estimate_keeps_the_measured_price_and_updates_the_hardware(tmp_path: Path) -> None:
    measured, estimate = tmp_path / "measured.csv", tmp_path / "estimate.csv"
    measured.write_text(
        HEAD + "alibaba,cn-hangzhou,ecs.a,1,24,7.5,CNY,false\n"
        "alibaba,cn-hangzhou,ecs.b,1,24,3.0,CNY,true\n"
    )
    estimate.write_text(
        HEAD + "alibaba,cn-hangzhou,ecs.a,2,24,9.9,CNY,true\n"  # hardware changed
        "alibaba,cn-hangzhou,ecs.b,1,24,4.0,CNY,true\n"  # an estimate replaces an estimate
    )
    with sl.Store(":memory:") as store:
        sl.ingest(store, measured)
        (r,) = sl.ingest(store, estimate)
        assert _specs(store) == [("ecs.a", 2, 7.5, False), ("ecs.b", 1, 4.0, True)]
        assert (r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_rejected) == (2, 2, 0, 0)


def test_an_estimate_that_changes_nothing_else_is_a_duplicate(tmp_path: Path) -> None:
    measured, estimate = tmp_path / "measured.csv", tmp_path / "estimate.csv"
    measured.write_text(HEAD + "alibaba,cn-hangzhou,ecs.a,1,24,7.5,CNY,false\n")
    estimate.write_text(HEAD + "alibaba,cn-hangzhou,ecs.a,1,24,9.9,CNY,true\n")
    with sl.Store(":memory:") as store:
        sl.ingest(store, measured)
        (r,) = sl.ingest(store, estimate)
        assert _specs(store) == [("ecs.a", 1, 7.5, False)]
        assert (r.rows_loaded, r.rows_duplicate) == (0, 1)
        # a measured price still replaces an estimate, and another measured price
        again = tmp_path / "again.csv"
        again.write_text(HEAD + "alibaba,cn-hangzhou,ecs.a,1,24,8.0,CNY,false\n")
        sl.ingest(store, again)
        assert _specs(store) == [("ecs.a", 1, 8.0, False)]
