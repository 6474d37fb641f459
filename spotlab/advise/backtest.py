"""Rolling-origin backtests of bidding strategies: would the advice have held?

For each series and each origin T: recommend from the prices of ``[T - window, T)`` only,
then measure what each strategy's bid does over ``[T, T + horizon)``:

- ``spotlab``: :func:`~spotlab.advise.bids.recommend_bids`' recommended bid for the zone
  (when it says "use a regular instance", that run is served on-demand: availability 1,
  no interruptions, cost = the fallback price, and ``on_regular`` is true);
- ``rule20``: the seed's 20% of the on-demand price at T;
- ``max_observed``: the highest price seen in the training window (at most on-demand).

Origins step back from the newest one (``end - horizon``) by ``step`` (default: the
horizon, so test windows do not overlap) while the training window fits in the series'
history. A series *meets the target* when its availability pooled over all its test
windows (time-weighted) reaches the target (and its pooled interruptions per day stay
under the cap, if any).

Price histories without bids (GCP: spot prices change at most about weekly and nobody is
outbid) are read as real price dynamics: "availability" is then the share of time the
market stayed at or below the bid, and an "interruption" is a price rise across it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from spotlab.advise.bids import (
    _EPS,
    DEFAULT_COST_TOLERANCE,
    DEFAULT_HEADROOM,
    BidParams,
    _advise,
    _curves,
    evaluate,
)
from spotlab.errors import AnalysisError
from spotlab.prices import (
    _EPOCH,
    MIN_HISTORY_HOURS,
    SERIES,
    Levels,
    PriceSource,
    _as_list,
    catalog_on_demand,
    check_selection,
    open_source,
    parse_window,
    series_index,
    to_utc,
    window_levels,
)

BACKTEST_STRATEGIES = ("spotlab", "rule20", "max_observed")


@dataclass
class BacktestResult:
    """What :func:`backtest_bids` measured.

    - ``runs``: one row per (series, origin, strategy): ``provider, region, zone, spec,
      origin, strategy, bid, on_regular, hours`` (test window), ``availability,
      interruptions_per_day, mean_paid, effective_cost, on_demand, cost_ratio``
      (effective cost ÷ on-demand), ``met``;
    - ``series``: per (series, strategy), pooled over origins: ``runs, hours,
      availability, interruptions_per_day, cost_ratio, share_runs_met, met``;
    - ``summary``: per strategy: ``series, runs, share_series_met, share_runs_met,
      mean_availability, mean_interruptions_per_day, mean_cost_ratio, share_on_regular``.
    """

    runs: pl.DataFrame
    series: pl.DataFrame
    summary: pl.DataFrame
    params: BidParams = field(default_factory=BidParams)
    window: str = "30d"
    horizon: str = "30d"

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "horizon": self.horizon,
            "target_availability": self.params.target_availability,
            "summary": self.summary.to_dicts(),
            "series": self.series.to_dicts(),
        }


def _origins(
    index: pl.DataFrame,
    train: timedelta | None,
    horizon: timedelta,
    step: timedelta,
    origins: Sequence[datetime | str] | None,
    end: datetime | None,
    max_origins: int | None,
) -> pl.DataFrame:
    """(series, origin) pairs whose training window fits in the series' history."""
    need = train if train is not None else timedelta(hours=MIN_HISTORY_HOURS)
    if origins is not None:
        times = [to_utc(o) for o in origins]
        grid = index.join(
            pl.DataFrame({"origin": times}, schema={"origin": pl.Datetime("us", "UTC")}),
            how="cross",
        )
    else:
        per_provider = index.group_by("provider").agg(
            now=pl.col("provider_now").max(), first=pl.col("first_ts").min()
        )
        if end is not None:
            per_provider = per_provider.with_columns(now=pl.lit(end).cast(pl.Datetime("us", "UTC")))
        rows = []
        for p in per_provider.iter_rows(named=True):
            t = p["now"] - horizon
            k = 0
            while t - need >= p["first"] and (max_origins is None or k < max_origins):
                rows.append({"provider": p["provider"], "origin": t})
                t -= step
                k += 1
        grid = index.join(
            pl.DataFrame(rows, schema={"provider": pl.String, "origin": pl.Datetime("us", "UTC")}),
            on="provider",
        )
    return grid.filter(pl.col("first_ts") <= pl.col("origin") - pl.lit(need))


def backtest_bids(
    source: PriceSource,
    specs: str | Sequence[str] | None = None,
    zones: str | Sequence[str] | None = None,
    window: str | timedelta | None = "30d",
    horizon: str | timedelta = "30d",
    step: str | timedelta | None = None,
    target_availability: float = 0.99,
    max_interruptions_per_day: float | None = None,
    *,
    origins: Sequence[datetime | str] | None = None,
    max_origins: int | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
    startup_seconds: float | Mapping[str, float] | None = None,
    fallback_price: float | Mapping[str, float] | None = None,
    price_tick: float | Mapping[str, float] | None = None,
    cost_tolerance: float = DEFAULT_COST_TOLERANCE,
    headroom: float = DEFAULT_HEADROOM,
    params: BidParams | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of spotlab's bid, the 20% rule and the max-observed bid.

    ``window`` is the training look-back (``"all"`` = everything before the origin),
    ``horizon`` the test span after each origin, ``step`` the spacing of origins (default
    ``horizon``); ``origins`` fixes the origins instead. See the module docstring.

    >>> result = backtest_bids(store, window="90d", horizon="30d")  # doctest: +SKIP
    >>> result.summary  # doctest: +SKIP
    """
    p = params or BidParams(
        target_availability=target_availability,
        max_interruptions_per_day=max_interruptions_per_day,
        startup_seconds=startup_seconds,
        fallback_price=fallback_price,
        price_tick=price_tick,
        cost_tolerance=cost_tolerance,
        headroom=headroom,
    )
    train = parse_window(window)
    test = parse_window(horizon)
    if test is None:
        raise AnalysisError("the backtest horizon must be a length such as '30d', not 'all'")
    stride = parse_window(step) if step is not None else test
    if stride is None:
        raise AnalysisError("the backtest step must be a length such as '7d'")
    specs_l, zones_l = _as_list(specs), _as_list(zones)
    with open_source(source, specs_l, zones_l, provider) as src:
        index = series_index(src)
        check_selection(src, index, specs_l, zones_l)
        pairs = _origins(index, train, test, stride, origins, to_utc(end), max_origins)
        if pairs.height == 0:
            raise AnalysisError(
                "no origin leaves a full training window and a full horizon in the data: "
                "shorten window or horizon, or pass origins=[...]"
            )
        pairs = pairs.sort("provider", "spec", "zone", "origin").with_row_index("run")
        start = (
            pl.col("origin") - pl.lit(train)
            if train is not None
            else pl.lit(_EPOCH).cast(pl.Datetime("us", "UTC"))
        )
        base = pairs.select("run", *SERIES, "region", "origin")
        windows = pl.concat(
            [
                base.with_columns(role=pl.lit("train"), w_start=start, w_end=pl.col("origin")),
                base.with_columns(
                    role=pl.lit("test"),
                    w_start=pl.col("origin"),
                    w_end=pl.col("origin") + pl.lit(test),
                ),
            ]
        ).with_row_index("wid")
        windows = windows.with_columns(pl.col("wid").cast(pl.Int64))
        cols = ("wid", "provider", "region", "zone", "spec", "w_start", "w_end")
        lv = window_levels(src, windows.select(cols))
        lv = Levels(windows=catalog_on_demand(src, lv.windows), levels=lv.levels)
    cv = _curves(lv, p)
    roles = windows.select("wid", "run", "role")
    win = cv.windows.join(roles, on="wid")
    tr = win.filter((pl.col("role") == "train") & pl.col("seconds").is_not_null())
    te = win.filter((pl.col("role") == "test") & pl.col("seconds").is_not_null())
    members = tr.select(pl.col("wid").alias("gid"), "wid")
    info = tr.select(pl.col("wid").alias("gid"), "on_demand", "tick", "max")
    adv = _advise(cv, members, info, p).join(tr.select(pl.col("wid").alias("gid"), "run"), on="gid")
    bids = adv.select("run", spotlab=pl.col("bid"), rule20=pl.col("rule20_bid")).join(
        tr.select("run", "max", "on_demand"), on="run"
    )
    # the highest price of the training window, never above on-demand
    bids = bids.with_columns(
        max_observed=pl.min_horizontal("max", pl.col("on_demand").fill_null(pl.col("max")))
    )
    asks = (
        bids.unpivot(
            index="run", on=list(BACKTEST_STRATEGIES), variable_name="strategy", value_name="at"
        )
        .join(te.select("run", "wid"), on="run")
        .select("wid", "at", "run", "strategy")
    )
    scored = evaluate(cv.cum, cv.windows, asks).join(
        te.select("wid", test_seconds="seconds"), on="wid"
    )
    regular = (pl.col("strategy") == "spotlab") & pl.col("at").is_null()
    runs = scored.with_columns(
        on_regular=regular,
        availability=pl.when(regular).then(1.0).otherwise("availability"),
        interruptions_per_day=pl.when(regular).then(0.0).otherwise("interruptions_per_day"),
        mean_paid=pl.when(regular).then(None).otherwise("mean_paid"),
        effective_cost=pl.when(regular).then(pl.col("fallback")).otherwise("effective_cost"),
    ).with_columns(cost_ratio=pl.col("effective_cost") / pl.col("on_demand"))
    ok = pl.col("availability") >= p.target_availability - _EPS
    if p.max_interruptions_per_day is not None:
        ok = ok & (pl.col("interruptions_per_day") <= p.max_interruptions_per_day + _EPS)
    runs = (
        runs.with_columns(met=ok, hours=pl.col("test_seconds") / 3600)
        .join(pairs.select("run", *SERIES, "region", "origin"), on="run")
        .select(
            "provider",
            "region",
            "zone",
            "spec",
            "origin",
            "strategy",
            pl.col("at").alias("bid"),
            "on_regular",
            "hours",
            "availability",
            "interruptions_per_day",
            "mean_paid",
            "effective_cost",
            "on_demand",
            "cost_ratio",
            "met",
        )
        .sort("provider", "spec", "zone", "origin", "strategy")
    )
    return _summarise(runs, p, str(window), str(horizon))


def _summarise(runs: pl.DataFrame, p: BidParams, window: str, horizon: str) -> BacktestResult:
    h = pl.col("hours")
    series = (
        runs.group_by(*SERIES, "region", "strategy")
        .agg(
            runs=pl.len(),
            hours=h.sum(),
            availability=(pl.col("availability") * h).sum() / h.sum(),
            interruptions_per_day=(pl.col("interruptions_per_day") * h).sum() / h.sum(),
            cost_ratio=(pl.col("effective_cost") * h).sum() / (pl.col("on_demand") * h).sum(),
            share_runs_met=pl.col("met").mean(),
            share_on_regular=pl.col("on_regular").mean(),
        )
        .sort("provider", "spec", "zone", "strategy")
    )
    ok = pl.col("availability") >= p.target_availability - _EPS
    if p.max_interruptions_per_day is not None:
        ok = ok & (pl.col("interruptions_per_day") <= p.max_interruptions_per_day + _EPS)
    series = series.with_columns(met=ok)
    order = {s: i for i, s in enumerate(BACKTEST_STRATEGIES)}
    summary = (
        series.group_by("strategy")
        .agg(
            series=pl.len(),
            runs=pl.col("runs").sum(),
            share_series_met=pl.col("met").mean(),
            share_runs_met=(pl.col("share_runs_met") * pl.col("runs")).sum() / pl.col("runs").sum(),
            mean_availability=pl.col("availability").mean(),
            mean_interruptions_per_day=pl.col("interruptions_per_day").mean(),
            mean_cost_ratio=pl.col("cost_ratio").mean(),
            share_on_regular=(pl.col("share_on_regular") * pl.col("runs")).sum()
            / pl.col("runs").sum(),
        )
        .sort(pl.col("strategy").replace_strict(order, default=99))
    )
    return BacktestResult(
        runs=runs, series=series, summary=summary, params=p, window=window, horizon=horizon
    )
