"""A catalog row with an absurd count is a reject with a reason, not a failed file."""

from __future__ import annotations

from pathlib import Path

import spotlab as sl


def test_out_of_range_counts_are_rejects(store: sl.Store, tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        "provider,region,spec,vcpu,memory_gib,gpu_model,gpu_count,gpu_memory_gib,"
        "on_demand_price,currency\n"
        "alibaba,cn-hangzhou,ecs.a,99999999999,8,T4,1,16,1.0,CNY\n"
        "alibaba,cn-hangzhou,ecs.b,8,8,T4,99999999999,16,1.0,CNY\n"
        "alibaba,cn-hangzhou,ecs.c,8,8,T4,1,16,1.0,CNY\n"
    )
    (r,) = sl.ingest(store, path)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 1, 2)
    reasons = store.query("SELECT row_number, reason FROM rejects ORDER BY row_number")
    assert reasons["row_number"].to_list() == [2, 3]
    assert reasons["reason"][0].startswith("vcpu") and "out of range" in reasons["reason"][0]
    assert reasons["reason"][1].startswith("gpu_count")
    assert store.query("SELECT spec FROM specs")["spec"].to_list() == ["ecs.c"]
