"""A specs catalog CSV: one row per (provider, region, spec).

Columns: ``provider, region, spec, family, vcpu, memory_gib, gpu_model, gpu_count,
gpu_memory_gib, on_demand_price, currency, price_is_estimate`` (all but the first three
optional). ``price_is_estimate`` is true/false: set it true for any price not from the
provider's own price list. Loading a catalog replaces the rows it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotlab.ingest._common import read_text_table, rename_columns
from spotlab.ingest.core import Staged, register


class SpecsCatalog:
    name = "specs-csv"
    sniff_rule = (
        "a .csv (.gz) header with spec, provider, region and a vcpu/gpu/memory column, no ts"
    )
    kind = "specs"
    priority = 0  # catalogs load first: prices look up on-demand prices in them

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.name.lower().endswith((".csv", ".csv.gz")):
            return False
        header = head.split(b"\n", 1)[0].decode("utf-8", "replace").lower()
        cols = {c.strip().strip('"') for c in header.split(",")}
        return (
            {"spec", "provider", "region"} <= cols
            and bool(cols & {"vcpu", "gpu_model", "gpu_count", "memory_gib"})
            and "ts" not in cols
        )

    def read(self, path: Path, map: Mapping[str, str] | None = None, **_: Any) -> Staged:
        frame = rename_columns(read_text_table(path), map, path)
        return Staged(kind=self.kind, batches=[frame])


register(SpecsCatalog())
