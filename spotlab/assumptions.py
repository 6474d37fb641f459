"""Every assumption behind spotlab's figures, in one registry.

Each value keeps its one home (a module constant beside the code that uses it, e.g.
:data:`spotlab.advise.coldstart.DEFAULT_SCHEDULING_SECONDS`); this module imports it and
says where it comes from (``source``), what it drives and which flag or parameter changes
it (``change``). The report, the notebooks, ``spotlab assumptions`` and the overview all
read this registry, so a figure and the assumption shown beside it cannot disagree.

>>> from spotlab.assumptions import assumption
>>> assumption("month").value
730.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from spotlab import domain
from spotlab import overview as ov
from spotlab.advise import coldstart, costmodel
from spotlab.errors import AnalysisError, did_you_mean
from spotlab.fleet import policies, scaling


@dataclass(frozen=True)
class Assumption:
    """One assumed (or fixed) value: what it is, its unit, where it comes from, what it
    drives, how to change it and where it lives in the code."""

    key: str
    what: str
    value: float | str
    unit: str
    source: str
    drives: str
    change: str
    home: str

    def value_text(self) -> str:
        """The value with its unit, for people (``60 s``, ``0.63 × on-demand``)."""
        v = self.value
        text = f"{v:,.4g}" if isinstance(v, float) else str(v)
        return f"{text} {self.unit}".strip()


_BW = coldstart.Bandwidths()
_CS = "spotlab.advise.coldstart"
_OV = "spotlab.overview"
_SC = "spotlab.fleet.scaling"

#: the registry, in the order a reader meets the figures (the month first)
ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption(
        "month", "one month", domain.HOURS_PER_MONTH, "h",
        "definition: 365 days × 24 h ÷ 12", "every per-month figure", "fixed",
        "spotlab.domain.HOURS_PER_MONTH",
    ),
    Assumption(
        "warning_lead.alibaba", "reclaim warning, Alibaba", domain.WARNING_LEAD_SECONDS["alibaba"],
        "s", "Alibaba docs: about 5 min before release (domain.md §1.4)",
        "downtime per reclaim, cold-start saving", "lead_seconds= (replacement_timeline)",
        "spotlab.domain.WARNING_LEAD_SECONDS",
    ),
    Assumption(
        "warning_lead.aws", "reclaim warning, AWS", domain.WARNING_LEAD_SECONDS["aws"], "s",
        "AWS docs: two-minute interruption notice", "downtime per reclaim on AWS",
        "lead_seconds= (replacement_timeline), --warning-seconds (spotlab simulate)",
        "spotlab.domain.WARNING_LEAD_SECONDS",
    ),
    Assumption(
        "rule20", "the seed's bid rule", domain.RULE_FRACTION, "× on-demand",
        "the seed (PAI-EAS spot best practice)", "the 20% rule line and column (a reference)",
        "fixed (a reference, not the advice)", "spotlab.domain.RULE_FRACTION",
    ),
    Assumption(
        "bid.window", "price history the advice reads", ov.DEFAULT_WINDOW, "",
        "spotlab default", "bids, ordering, the price-and-bid chart",
        "--window (spotlab bids, order), window= (overview)", f"{_OV}.DEFAULT_WINDOW",
    ),
    Assumption(
        "bid.target_availability", "target availability of a bid",
        ov.DEFAULT_TARGET_AVAILABILITY, "share of time", "spotlab default",
        "bids, ordering", "--target (spotlab bids, order), target_availability=",
        f"{_OV}.DEFAULT_TARGET_AVAILABILITY",
    ),
    Assumption(
        "bid.value_per_replica_hour", "value of an hour short of one replica (bids)",
        "the fallback's on-demand price", "per replica-hour",
        "spotlab default (what the lost hour would have cost on the fallback)",
        "every recommended bid (downtime is valued at this price in the total cost)",
        "--value-per-replica-hour (spotlab bids), value_per_replica_hour=",
        "spotlab.advise.costmodel.CostParams.value_per_replica_hour",
    ),
    Assumption(
        "bid.startup_seconds", "start-up of a replacement when no cold-start model is given",
        costmodel.DEFAULT_STARTUP_SECONDS, "s",
        "image pull 36 s + start 38 s (vendor, 1.34 GB image) + the seed's median 49 s load",
        "the restart cost and downtime of every reclaim in bids and the ordering",
        "--startup-seconds or --model-size-gb (spotlab bids, order), startup_seconds=",
        "spotlab.advise.costmodel.DEFAULT_STARTUP_SECONDS",
    ),
    Assumption(
        "service.gpu_memory_gib", "GPU memory one replica needs",
        float(ov.DEFAULT_REQUIREMENTS["gpu_memory_gib"]), "GiB",
        "the seed's GU30/A10 class (example service)", "which specs qualify: the ordering",
        "--gpu-memory-gib (spotlab order), requirements= (overview)", f"{_OV}.DEFAULT_REQUIREMENTS",
    ),
    Assumption(
        "service.model_size_gb", "model size", ov.DEFAULT_MODEL_SIZE_GB, "GB",
        "the seed's 7.2 GB checkpoint (example service)",
        "start-up time, cold-start saving, the restart cost in bids",
        "--model-size-gb (spotlab bids, order, coldstart), model_size_gb=",
        f"{_OV}.DEFAULT_MODEL_SIZE_GB",
    ),
    Assumption(
        "service.image_size_gb", "container image size", ov.DEFAULT_IMAGE_SIZE_GB, "GB",
        "example service (an LLM serving image)", "image pull time, cold-start saving",
        "--image-size-gb, image_size_gb=", f"{_OV}.DEFAULT_IMAGE_SIZE_GB",
    ),
    Assumption(
        "service.qps_per_replica", "QPS one replica serves", ov.DEFAULT_QPS_PER_REPLICA,
        "QPS", "example service", "replicas needed, the scaling plan and its cost",
        "--qps-per-replica (spotlab scale), qps_per_replica=", f"{_OV}.DEFAULT_QPS_PER_REPLICA",
    ),
    Assumption(
        "plan.target_utilization", "autoscaler target utilisation",
        scaling.DEFAULT_TARGET_UTILIZATION, "share of a replica",
        "spotlab default", "replicas needed, the QPS threshold",
        "--target-utilization (spotlab scale), target_utilization=",
        f"{_SC}.DEFAULT_TARGET_UTILIZATION",
    ),
    Assumption(
        "plan.autoscaler_headroom", "autoscaler max above the peak",
        scaling.DEFAULT_AUTOSCALER_HEADROOM, "× peak replicas", "spotlab default",
        "autoscaler max", "headroom= (scaling_plan)", f"{_SC}.DEFAULT_AUTOSCALER_HEADROOM",
    ),
    Assumption(
        "plan.dedicated_share", "dedicated replica price", scaling.DEDICATED_SHARE,
        "× on-demand", "assumption: about a 1-year commitment",
        "dedicated floor size and cost, plan cost",
        "--dedicated-monthly-price (spotlab scale), dedicated_monthly_price=",
        "spotlab.fleet.scaling.DEDICATED_SHARE",
    ),
    Assumption(
        "fleet.probe_seconds", "EAS resource-rebalancing probe period", policies.EAS_PROBE_SECONDS,
        "s", "assumption: not documented, not a config field",
        "fleet replays with resource_rebalancing (how soon replicas move back to spot), and "
        "so the fleet goal count (README: the probe-period sensitivity)",
        "assumed_probe_seconds(N) (spotlab.fleet.policies; the evaluation script's "
        "sensitivity run)",
        "spotlab.fleet.policies.EAS_PROBE_SECONDS",
    ),
    Assumption(
        "plan.stock_probability", "share of time spot is in stock",
        scaling.DEFAULT_STOCK_PROBABILITY, "share of time",
        "assumption: SYNTHETIC seeded Poisson market", "plan cost, availability",
        "stock_probability= (scaling_plan, plan widget)", f"{_SC}.DEFAULT_STOCK_PROBABILITY",
    ),
    Assumption(
        "plan.reclaims_per_replica_month", "reclaims per spot replica-month in the plan",
        scaling.DEFAULT_INTERRUPTIONS_PER_MONTH, "per replica-month",
        "assumption: SYNTHETIC seeded Poisson market", "plan availability",
        "interruptions_per_month= (scaling_plan)", f"{_SC}.DEFAULT_INTERRUPTIONS_PER_MONTH",
    ),
    Assumption(
        "plan.market_seed", "seed of the synthetic spot market", float(ov.PLAN_MARKET_SEED),
        "", "fixed so figures repeat", "plan cost, availability", "--seed (spotlab scale)",
        f"{_OV}.PLAN_MARKET_SEED",
    ),
    Assumption(
        "coldstart.scheduling_seconds", "scheduling a replacement",
        coldstart.DEFAULT_SCHEDULING_SECONDS, "s", "assumption",
        "start-up time, downtime, cold-start saving", "scheduling_seconds= (replacement_timeline)",
        f"{_CS}.DEFAULT_SCHEDULING_SECONDS",
    ),
    Assumption(
        "coldstart.warmup_seconds", "warm-up after the model is loaded",
        coldstart.DEFAULT_WARMUP_SECONDS, "s", "assumption",
        "start-up time, downtime, cold-start saving", "warmup_seconds= (replacement_timeline)",
        f"{_CS}.DEFAULT_WARMUP_SECONDS",
    ),
    Assumption(
        "coldstart.system_reserved_gib", "host memory kept for the system",
        coldstart.DEFAULT_SYSTEM_RESERVED_GIB, "GiB", "assumption",
        "whether a memory cache fits a spec", "system_reserved_gib=",
        f"{_CS}.DEFAULT_SYSTEM_RESERVED_GIB",
    ),
    Assumption(
        "coldstart.oss_gb_per_s", "OSS download bandwidth (10 Gbit/s)", _BW.oss_gb_per_s,
        "GB/s", "assumption", "the physical floor of model load times",
        "Bandwidths(oss_gb_per_s=)", f"{_CS}.Bandwidths.oss_gb_per_s",
    ),
    Assumption(
        "coldstart.network_gb_per_s", "instance NIC bandwidth (10 Gbit/s)",
        _BW.network_gb_per_s, "GB/s", "assumption: an 8-vCPU GPU spec",
        "the physical floor of cachefs loads", "Bandwidths(network_gb_per_s=)",
        f"{_CS}.Bandwidths.network_gb_per_s",
    ),
    Assumption(
        "coldstart.vendor_image", "ACR acceleration: image pull 36 s → 4 s",
        coldstart.VENDOR_IMAGE_GB, "GB image", "ACR vendor figure (domain.md §1.8)",
        "image pull time of every setup", "image= (ImagePullModel.from_measurements)",
        f"{_CS}.VENDOR_IMAGE_GB",
    ),
    Assumption(
        "coldstart.value_per_replica_hour", "value of a lost replica-hour",
        coldstart.SEED_ON_DEMAND_CNY, "CNY/h", "the seed's L20 on-demand price",
        "cold-start saving", "--value (spotlab coldstart), value_per_replica_hour=",
        f"{_CS}.SEED_ON_DEMAND_CNY",
    ),
    Assumption(
        "coldstart.spot_price", "spot price of a billed start-up", coldstart.SEED_SPOT_BID_CNY,
        "CNY/h", "the seed's L20 bid (20% of 14.4)", "cold-start saving",
        "--price (spotlab coldstart), price_per_hour=", f"{_CS}.SEED_SPOT_BID_CNY",
    ),
    Assumption(
        "coldstart.reclaims_per_month", "reclaims a month when none are measured",
        coldstart.DEFAULT_RECLAIMS_PER_MONTH, "per month",
        "assumption (used only without instance events)", "cold-start saving",
        "--reclaims-per-month (spotlab coldstart), reclaims_per_month=",
        f"{_CS}.DEFAULT_RECLAIMS_PER_MONTH",
    ),
)  # fmt: skip

_BY_KEY = {a.key: a for a in ASSUMPTIONS}


def assumption(key: str) -> Assumption:
    """The registered assumption ``key``; an unknown key fails with a suggestion."""
    if key not in _BY_KEY:
        raise AnalysisError(
            f"no assumption {key!r}.{did_you_mean(key, _BY_KEY)} Known: {', '.join(_BY_KEY)}"
        )
    return _BY_KEY[key]


def assumptions(
    keys: Iterable[str] | None = None,
    used: Mapping[str, tuple[Any, ...]] | None = None,
) -> list[Assumption]:
    """The registry (or the ``keys`` asked for, in registry order), with the values a
    computation actually ``used``: ``{key: (value, source[, unit])}`` replaces an entry's
    value and source (e.g. a measured reclaim rate, or a price the caller passed)."""
    wanted = None if keys is None else [assumption(k).key for k in keys]
    for key in used or {}:
        assumption(key)  # a computation reporting an unknown key is a bug: fail loud
    out = []
    for a in ASSUMPTIONS:
        if wanted is not None and a.key not in wanted:
            continue
        got = (used or {}).get(a.key)
        if got is None:
            out.append(a)
            continue
        value, source, *unit = got
        value = float(value) if isinstance(value, int) else value
        out.append(replace(a, value=value, source=source, unit=unit[0] if unit else a.unit))
    return out


def assumptions_frame(
    keys: Iterable[str] | None = None, used: Mapping[str, tuple[Any, ...]] | None = None
) -> pl.DataFrame:
    """:func:`assumptions` as a table: ``assumption, value, source, drives, changed_by,
    key, home`` (``value`` as text with its unit)."""
    rows = [
        {
            "assumption": a.what,
            "value": a.value_text(),
            "source": a.source,
            "drives": a.drives,
            "changed_by": a.change,
            "key": a.key,
            "home": a.home,
        }
        for a in assumptions(keys, used)
    ]
    schema = ["assumption", "value", "source", "drives", "changed_by", "key", "home"]
    return pl.DataFrame(rows, schema=dict.fromkeys(schema, pl.String))
