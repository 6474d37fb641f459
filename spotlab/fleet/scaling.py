"""A scaling plan from a traffic series: floor, autoscaler, cron jobs, and what it costs.

Given a service's request rate (QPS over time) and what one replica serves:

1. replicas needed per step: ``ceil(qps / threshold)`` with ``threshold = qps_per_replica ×
   target_utilization`` (the QPS per replica the autoscaler aims at), at least
   ``min_replicas``;
2. the dedicated floor ``D`` that minimises ``D × monthly price × months + elastic price ×
   replica-hours above D`` (the elastic price is what an elastic replica-hour is expected to
   cost: spot while in stock, regular otherwise);
3. autoscaler bounds: ``min = max(D, least needed)``, ``max = most needed × (1 +
   headroom)``, and the QPS threshold;
4. cron jobs from the daily profile in ``time_zone``: for each hour the most replicas any
   day needed in it (``profile_quantile`` < 1 takes a quantile over days), one job where the
   level changes, plus one at midnight; weekdays and weekends get separate jobs when the
   weekend peak is below ``weekend_ratio`` of the weekday peak;
5. the plan replayed by the fleet simulator (dedicated floor + spot + regular fallback with
   resource rebalancing, a seeded Poisson spot market) against all-regular replicas.

:meth:`ScalingPlan.to_autoscaler` and :meth:`ScalingPlan.to_cronscale` give the EAS
autoscaler and ``eascmd cronscale`` JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from spotlab.domain import HOURS_PER_MONTH, warning_lead_seconds
from spotlab.errors import AnalysisError, did_you_mean
from spotlab.fleet.market import Pool, poisson_market
from spotlab.fleet.policies import dedicated_floor
from spotlab.fleet.simulate import simulate
from spotlab.fleet.startup import FleetStartup, fleet_startup
from spotlab.store import Store

#: dedicated (committed) price ÷ on-demand price: an assumption, about a 1-year commitment
DEDICATED_SHARE = 0.63


def assumed_dedicated_monthly_price(regular_price: float) -> float:
    """The assumed price of one dedicated replica-month: :data:`DEDICATED_SHARE` × the
    regular (on-demand) price × 730 h (``spotlab assumptions``: plan.dedicated_share)."""
    return DEDICATED_SHARE * regular_price * HOURS_PER_MONTH


#: the QPS share of a replica's capacity the autoscaler aims at (an assumption)
DEFAULT_TARGET_UTILIZATION = 0.8
#: the autoscaler's max is the most replicas needed × (1 + this)
DEFAULT_AUTOSCALER_HEADROOM = 0.1
#: the SYNTHETIC spot market a plan is replayed on: share of time spot is in stock, and
#: reclaims per spot replica-month (assumptions; a seeded Poisson market)
DEFAULT_STOCK_PROBABILITY = 0.95
DEFAULT_INTERRUPTIONS_PER_MONTH = 0.10


@dataclass(frozen=True)
class CronJob:
    """One ``eascmd cronscale`` job; ``schedule`` has 6 fields: s m h day month weekday."""

    name: str
    schedule: str
    target_size: int
    time_zone: str

    def as_eas(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Schedule": self.schedule,
            "TargetSize": self.target_size,
            "TimeZone": self.time_zone,
        }


@dataclass
class ScalingPlan:
    """The plan; prices are per replica-hour (dedicated: per replica-month) in ``currency``."""

    service: str
    qps_per_replica: float
    target_utilization: float
    threshold_qps: float
    step_seconds: float
    replicas: pl.DataFrame  # ts, qps, replicas
    dedicated_floor: int
    floor_costs: pl.DataFrame  # floor, cost (over the traffic span)
    min_replicas: int
    max_replicas: int
    cron_jobs: list[CronJob]
    time_zone: str
    prices: dict[str, float]
    simulated: dict[str, Any]
    currency: str = "CNY"
    exclude_dates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def per_month(self) -> dict[str, float]:
        """The simulated plan and all-regular costs over one month
        (:data:`~spotlab.domain.HOURS_PER_MONTH`), scaled from the traffic span."""
        sim = self.simulated
        scale = HOURS_PER_MONTH / float(sim["hours"]) if sim["hours"] else math.nan
        return {"cost": sim["cost"] * scale, "all_regular_cost": sim["all_regular_cost"] * scale}

    def to_autoscaler(self) -> dict[str, Any]:
        """The standalone EAS autoscaler JSON."""
        thr = self.threshold_qps
        return {
            "min": self.min_replicas,
            "max": self.max_replicas,
            "scaleStrategies": [
                {"metricName": "qps", "threshold": int(thr) if thr == int(thr) else round(thr, 2)}
            ],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0},
                "scaleDown": {"stabilizationWindowSeconds": 300},
            },
        }

    def to_cronscale(self) -> dict[str, Any]:
        """The ``eascmd cronscale`` JSON."""
        return {
            "ExcludeDates": list(self.exclude_dates),
            "ScaleJobs": [j.as_eas() for j in self.cron_jobs],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "qps_per_replica": self.qps_per_replica,
            "target_utilization": self.target_utilization,
            "threshold_qps": self.threshold_qps,
            "dedicated_floor": self.dedicated_floor,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "replicas_mean": float(self.replicas["replicas"].cast(pl.Float64).mean() or 0.0),  # type: ignore[arg-type]
            "hours": round(self.replicas.height * self.step_seconds / 3600.0, 3),
            "currency": self.currency,
            "prices": self.prices,
            "simulated": self.simulated,
            "per_month": self.per_month(),
            "autoscaler": self.to_autoscaler(),
            "cronscale": self.to_cronscale(),
            "notes": self.notes,
        }

    def summary(self) -> pl.DataFrame:
        """The plan's headline numbers as ``item, value`` rows (for the CLI)."""
        sim = self.simulated
        month = self.per_month()
        r = self.replicas["replicas"].to_numpy()
        rows = [
            ("service", self.service),
            ("span (h)", f"{self.replicas.height * self.step_seconds / 3600.0:.1f}"),
            ("replicas needed (min / mean / max)",
             f"{int(r.min())} / {float(r.mean()):.1f} / {int(r.max())}"),
            ("dedicated floor", str(self.dedicated_floor)),
            ("autoscaler min / max", f"{self.min_replicas} / {self.max_replicas}"),
            ("qps threshold per replica", f"{self.threshold_qps:g}"),
            ("cron jobs", str(len(self.cron_jobs))),
            (f"plan cost per month ({self.currency})", f"{month['cost']:,.0f}"),
            (f"all-regular cost per month ({self.currency})",
             f"{month['all_regular_cost']:,.0f}"),
            ("cost ratio vs all regular", f"{sim['cost_ratio']:.3f}"),
            ("availability (time ready >= needed)", f"{sim['availability']:.4f}"),
            ("regular share of replica-hours", f"{sim['regular_share']:.3f}"),
        ]  # fmt: skip
        rows += [(f"cron {j.name}", f"{j.schedule} -> {j.target_size} ({j.time_zone})")
                 for j in self.cron_jobs]  # fmt: skip
        return pl.DataFrame(rows, schema=["item", "value"], orient="row")


#: the most replicas a plan may need (guards against a QPS per replica that is far too small)
MAX_REPLICAS = 100_000
#: the most steps of a replicas-needed grid
MAX_STEPS = 5_000_000


def traffic_series(store: Store, service: str) -> pl.DataFrame:
    """``ts, qps`` of one service from the ``traffic`` table, in time order."""
    frame = store.query("SELECT ts, qps FROM traffic WHERE service = ? ORDER BY ts", [service])
    if frame.height == 0:
        known = store.query("SELECT DISTINCT service FROM traffic ORDER BY 1")["service"]
        hint = did_you_mean(service, known.to_list())
        raise AnalysisError(
            f"no traffic rows for service {service!r}.{hint} Known: "
            f"{', '.join(known.to_list()[:10]) or 'none (ingest a traffic CSV first)'}"
        )
    return frame


def replicas_needed(
    traffic: pl.DataFrame,
    qps_per_replica: float,
    target_utilization: float = DEFAULT_TARGET_UTILIZATION,
    min_replicas: int = 1,
    step_seconds: float | None = None,
) -> pl.DataFrame:
    """``ts, qps, replicas`` on a regular grid (default step: the median sampling gap);
    each traffic sample holds until the next."""
    if not (math.isfinite(qps_per_replica) and qps_per_replica > 0):
        raise AnalysisError(f"qps_per_replica must be a number > 0, got {qps_per_replica!r}")
    if not (math.isfinite(target_utilization) and 0 < target_utilization <= 1):
        raise AnalysisError(f"target_utilization must be in (0, 1], got {target_utilization!r}")
    if not 0 <= min_replicas <= MAX_REPLICAS:
        raise AnalysisError(f"min_replicas must be in 0..{MAX_REPLICAS}, got {min_replicas}")
    if step_seconds is not None and not (math.isfinite(step_seconds) and step_seconds > 0):
        raise AnalysisError(f"step_seconds must be a number > 0, got {step_seconds!r}")
    if traffic.height == 0:
        raise AnalysisError("the traffic series is empty")
    tr = traffic.select("ts", "qps").sort("ts")
    qps_all = tr["qps"].cast(pl.Float64).fill_null(math.nan).to_numpy()
    if not np.isfinite(qps_all).all() or (qps_all < 0).any():
        raise AnalysisError("traffic qps must be finite numbers >= 0")
    top = float(qps_all.max())
    threshold = qps_per_replica * target_utilization
    if top / threshold > MAX_REPLICAS:
        raise AnalysisError(
            f"the peak of {top:g} QPS at {threshold:g} QPS per replica needs "
            f"{top / threshold:.3g} replicas, above the {MAX_REPLICAS} spotlab plans for: "
            "check --qps-per-replica (QPS one replica serves)"
        )
    secs = (tr["ts"] - tr["ts"][0]).dt.total_microseconds().to_numpy() / 1e6
    gaps = np.diff(secs)
    gaps = gaps[gaps > 0]
    step = step_seconds or (float(np.median(gaps)) if gaps.size else 3600.0)
    n = math.floor((secs[-1] if secs.size else 0.0) / step) + 1
    if n > MAX_STEPS:
        raise AnalysisError(
            f"a step of {step:g} s over the traffic span makes {n} steps (at most {MAX_STEPS}): "
            "use a larger step"
        )
    grid = np.arange(n) * step
    idx = np.searchsorted(secs, grid, side="right") - 1
    qps = tr["qps"].to_numpy()[idx]
    need = np.maximum(np.ceil(qps / threshold - 1e-9), min_replicas).astype(np.int64)
    start = pl.lit(tr["ts"][0]).cast(tr.schema["ts"])
    return pl.DataFrame({"_s": grid, "qps": qps, "replicas": need}).select(
        (start + pl.duration(microseconds=(pl.col("_s") * 1e6).round())).alias("ts"),
        "qps",
        "replicas",
    )


def floor_costs(
    replicas: np.ndarray, step_seconds: float, dedicated_monthly: float, elastic_hourly: float
) -> pl.DataFrame:
    """Cost over the span of each dedicated floor 0..max: the floor's slots for the whole
    span plus the elastic replica-hours above it."""
    r = np.asarray(replicas, dtype=np.int64)
    top = int(r.max()) if r.size else 0
    step_h = step_seconds / 3600.0
    hours = np.bincount(r, minlength=top + 1) * step_h  # hours at each level
    levels = np.arange(top + 1)
    # replica-hours above D = sum over v > D of (v - D) * hours[v], via reverse cumsums
    above_h = np.concatenate([np.cumsum(hours[::-1])[::-1][1:], [0.0]])
    above_vh = np.concatenate([np.cumsum((levels * hours)[::-1])[::-1][1:], [0.0]])
    elastic_rh = above_vh - levels * above_h
    span_h = r.size * step_h
    cost = levels * dedicated_monthly * span_h / HOURS_PER_MONTH + elastic_hourly * elastic_rh
    return pl.DataFrame({"floor": levels, "cost": cost, "elastic_replica_hours": elastic_rh})


def _local(frame: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    ts = pl.col("ts")
    dtype = frame.schema["ts"]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        ts = ts.dt.replace_time_zone("UTC")
    try:
        return frame.with_columns(_l=ts.dt.convert_time_zone(time_zone)).with_columns(
            _date=pl.col("_l").dt.date(),
            _hour=pl.col("_l").dt.hour().cast(pl.Int64),
            _weekend=pl.col("_l").dt.weekday() >= 6,
        )
    except pl.exceptions.ComputeError as exc:  # polars rejects unknown zones
        raise AnalysisError(f"unknown time zone {time_zone!r}: {exc}") from exc


def daily_levels(
    replicas: pl.DataFrame,
    time_zone: str = "Asia/Shanghai",
    floor: int = 0,
    quantile: float = 1.0,
    weekend_ratio: float = 0.8,
    max_jobs: int = 8,
) -> dict[str, list[int]]:
    """Scheduled replicas for each local hour: ``{"daily": [24 levels]}``, or
    ``{"weekday": [...], "weekend": [...]}`` when weekends are quieter (see the module
    docstring). Levels are the per-hour maxima (or ``quantile``) over days, at least
    ``floor``, merged into at most ``max_jobs`` blocks adding the fewest replica-hours."""
    if not 0 < quantile <= 1:
        raise AnalysisError("profile quantile must be in (0, 1]")
    if max_jobs < 1:
        raise AnalysisError("max_jobs must be >= 1")
    per_day = (
        _local(replicas, time_zone)
        .group_by("_date", "_hour", "_weekend")
        .agg(pl.col("replicas").max())
    )
    wd = per_day.filter(~pl.col("_weekend"))
    we = per_day.filter(pl.col("_weekend"))
    split = (
        wd.height > 0
        and we.height > 0
        and we["replicas"].max() < weekend_ratio * wd["replicas"].max()  # type: ignore[operator]
    )
    groups = {"weekday": wd, "weekend": we} if split else {"daily": per_day}
    return {
        name: _merge_blocks([max(v, floor) for v in _hourly_levels(frame, quantile)], max_jobs)
        for name, frame in groups.items()
    }


def _hourly_levels(frame: pl.DataFrame, quantile: float) -> list[int]:
    agg = frame.group_by("_hour").agg(
        pl.col("replicas").quantile(quantile, interpolation="higher").alias("level")
    )
    got = dict(zip(agg["_hour"].to_list(), agg["level"].to_list(), strict=True))
    out: list[int] = []
    last = next((got[h] for h in range(24) if h in got), 0)
    for h in range(24):
        last = got.get(h, last)
        out.append(int(last))
    return out


def _merge_blocks(levels: list[int], max_blocks: int) -> list[int]:
    """Runs of equal level (the first starting at hour 0), merged pairwise (neighbours
    taking their max) until at most ``max_blocks`` remain, cheapest merge first."""
    blocks: list[list[int]] = []  # [start hour, length, level]
    for h, v in enumerate(levels):
        if blocks and blocks[-1][2] == v:
            blocks[-1][1] += 1
        else:
            blocks.append([h, 1, v])
    while len(blocks) > max_blocks:
        best, best_extra = 0, None
        for i in range(len(blocks) - 1):
            a, b = blocks[i], blocks[i + 1]
            top = max(a[2], b[2])
            extra = (top - a[2]) * a[1] + (top - b[2]) * b[1]
            if best_extra is None or extra < best_extra:
                best, best_extra = i, extra
        a, b = blocks[best], blocks[best + 1]
        blocks[best : best + 2] = [[a[0], a[1] + b[1], max(a[2], b[2])]]
    out: list[int] = []
    for _, length, v in blocks:
        out += [v] * length
    return out


_WEEKDAYS = {"daily": "*", "weekday": "1-5", "weekend": "0,6"}


def cron_jobs(levels: dict[str, list[int]], time_zone: str = "Asia/Shanghai") -> list[CronJob]:
    """One job at midnight and one at each hour the level changes, per profile; 6-field
    cron (second minute hour day month weekday; weekday 0 = Sunday)."""
    jobs: list[CronJob] = []
    for name, lv in levels.items():
        for h in range(24):
            if h == 0 or lv[h] != lv[h - 1]:
                jobs.append(
                    CronJob(f"{name}-{h:02d}00", f"0 0 {h} * * {_WEEKDAYS[name]}", lv[h], time_zone)
                )
    return jobs


def scheduled_sizes(
    replicas: pl.DataFrame, levels: dict[str, list[int]], time_zone: str
) -> np.ndarray:
    """The cron level in force at each row's time."""
    local = _local(replicas, time_zone)
    hour = local["_hour"].to_numpy()
    if "daily" in levels:
        return np.asarray(levels["daily"], dtype=np.int64)[hour]
    weekend = local["_weekend"].to_numpy()
    wd = np.asarray(levels["weekday"], dtype=np.int64)[hour]
    we = np.asarray(levels["weekend"], dtype=np.int64)[hour]
    return np.where(weekend, we, wd)


def scaling_plan(
    traffic: pl.DataFrame,
    qps_per_replica: float,
    regular_price: float,
    spot_price: float,
    dedicated_monthly_price: float | None = None,
    service: str = "service",
    target_utilization: float = DEFAULT_TARGET_UTILIZATION,
    min_replicas: int = 1,
    headroom: float = DEFAULT_AUTOSCALER_HEADROOM,
    time_zone: str = "Asia/Shanghai",
    profile_quantile: float = 1.0,
    weekend_ratio: float = 0.8,
    max_jobs: int = 8,
    step_seconds: float | None = None,
    stock_probability: float = DEFAULT_STOCK_PROBABILITY,
    interruptions_per_month: float = DEFAULT_INTERRUPTIONS_PER_MONTH,
    startup_seconds: float | None = None,
    warning_seconds: float | None = None,
    provider: str = "alibaba",
    spec: str = "replica",
    currency: str = "CNY",
    seed: int = 0,
    startup: FleetStartup | None = None,
) -> ScalingPlan:
    """Build and simulate a scaling plan (see the module docstring).

    Prices are per replica-hour (``dedicated_monthly_price`` per replica-month of 730 h;
    default :func:`assumed_dedicated_monthly_price` of ``regular_price``).
    ``interruptions_per_month`` is the expected reclaims per spot replica-month;
    The start-up is ``startup`` (:func:`spotlab.fleet.startup.fleet_startup`) or
    ``startup_seconds`` given, else the cold-start model's default (setup both, as on
    ``spotlab bids``/``order``); ``warning_seconds`` defaults
    to ``provider``'s reclaim notice (:func:`spotlab.domain.warning_lead_seconds`).
    ``max_jobs`` caps the cron jobs per profile (daily, or weekday and weekend).
    """
    warning = warning_lead_seconds(provider) if warning_seconds is None else warning_seconds
    if dedicated_monthly_price is None:
        dedicated_monthly_price = assumed_dedicated_monthly_price(regular_price)
    for name, v in (("regular_price", regular_price), ("spot_price", spot_price),
                    ("dedicated_monthly_price", dedicated_monthly_price)):  # fmt: skip
        if not (math.isfinite(v) and v >= 0):
            raise AnalysisError(f"{name} must be a number >= 0, got {v}")
    rates = (interruptions_per_month, headroom)
    if not 0 <= stock_probability <= 1 or not all(math.isfinite(v) and v >= 0 for v in rates):
        raise AnalysisError(
            "stock_probability must be in [0, 1]; interruptions_per_month and headroom >= 0"
        )
    need = replicas_needed(traffic, qps_per_replica, target_utilization, min_replicas, step_seconds)
    step = float(
        step_seconds
        or ((need["ts"][1] - need["ts"][0]).total_seconds() if need.height > 1 else 3600.0)
    )
    r = need["replicas"].to_numpy()
    elastic = stock_probability * spot_price + (1.0 - stock_probability) * regular_price
    costs = floor_costs(r, step, dedicated_monthly_price, elastic)
    floor = int(costs.sort("cost", "floor")["floor"][0])
    lo = max(floor, int(r.min()))
    hi = max(lo, math.ceil(int(r.max()) * (1.0 + headroom)))
    levels = daily_levels(need, time_zone, lo, profile_quantile, weekend_ratio, max_jobs)
    levels = {k: [min(v, hi) for v in lv] for k, lv in levels.items()}
    jobs = cron_jobs(levels, time_zone)
    sized = np.clip(np.maximum(r, scheduled_sizes(need, levels, time_zone)), lo, hi)
    need = need.with_columns(pl.Series("planned", sized))
    if startup is None:
        startup = fleet_startup(startup_seconds)
    elif startup_seconds is not None:
        raise AnalysisError("give startup or startup_seconds, not both")
    sim = _simulate_plan(
        r, sized, step, floor, regular_price, spot_price, dedicated_monthly_price,
        stock_probability, interruptions_per_month, startup.seconds, warning, spec, seed,
    )  # fmt: skip
    notes = [
        f"elastic replica-hour expected at {elastic:.4g} {currency} "
        f"({stock_probability:.0%} spot at {spot_price:g}, else regular at {regular_price:g})",
        f"simulated on a SYNTHETIC spot market (seed {seed}): stock {stock_probability:.0%} of "
        f"the time, {interruptions_per_month:g} reclaims per replica-month, "
        f"{startup.describe()}, warning {warning:.0f} s; the plan runs max(needed, cron "
        "size) replicas within the autoscaler bounds",
    ]
    return ScalingPlan(
        service=service, qps_per_replica=qps_per_replica,
        target_utilization=target_utilization,
        threshold_qps=qps_per_replica * target_utilization, step_seconds=step,
        replicas=need, dedicated_floor=floor, floor_costs=costs, min_replicas=lo,
        max_replicas=hi, cron_jobs=jobs, time_zone=time_zone,
        prices={"regular": regular_price, "spot": spot_price,
                "dedicated_monthly": dedicated_monthly_price, "elastic": elastic},
        simulated=sim, currency=currency, notes=notes,
    )  # fmt: skip


#: the simulation's finest step (s): start-up times shorter than a coarse traffic step
#: would otherwise round up to a whole step
SIM_STEP_SECONDS = 60.0


def _simulate_plan(
    replicas: np.ndarray,
    planned: np.ndarray,
    step: float,
    floor: int,
    regular_price: float,
    spot_price: float,
    dedicated_monthly: float,
    stock_probability: float,
    interruptions_per_month: float,
    startup: float,
    warning: float,
    spec: str,
    seed: int,
) -> dict[str, Any]:
    rep = 1
    if (
        step > SIM_STEP_SECONDS
        and abs(step / SIM_STEP_SECONDS - round(step / SIM_STEP_SECONDS)) < 1e-9
    ):
        rep = round(step / SIM_STEP_SECONDS)
    need = np.repeat(replicas, rep)
    asked = np.repeat(planned, rep)
    pools = [
        Pool(spec, "spot", "spot", spot_price, startup),
        Pool(spec, "regular", "regular", regular_price, startup),
    ]
    if floor > 0:
        pools.insert(0, Pool(spec, "dedicated", "dedicated", dedicated_monthly / HOURS_PER_MONTH,
                             startup, slots=floor))  # fmt: skip
    market = poisson_market(
        pools, int(need.size), step / rep,
        reclaims_per_hour=interruptions_per_month / HOURS_PER_MONTH,
        stock_probability=stock_probability, mean_outage_hours=1.0,
        max_replicas=max(int(asked.max()), 1), seed=seed,
    )  # fmt: skip
    result = simulate(market, dedicated_floor(), need, warning_seconds=warning, provision=asked)
    out = result.summary()
    out["policy"] = "plan: dedicated floor + spot + regular (rebalancing)"
    out["spot_replica_hours"] = result.replica_hours("spot")
    return out


def plan_from_store(store: Store, service: str, **options: Any) -> ScalingPlan:
    """:func:`scaling_plan` on a service's stored traffic."""
    return scaling_plan(traffic_series(store, service), service=service, **options)
