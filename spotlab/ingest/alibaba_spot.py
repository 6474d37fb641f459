"""Alibaba Cloud ECS ``DescribeSpotPriceHistory`` responses.

One response page (``{"Currency", "SpotPrices": {"SpotPriceType": [...]}}``), a JSON array
of pages, or one page per file in a folder. ``OriginPrice`` is the pay-as-you-go
(on-demand) price; ``Currency`` comes from the page envelope (CNY on the China site, USD
on the international site); pass ``currency=`` when a page lacks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest._common import expect, load_json, records_frame
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
    kind = "prices"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"SpotPrices"' in head and b'"SpotPriceType"' in head

    def read(self, path: Path, currency: str | None = None, **_: Any) -> Staged:
        doc = load_json(path)
        pages = doc if isinstance(doc, list) else [doc]
        if not pages:
            raise FormatError("the JSON array holds no pages", path=path)
        frames = []
        row = 1
        for i, page in enumerate(pages):
            jpath = f"$[{i}]" if isinstance(doc, list) else "$"
            spot = expect(page, "SpotPrices", jpath, path, dict)
            items = expect(spot, "SpotPriceType", f"{jpath}.SpotPrices", path, list)
            cur = currency or (page.get("Currency") if isinstance(page, dict) else None)
            frames.append(
                records_frame(
                    items,
                    COLUMNS,
                    constants={"provider": "alibaba", "currency": cur},
                    first_row=row,
                    label=f"{jpath}.SpotPrices.SpotPriceType item",
                )
            )
            row += len(items)
        return Staged(kind=self.kind, batches=[pl.concat(frames, how="vertical")])


register(AlibabaSpotPriceHistory())
