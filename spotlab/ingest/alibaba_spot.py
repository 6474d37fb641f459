"""Alibaba Cloud ECS ``DescribeSpotPriceHistory`` responses.

One response page (``{"Currency", "SpotPrices": {"SpotPriceType": [...]}}``), a JSON array
of pages, or one page per file in a folder. ``OriginPrice`` is the pay-as-you-go
(on-demand) price; ``Currency`` comes from the page envelope (CNY on the China site, USD
on the international site); pass ``currency=`` when a page lacks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spotlab.ingest._common import load_json, paged_records
from spotlab.ingest.core import Staged, register

COLUMNS = {
    "zone": "ZoneId",
    "spec": "InstanceType",
    "ts": "Timestamp",
    "spot_price": "SpotPrice",
    "on_demand_price": "OriginPrice",
}


class AlibabaSpotPriceHistory:
    name = "alibaba-spot-history"
    sniff_rule = 'JSON with "SpotPrices" and "SpotPriceType" (DescribeSpotPriceHistory pages)'
    kind = "prices"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"SpotPrices"' in head and b'"SpotPriceType"' in head

    def read(self, path: Path, currency: str | None = None, **_: Any) -> Staged:
        def envelope(page: Any) -> dict[str, Any]:
            found = page.get("Currency") if isinstance(page, dict) else None
            return {"currency": currency or found}

        frame, _pages = paged_records(
            load_json(path), path, ["SpotPrices", "SpotPriceType"], COLUMNS,
            {"provider": "alibaba"}, '{"SpotPrices": {"SpotPriceType": […]}}', envelope,
        )  # fmt: skip
        return Staged(kind=self.kind, batches=[frame])


register(AlibabaSpotPriceHistory())
