"""PAI-EAS ``DescribeMachineSpec`` → ``spec_stock`` and the GPU specs' hardware in ``specs``.

``GET /api/v2/public/instance_types`` answers ``{"RequestId", "InstanceMetas": [{
"InstanceType", "CPU", "Memory" (GB), "GPU", "GPUAmount", "GPUMemory" (GB), "IsAvailable",
"StockStatus" (WithStock | ClosedWithStock | NoStock), "Vendor", "SpotDiscount",
"NonProtectSpotDiscount"}], "Types": [...]}``. The response does not name its region (the
endpoint does): a page carries ``RegionId`` beside those keys (``spotlab fetch eas-specs``
writes it; pass ``region=`` otherwise). No absolute price is given.

One ``spec_stock`` row per spec: stock status, availability and the lowest spot discounts
a bid may use (``SpotDiscount`` with the 1-hour protection, ``NonProtectSpotDiscount``
without), as multipliers of the pay-as-you-go price; ``observed_at`` is the option, a
date in the file name, or the ingest time. Specs with a GPU also merge their hardware into
the catalog (:data:`~spotlab.ingest.fetched_targets.SPEC_FACTS`, no price): ``vcpu`` from
``CPU``, ``memory_gib`` from ``Memory``, ``gpu_model``, ``gpu_count``; ``GPUMemory`` as
``gpu_memory_gib`` only for one-GPU specs (whether the API gives it per GPU or in all is
not documented).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest import _events
from spotlab.ingest._common import json_text, load_json
from spotlab.ingest.core import Staged, register

STOCK = ("provider", "region", "spec", "stock_status", "is_available", "min_spot_discount",
         "min_spot_discount_unprotected", "observed_at")  # fmt: skip
FACTS = ("provider", "region", "spec", "vcpu", "memory_gib", "gpu_model", "gpu_count",
         "gpu_memory_gib")  # fmt: skip


def _gpus(meta: Mapping[str, Any]) -> float:
    try:
        return float(meta.get("GPUAmount") or 0)
    except (TypeError, ValueError):
        return 0.0


class EasMachineSpec:
    name = "eas-machine-spec"
    sniff_rule = 'JSON with "InstanceMetas" (EAS DescribeMachineSpec)'
    kind = "spec_stock"
    priority = 5

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"InstanceMetas"' in head

    def read(
        self, path: Path, region: str | None = None, observed_at: str | None = None, **_: Any
    ) -> Staged:
        doc = load_json(path)
        pages = doc if isinstance(doc, list) else [doc]
        notes: list[str] = []
        when = _events.observed_at(path, observed_at, notes)
        stock: list[dict[str, Any]] = []
        facts: list[dict[str, Any]] = []
        for i, page in enumerate(pages):
            where = f"$[{i}]" if isinstance(doc, list) else "$"
            metas = page.get("InstanceMetas") if isinstance(page, Mapping) else None
            if not isinstance(metas, list):
                raise FormatError(f"missing the list {where}.InstanceMetas", path=path)
            reg = region or page.get("RegionId")
            if not reg:
                raise FormatError(
                    f"{where} does not name its region: add RegionId beside InstanceMetas "
                    "(or pass -o region=...)", path=path, expected="RegionId",
                )  # fmt: skip
            for meta in metas:
                ok = isinstance(meta, Mapping)
                m: Mapping[str, Any] = meta if ok else {}
                spec = json_text(m.get("InstanceType"))
                stock.append({
                    "provider": "alibaba", "region": json_text(reg), "spec": spec,
                    "stock_status": json_text(m.get("StockStatus")),
                    "is_available": json_text(m.get("IsAvailable")),
                    "min_spot_discount": json_text(m.get("SpotDiscount")),
                    "min_spot_discount_unprotected": json_text(m.get("NonProtectSpotDiscount")),
                    "observed_at": when, "_raw": json.dumps(meta, ensure_ascii=False),
                    "_reject": None if ok else f"{where}.InstanceMetas item is not an object",
                })  # fmt: skip
                if ok and spec and _gpus(m) > 0:
                    facts.append({
                        "provider": "alibaba", "region": json_text(reg), "spec": spec,
                        "vcpu": json_text(m.get("CPU")), "memory_gib": json_text(m.get("Memory")),
                        "gpu_model": json_text(m.get("GPU")),
                        "gpu_count": json_text(m.get("GPUAmount")),
                        "gpu_memory_gib": json_text(m.get("GPUMemory")) if _gpus(m) == 1 else None,
                    })  # fmt: skip
        frame = pl.DataFrame(
            stock, schema={c: pl.String for c in (*STOCK, "_raw", "_reject")}
        ).with_row_index("_row", offset=1)
        side = {}
        if facts:
            side["spec_facts"] = pl.DataFrame(facts, schema={c: pl.String for c in FACTS})
        return Staged(
            kind=self.kind, batches=[frame.with_columns(pl.col("_row").cast(pl.Int64))],
            side=side, notes=notes,
        )  # fmt: skip


register(EasMachineSpec())
