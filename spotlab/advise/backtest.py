"""Rolling-origin backtests: would the advice have held, against the simple rules?

For each series and each origin T: advise from the prices of ``[T - window, T)`` only, then
score every strategy's bid with the cost model (:mod:`spotlab.advise.costmodel`: a spot
entry with its regular fallback) over ``[T, T + horizon)``:

- ``spotlab``: the cost-optimal bid (:func:`~spotlab.advise.costmodel.decide_bids`); when
  it says "use a regular instance", that run is served on-demand (availability 1, cost =
  the fallback price, ``on_regular`` true);
- ``rule20``: the seed's 20 % of the on-demand price;
- ``max_observed``: the highest price of the look-back (at most on-demand);
- ``on_demand``: bid the pay-as-you-go price;
- ``lowest_level``: the lowest level that held spot ≥ the target share of the look-back;
- ``previous``: spotlab's previous heuristic (that level + 10 % of on-demand), for the record.

Scores per run: **service availability** (1 − downtime share: the service runs on the
fallback while spot is lost and is short only while a replacement starts beyond the
warning), ``spot_share``, price ``crossings_per_day``, **effective cost** ÷ on-demand
(``cost_ratio``). Origins step back from the newest one (``end - horizon``) by ``step``
(default: the horizon, so test windows do not overlap) while the look-back fits in the
series' history. A series *meets the target* when its service availability pooled over its
test windows (time-weighted) reaches the target. At most :data:`MAX_RUNS` runs: a larger
backtest is refused with a hint, never started.

Price histories without bids (GCP: nobody is outbid) are read as real price dynamics: a rise
of the market across the bid counts as a price reclaim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from spotlab.advise import costmodel as cm
from spotlab.domain import round_bid_up_expr
from spotlab.errors import AnalysisError
from spotlab.prices import (
    _EPOCH,
    MIN_HISTORY_HOURS,
    SERIES,
    Levels,
    PriceSource,
    _as_list,
    _Source,
    catalog_on_demand,
    check_selection,
    open_source,
    parse_window,
    series_index,
    to_utc,
    window_levels,
)

BACKTEST_STRATEGIES = ("spotlab", *cm.REFERENCES)
#: the most runs (series × origins) one backtest scores
MAX_RUNS = 1_000_000
_EPS = 1e-9


@dataclass
class BacktestResult:
    """What :func:`backtest_bids` measured.

    - ``runs``: one row per (series, origin, strategy): ``provider, region, zone, spec,
      origin, strategy, bid, on_regular, hours`` (test window), ``availability`` (service),
      ``spot_share, crossings_per_day, mean_paid, effective_cost, on_demand, cost_ratio,
      met``;
    - ``series``: per (series, strategy), pooled over origins (time-weighted): ``runs,
      hours, availability, spot_share, crossings_per_day, cost_ratio, share_runs_met,
      share_on_regular, met``;
    - ``summary``: per strategy: ``series, runs, share_series_met, share_runs_met,
      mean_availability, min_availability, mean_spot_share, mean_crossings_per_day,
      mean_cost_ratio, share_on_regular``;
    - ``excluded``: series left out for want of an on-demand price.
    """

    runs: pl.DataFrame
    series: pl.DataFrame
    summary: pl.DataFrame
    params: Any = None  # spotlab.advise.bids.BidParams
    window: str = "30d"
    horizon: str = "30d"
    #: series left out of the comparison for want of an on-demand price
    excluded: pl.DataFrame = field(default_factory=pl.DataFrame)

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "horizon": self.horizon,
            "target_availability": self.params.target_availability if self.params else None,
            "summary": self.summary.to_dicts(),
            "series": self.series.to_dicts(),
            "excluded_without_on_demand": self.excluded.to_dicts(),
        }


# -- the core: advise on look-backs, score on the windows after ------------------------------


@dataclass
class Scored:
    """Runs scored by :func:`score_runs`: ``frame`` has one row per (run, strategy)."""

    frame: pl.DataFrame
    curves: cm.Curves = field(repr=False)


def score_runs(
    src: _Source,
    runs: pl.DataFrame,
    params: Any,
    strategies: Sequence[str] = BACKTEST_STRATEGIES,
) -> pl.DataFrame:
    """Advise from each run's look-back and score on its test window.

    ``runs``: one row per (run, series): ``run, provider, region, zone, spec, train_start,
    origin, test_end``; the series of one run form a group (a spec across its zones: the
    bid must hold in every zone, and each figure is its worst zone's). ``params`` is a
    :class:`~spotlab.advise.bids.BidParams`. Returns per (run, strategy): ``bid, on_regular,
    verdict_total, fallback, hours, on_demand`` and the test window's figures
    (:data:`~spotlab.advise.costmodel.FIGURES`, ``cost_ratio``); ``level`` (spotlab's
    decision before rounding) and ``basis``.
    """
    cost = params.cost()
    runs = runs.with_row_index("_m").with_columns(pl.col("_m").cast(pl.Int64))
    base = runs.select("_m", "run", *SERIES, "region")
    windows = pl.concat(
        [
            base.with_columns(
                role=pl.lit("train"), w_start=runs["train_start"], w_end=runs["origin"]
            ),
            base.with_columns(role=pl.lit("test"), w_start=runs["origin"], w_end=runs["test_end"]),
        ]
    ).with_row_index("wid")
    windows = windows.with_columns(pl.col("wid").cast(pl.Int64))
    lv = window_levels(src, windows.select("wid", *SERIES, "region", "w_start", "w_end"))
    lv = Levels(windows=catalog_on_demand(src, lv.windows), levels=lv.levels)
    cv = cm.curves(lv, cost, params.price_tick)
    roles = windows.select("wid", "run", "role")
    win = cv.windows.join(roles, on="wid")
    tr = win.filter((pl.col("role") == "train") & pl.col("seconds").is_not_null())
    te = win.filter((pl.col("role") == "test") & pl.col("seconds").is_not_null())
    # a run is scored when every member series has data in both windows
    both = (
        tr.group_by("run")
        .agg(n_tr=pl.len())
        .join(te.group_by("run").agg(n_te=pl.len()), on="run")
        .join(runs.group_by("run").agg(n=pl.len()), on="run")
        .filter((pl.col("n_tr") == pl.col("n")) & (pl.col("n_te") == pl.col("n")))
        .select("run")
    )
    tr = tr.join(both, on="run")
    te = te.join(both, on="run")
    members = tr.select(pl.col("run").alias("gid"), "wid")
    info = (
        tr.group_by("run")
        .agg(
            spec=pl.col("spec").first(),
            fallback=pl.col("fallback").min(),
            on_demand=pl.col("on_demand").min(),
            max=pl.col("max").max(),
            tick=pl.col("tick").min(),
        )
        .rename({"run": "gid"})
    )
    choice = cm.decide_bids(cv, members, info, params.target_availability)
    spot = choice.join(info, on="gid").with_columns(
        on_regular=pl.col("level").is_null()
        | (pl.col("fallback").is_not_null() & (pl.col("total_cost") >= pl.col("fallback") - _EPS)),
    )
    capped = round_bid_up_expr(pl.col("level"), pl.col("tick"))
    if params.max_price is not None:
        cap = cm.per_key(params.max_price, "spec", pl.lit(None, pl.Float64))
        capped = pl.min_horizontal(capped, cap.fill_null(capped))
    spot = spot.with_columns(
        at=pl.when(~pl.col("on_regular")).then(capped),
        level=pl.col("level"),
    )
    asks = [spot.select("gid", strategy=pl.lit("spotlab"), at="at")]
    refs = [s for s in strategies if s != "spotlab"]
    if refs:
        ref = cm.reference_bids(cv, members, info, params.target_availability)
        asks += [ref.select("gid", strategy=pl.lit(s), at=pl.col(s)) for s in refs]
    asks_f = pl.concat(asks, how="vertical_relaxed")
    test_members = te.select(pl.col("run").alias("gid"), "wid")
    scored = cm.score_groups(cv, test_members, asks_f)
    hours = te.group_by("run").agg(
        hours=(pl.col("seconds").min() / 3600.0), fb=pl.col("fallback").min()
    )
    out = (
        scored.join(asks_f, on=["gid", "strategy"])
        .join(
            spot.select("gid", "on_regular", "level", "basis", verdict_total="total_cost"), on="gid"
        )
        .join(hours.rename({"run": "gid"}), on="gid")
        .join(info.select("gid", "fallback"), on="gid")
    )
    regular = (pl.col("strategy") == "spotlab") & pl.col("on_regular")
    out = out.with_columns(
        on_regular=regular,
        availability=pl.when(regular).then(1.0).otherwise("availability"),
        spot_share=pl.when(regular).then(0.0).otherwise("spot_share"),
        crossings_per_day=pl.when(regular).then(0.0).otherwise("crossings_per_day"),
        reclaims_per_day=pl.when(regular).then(0.0).otherwise("reclaims_per_day"),
        mean_paid=pl.when(regular).then(None).otherwise("mean_paid"),
        effective_cost=pl.when(regular).then(pl.col("fb")).otherwise("effective_cost"),
        total_cost=pl.when(regular).then(pl.col("fb")).otherwise("total_cost"),
        level=pl.when(pl.col("strategy") == "spotlab").then("level"),
        basis=pl.when(pl.col("strategy") == "spotlab").then("basis"),
    ).with_columns(cost_ratio=pl.col("effective_cost") / pl.col("on_demand"))
    return out.rename({"gid": "run", "at": "bid"}).drop("fb")


# -- rolling origins ----------------------------------------------------------------------------


def _origins(
    index: pl.DataFrame,
    train: timedelta | None,
    horizon: timedelta,
    step: timedelta,
    origins: Sequence[datetime | str] | None,
    end: datetime | None,
    max_origins: int | None,
) -> pl.DataFrame:
    """(series, origin) pairs whose look-back fits in the series' history (vectorised; the
    count is checked against :data:`MAX_RUNS` before anything is built)."""
    need = train if train is not None else timedelta(hours=MIN_HISTORY_HOURS)
    if origins is not None:
        times = [to_utc(o) for o in origins]
        grid = index.join(
            pl.DataFrame({"origin": times}, schema={"origin": pl.Datetime("us", "UTC")}),
            how="cross",
        )
        return grid.filter(pl.col("first_ts") <= pl.col("origin") - pl.lit(need))
    per = index.group_by("provider").agg(
        now=pl.col("provider_now").max(), first=pl.col("first_ts").min()
    )
    if end is not None:
        per = per.with_columns(now=pl.lit(end).cast(pl.Datetime("us", "UTC")))
    # origins t_k = now - horizon - k*step for k >= 0 while t_k - need >= first
    latest = pl.col("now") - pl.lit(horizon)
    room = (latest - pl.lit(need) - pl.col("first")).dt.total_microseconds()
    per = per.with_columns(
        k=pl.when(room >= 0)
        .then(room // int(step.total_seconds() * 1e6) + 1)
        .otherwise(0)
        .cast(pl.Int64)
    )
    if max_origins is not None:
        per = per.with_columns(k=pl.min_horizontal("k", pl.lit(max_origins)))
    series_per_provider = index.group_by("provider").agg(n=pl.len())
    total = per.join(series_per_provider, on="provider").select((pl.col("k") * pl.col("n")).sum())
    upper = int(total.item() or 0)
    if upper > MAX_RUNS:
        raise AnalysisError(
            f"the backtest would score up to {upper:,} runs (series × origins), more than "
            f"{MAX_RUNS:,}: use a longer step or horizon, max_origins, or fewer series"
        )
    rows = per.filter(pl.col("k") > 0).select(
        "provider",
        origin=pl.int_ranges(0, pl.col("k")).list.eval(pl.element()),
        latest=latest,
    )
    rows = rows.explode("origin").select(
        "provider",
        origin=pl.col("latest")
        - pl.duration(microseconds=pl.col("origin") * int(step.total_seconds() * 1e6)),
    )
    grid = index.join(rows, on="provider")
    return grid.filter(pl.col("first_ts") <= pl.col("origin") - pl.lit(need))


def backtest_bids(
    source: PriceSource,
    specs: str | Sequence[str] | None = None,
    zones: str | Sequence[str] | None = None,
    window: str | timedelta | None = "30d",
    horizon: str | timedelta = "30d",
    step: str | timedelta | None = None,
    *,
    origins: Sequence[datetime | str] | None = None,
    max_origins: int | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
    strategies: Sequence[str] = BACKTEST_STRATEGIES,
    params: Any = None,
    **options: Any,
) -> BacktestResult:
    """Rolling-origin backtest of spotlab's bid against the reference strategies.

    ``window`` is the look-back (``"all"`` = everything before the origin), ``horizon`` the
    test span after each origin, ``step`` the spacing of origins (default ``horizon``);
    ``origins`` fixes them instead. ``params`` (a :class:`~spotlab.advise.bids.BidParams`)
    or its fields as keywords (``target_availability``, ``startup_seconds``, ...) set the
    model. See the module docstring.

    >>> result = backtest_bids(store, window="90d", horizon="30d")  # doctest: +SKIP
    >>> result.summary  # doctest: +SKIP
    """
    from spotlab.advise.bids import BidParams

    p = BidParams.build(params, options)
    unknown = [s for s in strategies if s not in BACKTEST_STRATEGIES]
    if unknown:
        from spotlab.errors import did_you_mean

        raise AnalysisError(
            f"unknown strategy {unknown[0]!r}.{did_you_mean(unknown[0], BACKTEST_STRATEGIES)} "
            f"Known: {', '.join(BACKTEST_STRATEGIES)}"
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
                "no origin leaves a full look-back and a full horizon in the data: "
                "shorten window or horizon, or pass origins=[...]"
            )
        pairs = pairs.sort("provider", "spec", "zone", "origin").with_row_index("run")
        runs = pairs.select(
            pl.col("run").cast(pl.Int64),
            *SERIES,
            "region",
            train_start=(
                pl.col("origin") - pl.lit(train)
                if train is not None
                else pl.lit(_EPOCH).cast(pl.Datetime("us", "UTC"))
            ),
            origin=pl.col("origin"),
            test_end=pl.col("origin") + pl.lit(test),
        )
        scored = score_runs(src, runs, p, strategies)
    out = scored.join(runs.select("run", *SERIES, "region", "origin"), on="run")
    ok = pl.col("availability") >= p.target_availability - _EPS
    out = out.with_columns(met=ok).select(
        "provider",
        "region",
        "zone",
        "spec",
        "origin",
        "strategy",
        "bid",
        "on_regular",
        "hours",
        "availability",
        "spot_share",
        "crossings_per_day",
        "mean_paid",
        "effective_cost",
        "on_demand",
        "cost_ratio",
        "met",
    )
    order = {s: i for i, s in enumerate(BACKTEST_STRATEGIES)}
    out = out.sort(
        "provider", "spec", "zone", "origin", pl.col("strategy").replace_strict(order, default=99)
    )
    # without an on-demand price there is no fallback price to weigh, no 20 % rule and no
    # cost ratio: such series are left out of the comparison, and listed
    no_od = out.filter(pl.col("on_demand").is_null()).select(*SERIES, "region").unique()
    out = out.filter(pl.col("on_demand").is_not_null())
    if out.height == 0:
        raise AnalysisError(
            "no series in the backtest has an on-demand price: load a specs catalog (the "
            "comparison needs the regular fallback's price)"
        )
    result = summarise(out, p, str(window), str(horizon))
    result.excluded = no_od.sort(*SERIES)
    return result


def summarise(runs: pl.DataFrame, p: Any, window: str, horizon: str) -> BacktestResult:
    """Pool runs per series and per strategy (time-weighted over test windows)."""
    h = pl.col("hours")
    series = (
        runs.group_by(*SERIES, "region", "strategy")
        .agg(
            runs=pl.len(),
            hours=h.sum(),
            availability=(pl.col("availability") * h).sum() / h.sum(),
            spot_share=(pl.col("spot_share") * h).sum() / h.sum(),
            crossings_per_day=(pl.col("crossings_per_day") * h).sum() / h.sum(),
            cost_ratio=(pl.col("effective_cost") * h).sum() / (pl.col("on_demand") * h).sum(),
            share_runs_met=pl.col("met").mean(),
            share_on_regular=pl.col("on_regular").mean(),
        )
        .with_columns(met=pl.col("availability") >= p.target_availability - _EPS)
        .sort("provider", "spec", "zone", "strategy")
    )
    order = {s: i for i, s in enumerate(BACKTEST_STRATEGIES)}
    summary = (
        series.group_by("strategy")
        .agg(
            series=pl.len(),
            runs=pl.col("runs").sum(),
            share_series_met=pl.col("met").mean(),
            share_runs_met=(pl.col("share_runs_met") * pl.col("runs")).sum() / pl.col("runs").sum(),
            mean_availability=pl.col("availability").mean(),
            min_availability=pl.col("availability").min(),
            mean_spot_share=pl.col("spot_share").mean(),
            mean_crossings_per_day=pl.col("crossings_per_day").mean(),
            mean_cost_ratio=pl.col("cost_ratio").mean(),
            share_on_regular=(pl.col("share_on_regular") * pl.col("runs")).sum()
            / pl.col("runs").sum(),
        )
        .sort(pl.col("strategy").replace_strict(order, default=99))
    )
    return BacktestResult(
        runs=runs, series=series, summary=summary, params=p, window=window, horizon=horizon
    )


#: spotlab counts as dominated by a reference when it costs more than this factor × the
#: reference's mean cost ÷ on-demand without a better availability, or ...
COST_TOLERANCE = 0.02
#: ... has a lower mean service availability by more than this without a lower cost
AVAILABILITY_TOLERANCE = 0.005


def compare_strategies(summary: pl.DataFrame, against: str = "spotlab") -> pl.DataFrame:
    """Each strategy of a backtest ``summary`` against ``against`` (spotlab): ``cost_change``
    (its mean cost ÷ on-demand relative to spotlab's, e.g. -0.05 = 5 % cheaper),
    ``availability_change`` (points of mean service availability), ``met_change`` (share of
    series meeting the target) and ``dominates`` (spotlab is worse beyond
    :data:`COST_TOLERANCE` on cost or :data:`AVAILABILITY_TOLERANCE` on availability without
    being better beyond it on the other axis)."""
    base = summary.filter(pl.col("strategy") == against)
    if base.height != 1:
        raise AnalysisError(f"the summary has no {against!r} row to compare with")
    b = base.row(0, named=True)
    c_s, a_s = b["mean_cost_ratio"], b["mean_availability"]
    c_r, a_r = pl.col("mean_cost_ratio"), pl.col("mean_availability")
    worse_cost = pl.lit(c_s) > c_r * (1 + COST_TOLERANCE)
    better_cost = pl.lit(c_s) < c_r / (1 + COST_TOLERANCE)
    worse_av = pl.lit(a_s) < a_r - AVAILABILITY_TOLERANCE
    better_av = pl.lit(a_s) > a_r + AVAILABILITY_TOLERANCE
    return summary.filter(pl.col("strategy") != against).select(
        "strategy",
        cost_change=c_r / c_s - 1.0,
        availability_change=a_r - a_s,
        met_change=pl.col("share_series_met") - b["share_series_met"],
        dominates=(worse_cost & ~better_av) | (worse_av & ~better_cost),
    )
