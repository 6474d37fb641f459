"""Interruption analytics: from lifecycle events to rates with exact intervals.

The pipeline, each step a pure function over polars frames (``Store`` arguments are read
once at the start):

1. :func:`attribute_events` gives every event its instance's spec, zone, is_spot and
   service: from the event itself, else from the instance's other events (its launch),
   else from the inventory (``instances``). Events still without a spec are *unattributed*:
   kept, counted and listed (:func:`unattributed_events`), never dropped.
2. :func:`lifecycles`: one row per instance: start (first ``launched``/``ready``/
   ``rebuilt``), the first interruption warning, rebalance recommendation, reclaim and
   termination, whether it was interrupted, when, the warning's lead time and the hours it
   ran (until its end, or until the end of the log: censored).
3. :func:`exposure`: instance-hours per cell (default (provider, spec, zone, is_spot)),
   from the lifecycles, or from the ``instance_exposure`` table where that has the cell.
4. :func:`interruption_rates`: per cell, interruptions per instance-hour and per
   instance-month (730 h) with an exact (Garwood) Poisson interval, the share of
   instances interrupted within a month (``monthly_pct = 100·(1 − e^(−730·rate))``),
   mapped to the AWS bands (<5% … >20%) and the Alibaba bands (0-3% … 10-100%), the mean
   time to interruption, and a pooled estimate from a scikit-learn ``PoissonRegressor``
   over spec family, GPU model, zone and discount (exposure as sample weight) for sparse
   cells. ``rate_used`` says which rate the advice takes.

An instance counts as interrupted when it has an interruption warning or a reclaim (and
counts as spot when its spot flag is unknown); the interruption time is the reclaim, else
the first termination after the warning, else the warning plus the provider's notice
(Alibaba 5 min, AWS 2 min).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from spotlab.domain import (
    DEFAULT_WARNING_LEAD_SECONDS,
    HOURS_PER_MONTH,
    WARNING_LEAD_SECONDS,
    family_of_spec_expr,
)
from spotlab.errors import AnalysisError, did_you_mean
from spotlab.store import Store

#: the default cell of a rate
BY: tuple[str, ...] = ("provider", "spec", "zone", "is_spot")
#: the columns a cell may be keyed by
CELL_COLUMNS: tuple[str, ...] = ("provider", "region", "zone", "spec", "service", "is_spot")


def check_by(by: Sequence[str]) -> list[str]:
    """The cell columns, checked: each one of :data:`CELL_COLUMNS` (did-you-mean), at least
    one, no repeats."""
    cols = [str(c).strip() for c in by]
    if not cols or any(not c for c in cols):
        raise AnalysisError(
            f"give the cell columns, comma-separated, from: {', '.join(CELL_COLUMNS)}"
        )
    for c in cols:
        if c not in CELL_COLUMNS:
            raise AnalysisError(
                f"unknown cell column {c!r}.{did_you_mean(c, CELL_COLUMNS)} "
                f"Use some of: {', '.join(CELL_COLUMNS)}"
            )
    if len(set(cols)) != len(cols):
        raise AnalysisError(f"a cell column is repeated in {', '.join(cols)}")
    return cols


START_EVENTS = ("launched", "ready", "rebuilt")

#: (low %, high %, label) per instance-month: AWS Spot Advisor's bands and Alibaba's
AWS_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 5.0, "<5%"),
    (5.0, 10.0, "5-10%"),
    (10.0, 15.0, "10-15%"),
    (15.0, 20.0, "15-20%"),
    (20.0, 100.0, ">20%"),
)
ALIBABA_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 3.0, "0-3%"),
    (3.0, 5.0, "3-5%"),
    (5.0, 10.0, "5-10%"),
    (10.0, 100.0, "10-100%"),
)

_EVENT_SCHEMA: dict[str, Any] = {
    "provider": pl.String,
    "region": pl.String,
    "zone": pl.String,
    "spec": pl.String,
    "instance_id": pl.String,
    "service": pl.String,
    "is_spot": pl.Boolean,
    "event": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "detail": pl.String,
    "source_id": pl.Int32,
}


# -- loading -------------------------------------------------------------------------------


def load_events(store: Store) -> pl.DataFrame:
    """``instance_events`` as stored (one row per event), sorted by instance and time."""
    frame = store.query("SELECT * FROM instance_events ORDER BY provider, instance_id, ts, event")
    return frame if frame.height else pl.DataFrame(schema=_EVENT_SCHEMA)


def load_inventory(store: Store) -> pl.DataFrame:
    return store.query("SELECT * FROM instances")


def load_exposure(store: Store) -> pl.DataFrame:
    return store.query("SELECT * FROM instance_exposure")


def _events_of(source: Store | pl.DataFrame, inventory: pl.DataFrame | None) -> pl.DataFrame:
    if isinstance(source, Store):
        return attribute_events(load_events(source), load_inventory(source))
    if "attributed_from" in source.columns:
        return source
    return attribute_events(source, inventory)


# -- 1. attribution ------------------------------------------------------------------------


def attribute_events(events: pl.DataFrame, inventory: pl.DataFrame | None = None) -> pl.DataFrame:
    """Fill each event's spec, zone, region, is_spot and service.

    Precedence: the event's own value, then the instance's other events (earliest first),
    then the inventory (a row whose provider is empty matches any provider). Adds
    ``attributed_from``: ``event``, ``instance events``, ``inventory`` or null
    (unattributed: no spec anywhere).
    """
    missing = [c for c in ("provider", "instance_id", "event", "ts") if c not in events.columns]
    if missing:
        raise AnalysisError(
            f"events lack column(s) {', '.join(missing)} (see spotlab.ingest.lifecycle)"
        )
    events = events.with_columns(
        pl.lit(None, dtype).alias(c) for c, dtype in _EVENT_SCHEMA.items() if c not in events
    )
    attrs = ("spec", "zone", "region", "service")
    ev = events.sort("provider", "instance_id", "ts")
    own = ev.group_by("provider", "instance_id", maintain_order=True).agg(
        *[pl.col(a).drop_nulls().first().alias(f"_o_{a}") for a in attrs],
        pl.col("is_spot").drop_nulls().max().alias("_o_is_spot"),
    )
    ev = ev.join(own, on=["provider", "instance_id"], how="left")
    inv_cols = ("spec", "zone", "region", "service", "is_spot")
    if inventory is not None and inventory.height:
        inv = inventory.unique(["provider", "instance_id"], keep="last", maintain_order=True)
        exact = inv.filter(pl.col("provider").is_not_null()).select(
            "provider", "instance_id", *[pl.col(c).alias(f"_e_{c}") for c in inv_cols]
        )
        anyp = (
            inv.filter(pl.col("provider").is_null())
            .unique("instance_id", keep="last", maintain_order=True)
            .select("instance_id", *[pl.col(c).alias(f"_a_{c}") for c in inv_cols])
        )
        ev = ev.join(exact, on=["provider", "instance_id"], how="left").join(
            anyp, on="instance_id", how="left"
        )
        inv_value = {c: pl.coalesce(f"_e_{c}", f"_a_{c}") for c in inv_cols}
    else:
        inv_value = {c: pl.lit(None, _EVENT_SCHEMA[c]) for c in inv_cols}
    return ev.with_columns(
        pl.when(pl.col("spec").is_not_null())
        .then(pl.lit("event"))
        .when(pl.col("_o_spec").is_not_null())
        .then(pl.lit("instance events"))
        .when(inv_value["spec"].is_not_null())
        .then(pl.lit("inventory"))
        .otherwise(pl.lit(None, pl.String))
        .alias("attributed_from"),
        *[pl.coalesce(a, f"_o_{a}", inv_value[a]).alias(a) for a in (*attrs, "is_spot")],
    ).select(*[c for c in _EVENT_SCHEMA if c in events.columns], "attributed_from")


def unattributed_events(source: Store | pl.DataFrame) -> pl.DataFrame:
    """Events whose instance has no spec in any event or inventory row (kept, listed here)."""
    ev = _events_of(source, None)
    return ev.filter(pl.col("attributed_from").is_null()).select(
        "provider", "instance_id", "event", "ts", "region", "source_id"
    )


def event_summary(source: Store | pl.DataFrame) -> pl.DataFrame:
    """Events counted by provider, event and how they were attributed ('unattributed')."""
    ev = _events_of(source, None)
    return (
        ev.with_columns(pl.col("attributed_from").fill_null("unattributed"))
        .group_by("provider", "event", "attributed_from")
        .agg(pl.len().alias("events"), pl.col("instance_id").n_unique().alias("instances"))
        .sort("provider", "event", "attributed_from")
    )


# -- 2. lifecycles -------------------------------------------------------------------------


def lifecycles(
    source: Store | pl.DataFrame,
    until: datetime | None = None,
    lead_seconds: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """One row per instance: its interval, interruption and warning lead time.

    Columns: cell attributes, ``start``, ``warning``, ``rebalance``, ``reclaim``,
    ``terminated``, ``interrupted``, ``interrupted_at``, ``end``, ``censored`` (still
    running at the end of the log), ``hours`` (null without a start event), ``lead_s``
    (warning → reclaim or termination, when both were logged) and ``rebalance_lead_s``.
    ``until`` ends the censored intervals (default: the last event of the file(s) the
    instance's events came from).
    """
    ev = _events_of(source, None)
    # seconds from the warning to the reclaim when a log lacks the reclaim itself
    leads = {**WARNING_LEAD_SECONDS, **(lead_seconds or {})}
    first = {
        "start": pl.col("ts").filter(pl.col("event").is_in(START_EVENTS)).min(),
        "warning": pl.col("ts").filter(pl.col("event") == "interruption_warning").min(),
        "rebalance": pl.col("ts").filter(pl.col("event") == "rebalance_recommendation").min(),
        "reclaim": pl.col("ts").filter(pl.col("event") == "reclaimed").min(),
        "terminated": pl.col("ts").filter(pl.col("event") == "terminated").min(),
    }
    keep = ["provider", "instance_id", "spec", "zone", "region", "service", "is_spot"]
    per = ev.group_by("provider", "instance_id").agg(
        *[pl.col(c).first() for c in keep[2:]],
        pl.col("attributed_from").first(),
        **first,
    )
    # first termination at or after the warning (a termination before it is an older run)
    after = (
        ev.filter(pl.col("event") == "terminated")
        .join(per.select("provider", "instance_id", "warning"), on=["provider", "instance_id"])
        .filter(pl.col("warning").is_not_null() & (pl.col("ts") >= pl.col("warning")))
        .group_by("provider", "instance_id")
        .agg(pl.col("ts").min().alias("_term_after_warning"))
    )
    per = per.join(after, on=["provider", "instance_id"], how="left")
    if until is not None:
        end_of_log = pl.lit(until).cast(pl.Datetime("us", "UTC"))
    else:
        # a censored instance ran until the end of the log(s) its events came from
        group = "source_id" if "source_id" in ev.columns else "provider"
        ends = ev.group_by(group).agg(pl.col("ts").max().alias("_src_end"))
        last = (
            ev.select("provider", "instance_id", group)
            .unique()
            .join(ends, on=group)
            .group_by("provider", "instance_id")
            .agg(pl.col("_src_end").max().alias("_log_end"))
        )
        per = per.join(last, on=["provider", "instance_id"], how="left")
        end_of_log = pl.col("_log_end")
    lead = pl.col("provider").replace_strict(
        leads, default=DEFAULT_WARNING_LEAD_SECONDS, return_dtype=pl.Float64
    )
    interrupted = pl.col("warning").is_not_null() | pl.col("reclaim").is_not_null()
    out = per.with_columns(
        interrupted.alias("interrupted"),
        # only spot instances get interruption notices, rebalance advice or reclaims
        pl.when(pl.col("is_spot").is_null() & (interrupted | pl.col("rebalance").is_not_null()))
        .then(True)
        .otherwise(pl.col("is_spot"))
        .alias("is_spot"),
        pl.coalesce(
            "reclaim",
            "_term_after_warning",
            pl.col("warning") + pl.duration(microseconds=(lead * 1e6).cast(pl.Int64)),
        ).alias("interrupted_at"),
    ).with_columns(
        pl.when(pl.col("interrupted"))
        .then(pl.col("interrupted_at"))
        .otherwise(pl.coalesce("terminated", end_of_log))
        .alias("end"),
        (~pl.col("interrupted") & pl.col("terminated").is_null()).alias("censored"),
        _seconds(pl.coalesce("reclaim", "_term_after_warning") - pl.col("warning")).alias("lead_s"),
        _seconds(pl.coalesce("reclaim", "_term_after_warning") - pl.col("rebalance")).alias(
            "rebalance_lead_s"
        ),
    )
    out = out.with_columns(
        (_seconds(pl.col("end") - pl.col("start")).clip(lower_bound=0.0) / 3600.0).alias("hours")
    )
    return out.select(
        *keep,
        "attributed_from",
        "start",
        "warning",
        "rebalance",
        "reclaim",
        "terminated",
        "interrupted",
        "interrupted_at",
        "end",
        "censored",
        "hours",
        "lead_s",
        "rebalance_lead_s",
    ).sort("provider", "instance_id")


def _seconds(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds().cast(pl.Float64) / 1e6


# -- 3. exposure ---------------------------------------------------------------------------


def exposure(
    lives: pl.DataFrame,
    explicit: pl.DataFrame | None = None,
    by: Sequence[str] = BY,
) -> pl.DataFrame:
    """Instance-hours and interruptions per cell.

    Lifecycle intervals give ``exposure_hours`` (instances with a start event); a cell that
    the explicit ``instance_exposure`` table covers takes that table's hours instead
    (``exposure_source`` says which). Interruptions count every interrupted instance,
    with or without a start event.
    """
    by = check_by(by)
    cells = lives.group_by(by).agg(
        pl.len().alias("instances"),
        pl.col("hours").sum().alias("_life_hours"),
        pl.col("hours").is_not_null().sum().alias("_with_start"),
        pl.col("interrupted").sum().cast(pl.Int64).alias("interruptions"),
    )
    if explicit is not None and explicit.height:
        ex = explicit.group_by(by).agg(pl.col("instance_hours").sum().alias("_table_hours"))
        cells = cells.join(ex, on=by, how="full", coalesce=True, nulls_equal=True)
    else:
        cells = cells.with_columns(pl.lit(None, pl.Float64).alias("_table_hours"))
    return (
        cells.with_columns(
            pl.col("instances").fill_null(0).cast(pl.Int64),
            pl.col("interruptions").fill_null(0).cast(pl.Int64),
            pl.coalesce(
                "_table_hours", pl.when(pl.col("_with_start") > 0).then("_life_hours")
            ).alias("exposure_hours"),
            pl.when(pl.col("_table_hours").is_not_null())
            .then(pl.lit("exposure table"))
            .when(pl.col("_with_start") > 0)
            .then(pl.lit("lifecycles"))
            .otherwise(pl.lit("none"))
            .alias("exposure_source"),
        )
        .drop("_life_hours", "_with_start", "_table_hours")
        .sort(by, nulls_last=True)
    )


# -- 4. rates ------------------------------------------------------------------------------


def poisson_interval(
    k: int | float, exposure_hours: float, confidence: float = 0.90
) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson rate: k events over ``exposure_hours``.

    lower = χ²(α/2; 2k) / 2T (0 when k = 0), upper = χ²(1 − α/2; 2k + 2) / 2T.

    >>> [round(x, 6) for x in poisson_interval(0, 100.0)]
    [0.0, 0.029957]
    """
    from scipy.stats import chi2

    if exposure_hours <= 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    lo = 0.0 if k <= 0 else float(chi2.ppf(alpha / 2, 2 * k)) / (2 * exposure_hours)
    hi = float(chi2.ppf(1 - alpha / 2, 2 * k + 2)) / (2 * exposure_hours)
    return lo, hi


def poisson_intervals(k: Any, exposure_hours: Any, confidence: float = 0.90) -> tuple[Any, Any]:
    """:func:`poisson_interval` over arrays (NaN where the exposure is not positive)."""
    import numpy as np
    from scipy.stats import chi2

    k = np.asarray(k, dtype=float)
    t = np.asarray(exposure_hours, dtype=float)
    alpha = 1.0 - confidence
    ok = t > 0
    safe_t = np.where(ok, t, 1.0)
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, chi2.ppf(alpha / 2, 2 * np.maximum(k, 1)), 0.0) / (2 * safe_t)
        hi = chi2.ppf(1 - alpha / 2, 2 * k + 2) / (2 * safe_t)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


# -- intervals that cover drift -------------------------------------------------------------

#: clock bucket for :func:`buckets_of` (the unit of a rate)
DRIFT_BUCKET = "1h"
#: equal parts of a log whose counts give the dispersion behind the drift interval.
#: Chosen on the SkyPilot availability traces only (20 zone cells; candidates 1-hour
#: buckets and 2, 3, 4, 6, 8, 16, 32 parts; the rule: split-half coverage closest to 90 %,
#: the narrowest on ties): 3 parts covered 80 %. Reported on the other logs in README
#: ("Interruptions"); ``tools/interruption_coverage.py`` redoes both.
DRIFT_PARTS = 3


def overdispersion(counts: Any, exposure_hours: Any) -> float:
    """Pearson dispersion of interruption counts over time buckets (quasi-Poisson):
    φ = Σ (k_b − r·t_b)² / (r·t_b) / (B − 1) over the B buckets with exposure, r = Σk / Σt;
    at least 1 (a rate is never known better than Poisson says); 1 without two buckets or
    without an interruption."""
    import numpy as np

    k = np.asarray(counts, dtype=float)
    t = np.asarray(exposure_hours, dtype=float)
    ok = t > 0
    k, t = k[ok], t[ok]
    if k.size < 2 or k.sum() <= 0:
        return 1.0
    rate = k.sum() / t.sum()
    expected = rate * t
    x2 = float(((k - expected) ** 2 / expected).sum())
    return max(1.0, x2 / (k.size - 1))


def effective_dispersion(dispersion: float, buckets: int, confidence: float = 0.90) -> float:
    """The dispersion widened for being estimated from ``buckets`` buckets: φ × (t / z)²,
    with t the Student quantile on ``buckets - 1`` degrees of freedom and z the normal one
    (a quasi-Poisson interval with an estimated scale); φ itself with fewer than 2."""
    from scipy.stats import norm, t

    if buckets < 2:
        return max(1.0, dispersion)
    q = (1.0 + confidence) / 2.0
    return max(1.0, dispersion) * (float(t.ppf(q, buckets - 1)) / float(norm.ppf(q))) ** 2


def rate_intervals(
    k: Any,
    exposure_hours: Any,
    dispersion: Any = 1.0,
    confidence: float = 0.90,
    horizon_hours: Any = None,
) -> tuple[Any, Any]:
    """Overdispersion-aware interval of a rate over arrays (NaN where exposure ≤ 0).

    Quasi-Poisson: the exact (Garwood) interval of ``k/φ`` events over ``T/φ`` hours, so the
    variance of the rate is φ times Poisson's. With ``horizon_hours`` H it is a prediction
    interval for the rate realised over H more hours: the exposure becomes T·H/(T + H)
    (variance φ·r·(1/T + 1/H): the rate's uncertainty plus the new period's own noise).
    ``dispersion`` 1 and no horizon give :func:`poisson_intervals`.
    """
    import numpy as np

    k = np.asarray(k, dtype=float)
    t = np.asarray(exposure_hours, dtype=float)
    phi = np.maximum(1.0, np.nan_to_num(np.asarray(dispersion, dtype=float), nan=1.0))
    safe_t = np.where(t > 0, t, 1.0)
    if horizon_hours is None:
        t_eff = safe_t
    else:
        h = np.asarray(horizon_hours, dtype=float)
        t_eff = safe_t * h / (safe_t + h)
    k_eff = k * t_eff / safe_t
    lo, hi = poisson_intervals(k_eff / phi, t_eff / phi, confidence)
    bad = ~(t > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def log_pieces(lives: pl.DataFrame, by: Sequence[str] = BY) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An instance log as exposure pieces and interruption events: ``(by..., a, b, w)``
    (each instance's [start, end), weight 1) and ``(by..., t, n)`` (an interruption at its
    ``interrupted_at``)."""
    by = check_by(by)
    pieces = lives.filter(pl.col("start").is_not_null() & (pl.col("end") > pl.col("start")))
    pieces = pieces.select(*by, a="start", b="end", w=pl.lit(1.0))
    events = lives.filter(pl.col("interrupted") & pl.col("interrupted_at").is_not_null())
    return pieces, events.select(*by, t="interrupted_at", n=pl.lit(1, dtype=pl.Int64))


def trace_pieces(availability: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An availability trace (``spot_availability``: ``provider, zone, spec, ts,
    available``) as exposure pieces (instances up × time until the next sample) and events
    (each instance lost from one sample to the next: a drop of the count), per (provider,
    spec, zone)."""
    keys = ["provider", "spec", "zone"]
    t = availability.sort([*keys, "ts"]).with_columns(
        nxt=pl.col("ts").shift(-1).over(keys),
        drop=(pl.col("available").shift(1).over(keys) - pl.col("available")).clip(lower_bound=0),
    )
    pieces = t.filter(pl.col("nxt").is_not_null() & (pl.col("available") > 0)).select(
        *keys, a="ts", b="nxt", w=pl.col("available").cast(pl.Float64)
    )
    events = t.filter(pl.col("drop").fill_null(0) > 0).select(
        *keys, t="ts", n=pl.col("drop").cast(pl.Int64)
    )
    return pieces, events


def buckets_of(
    pieces: pl.DataFrame,
    events: pl.DataFrame,
    by: Sequence[str],
    bucket: str = DRIFT_BUCKET,
    until: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Exposure hours and interruptions per cell and time bucket, buckets counted from each
    cell's first exposure (``bucket`` = the index): ``by..., bucket, exposure_hours,
    interruptions``. ``until`` (``by..., cut``) drops everything at or after ``cut``."""
    by = list(by)
    step = _bucket_us(bucket)
    origin = pieces.group_by(by).agg(o=pl.col("a").min())
    p = pieces.join(origin, on=by, how="inner", nulls_equal=True)
    e = events.join(origin, on=by, how="inner", nulls_equal=True)
    if until is not None:
        p = (
            p.join(until, on=by, how="left", nulls_equal=True)
            .with_columns(b=pl.min_horizontal("b", pl.coalesce("cut", "b")))
            .filter(pl.col("b") > pl.col("a"))
        )
        e = e.join(until, on=by, how="left", nulls_equal=True).filter(
            pl.col("cut").is_null() | (pl.col("t") < pl.col("cut"))
        )
    rel = lambda c: (pl.col(c) - pl.col("o")).dt.total_microseconds()  # noqa: E731
    p = p.with_columns(k=pl.int_ranges(rel("a") // step, (rel("b") - 1) // step + 1)).explode("k")
    p = p.with_columns(
        x=(
            pl.min_horizontal(rel("b"), (pl.col("k") + 1) * step)
            - pl.max_horizontal(rel("a"), pl.col("k") * step)
        ).clip(lower_bound=0)
        / 3.6e9
        * pl.col("w")
    )
    expo = p.group_by(*by, pl.col("k").alias("bucket")).agg(exposure_hours=pl.col("x").sum())
    hits = e.group_by(*by, (rel("t") // step).alias("bucket")).agg(
        interruptions=pl.col("n").sum().cast(pl.Int64)
    )
    return (
        expo.join(hits, on=[*by, "bucket"], how="full", coalesce=True, nulls_equal=True)
        .with_columns(pl.col("exposure_hours").fill_null(0.0), pl.col("interruptions").fill_null(0))
        .sort([*by, "bucket"], nulls_last=True)
    )


def _bucket_us(bucket: str) -> int:
    from spotlab.prices import parse_window

    length = parse_window(bucket)
    if length is None:
        raise AnalysisError(f"a bucket must be a length such as '1h', got {bucket!r}")
    return int(length.total_seconds() * 1e6)


def exposure_buckets(
    lives: pl.DataFrame, by: Sequence[str] = BY, bucket: str = DRIFT_BUCKET
) -> pl.DataFrame:
    """:func:`buckets_of` an instance log (:func:`lifecycles` output)."""
    pieces, events = log_pieces(lives, by)
    return buckets_of(pieces, events, check_by(by), bucket)


def dispersion_by_cell(
    buckets: pl.DataFrame, by: Sequence[str], confidence: float | None = None
) -> pl.DataFrame:
    """:func:`overdispersion` per cell of :func:`buckets_of` output, vectorised: ``by...,
    dispersion, buckets`` (buckets with exposure). With ``confidence`` the dispersion is
    widened for being estimated (:func:`effective_dispersion`)."""
    import numpy as np
    from scipy.stats import norm, t

    by = list(by)
    b = buckets.filter(pl.col("exposure_hours") > 0)
    rate = pl.col("interruptions").sum().over(by) / pl.col("exposure_hours").sum().over(by)
    expected = rate * pl.col("exposure_hours")
    cells = (
        b.with_columns(_x2=(pl.col("interruptions") - expected) ** 2 / expected)
        .group_by(by)
        .agg(
            _x2=pl.col("_x2").sum(),
            _k=pl.col("interruptions").sum(),
            buckets=pl.len().cast(pl.Int64),
        )
        .with_columns(
            dispersion=pl.when((pl.col("buckets") >= 2) & (pl.col("_k") > 0))
            .then(pl.max_horizontal(pl.lit(1.0), pl.col("_x2") / (pl.col("buckets") - 1)))
            .otherwise(1.0)
        )
    )
    if confidence is not None:
        q = (1.0 + confidence) / 2.0
        n = cells["buckets"].to_numpy()
        dof = np.maximum(n - 1, 1)
        factor = np.where(n >= 2, (t.ppf(q, dof) / norm.ppf(q)) ** 2, 1.0)
        cells = cells.with_columns(pl.col("dispersion") * pl.Series(factor, dtype=pl.Float64))
    return cells.select(*by, "dispersion", "buckets")


def parts_buckets(
    pieces: pl.DataFrame,
    events: pl.DataFrame,
    by: Sequence[str],
    parts: int,
    until: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`buckets_of` with each cell's span (its first exposure to its last, or to
    ``until``) cut into ``parts`` equal buckets instead of clock hours."""
    by = list(by)
    span = pieces.group_by(by).agg(o=pl.col("a").min(), z=pl.col("b").max())
    if until is not None:
        span = span.join(until, on=by, how="left", nulls_equal=True).with_columns(
            z=pl.min_horizontal("z", pl.coalesce("cut", "z"))
        )
    width_us = (pl.col("z") - pl.col("o")).dt.total_microseconds() / parts
    edges = span.join(pl.DataFrame({"bucket": list(range(parts))}), how="cross").select(
        *by,
        "bucket",
        lo=pl.col("o") + pl.duration(microseconds=(width_us * pl.col("bucket")).cast(pl.Int64)),
        hi=pl.when(pl.col("bucket") == parts - 1)
        .then(pl.col("z"))
        .otherwise(
            pl.col("o")
            + pl.duration(microseconds=(width_us * (pl.col("bucket") + 1)).cast(pl.Int64))
        ),
    )
    p = pieces.join(edges, on=by, nulls_equal=True).with_columns(
        x=(
            (pl.min_horizontal("b", "hi") - pl.max_horizontal("a", "lo")).dt.total_microseconds()
            / 3.6e9
        ).clip(lower_bound=0.0)
        * pl.col("w")
    )
    expo = p.group_by(*by, "bucket").agg(exposure_hours=pl.col("x").sum())
    e = events.join(edges, on=by, nulls_equal=True).filter(
        (pl.col("t") >= pl.col("lo")) & (pl.col("t") < pl.col("hi"))
    )
    hits = e.group_by(*by, "bucket").agg(interruptions=pl.col("n").sum().cast(pl.Int64))
    return (
        expo.join(hits, on=[*by, "bucket"], how="left", nulls_equal=True)
        .with_columns(pl.col("interruptions").fill_null(0))
        .sort([*by, "bucket"], nulls_last=True)
    )


def split_half_check(
    pieces: pl.DataFrame,
    events: pl.DataFrame,
    by: Sequence[str],
    confidence: float = 0.90,
    bucket: str = DRIFT_BUCKET,
    parts: int | None = DRIFT_PARTS,
) -> pl.DataFrame:
    """Does an interval from the first half of a log cover the rate of its second half?

    Per cell of :func:`log_pieces` (or :func:`trace_pieces`) output, split at the time
    midpoint of its span (first exposure to last): ``first_k, first_hours, first_rate``;
    the exact Poisson interval (``poisson_low/high``, what the rates table's ``rate_low/
    high`` give), its prediction form for a period as long as the first half
    (``poisson_pi_low/high``) and the overdispersion-aware prediction interval
    (``drift_low/high``, with the ``dispersion`` of ``parts`` equal parts of the first
    half, or of its ``bucket``-long buckets when ``parts`` is None, widened for being
    estimated:
    :func:`effective_dispersion`); ``second_k, second_hours, second_rate`` and
    ``covered_*`` per interval."""
    by = list(by)
    span = pieces.group_by(by).agg(o=pl.col("a").min(), z=pl.col("b").max())
    span = span.with_columns(cut=pl.col("o") + (pl.col("z") - pl.col("o")) / 2)
    cut = span.select(*by, "cut")
    first = (
        buckets_of(pieces, events, by, bucket, until=cut)
        if parts is None
        else parts_buckets(pieces, events, by, parts, until=cut)
    )
    after = (
        pieces.join(span, on=by, nulls_equal=True)
        .with_columns(a=pl.max_horizontal("a", "cut"))
        .filter(pl.col("b") > pl.col("a"))
    )
    second_h = after.group_by(by).agg(
        h2=((pl.col("b") - pl.col("a")).dt.total_microseconds() / 3.6e9 * pl.col("w")).sum()
    )
    second_k = (
        events.join(span, on=by, nulls_equal=True)
        .filter(pl.col("t") >= pl.col("cut"))
        .group_by(by)
        .agg(k2=pl.col("n").sum())
    )
    rows = []
    for key, g in first.group_by(by, maintain_order=True):
        cell = dict(zip(by, key, strict=True))
        k1, h1 = float(g["interruptions"].sum()), float(g["exposure_hours"].sum())
        sel = pl.all_horizontal([pl.col(c) == v for c, v in cell.items()]) if by else pl.lit(True)
        h2 = float(second_h.filter(sel)["h2"].sum())
        k2 = float(second_k.filter(sel)["k2"].sum())
        if h1 <= 0 or h2 <= 0:
            continue
        phi = overdispersion(g["interruptions"].to_numpy(), g["exposure_hours"].to_numpy())
        phi = effective_dispersion(phi, int((g["exposure_hours"] > 0).sum()), confidence)
        pl_lo, pl_hi = poisson_interval(k1, h1, confidence)
        (pp_lo,), (pp_hi,) = rate_intervals([k1], [h1], 1.0, confidence, [h1])
        (dr_lo,), (dr_hi,) = rate_intervals([k1], [h1], phi, confidence, [h1])
        r2 = k2 / h2
        rows.append(
            {
                **cell,
                "first_k": k1, "first_hours": h1, "first_rate": k1 / h1,
                "poisson_low": pl_lo, "poisson_high": pl_hi,
                "poisson_pi_low": float(pp_lo), "poisson_pi_high": float(pp_hi),
                "dispersion": phi, "drift_low": float(dr_lo), "drift_high": float(dr_hi),
                "second_k": k2, "second_hours": h2, "second_rate": r2,
                "covered_poisson": pl_lo <= r2 <= pl_hi,
                "covered_poisson_pi": float(pp_lo) <= r2 <= float(pp_hi),
                "covered_drift": float(dr_lo) <= r2 <= float(dr_hi),
            }
        )  # fmt: skip
    return pl.DataFrame(rows)


def monthly_pct(rate_per_hour: pl.Expr) -> pl.Expr:
    """Share (%) of instances interrupted within a month at a constant hourly rate."""
    return 100.0 * (1.0 - (-rate_per_hour * HOURS_PER_MONTH).exp())


def band_of(pct: float | None, bands: Sequence[tuple[float, float, str]] = AWS_BANDS) -> str | None:
    """The band label holding a monthly percentage (upper bounds exclusive but the last).

    >>> band_of(4.9), band_of(5.0), band_of(37.0), band_of(2.0, ALIBABA_BANDS)
    ('<5%', '5-10%', '>20%', '0-3%')
    """
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return None
    for low, high, label in bands:
        if low <= pct < high:
            return label
    return bands[-1][2] if pct >= bands[-1][0] else None


def _band_expr(col: str, bands: Sequence[tuple[float, float, str]]) -> pl.Expr:
    expr: Any = pl.when(pl.col(col).is_null() | pl.col(col).is_nan()).then(pl.lit(None, pl.String))
    for _low, high, label in bands[:-1]:
        expr = expr.when(pl.col(col) < high).then(pl.lit(label))
    return expr.otherwise(pl.lit(bands[-1][2]))


@dataclass(frozen=True)
class ModelSettings:
    """Shrinkage for sparse cells.

    A cell's *modelled* rate blends its own count with the ``PoissonRegressor``
    prediction ``m`` as a gamma prior worth ``prior_hours`` instance-hours:
    ``(k + prior_hours·m) / (T + prior_hours)``. The advice uses the raw rate when the cell
    has at least ``min_events`` interruptions, else the modelled one.
    """

    alpha: float = 1.0
    prior_hours: float = 200.0
    min_events: int = 10


def interruption_rates(
    source: Store | pl.DataFrame,
    by: Sequence[str] = BY,
    confidence: float = 0.90,
    until: datetime | None = None,
    exposure_table: pl.DataFrame | None = None,
    features: pl.DataFrame | None = None,
    model: ModelSettings | None = None,
) -> pl.DataFrame:
    """Interruption rates per cell with exact Poisson intervals, bands and shrinkage.

    ``source``: a Store, or an events frame (as :func:`load_events` gives). ``features``
    (spec, [zone,] family, gpu_model, discount) feed the model; from a Store they come
    from ``specs`` and ``spot_prices``. Rates are per instance-hour; ``*_per_month`` per
    instance-month (730 h); ``monthly_pct*`` the share of instances interrupted within a
    month; ``mtti_hours`` the mean time to interruption (exposure ÷ interruptions).
    Cells without exposure keep their interruption count and null rates.
    """
    settings = model or ModelSettings()
    lives = lifecycles(source, until=until)
    if isinstance(source, Store):
        exposure_table = load_exposure(source) if exposure_table is None else exposure_table
        features = cell_features(source) if features is None else features
    cells = exposure(lives, exposure_table, by)
    if cells.height == 0:
        return _empty_rates(by)
    low, high = poisson_intervals(
        cells["interruptions"].to_numpy(),
        cells["exposure_hours"].fill_null(0.0).to_numpy(),
        confidence,
    )
    has_t = pl.col("exposure_hours").is_not_null() & (pl.col("exposure_hours") > 0)
    out = cells.with_columns(
        pl.when(has_t)
        .then(pl.col("interruptions") / pl.col("exposure_hours"))
        .alias("rate_per_hour"),
        pl.Series("rate_low", low, dtype=pl.Float64).fill_nan(None),
        pl.Series("rate_high", high, dtype=pl.Float64).fill_nan(None),
    )
    out = out.with_columns(
        *[
            (pl.col(f"rate{s}") * HOURS_PER_MONTH).alias(f"per_month{s}")
            for s in ("_per_hour", "_low", "_high")
        ],
        *[monthly_pct(pl.col(f"rate{s}")).alias(f"monthly_pct{m}") for s, m in _SUFFIXES],
        pl.when(pl.col("interruptions") > 0)
        .then(pl.col("exposure_hours") / pl.col("interruptions"))
        .alias("mtti_hours"),
        (1.0 / pl.col("rate_high")).alias("mtti_low_hours"),
        pl.when(pl.col("rate_low") > 0).then(1.0 / pl.col("rate_low")).alias("mtti_high_hours"),
    ).rename({"per_month_per_hour": "per_month"})
    out = out.with_columns(
        _band_expr("monthly_pct", AWS_BANDS).alias("aws_band"),
        _band_expr("monthly_pct", ALIBABA_BANDS).alias("alibaba_band"),
    )
    out = _with_drift(out, lives, list(by), confidence)
    return _shrink(out, features, settings)


def _with_drift(
    rates: pl.DataFrame, lives: pl.DataFrame, by: list[str], confidence: float
) -> pl.DataFrame:
    """Add ``dispersion`` (of the counts in :data:`DRIFT_PARTS` equal parts of each cell's
    log, widened for being estimated: :func:`effective_dispersion`; null for a cell whose
    exposure comes from the exposure table only) and ``rate_low_drift, rate_high_drift``:
    the overdispersion-aware prediction interval for the rate of a future period with as
    much exposure (:func:`rate_intervals`)."""
    pieces, events = log_pieces(lives, by)
    disp = dispersion_by_cell(parts_buckets(pieces, events, by, DRIFT_PARTS), by, confidence)
    disp = disp.drop("buckets")
    out = rates.join(disp, on=by, how="left", nulls_equal=True)
    t = out["exposure_hours"].fill_null(0.0).to_numpy()
    lo, hi = rate_intervals(
        out["interruptions"].to_numpy(), t, out["dispersion"].fill_null(1.0).to_numpy(),
        confidence, t,
    )  # fmt: skip
    return out.with_columns(
        pl.Series("rate_low_drift", lo, dtype=pl.Float64).fill_nan(None),
        pl.Series("rate_high_drift", hi, dtype=pl.Float64).fill_nan(None),
    )


_SUFFIXES = (("_per_hour", ""), ("_low", "_low"), ("_high", "_high"))


def _empty_rates(by: Sequence[str]) -> pl.DataFrame:
    schema: dict[str, Any] = {c: _EVENT_SCHEMA.get(c, pl.String) for c in by}
    for c in ("instances", "interruptions"):
        schema[c] = pl.Int64
    schema["exposure_hours"] = pl.Float64
    schema["exposure_source"] = pl.String
    for c in (
        "rate_per_hour", "rate_low", "rate_high", "per_month", "per_month_low",
        "per_month_high", "monthly_pct", "monthly_pct_low", "monthly_pct_high", "mtti_hours",
        "mtti_low_hours", "mtti_high_hours",
    ):  # fmt: skip
        schema[c] = pl.Float64
    schema["aws_band"] = pl.String
    schema["alibaba_band"] = pl.String
    for c in ("dispersion", "rate_low_drift", "rate_high_drift"):
        schema[c] = pl.Float64
    for c in ("rate_model", "rate_modelled", "rate_used"):
        schema[c] = pl.Float64
    schema["used"] = pl.String
    schema["note"] = pl.String
    return pl.DataFrame(schema=schema)


# -- shrinkage -----------------------------------------------------------------------------


def cell_features(store: Store) -> pl.DataFrame:
    """Model features per (spec, zone): family, GPU model, time-weighted mean discount."""
    from spotlab.prices import price_points, with_durations

    catalog = store.query(
        "SELECT spec, any_value(family) AS family, any_value(gpu_model) AS gpu_model "
        "FROM specs GROUP BY spec"
    )
    pts = price_points(store)
    if pts.height:
        d = with_durations(pts).filter(pl.col("discount").is_not_null())
        disc = d.group_by("spec", "zone").agg(
            ((pl.col("discount") * pl.col("held_s")).sum() / pl.col("held_s").sum()).alias(
                "discount"
            )
        )
    else:
        disc = pl.DataFrame(schema={"spec": pl.String, "zone": pl.String, "discount": pl.Float64})
    if catalog.height == 0:
        return disc.with_columns(
            pl.lit(None, pl.String).alias("family"), pl.lit(None, pl.String).alias("gpu_model")
        )
    return catalog.join(disc, on="spec", how="full", coalesce=True)


def _shrink(
    rates: pl.DataFrame, features: pl.DataFrame | None, settings: ModelSettings
) -> pl.DataFrame:
    """Add ``rate_model`` (PoissonRegressor), ``rate_modelled`` (blend), ``rate_used``."""
    rows = rates.with_row_index("_i")
    spot = pl.col("is_spot").fill_null(True) if "is_spot" in rows.columns else pl.lit(True)
    fit = rows.filter(spot & (pl.col("exposure_hours") > 0))
    pred = _model_predictions(fit, features, settings) if fit.height else None
    if pred is None:
        rows = rows.with_columns(pl.lit(None, pl.Float64).alias("rate_model"))
        how = "no spot cell with exposure"
    else:
        rows = rows.join(pred, on="_i", how="left")
        how = "pooled rate (one cell)" if fit.height == 1 else "PoissonRegressor"
    a = settings.prior_hours
    k = pl.col("interruptions")
    t = pl.col("exposure_hours").fill_null(0.0)
    modelled = (k + a * pl.col("rate_model")) / (t + a)
    raw_ok = pl.col("rate_per_hour").is_not_null() & (k >= settings.min_events)
    rows = rows.with_columns(
        pl.when(pl.col("rate_model").is_not_null()).then(modelled).alias("rate_modelled")
    ).with_columns(
        pl.when(raw_ok)
        .then(pl.col("rate_per_hour"))
        .when(pl.col("rate_modelled").is_not_null())
        .then(pl.col("rate_modelled"))
        .otherwise(pl.col("rate_per_hour"))
        .alias("rate_used"),
        pl.when(raw_ok)
        .then(pl.lit("raw"))
        .when(pl.col("rate_modelled").is_not_null())
        .then(pl.lit("modelled"))
        .when(pl.col("rate_per_hour").is_not_null())
        .then(pl.lit("raw"))
        .otherwise(pl.lit("none"))
        .alias("used"),
    )
    note = (
        pl.when(pl.col("used") == "none")
        .then(
            pl.format(
                "{} interruptions but no exposure: load lifecycle events or an exposure table",
                k,
            )
        )
        .when(raw_ok)
        .then(
            pl.format(
                "raw: {} interruptions over {} instance-hours (>= {} events)",
                k,
                pl.col("exposure_hours").round(1),
                pl.lit(settings.min_events),
            )
        )
        .when(pl.col("used") == "modelled")
        .then(
            pl.format(
                "modelled: only {} interruptions over {} instance-hours; blended with the "
                + how
                + " estimate {}/h worth {} instance-hours",
                k,
                pl.col("exposure_hours").round(1),
                pl.col("rate_model").round(5),
                pl.lit(a),
            )
        )
        .otherwise(pl.format("raw: {} interruptions; regular instances are not modelled", k))
    )
    return rows.with_columns(note.alias("note")).drop("_i")


def _model_predictions(
    fit: pl.DataFrame, features: pl.DataFrame | None, settings: ModelSettings
) -> pl.DataFrame:
    """PoissonRegressor over family, GPU model, zone and discount; one prediction per cell."""
    total_k = float(fit["interruptions"].sum())
    total_t = float(fit["exposure_hours"].sum())
    pooled = total_k / total_t
    if fit.height < 2:
        return fit.select("_i", pl.lit(pooled).alias("rate_model"))
    x = _design(fit, features)
    if x.width == 0:
        return fit.select("_i", pl.lit(pooled).alias("rate_model"))
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import PoissonRegressor

    y = (fit["interruptions"] / fit["exposure_hours"]).to_numpy()
    w = fit["exposure_hours"].to_numpy()
    reg = PoissonRegressor(alpha=settings.alpha, solver="newton-cholesky", max_iter=500)
    with warnings.catch_warnings():
        # an unconverged fit still gives usable (more shrunken) rates; say so, do not fail
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(x.to_numpy(), y, sample_weight=w)
    pred = np.asarray(reg.predict(x.to_numpy()), dtype=float)
    return fit.select("_i").with_columns(pl.Series("rate_model", pred, dtype=pl.Float64))


def _design(fit: pl.DataFrame, features: pl.DataFrame | None) -> pl.DataFrame:
    """One-hot family, GPU model and zone, plus the standardised discount."""
    cols = fit.select(
        pl.col("spec") if "spec" in fit.columns else pl.lit(None, pl.String).alias("spec"),
        pl.col("zone") if "zone" in fit.columns else pl.lit(None, pl.String).alias("zone"),
    )
    if features is not None and features.height:
        f = features
        by_zone = "zone" in f.columns and f["zone"].drop_nulls().len() > 0
        spec_level = f.group_by("spec").agg(
            pl.col("family").drop_nulls().first() if "family" in f.columns else pl.lit(None),
            pl.col("gpu_model").drop_nulls().first() if "gpu_model" in f.columns else pl.lit(None),
            pl.col("discount").mean().alias("_spec_discount")
            if "discount" in f.columns
            else pl.lit(None, pl.Float64).alias("_spec_discount"),
        )
        cols = cols.join(spec_level, on="spec", how="left")
        if by_zone and "discount" in f.columns:
            cols = cols.join(
                f.select("spec", "zone", pl.col("discount").alias("_zone_discount")).unique(
                    ["spec", "zone"]
                ),
                on=["spec", "zone"],
                how="left",
                nulls_equal=True,
            )
            disc = pl.coalesce("_zone_discount", "_spec_discount")
        else:
            disc = pl.col("_spec_discount")
        cols = cols.with_columns(disc.cast(pl.Float64).alias("discount"))
    else:
        cols = cols.with_columns(
            pl.lit(None, pl.String).alias("family"),
            pl.lit(None, pl.String).alias("gpu_model"),
            pl.lit(None, pl.Float64).alias("discount"),
        )
    cols = cols.with_columns(
        pl.coalesce("family", family_of_spec_expr(pl.col("spec")))
        .fill_null("unknown")
        .alias("family"),
        pl.col("gpu_model").fill_null("unknown"),
        pl.col("zone").fill_null("unknown"),
    )
    parts = []
    for c in ("family", "gpu_model", "zone"):
        if cols[c].n_unique() > 1:
            parts.append(cols.select(pl.col(c)).to_dummies(c).cast(pl.Float64))
    d = cols["discount"]
    if d.drop_nulls().len() > 0 and d.drop_nulls().n_unique() > 1:
        filled = d.fill_null(d.mean())
        std = filled.std() or 1.0
        parts.append(pl.DataFrame({"discount_z": (filled - filled.mean()) / std}))
    return pl.concat(parts, how="horizontal") if parts else pl.DataFrame()


# -- lead times, hour of day ---------------------------------------------------------------


def lead_times(
    source: Store | pl.DataFrame | None = None, *, lives: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Warning → reclaim (and rebalance → reclaim) lead times, one row per instance and kind."""
    if lives is None:
        if source is None:
            raise AnalysisError("lead_times needs a store, an events frame or lifecycles")
        lives = lifecycles(source)
    base = ["provider", "spec", "zone", "instance_id"]
    warn = lives.filter(pl.col("lead_s").is_not_null()).select(
        *base, pl.lit("warning → reclaim").alias("kind"), "lead_s"
    )
    reb = lives.filter(pl.col("rebalance_lead_s").is_not_null()).select(
        *base,
        pl.lit("rebalance → reclaim").alias("kind"),
        pl.col("rebalance_lead_s").alias("lead_s"),
    )
    return pl.concat([warn, reb]).sort("provider", "kind", "lead_s")


def lead_time_summary(leads: pl.DataFrame) -> pl.DataFrame:
    """Count, min, p10, median, p90 and max lead seconds by provider and kind."""
    s = pl.col("lead_s")
    return (
        leads.group_by("provider", "kind")
        .agg(
            pl.len().alias("n"),
            s.min().alias("min_s"),
            s.quantile(0.1, "linear").alias("p10_s"),
            s.median().alias("median_s"),
            s.quantile(0.9, "linear").alias("p90_s"),
            s.max().alias("max_s"),
        )
        .sort("provider", "kind")
    )


def hour_of_day(lives: pl.DataFrame, tz: str = "UTC") -> pl.DataFrame:
    """Interruptions, exposure hours and the rate per hour of day (in ``tz``).

    Exposure is split over the clock hours each instance ran; interruptions fall in the hour
    of their ``interrupted_at``.
    """
    iv = lives.filter(pl.col("start").is_not_null() & (pl.col("end") > pl.col("start")))
    hours = pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8})
    if iv.height:
        pieces = (
            iv.select(
                "start",
                "end",
                pl.datetime_ranges(
                    pl.col("start").dt.truncate("1h"), pl.col("end"), "1h", closed="left"
                ).alias("h"),
            )
            .explode("h")
            .with_columns(
                (
                    _seconds(
                        pl.min_horizontal(pl.col("end"), pl.col("h") + pl.duration(hours=1))
                        - pl.max_horizontal(pl.col("start"), pl.col("h"))
                    )
                    / 3600.0
                ).alias("x")
            )
            .filter(pl.col("x") > 0)
            .group_by(pl.col("h").dt.convert_time_zone(tz).dt.hour().cast(pl.Int8).alias("hour"))
            .agg(pl.col("x").sum().alias("exposure_hours"))
        )
    else:
        pieces = pl.DataFrame(schema={"hour": pl.Int8, "exposure_hours": pl.Float64})
    hits = (
        lives.filter(pl.col("interrupted"))
        .group_by(
            pl.col("interrupted_at").dt.convert_time_zone(tz).dt.hour().cast(pl.Int8).alias("hour")
        )
        .agg(pl.len().cast(pl.Int64).alias("interruptions"))
    )
    return (
        hours.join(pieces, on="hour", how="left")
        .join(hits, on="hour", how="left")
        .with_columns(
            pl.col("exposure_hours").fill_null(0.0),
            pl.col("interruptions").fill_null(0),
        )
        .with_columns(
            pl.when(pl.col("exposure_hours") > 0)
            .then(pl.col("interruptions") / pl.col("exposure_hours"))
            .alias("rate_per_hour")
        )
    )


# -- logs beside the feeds -----------------------------------------------------------------

FEED_NAMES = {"aws": "AWS Spot Advisor", "alibaba": "Alibaba DescribeSpotAdvice"}


def bands_beside_logs(
    store: Store,
    rates: pl.DataFrame | None = None,
    latest: bool = True,
    os: str | None = "Linux",
) -> pl.DataFrame:
    """The logs' monthly interruption share beside the providers' feeds, for the same specs.

    One row per (source, provider, region, zone, spec): ``source`` is ``logs`` or the feed's
    name and date; ``monthly_pct`` (logs: the point estimate; Alibaba: its rate; AWS: none,
    a band only), ``low_pct``/``high_pct`` (logs: the 90% interval; feeds: the band's
    bounds) and ``band_label`` (logs: the provider's own band scheme). ``latest`` keeps each
    feed's newest observation; ``os`` filters AWS rows (None keeps all).
    """
    if rates is None:
        rates = interruption_rates(store, by=("provider", "region", "spec", "is_spot"))
    cols: dict[str, Any] = {
        "source": pl.String,
        "provider": pl.String,
        "region": pl.String,
        "zone": pl.String,
        "spec": pl.String,
        "observed_at": pl.Datetime("us", "UTC"),
        "monthly_pct": pl.Float64,
        "low_pct": pl.Float64,
        "high_pct": pl.Float64,
        "band_label": pl.String,
    }
    logs = rates.filter(
        pl.col("spec").is_not_null()
        & pl.col("is_spot").fill_null(True)
        & (pl.col("exposure_hours") > 0)
    )
    if logs.height == 0:
        return pl.DataFrame(schema=cols)
    for c in ("region", "zone"):
        if c not in logs.columns:
            logs = logs.with_columns(pl.lit(None, pl.String).alias(c))
    left = logs.select(
        pl.lit("logs").alias("source"),
        "provider",
        "region",
        "zone",
        "spec",
        pl.lit(None, cols["observed_at"]).alias("observed_at"),
        "monthly_pct",
        pl.col("monthly_pct_low").alias("low_pct"),
        pl.col("monthly_pct_high").alias("high_pct"),
        pl.when(pl.col("provider") == "alibaba")
        .then("alibaba_band")
        .otherwise("aws_band")
        .alias("band_label"),
    )
    feed = store.query(
        "SELECT * FROM interruption_bands WHERE spec IN (SELECT unnest(?::VARCHAR[]))",
        [sorted(set(left["spec"].to_list()))],
    )
    if os is not None and feed.height:
        feed = feed.filter(pl.col("os").is_null() | (pl.col("os") == os))
    if latest and feed.height:
        feed = feed.filter(
            pl.col("observed_at") == pl.col("observed_at").max().over("provider", "spec")
        )
    keys = logs.select("provider", "spec", "region").unique()
    # a log cell without a region (e.g. a trace that names none) matches every region
    feed = feed.join(keys, on=["provider", "spec"], how="inner", suffix="_log").filter(
        pl.col("region_log").is_null() | (pl.col("region_log") == pl.col("region"))
    )
    right = feed.unique(["provider", "region", "zone", "spec", "os", "observed_at"]).select(
        pl.format(
            "{} {}",
            pl.col("provider").replace_strict(FEED_NAMES, default=pl.col("provider")),
            pl.col("observed_at").dt.strftime("%Y-%m-%d"),
        ).alias("source"),
        "provider",
        "region",
        "zone",
        "spec",
        "observed_at",
        pl.col("rate_pct").alias("monthly_pct"),
        pl.col("band_low_pct").alias("low_pct"),
        pl.col("band_high_pct").alias("high_pct"),
        "band_label",
    )
    schema = pl.Schema(cols)
    return pl.concat([left.cast(schema), right.cast(schema)]).sort(
        "spec", "source", "region", "zone", nulls_last=True
    )


# -- the report ----------------------------------------------------------------------------


@dataclass
class InterruptionReport:
    """Everything ``spotlab interruptions`` shows: where events came from, how they were
    attributed, lifecycle counts, rates, lead times and the feeds beside the logs."""

    sources: pl.DataFrame
    events: pl.DataFrame
    unattributed: pl.DataFrame
    instances: pl.DataFrame
    rates: pl.DataFrame
    lead_times: pl.DataFrame
    bands: pl.DataFrame

    RATE_COLUMNS = (
        "provider", "spec", "zone", "is_spot", "instances", "exposure_hours", "interruptions",
        "rate_per_hour", "rate_low", "rate_high", "dispersion", "rate_low_drift",
        "rate_high_drift", "per_month", "monthly_pct", "aws_band",
        "alibaba_band", "mtti_hours", "rate_used", "used",
    )  # fmt: skip

    def tables(self) -> list[tuple[str, pl.DataFrame]]:
        """(title, frame) pairs for display; empty tables are left out."""
        rates = self.rates.select([c for c in self.RATE_COLUMNS if c in self.rates.columns])
        out = [
            ("Event files (rows read = loaded + duplicate + rejected)", self.sources),
            ("Events by kind and attribution", self.events),
            ("Events whose instance is unknown (kept; load an inventory to attribute)",
             self.unattributed),
            ("Instances: interrupted, censored (still running at the log's end)",
             self.instances),
            ("Interruption rates per instance-hour, 90% intervals: exact Poisson "
             "(rate_low/high) and drift (rate_low/high_drift)", rates),
            ("Warning lead time (seconds)", self.lead_times),
            ("Logs beside the providers' feeds (% of instances interrupted per month)",
             self.bands),
        ]  # fmt: skip
        return [(t, f) for t, f in out if f.height]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources.to_dicts(),
            "events": self.events.to_dicts(),
            "unattributed": self.unattributed.to_dicts(),
            "instances": self.instances.to_dicts(),
            "rates": self.rates.to_dicts(),
            "lead_times": self.lead_times.to_dicts(),
            "bands": self.bands.to_dicts(),
        }


def interruption_report(
    store: Store, by: Sequence[str] = BY, confidence: float = 0.90
) -> InterruptionReport:
    """The interruption analytics of a store in one object (see :class:`InterruptionReport`)."""
    by = check_by(by)
    events = attribute_events(load_events(store), load_inventory(store))
    if (
        events.height == 0
        and store.query("SELECT count(*) AS n FROM instance_exposure")["n"][0] == 0
    ):
        raise AnalysisError(
            "no instance events in the store: ingest preemption logs (CloudMonitor or "
            "EventBridge JSON, a lifecycle CSV or an add/remove trace) first"
        )
    lives = lifecycles(events)
    rates = interruption_rates(events, by=by, confidence=confidence, **_store_inputs(store))
    sources = store.query(
        "SELECT source_id, uri, format, kind, rows_read, rows_loaded, rows_duplicate, "
        "rows_rejected FROM sources WHERE kind IN ('events', 'instances', 'exposure') "
        "ORDER BY source_id"
    )
    instances = (
        lives.group_by("provider", "spec", "is_spot")
        .agg(
            pl.len().alias("instances"),
            pl.col("start").is_not_null().sum().alias("with_start"),
            pl.col("interrupted").sum().alias("interrupted"),
            pl.col("censored").sum().alias("censored"),
            pl.col("hours").sum().alias("instance_hours"),
        )
        .sort("provider", "spec", nulls_last=True)
    )
    return InterruptionReport(
        sources=sources,
        events=event_summary(events),
        unattributed=unattributed_events(events),
        instances=instances,
        rates=rates,
        lead_times=lead_time_summary(lead_times(lives=lives)),
        bands=bands_beside_logs(store),
    )


def _store_inputs(store: Store) -> dict[str, Any]:
    return {"exposure_table": load_exposure(store), "features": cell_features(store)}
