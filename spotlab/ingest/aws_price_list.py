"""AWS Price List API ``GetProducts`` pages → the catalog's on-demand prices.

A page is ``{"FormatVersion": "aws_v1", "PriceList": ["<product JSON>", ...], "NextToken"}``
(``aws pricing get-products`` prints the same): each ``PriceList`` item is a JSON *string*
holding ``product.attributes`` (``instanceType``, ``regionCode``, ``vcpu``, ``memory``
like ``"16 GiB"``, ``gpu``) and ``terms.OnDemand.<offer>.priceDimensions.<rate>`` with
``unit`` and ``pricePerUnit`` (``{"USD": "1.0060000000"}``). One page, or a JSON array of
pages.

One row per product: the hourly (``unit`` ``Hrs``) on-demand price in its currency, merged
into the catalog (:data:`~spotlab.ingest.fetched_targets.SPEC_FACTS`) with
``price_is_estimate = false``, with ``vcpu``, ``memory_gib`` and ``gpu_count``. A product
with no hourly on-demand price, or with several, is a reject that says so. Ask for one
operating system, tenancy and capacity status per page (``spotlab fetch aws-prices`` asks
for Linux, shared, no pre-installed software, used capacity), or the first product of a
spec in the page wins.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.ingest._common import expect, json_text, load_json
from spotlab.ingest.core import Staged, register

COLUMNS = ("provider", "region", "spec", "vcpu", "memory_gib", "gpu_count", "on_demand_price",
           "currency", "price_is_estimate")  # fmt: skip
_GIB = re.compile(r"^\s*([\d.,]+)\s*GiB\s*$", re.IGNORECASE)


def _product_row(item: Any) -> tuple[dict[str, Any], str | None]:
    """(the row, a reject reason or None) for one PriceList item."""
    try:
        doc = json.loads(item) if isinstance(item, str) else item
    except json.JSONDecodeError as exc:
        return {}, f"PriceList item is not JSON: {exc.msg}"
    if not isinstance(doc, Mapping):
        return {}, "PriceList item is not a JSON object"
    product = doc.get("product")
    attrs = product.get("attributes") if isinstance(product, Mapping) else None
    attrs = attrs if isinstance(attrs, Mapping) else {}
    memory = _GIB.match(str(attrs.get("memory") or ""))
    row = {
        "provider": "aws",
        "region": json_text(attrs.get("regionCode")),
        "spec": json_text(attrs.get("instanceType")),
        "vcpu": json_text(attrs.get("vcpu")),
        "memory_gib": memory.group(1).replace(",", "") if memory else None,
        "gpu_count": json_text(attrs.get("gpu")) if attrs.get("gpu") not in ("NA", "") else None,
        "price_is_estimate": "false",
    }
    terms = doc.get("terms")
    on_demand = terms.get("OnDemand") if isinstance(terms, Mapping) else None
    hourly = [
        dim
        for offer in (on_demand.values() if isinstance(on_demand, Mapping) else [])
        if isinstance(offer, Mapping) and isinstance(offer.get("priceDimensions"), Mapping)
        for dim in offer["priceDimensions"].values()
        if isinstance(dim, Mapping) and str(dim.get("unit", "")).lower() in ("hrs", "hours")
    ]
    if not hourly:
        return row, "no hourly on-demand price (terms.OnDemand.*.priceDimensions.* unit Hrs)"
    if len(hourly) > 1:
        return row, f"{len(hourly)} hourly on-demand prices: narrow the request's filters"
    per_unit = hourly[0].get("pricePerUnit")
    if not isinstance(per_unit, Mapping) or len(per_unit) != 1:
        return row, "pricePerUnit does not hold exactly one currency"
    ((currency, price),) = per_unit.items()
    return {**row, "on_demand_price": json_text(price), "currency": str(currency)}, None


class AwsPriceList:
    name = "aws-price-list"
    sniff_rule = 'JSON with "PriceList" (the AWS Price List API)'
    kind = "spec_facts"
    priority = 5

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"PriceList"' in head

    def read(self, path: Path, **_: Any) -> Staged:
        doc = load_json(path)
        pages = doc if isinstance(doc, list) else [doc]
        raw_items: list[Any] = []
        for i, page in enumerate(pages):
            where = f"$[{i}]" if isinstance(doc, list) else "$"
            raw_items.extend(expect(page, "PriceList", where, path, list))
        rows, rejects = [], []
        for it in raw_items:
            row, why = _product_row(it)
            rows.append(row)
            rejects.append(why)
        frame = pl.DataFrame(
            [{c: r.get(c) for c in COLUMNS} for r in rows], schema={c: pl.String for c in COLUMNS}
        ).with_columns(
            pl.Series("_row", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("_raw", [it if isinstance(it, str) else json.dumps(it) for it in raw_items],
                      dtype=pl.String),
            pl.Series("_reject", rejects, dtype=pl.String),
        )  # fmt: skip
        return Staged(kind=self.kind, batches=[frame])


register(AwsPriceList())
