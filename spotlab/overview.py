"""The overview: what is loaded, and the headline advice computed from it.

One call gathers the figures that ``notebooks/00_overview.ipynb`` shows: the loaded
sources and their spans, the bid per spec, the recommended spec ordering, the cold-start
saving, and a simulated month of the scaling plan against an all-regular fleet. Each
figure comes from the library function that owns it; this module only composes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.domain import DAYS_PER_MONTH, HOURS_PER_MONTH, bid_text
from spotlab.errors import SpotlabError
from spotlab.store import Store

# The example service the overview advises for when nothing else is given; each default is
# registered in spotlab.assumptions with its source and the parameter that changes it.
#: one GPU with 24 GiB (the seed's GU30/A10 class)
DEFAULT_REQUIREMENTS: dict[str, float] = {"gpu_memory_gib": 24.0}
#: the seed's 7.2 GB checkpoint
DEFAULT_MODEL_SIZE_GB = 7.2
#: an LLM serving image
DEFAULT_IMAGE_SIZE_GB = 12.0
DEFAULT_QPS_PER_REPLICA = 20.0
#: the price history the bids and the ordering read
DEFAULT_WINDOW = "30d"
DEFAULT_TARGET_AVAILABILITY = 0.99
#: seed of the synthetic spot market the scaling plan is replayed on
PLAN_MARKET_SEED = 0
#: the out-of-sample check of the bid behind the plan's spot price: look-back, test span and
#: step of the rolling origins (weekly, so a 30-day history gives three test weeks)
OUT_OF_SAMPLE_WINDOW = "7d"
OUT_OF_SAMPLE_HORIZON = "7d"

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


@dataclass(frozen=True)
class OutOfSample:
    """How the bid behind the plan's spot price did on weeks it had not seen: the range of
    its effective cost ÷ on-demand over the backtest's test windows (all zones)."""

    spec: str
    runs: int
    cost_ratio_low: float
    cost_ratio_high: float
    cost_ratio_mean: float
    window: str
    horizon: str


@dataclass(frozen=True)
class Money:
    """Cost per month (:data:`~spotlab.domain.HOURS_PER_MONTH`) now and as advised.

    ``now_per_month``: an all-regular fleet sized to the traffic (or the user's figure,
    ``now_label`` says which); ``advised_per_month``: the scaling plan's simulated cost;
    ``saving_low``/``saving_high``: the saving with the plan's spot replica-hours priced at
    the worst and best out-of-sample effective cost of its bid (None without a backtest).
    """

    currency: str
    now_per_month: float
    now_label: str
    advised_per_month: float
    saving_per_month: float
    saving_share: float
    saving_low: float | None
    saving_high: float | None
    range_note: str
    availability: float


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
    provider: str = "alibaba"
    window: str = DEFAULT_WINDOW
    #: (first, last) time of the price history the advice read
    period: tuple[datetime, datetime] | None = None
    out_of_sample: OutOfSample | None = None
    #: {assumption key: (value, source)} for values that differ from the registry's
    used: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def money(self, current_monthly_cost: float | None = None) -> Money | None:
        """The cost per month now and as advised (None without a scaling plan).

        ``current_monthly_cost``: what the service costs you a month today; without it
        "now" is an all-regular fleet sized to the same traffic.
        """
        if self.plan is None:
            return None
        month = self.plan.per_month()
        advised = month["cost"]
        if current_monthly_cost is None:
            now, label = month["all_regular_cost"], "all regular, on demand"
        else:
            now, label = float(current_monthly_cost), "your current cost (given)"
        low = high = None
        note = "no out-of-sample check of the bid (no price history long enough)"
        oos, first = self.out_of_sample, _first_spot(self.ordering)
        if oos is not None and first is not None and first.on_demand_price:
            sim = self.plan.simulated
            spot_hours = sim["spot_replica_hours"] * HOURS_PER_MONTH / sim["hours"]
            spot_price = self.plan.prices["spot"]

            def at(ratio: float) -> float:
                return now - (advised + spot_hours * (ratio * first.on_demand_price - spot_price))

            low, high = at(oos.cost_ratio_high), at(oos.cost_ratio_low)
            note = (
                f"spot hours priced at the bid's worst and best out-of-sample week "
                f"({oos.cost_ratio_high:.1%} and {oos.cost_ratio_low:.1%} of on-demand, "
                f"{oos.runs} test windows of {oos.horizon} after {oos.window} look-backs, "
                f"{oos.spec})"
            )
        return Money(
            currency=self.currency,
            now_per_month=now,
            now_label=label,
            advised_per_month=advised,
            saving_per_month=now - advised,
            saving_share=(now - advised) / now if now else math.nan,
            saving_low=low,
            saving_high=high,
            range_note=note,
            availability=float(self.plan.simulated["availability"]),
        )

    def deployment(self) -> list[tuple[str, str]]:
        """The advised deployment in words, as (part, description) pairs."""
        from spotlab.tables import format_value

        cur = self.currency
        spots = [e for e in self.ordering.entries if e.spot]
        regular = next((e for e in self.ordering.entries if not e.spot), None)
        parts: list[tuple[str, str]] = []
        if spots:
            listed = "; ".join(
                f"{e.spec} bid ≤ {e.spot_price_limit:g} {cur}/h"
                + (f", at most {e.capacity}" if e.capacity is not None else "")
                for e in spots
            )
            n = len(spots)
            parts.append((f"{n} spot spec{'s' if n > 1 else ''}, in order", listed))
        if regular is not None:
            est = " (an estimated price)" if regular.price_is_estimate else ""
            parts.append(
                ("regular fallback", f"{regular.spec} at {regular.on_demand_price:g} {cur}/h{est}")
            )
        if self.plan is not None:
            p = self.plan
            parts.append(("dedicated floor", f"{p.dedicated_floor} replicas"))
            parts.append(
                (
                    "autoscaler",
                    f"{p.min_replicas}–{p.max_replicas} replicas at {p.threshold_qps:g} QPS each",
                )
            )
            parts.append(("scheduled scaling", f"{len(p.cron_jobs)} cron jobs ({p.time_zone})"))
        cs = self.coldstart
        setup = {
            "both": "cachefs + ACR acceleration",
            "cachefs": "cachefs memory cache",
            "acr": "ACR image acceleration",
            "plain": "plain (no cache, no acceleration)",
        }
        parts.append(
            (
                "start-up",
                f"{setup[cs.best_setup]}: {cs.seconds[cs.best_setup]:.0f} s per replacement "
                f"(plain {cs.seconds['plain']:.0f} s), saves "
                f"{format_value(cs.monthly_saving[cs.best_setup])} {cs.currency}/month per "
                f"replica at {cs.reclaims_per_month:g} reclaims a month",
            )
        )  # fmt: skip
        return parts

    def deployment_text(self) -> str:
        """:meth:`deployment` as one sentence."""
        return "; ".join(f"{k}: {v}" for k, v in self.deployment()) + "."

    def assumptions(self) -> pl.DataFrame:
        """The registry's assumptions with the values this overview used
        (:func:`spotlab.assumptions.assumptions_frame`)."""
        from spotlab.assumptions import assumptions_frame

        return assumptions_frame(used=self.used)

    def headline(self) -> pl.DataFrame:
        """The few numbers to read first, as (item, value) text rows."""
        cur = self.currency
        rows: list[tuple[str, str]] = []
        money = self.money()
        if money is not None:
            rows.append(
                (
                    "cost per month, now → advised",
                    f"{money.now_per_month:,.0f} ({money.now_label}) → "
                    f"{money.advised_per_month:,.0f} {cur}",
                )
            )
            span = (
                f"; out of sample {money.saving_low:,.0f} to {money.saving_high:,.0f}"
                if money.saving_low is not None and money.saving_high is not None
                else ""
            )
            rows.append(
                (
                    "saving per month",
                    f"{money.saving_per_month:,.0f} {cur} ({money.saving_share:.0%}{span}), "
                    f"availability {money.availability:.2%}",
                )
            )
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
                f"cold-start saving ({cs.reclaims_per_month:.1f} reclaims/month)",
                f"{cs.monthly_saving[cs.best_setup]:.2f} {cs.currency}/month per replica",
            )
        )
        return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def _first_spot(ordering: Any) -> Any | None:
    return next((e for e in ordering.entries if e.spot), None)


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
            f"{bid_text(r['bid'])} {cur}/h: service availability {r['availability']:.3%}, "
            f"effective cost {r['cost_ratio']:.3f} × on-demand",
        )
    ]
    if r["oos_availability"] is not None:
        oos = f"{bid_text(r['oos_bid'])} {cur}/h" if r["oos_bid"] is not None else "regular"
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
        return f"{entry['type']} (spot ≤ {bid_text(entry['spot_price_limit'])})"
    return f"{entry['type']} (regular)"


def bid_out_of_sample(store: Store, spec: str, provider: str = "alibaba") -> OutOfSample | None:
    """The recommended bid's out-of-sample record for one spec: the rolling-origin
    backtest (:func:`~spotlab.advise.backtest.backtest_bids`, spotlab's strategy) on the
    store's own history; None when the history is too short for one test window."""
    from spotlab.advise.backtest import backtest_bids
    from spotlab.prices import parse_window

    got = store.query(
        "SELECT min(ts) AS a, max(ts) AS b FROM spot_prices WHERE provider = ? AND spec = ?",
        [provider, spec],
    ).row(0)
    need = parse_window(OUT_OF_SAMPLE_WINDOW) + parse_window(OUT_OF_SAMPLE_HORIZON)  # type: ignore[operator]
    if got[0] is None or got[1] - got[0] < need:
        return None
    result = backtest_bids(
        store, specs=[spec], window=OUT_OF_SAMPLE_WINDOW, horizon=OUT_OF_SAMPLE_HORIZON,
        step=OUT_OF_SAMPLE_HORIZON, provider=provider,
    )  # fmt: skip
    runs = result.runs.filter(pl.col("strategy") == "spotlab")
    if runs.height == 0:
        return None
    ratio = runs["cost_ratio"].cast(pl.Float64)
    return OutOfSample(
        spec=spec,
        runs=runs.height,
        cost_ratio_low=float(ratio.min()),  # type: ignore[arg-type]
        cost_ratio_high=float(ratio.max()),  # type: ignore[arg-type]
        cost_ratio_mean=float(ratio.mean()),  # type: ignore[arg-type]
        window=OUT_OF_SAMPLE_WINDOW,
        horizon=OUT_OF_SAMPLE_HORIZON,
    )


def price_period(store: Store, provider: str, window: str) -> tuple[datetime, datetime] | None:
    """(first, last) time of the provider's price history the advice reads: the window
    ending at its newest point, or all of it when shorter."""
    from spotlab.prices import parse_window

    got = store.query(
        "SELECT min(ts) AS a, max(ts) AS b FROM spot_prices WHERE provider = ?", [provider]
    )
    first, last = got["a"][0], got["b"][0]
    if first is None or last is None:
        return None
    span = parse_window(window)
    return (max(first, last - span) if span is not None else first, last)


def overview(
    store: Store,
    requirements: Mapping[str, Any] | None = None,
    provider: str = "alibaba",
    model_size_gb: float = DEFAULT_MODEL_SIZE_GB,
    image_size_gb: float = DEFAULT_IMAGE_SIZE_GB,
    reclaims_per_month: float | None = None,
    service: str | None = None,
    qps_per_replica: float = DEFAULT_QPS_PER_REPLICA,
    replicas: int | None = None,
    window: str = DEFAULT_WINDOW,
    dedicated_monthly_price: float | None = None,
    target_availability: float = DEFAULT_TARGET_AVAILABILITY,
    out_of_sample: bool = True,
) -> Overview:
    """Compute the overview on a store.

    ``requirements`` default to one GPU with 24 GiB (the seed's GU30/A10 class). The
    cold-start model predicts the replacement start-up per spec (the best setup that fits
    the spec's memory) and that time prices the restart cost of bids and ordering.
    ``service`` names a traffic series for the scaling plan (the first one stored when
    None); the plan's spot price is the first spot entry's expected cost and its regular
    price the fallback's on-demand price; a dedicated replica costs
    :data:`~spotlab.fleet.scaling.DEDICATED_SHARE` × on-demand × 730 h unless
    ``dedicated_monthly_price`` is given. ``replicas`` None gives capacity caps as shares
    ("50%"), which suit an autoscaled service. ``out_of_sample`` backtests the first spot
    spec's bid on the store's own history (:func:`bid_out_of_sample`).
    """
    from spotlab.advise import coldstart as cs
    from spotlab.advise.bids import recommend_bids
    from spotlab.advise.ordering import recommend_ordering
    from spotlab.fleet.scaling import assumed_dedicated_monthly_price

    req = dict(requirements or DEFAULT_REQUIREMENTS)
    notes: list[str] = []
    given = "given"
    used: dict[str, tuple[Any, ...]] = {}
    if "gpu_memory_gib" in req and req["gpu_memory_gib"] != DEFAULT_REQUIREMENTS["gpu_memory_gib"]:
        used["service.gpu_memory_gib"] = (float(req["gpu_memory_gib"]), given)
    for key, value, default in (
        ("service.model_size_gb", model_size_gb, DEFAULT_MODEL_SIZE_GB),
        ("service.image_size_gb", image_size_gb, DEFAULT_IMAGE_SIZE_GB),
        ("service.qps_per_replica", qps_per_replica, DEFAULT_QPS_PER_REPLICA),
        ("bid.window", window, DEFAULT_WINDOW),
        ("bid.target_availability", target_availability, DEFAULT_TARGET_AVAILABILITY),
    ):
        if value != default:
            used[key] = (value, given)
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
    bids = recommend_bids(
        store, provider=provider, window=window, target_availability=target_availability,
        startup_seconds=startup,
    )  # fmt: skip
    ordering = recommend_ordering(
        req, store, window=window, replicas=replicas, startup_seconds=startup,
        target_availability=target_availability,
    )  # fmt: skip
    first_spot = _first_spot(ordering)
    if reclaims_per_month is None and first_spot is not None:
        reclaims_per_month = cs.reclaims_per_month_from_store(store, first_spot.spec)
        if reclaims_per_month is not None:
            used["coldstart.reclaims_per_month"] = (
                reclaims_per_month,
                f"measured: instance events of {first_spot.spec}",
            )
        elif first_spot.price_interruptions_per_day:
            reclaims_per_month = float(first_spot.price_interruptions_per_day) * DAYS_PER_MONTH
            used["coldstart.reclaims_per_month"] = (
                reclaims_per_month,
                f"measured: price rises across the bid of {first_spot.spec}",
            )
    elif reclaims_per_month is not None:
        used["coldstart.reclaims_per_month"] = (reclaims_per_month, given)
    if not reclaims_per_month:
        reclaims_per_month = cs.DEFAULT_RECLAIMS_PER_MONTH
        notes.append(
            f"no reclaims measured for the first spot spec: the cold-start saving assumes "
            f"{reclaims_per_month:g} reclaims a month"
        )
    currency = (ordering.entries[0].currency if ordering.entries else None) or "CNY"
    regular = next((e for e in ordering.entries if not e.spot), None)
    prices: dict[str, Any] = {}
    if first_spot is not None and regular is not None and regular.on_demand_price:
        # a start-up is billed at the first spot spec's expected price; an hour short of a
        # replica is worth what its regular stand-in costs
        prices = {
            "price_per_hour": float(first_spot.cost_per_replica_hour),
            "value_per_replica_hour": float(regular.on_demand_price),
            "currency": currency,
        }
        used["coldstart.spot_price"] = (
            prices["price_per_hour"],
            f"expected cost of {first_spot.spec} (spot)",
            f"{currency}/h",
        )
        used["coldstart.value_per_replica_hour"] = (
            prices["value_per_replica_hour"], f"on-demand price of the fallback {regular.spec}",
            f"{currency}/h",
        )  # fmt: skip
    saving = cs.coldstart_saving(
        model_size_gb, image_size_gb, provider, reclaims_per_month=reclaims_per_month,
        memory_gib=memory.get(first_spot.spec) if first_spot is not None else None, **prices,
    )  # fmt: skip
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

        if first_spot is None or regular is None or regular.on_demand_price is None:
            notes.append("no spot and regular entry to price the scaling plan")
        else:
            od = float(regular.on_demand_price)
            if dedicated_monthly_price is None:
                dedicated = assumed_dedicated_monthly_price(od)
            else:
                dedicated = dedicated_monthly_price
                used["plan.dedicated_share"] = (
                    dedicated_monthly_price / (od * HOURS_PER_MONTH), f"given: {dedicated:g} "
                    f"{currency}/month"
                )  # fmt: skip
            try:
                plan = plan_from_store(
                    store,
                    service,
                    qps_per_replica=qps_per_replica,
                    regular_price=od,
                    spot_price=float(first_spot.cost_per_replica_hour or od),
                    dedicated_monthly_price=dedicated,
                    startup_seconds=startup.get(first_spot.spec),
                    currency=currency,
                    seed=PLAN_MARKET_SEED,
                )
            except SpotlabError as exc:
                notes.append(f"no scaling plan: {exc}")
    if store.query("SELECT count(*) AS n FROM specs WHERE price_is_estimate")["n"][0]:
        notes.append("some on-demand prices in the catalog are estimates (price_is_estimate)")
    oos = (
        bid_out_of_sample(store, first_spot.spec, provider)
        if out_of_sample and first_spot is not None
        else None
    )
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
        provider=provider,
        window=window,
        period=price_period(store, provider, window),
        out_of_sample=oos,
        used=used,
    )


#: an example image on an ACR Enterprise VPC domain: only ``spotlab report`` writes it, when
#: no ``--image`` is given, and it says so on the page and in its output
EXAMPLE_IMAGE = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/llm/serving:1.0"


def overview_config(
    ov: Overview,
    store: Store,
    image: str,
    model_oss_path: str | None = None,
    name: str = "spotlab_overview",
    model_size_gb: float = DEFAULT_MODEL_SIZE_GB,
    requirements: Mapping[str, Any] | None = None,
) -> Any:
    """The EAS config the overview's advice adds up to: its ordering (bids inside), the
    scaling plan's autoscaler and cron files, and the model mount (with a memory cache when
    the cold-start advice keeps one) when ``model_oss_path`` is given. ``image`` is the
    service's container image: there is no default, so no placeholder is ever written.
    Returns a :class:`~spotlab.eas.ConfigBundle`."""
    from spotlab.eas import build_config
    from spotlab.errors import ConfigError

    if not image.strip():
        raise ConfigError("the service needs a container image: give its registry reference")
    return build_config(
        name,
        image.strip(),
        ordering=ov.ordering,
        scaling=ov.plan,
        model_oss_path=(model_oss_path or "").strip() or None,
        model_size_gb=model_size_gb,
        coldstart=ov.coldstart,
        store=store,
        requirements=dict(requirements or DEFAULT_REQUIREMENTS),
    )


def export_overview_config(
    ov: Overview,
    store: Store,
    out_dir: str | Path,
    image: str,
    model_oss_path: str | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write the overview's advised config (lint-checked) into ``out_dir``; existing files
    are replaced only with ``overwrite``."""
    from spotlab.eas import export

    bundle = overview_config(ov, store, image, model_oss_path)
    result = export(bundle, out_dir, overwrite=overwrite, store=store)
    return list(result.paths)
