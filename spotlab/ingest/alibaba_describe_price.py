"""Alibaba Cloud ECS ``DescribePrice`` results → the specs catalog's on-demand price.

A page is the response (``{"RequestId", "PriceInfo": {"Price": {"OriginalPrice",
"DiscountPrice", "TradePrice", "Currency", "DetailInfos": {"DetailInfo": [{"Resource",
"OriginalPrice", ...}]}}}}``) with the request's ``RegionId`` and ``InstanceType`` beside
its keys: the response does not say what was priced. ``spotlab fetch alibaba-prices``
writes pages so; for a response saved by hand add the two keys (or pass ``region=`` and
``spec=``). One page, or a JSON array of pages (one row each).

The price stored is the list (pay-as-you-go) price of the instance type alone: the
``OriginalPrice`` of the ``DetailInfo`` whose ``Resource`` is ``instanceType``, without the
system disk or bandwidth the quote may add; the same price ``OriginPrice`` gives in the spot
price history. When a quote has no such part, the whole quote's ``OriginalPrice`` is
stored and a note says so. ``TradePrice`` (after your account's discounts) is not stored.
The row merges into the catalog (:data:`spotlab.ingest.fetched_targets.SPEC_FACTS`) with
``price_is_estimate = false``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest._common import json_text, load_json
from spotlab.ingest.core import Staged, register

COLUMNS = ("provider", "region", "spec", "on_demand_price", "currency", "price_is_estimate")
#: the part of a quote that is the instance itself
INSTANCE_PART = "instanceType"


def _instance_price(price: Mapping[str, Any]) -> tuple[Any, bool]:
    """(list price of the instance part, whether that part was found)."""
    infos = price.get("DetailInfos")
    parts = infos.get("DetailInfo") if isinstance(infos, Mapping) else None
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, Mapping) and part.get("Resource") == INSTANCE_PART:
            return part.get("OriginalPrice"), True
    return price.get("OriginalPrice"), False


class AlibabaDescribePrice:
    name = "alibaba-describe-price"
    sniff_rule = 'JSON with "PriceInfo" (DescribePrice)'
    kind = "spec_facts"
    priority = 5  # a catalog: before the prices that look it up

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"PriceInfo"' in head

    def read(
        self, path: Path, region: str | None = None, spec: str | None = None, **_: Any
    ) -> Staged:
        doc = load_json(path)
        pages = doc if isinstance(doc, list) else [doc]
        rows, notes = [], []
        for i, page in enumerate(pages):
            where = f"$[{i}]" if isinstance(doc, list) else "$"
            if not isinstance(page, Mapping):
                raise FormatError(f"{where} is not an object", path=path, expected="an object")
            info = page.get("PriceInfo")
            price = info.get("Price") if isinstance(info, Mapping) else None
            if not isinstance(price, Mapping):
                raise FormatError(
                    f"missing {where}.PriceInfo.Price", path=path,
                    expected='{"PriceInfo": {"Price": {...}}}',
                )  # fmt: skip
            named = {
                "region": region or page.get("RegionId"),
                "spec": spec or page.get("InstanceType"),
            }
            for col, key in (("region", "RegionId"), ("spec", "InstanceType")):
                if not named[col]:
                    raise FormatError(
                        f"{where} does not say what was priced: add the request's {key} beside "
                        f"PriceInfo (or pass -o {col}=...)", path=path, expected=key,
                    )  # fmt: skip
            value, alone = _instance_price(price)
            if not alone:
                notes.append(
                    f"{where}: no {INSTANCE_PART} part in the quote; its whole OriginalPrice "
                    "(which may include the system disk) was stored"
                )
            rows.append(
                {
                    "provider": "alibaba", "region": json_text(named["region"]),
                    "spec": json_text(named["spec"]), "on_demand_price": json_text(value),
                    "currency": json_text(price.get("Currency")), "price_is_estimate": "false",
                    "_raw": json.dumps(page, ensure_ascii=False),
                }
            )  # fmt: skip
        frame = pl.DataFrame(
            rows, schema={c: pl.String for c in (*COLUMNS, "_raw")}
        ).with_row_index("_row", offset=1)
        return Staged(kind=self.kind, batches=[frame.with_columns(pl.col("_row").cast(pl.Int64))],
                      notes=notes)  # fmt: skip


register(AlibabaDescribePrice())
