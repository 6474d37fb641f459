"""What the linter and the exporter know about specs: catalog facts and market prices.

The specs catalog (table ``specs``) gives each spec's memory, GPU memory and on-demand
price; the market price is the latest stored ``spot_prices`` point of each (spec, zone),
and a spec's market price is its cheapest zone's. Without a store (or with a store that
holds no catalog), the catalog shipped with spotlab (:mod:`spotlab.resources`) is used and
market prices are unknown.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from spotlab import resources
from spotlab.errors import ConfigError, did_you_mean
from spotlab.store import Store

#: the spec name standing for the dedicated resource group in a mixed instance list
DEDICATED = "dedicated_resource"
#: the catalog provider whose types an EAS service runs on (Alibaba ECS and EAS types)
EAS_PROVIDER = "alibaba"
#: the shape of an EAS/ECS instance type name: ``ecs.gn8is.2xlarge``, ``ml.gu7i.c8m30.1-gu30``
EAS_TYPE = re.compile(r"^(ecs|ml)\.[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class SpecInfo:
    """One spec of the catalog. ``gpu_memory_gib`` is per GPU; prices are per hour."""

    spec: str
    region: str | None = None
    provider: str | None = None
    memory_gib: float | None = None
    gpu_count: int | None = None
    gpu_memory_gib: float | None = None
    on_demand_price: float | None = None
    currency: str | None = None
    price_is_estimate: bool = False

    @property
    def total_gpu_memory_gib(self) -> float | None:
        if self.gpu_memory_gib is None:
            return None
        return self.gpu_memory_gib * (self.gpu_count or 1)


@dataclass(frozen=True)
class MarketPrice:
    """The latest stored spot price of a spec in its cheapest zone (per hour)."""

    spec: str
    zone: str
    price: float
    ts: datetime
    currency: str


@dataclass
class Facts:
    """Everything the linter looks up: catalog specs, market prices and advised bids."""

    specs: dict[str, SpecInfo] = field(default_factory=dict)
    market: dict[str, MarketPrice] = field(default_factory=dict)
    bids: dict[str, float] = field(default_factory=dict)
    bid_source: str = ""

    @property
    def has_catalog(self) -> bool:
        return bool(self.specs)


def specs_from_frame(frame: pl.DataFrame, region: str | None = None) -> dict[str, SpecInfo]:
    """Catalog rows → one :class:`SpecInfo` per spec.

    With ``region`` only that region's rows count; otherwise a spec listed in several
    regions keeps its most expensive on-demand row (so "bid above on-demand" never fires
    because of a cheaper region elsewhere).
    """
    if frame.height == 0:
        return {}
    if region is not None and "region" in frame.columns:
        frame = frame.filter(pl.col("region") == region)
    cols = {
        "region": pl.String, "provider": pl.String, "memory_gib": pl.Float64, "gpu_count": pl.Int64,
        "gpu_memory_gib": pl.Float64, "on_demand_price": pl.Float64, "currency": pl.String,
        "price_is_estimate": pl.Boolean,
    }  # fmt: skip
    frame = frame.with_columns(
        [
            pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in cols.items()
        ]
    )
    rows = (
        frame.sort("on_demand_price", descending=True, nulls_last=True)
        .unique("spec", keep="first", maintain_order=True)
        .select("spec", *cols)
        .to_dicts()
    )
    out: dict[str, SpecInfo] = {}
    for r in rows:
        r["price_is_estimate"] = bool(r["price_is_estimate"])
        out[r["spec"]] = SpecInfo(**r)
    return out


def store_specs(store: Store, region: str | None = None) -> dict[str, SpecInfo]:
    """The catalog as stored in ``specs``."""
    return specs_from_frame(store.query("SELECT * FROM specs"), region)


@functools.lru_cache(maxsize=1)
def bundled_catalog() -> pl.DataFrame:
    """The specs catalog shipped with spotlab, read by the same reader ``spotlab ingest``
    uses (the ``specs`` table's columns). A missing or empty catalog is an error: without
    it the linter could not tell a misspelled spec."""
    from spotlab.ingest import ingest

    with resources.resource_path(resources.SPECS_CATALOG) as path, Store(":memory:") as tmp:
        ingest(tmp, path)
        frame = tmp.query("SELECT * FROM specs")
    if frame.height == 0:
        raise resources.MissingResourceError(
            f"spotlab's packaged {resources.SPECS_CATALOG} holds no spec: reinstall spotlab"
        )
    return frame


def bundled_specs(region: str | None = None) -> dict[str, SpecInfo]:
    """The catalog shipped with spotlab, one :class:`SpecInfo` per spec."""
    return specs_from_frame(bundled_catalog(), region)


def _eas_frame(store: Store | None) -> pl.DataFrame:
    """The catalog rows of EAS types: the store's, else the ones shipped with spotlab."""
    frame = store.query("SELECT * FROM specs") if store is not None else pl.DataFrame()
    eas = frame.filter(pl.col("provider") == EAS_PROVIDER) if frame.height else frame
    return eas if eas.height else bundled_catalog().filter(pl.col("provider") == EAS_PROVIDER)


def eas_regions(store: Store | None) -> list[str]:
    """The regions with EAS specs in the store's catalog (else the shipped one), most first."""
    counts = _eas_frame(store).group_by("region").len()
    return counts.sort(["len", "region"], descending=[True, False])["region"].to_list()


def eas_catalog(store: Store | None, region: str | None = None) -> tuple[str, dict[str, SpecInfo]]:
    """(region, its EAS specs): the Alibaba ECS/EAS types of the store's catalog (else the
    one shipped with spotlab) in ``region``; by default the region listing the most EAS
    specs. Never another provider's types (a config form must not offer a GCP type or a
    USD bid for a CNY service)."""
    regions = eas_regions(store)
    if region is None:
        region = regions[0]
    elif region not in regions:
        raise ConfigError(
            f"no EAS specs in region {region!r}.{did_you_mean(region, regions)} "
            f"EAS regions of the catalog: {', '.join(regions)}"
        )
    return region, specs_from_frame(_eas_frame(store), region)


def market_prices(
    store: Store, specs: Iterable[str], region: str | None = None
) -> dict[str, MarketPrice]:
    """Per spec: the latest point of each zone's series, then the cheapest zone.

    A point with only a ``discount`` is priced as discount × on-demand (its own on-demand
    price, else the catalog's).
    """
    names = sorted({s for s in specs if s and s != DEDICATED})
    if not names:
        return {}
    params: list[Any] = [names]
    where = "p.spec IN (SELECT unnest(?::VARCHAR[]))"
    if region is not None:
        where += " AND p.region = ?"
        params.append(region)
    frame = store.query(
        f"""
        WITH od AS (SELECT spec, max(on_demand_price) AS od FROM specs GROUP BY spec),
        latest AS (
            SELECT p.spec, p.zone, max(p.ts) AS ts,
                   arg_max(coalesce(p.spot_price, p.discount * coalesce(p.on_demand_price, od.od)),
                           p.ts) AS price,
                   arg_max(p.currency, p.ts) AS currency
            FROM spot_prices p LEFT JOIN od USING (spec)
            WHERE {where}
            GROUP BY p.spec, p.zone
        )
        SELECT spec, arg_min(zone, price) AS zone, min(price) AS price,
               arg_min(ts, price) AS ts, arg_min(currency, price) AS currency
        FROM latest WHERE price IS NOT NULL GROUP BY spec ORDER BY spec
        """,
        params,
    )
    return {r["spec"]: MarketPrice(**r) for r in frame.to_dicts()}


def gather(
    store: Store | None,
    specs: Iterable[str],
    region: str | None = None,
    catalog: Mapping[str, SpecInfo] | pl.DataFrame | None = None,
    bids: Mapping[str, float] | None = None,
) -> Facts:
    """Facts for the given specs: catalog (``catalog``, else the store's, else the one
    shipped with spotlab), market prices (store only) and advised bids (``bids``, else the
    bid advisor's). A ``region`` the catalog does not list is a ConfigError (with a
    did-you-mean): an empty catalog would pass every spec unchecked."""
    from spotlab.eas import advice

    names = [s for s in specs if s and s != DEDICATED]
    frame: pl.DataFrame | None = catalog if isinstance(catalog, pl.DataFrame) else None
    cat: dict[str, SpecInfo] = dict(catalog) if isinstance(catalog, Mapping) else {}
    if catalog is None:
        frame = store.query("SELECT * FROM specs") if store is not None else None
        if frame is None or frame.height == 0:
            frame = bundled_catalog()
    if frame is not None:
        regions = sorted(set(frame["region"].drop_nulls())) if "region" in frame.columns else []
        if region is not None and regions and region not in regions:
            raise ConfigError(
                f"region {region!r} is not in the specs catalog.{did_you_mean(region, regions)} "
                f"Its regions: {', '.join(regions[:8])}{' ...' if len(regions) > 8 else ''}"
            )
        cat = specs_from_frame(frame, region)
    facts = Facts(specs=cat)
    if store is not None:
        facts.market = market_prices(store, names, region)
    if bids is not None:
        facts.bids, facts.bid_source = dict(bids), "given"
    elif store is not None and names:
        facts.bids, facts.bid_source = advice.advised_bids(store, names, region)
    return facts
