"""From a fleet recommendation to EAS files, through spotlab's validated export.

Each chosen parameter lands in one field (:meth:`~spotlab.fleet.search.EasSetting.fields`):

=====================================  ===================================================
spot spec order, per-entry capacity    ``cloud.computing.instances[i].type`` / ``capacity``
regular entry and its capacity         the last entry, without ``spot_price_limit``
dedicated group of N                   ``{"type": "dedicated_resource", "capacity": N}``
                                       first, with ``metadata.resource`` (the group id)
spare replicas                         ``metadata.instance`` = demand + spares, and the
                                       autoscaler's ``min`` (= ``max``: the simulated size)
resource rebalancing                   ``metadata.resource_rebalancing``
zones spread (the replayed model)      ``metadata.scheduling.spread.policy: "zone"``
bid                                    ``spot_price_limit``: the bid advice where the store
                                       holds prices for the spec, else :data:`BID_RULE`
=====================================  ===================================================

The availability traces spotlab replays are AWS and GCP measurements; EAS sells its own
specs. ``deploy_spec`` names the EAS spec the recommendation is deployed on (its stock is
assumed to behave like the replayed trace); without it the replayed spec is written, which
lints clean only when the specs catalog knows it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from spotlab.advise.bids import recommend_bids
from spotlab.datasets import on_demand_prices
from spotlab.eas import ConfigBundle, ExportResult, build_config, export
from spotlab.errors import ConfigError
from spotlab.fleet.search import BID_RULE, FleetChoice
from spotlab.store import Store


@dataclass(frozen=True)
class FleetExport:
    """What was written, the bids and why, and the lint findings (no errors by then)."""

    result: ExportResult
    bids: dict[str, float]
    bid_reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.result.as_dict(), "bids": self.bids, "bid_reasons": self.bid_reasons}


def choice_bundle(
    choice: FleetChoice,
    name: str,
    image: str,
    on_demand_price: float,
    deploy_spec: str | None = None,
    resource: str | None = None,
    store: Store | None = None,
    port: int = 8000,
) -> tuple[ConfigBundle, dict[str, float], list[str]]:
    """The EAS bundle of ``choice`` (see the module docstring), its bids and their reasons.

    ``on_demand_price`` is the replayed spec's regular price per hour (the bid when no
    advice exists and the replayed spec is deployed); a ``deploy_spec`` is priced from the
    store's catalog, else the bundled one. ``resource``: the dedicated group id, needed
    when the setting has a dedicated group.
    """
    s = choice.setting
    rename = (lambda spec: deploy_spec) if deploy_spec else (lambda spec: spec)
    spot = [rename(x) for x in s.spot]
    bids, reasons = _bids(spot, choice.target, on_demand_price, deploy_spec, store)
    deployed = type(s)(tuple(spot), s.spot_capacity, s.regular_capacity, s.spare,
                       s.rebalancing, s.dedicated)  # fmt: skip
    instances = deployed.instances(rename(choice.regular), dict(bids))
    if s.dedicated and not resource:
        raise ConfigError(
            f"the recommendation puts {s.dedicated} replicas on a dedicated group: pass its id "
            "(--dedicated-resource eas-r-...), or search without one (--max-dedicated 0)",
            json_path="$.metadata.resource",
        )
    n = choice.demand + s.spare
    try:
        bundle = build_config(
            name, image, instances=instances, replicas=n, autoscaler={"min": n, "max": n},
            resource=resource if s.dedicated else None, store=store, port=port,
        )  # fmt: skip
    except ConfigError as exc:
        if any(f.rule == "unknown-spec" for f in exc.findings):
            raise ConfigError(
                f"{exc}\nThe replayed trace's spec is not an EAS spec of the catalog: pass the "
                "EAS spec to deploy on (--eas-spec, e.g. ml.gu7i.c8m30.1-gu30)",
                findings=exc.findings,
            ) from exc
        raise
    meta = bundle.service.metadata.model_copy(
        update={"resource_rebalancing": s.rebalancing, "scheduling": {"spread": {"policy": "zone"}}}
    )
    service = bundle.service.model_copy(update={"metadata": meta})
    return ConfigBundle(service=service, autoscaler=bundle.autoscaler), bids, reasons


def export_choice(
    choice: FleetChoice,
    out_dir: str | os.PathLike[str],
    name: str,
    image: str,
    on_demand_price: float,
    deploy_spec: str | None = None,
    resource: str | None = None,
    store: Store | None = None,
    overwrite: bool = False,
) -> FleetExport:
    """Write ``choice`` as ``service.json`` and ``autoscaler.json`` into ``out_dir`` when
    they lint clean (:func:`spotlab.eas.export`)."""
    bundle, bids, reasons = choice_bundle(
        choice, name, image, on_demand_price, deploy_spec, resource, store
    )
    return FleetExport(export(bundle, out_dir, overwrite, store=store), bids, reasons)


def _bids(
    specs: list[str],
    target: float,
    on_demand_price: float,
    deploy_spec: str | None,
    store: Store | None,
) -> tuple[dict[str, float], list[str]]:
    out: dict[str, float] = {}
    reasons: list[str] = []
    for spec in dict.fromkeys(specs):
        advised = _advised_bid(store, spec, target)
        if advised is not None:
            out[spec] = advised
            reasons.append(f"{spec}: {advised:g} per hour from the bid advice (stored prices)")
            continue
        od = _catalog_price(store, spec) if deploy_spec else on_demand_price
        if od is None or not (math.isfinite(od) and od > 0):
            raise ConfigError(
                f"no on-demand price for {spec!r} in the specs catalog to bid with: ingest a "
                "catalog that lists it",
                json_path="$.cloud.computing.instances",
            )
        out[spec] = od
        reasons.append(f"{spec}: {od:g} per hour, {BID_RULE}")
    return out, reasons


def _advised_bid(store: Store | None, spec: str, target: float) -> float | None:
    if store is None:
        return None
    n = store.query("SELECT count(*) AS n FROM spot_prices WHERE spec = ?", [spec])["n"][0]
    if not n:
        return None
    advice = recommend_bids(store, specs=spec, window="all", target_availability=target)
    bids = advice.specs.filter(pl.col("spec") == spec)["bid"].drop_nulls()
    return float(bids.max()) if bids.len() else None  # type: ignore[arg-type]


def _catalog_price(store: Store | None, spec: str) -> float | None:
    if store is not None:
        got = store.query("SELECT max(on_demand_price) AS p FROM specs WHERE spec = ?", [spec])
        if got["p"][0] is not None:
            return float(got["p"][0])
    return on_demand_prices().get(spec)


__all__ = ["FleetExport", "choice_bundle", "export_choice"]
