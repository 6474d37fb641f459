"""The overview: what is loaded, and the headline advice computed from it.

One call gathers the figures that ``notebooks/00_overview.ipynb`` shows: the loaded
sources and their spans, the bid per spec, the recommended spec ordering, the cold-start
saving, and a simulated month of the scaling plan against an all-regular fleet. Each
figure comes from the library function that owns it; this module only composes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.domain import DAYS_PER_MONTH, HOURS_PER_MONTH
from spotlab.errors import SpotlabError
from spotlab.store import Store

#: tables whose rows carry a time column, with that column
_TIMED = {
    "spot_prices": "ts",
    "instance_events": "ts",
    "spot_availability": "ts",
    "traffic": "ts",
    "interruption_bands": "observed_at",
}


def loaded_summary(store: Store) -> pl.DataFrame:
    """Per kind of data: files, rows read, loaded, duplicate and rejected."""
    return store.query(
        "SELECT kind, count(*) AS files, sum(rows_read)::BIGINT AS rows_read, "
        "sum(rows_loaded)::BIGINT AS rows_loaded, sum(rows_duplicate)::BIGINT AS rows_duplicate, "
        "sum(rows_rejected)::BIGINT AS rows_rejected FROM sources GROUP BY kind ORDER BY kind"
    )


def spans(store: Store) -> pl.DataFrame:
    """Per table: rows, first and last time (tables without rows are left out)."""
    present = set(store.tables())
    parts = [
        f"SELECT '{t}' AS table_name, count(*) AS rows, min({c}) AS first, max({c}) AS last "
        f"FROM {t}"
        for t, c in _TIMED.items()
        if t in present
    ]
    if not parts:
        return pl.DataFrame()
    frame = store.query(" UNION ALL ".join(parts))
    return frame.filter(pl.col("rows") > 0).sort("table_name")


@dataclass
class Overview:
    """Headline figures; each attribute is the owning function's own result."""

    loaded: pl.DataFrame
    spans: pl.DataFrame
    bids: Any  # spotlab.advise.bids.BidAdvice
    ordering: Any  # spotlab.advise.ordering.Ordering
    coldstart: Any  # spotlab.advise.coldstart.ColdstartSaving
    startup_seconds: dict[str, float]
    plan: Any | None  # spotlab.fleet.scaling.ScalingPlan
    currency: str
    notes: list[str] = field(default_factory=list)

    def headline(self) -> pl.DataFrame:
        """The few numbers to read first, as (item, value) text rows."""
        cur = self.currency
        rows: list[tuple[str, str]] = []
        ld = self.loaded
        if ld.height:
            rows.append(
                (
                    "rows loaded / duplicate / rejected",
                    f"{int(ld['rows_loaded'].sum()):,} / {int(ld['rows_duplicate'].sum()):,}"
                    f" / {int(ld['rows_rejected'].sum()):,} from {int(ld['files'].sum())} files",
                )
            )
        inst = self.ordering.to_instances()
        rows.append(("recommended ordering", " → ".join(_entry_label(e) for e in inst)))
        first = self.ordering.entries[0]
        rows.append(
            (
                f"expected cost of {first.spec} (spot)",
                f"{first.cost_per_replica_hour:.2f} {cur}/replica-hour vs "
                f"{first.on_demand_price:.2f} on demand",
            )
        )
        rows += _bid_rows(self.bids, first.spec, cur)
        if self.ordering.evaluation is not None:
            f = self.ordering.evaluation.figures
            rows.append(
                (
                    "the ordered list (cost model, in sample)",
                    f"{f['effective_cost']:.2f} {cur}/replica-hour (90%: "
                    f"{f['effective_cost_low']:.2f}-{f['effective_cost_high']:.2f}), service "
                    f"availability {f['availability']:.3%}",
                )
            )
        cs = self.coldstart
        rows.append(
            (
                "replacement start-up (plain → best)",
                f"{cs.seconds['plain']:.0f} s → {cs.seconds[cs.best_setup]:.0f} s "
                f"({cs.best_setup})",
            )
        )
        rows.append(
            (
                f"cold-start saving ({cs.reclaims_per_month:g} reclaims/month)",
                f"{cs.monthly_saving[cs.best_setup]:.2f} {cs.currency}/month per replica",
            )
        )
        if self.plan is not None:
            sim = self.plan.simulated
            month = 30 * 24 / sim["hours"]
            rows.append(
                (
                    f"simulated month, {self.plan.service}",
                    f"{sim['cost'] * month:,.0f} vs {sim['all_regular_cost'] * month:,.0f} "
                    f"{cur} all-regular (×{sim['cost_ratio']:.2f}), availability "
                    f"{sim['availability']:.2%}",
                )
            )
        return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def _bid_rows(bids: Any, spec: str, cur: str) -> list[tuple[str, str]]:
    """The bid of ``spec`` in sample (the window it was chosen on) and out of sample (the
    same rule applied to the window before, scored on this one), labelled."""
    rows = bids.specs.filter(pl.col("spec") == spec)
    if rows.height == 0 or rows["bid"][0] is None:
        return []
    r = rows.row(0, named=True)
    out = [
        (
            f"bid for {spec} alone (regular fallback), in sample ({bids.label})",
            f"{r['bid']} {cur}/h: service availability {r['availability']:.3%}, effective "
            f"cost {r['cost_ratio']:.3f} × on-demand",
        )
    ]
    if r["oos_availability"] is not None:
        oos = f"{r['oos_bid']} {cur}/h" if r["oos_bid"] is not None else "regular"
        out.append(
            (
                f"bid for {spec} alone, out of sample ({bids.oos_label})",
                f"{oos}: service availability {r['oos_availability']:.3%}, effective cost "
                f"{r['oos_cost_ratio']:.3f} × on-demand",
            )
        )
    else:
        out.append(
            (f"bid for {spec} alone, out of sample", "no history before the window to check on")
        )
    return out


def _entry_label(entry: Mapping[str, Any]) -> str:
    if "spot_price_limit" in entry:
        return f"{entry['type']} (spot ≤ {entry['spot_price_limit']})"
    return f"{entry['type']} (regular)"


def overview(
    store: Store,
    requirements: Mapping[str, Any] | None = None,
    provider: str = "alibaba",
    model_size_gb: float = 7.2,
    image_size_gb: float = 12.0,
    reclaims_per_month: float | None = None,
    service: str | None = None,
    qps_per_replica: float = 20.0,
    replicas: int | None = None,
    window: str = "30d",
    dedicated_monthly_price: float | None = None,
) -> Overview:
    """Compute the overview on a store.

    ``requirements`` default to one GPU with 24 GiB (the seed's GU30/A10 class). The
    cold-start model predicts the replacement start-up per spec (the best setup that fits
    the spec's memory) and that time prices the restart cost of bids and ordering.
    ``service`` names a traffic series for the scaling plan (the first one stored when
    None); the plan's spot price is the first spot entry's expected cost and its regular
    price the fallback's on-demand price. ``replicas`` None gives capacity caps as shares
    ("50%"), which suit an autoscaled service.
    """
    from spotlab.advise import coldstart as cs
    from spotlab.advise.bids import recommend_bids
    from spotlab.advise.ordering import recommend_ordering

    req = dict(requirements or {"gpu_memory_gib": 24})
    notes: list[str] = []
    memory = cs.spec_memory_gib(store)
    # the fastest setup each spec's memory allows (cachefs needs room for the model)
    predicted = cs.predicted_startup_seconds(
        model_size_gb, image_size_gb, "both", memory_gib=memory
    )
    startup: dict[str, float] = (
        dict(predicted)
        if isinstance(predicted, Mapping)
        else dict.fromkeys(memory, float(predicted))
    )
    bids = recommend_bids(store, provider=provider, window=window, startup_seconds=startup)
    ordering = recommend_ordering(
        req, store, window=window, replicas=replicas, startup_seconds=startup
    )
    first_spot = next((e for e in ordering.entries if e.spot), None)
    if reclaims_per_month is None and first_spot is not None:
        reclaims_per_month = cs.reclaims_per_month_from_store(store, first_spot.spec)
        if reclaims_per_month is None and first_spot.price_interruptions_per_day:
            reclaims_per_month = float(first_spot.price_interruptions_per_day) * DAYS_PER_MONTH
    if not reclaims_per_month:
        reclaims_per_month = cs.DEFAULT_RECLAIMS_PER_MONTH
        notes.append(
            f"no reclaims measured for the first spot spec: the cold-start saving assumes "
            f"{reclaims_per_month:g} reclaims a month"
        )
    saving = cs.coldstart_saving(
        model_size_gb, image_size_gb, provider, reclaims_per_month=reclaims_per_month
    )
    currency = (ordering.entries[0].currency if ordering.entries else None) or "CNY"
    plan = None
    services = (
        store.query("SELECT DISTINCT service FROM traffic ORDER BY service")["service"].to_list()
        if "traffic" in store.tables()
        else []
    )
    if service is None and services:
        service = services[0]
    if service is not None:
        from spotlab.fleet.scaling import plan_from_store

        spot = next((e for e in ordering.entries if e.spot), None)
        regular = next((e for e in ordering.entries if not e.spot), None)
        if spot is None or regular is None or regular.on_demand_price is None:
            notes.append("no spot and regular entry to price the scaling plan")
        else:
            od = float(regular.on_demand_price)
            try:
                plan = plan_from_store(
                    store,
                    service,
                    qps_per_replica=qps_per_replica,
                    regular_price=od,
                    spot_price=float(spot.cost_per_replica_hour or od),
                    dedicated_monthly_price=(
                        dedicated_monthly_price
                        if dedicated_monthly_price is not None
                        else 0.7 * od * HOURS_PER_MONTH
                    ),
                    startup_seconds=startup.get(spot.spec),
                )
            except SpotlabError as exc:
                notes.append(f"no scaling plan: {exc}")
            if dedicated_monthly_price is None:
                notes.append(
                    "dedicated capacity priced at 70% of the fallback's on-demand price × "
                    "730 h (an assumption; pass dedicated_monthly_price)"
                )
    if store.query("SELECT count(*) AS n FROM specs WHERE price_is_estimate")["n"][0]:
        notes.append("some on-demand prices in the catalog are estimates (price_is_estimate)")
    return Overview(
        loaded=loaded_summary(store),
        spans=spans(store),
        bids=bids,
        ordering=ordering,
        coldstart=saving,
        startup_seconds=startup,
        plan=plan,
        currency=currency,
        notes=notes,
    )


#: an example image on an ACR Enterprise VPC domain (replace with your own)
EXAMPLE_IMAGE = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/llm/serving:1.0"


def overview_config(
    ov: Overview,
    store: Store,
    name: str = "spotlab_overview",
    image: str = EXAMPLE_IMAGE,
    model_oss_path: str | None = "oss://example-bucket/models/",
    model_size_gb: float = 7.2,
    requirements: Mapping[str, Any] | None = None,
) -> Any:
    """The EAS config the overview's advice adds up to: its ordering (bids inside), the
    scaling plan's autoscaler and cron files, and the model mount with a memory cache when
    the cold-start advice keeps one. Returns a :class:`~spotlab.eas.ConfigBundle`."""
    from spotlab.eas import build_config

    return build_config(
        name,
        image,
        ordering=ov.ordering,
        scaling=ov.plan,
        model_oss_path=model_oss_path,
        model_size_gb=model_size_gb,
        coldstart=ov.coldstart,
        store=store,
        requirements=dict(requirements or {"gpu_memory_gib": 24}),
    )


def export_overview_config(store: Store, out_dir: str | Path, **options: Any) -> list[Path]:
    """Compute the overview and write its advised config (lint-checked) into ``out_dir``."""
    from spotlab.eas import export

    ov = overview(store, **options)
    result = export(overview_config(ov, store), out_dir, overwrite=True, store=store)
    return list(result.paths)
