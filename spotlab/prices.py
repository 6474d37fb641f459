"""Price series as stored: change points that hold until the next point of their series.

A series is keyed by (provider, zone, spec). Every statistic here is time-weighted: a point
weighs by how long it held, never one row one vote.

**Window convention.** An analysis window is ``[start, end)``. ``end`` defaults to *now*,
which spotlab takes as the newest point of the same provider in the input (the store or
the frame), so a store loaded last month is analysed as of its own newest data, not as of
the wall clock. ``start`` is ``end`` minus the window length (``"48h"``, ``"7d"``, ``"30d"``,
``"all"`` = from the series' first point). The point in effect at ``start`` (the last one
at or before it) is carried into the window; the last point of a series holds until
``end``. A gap between points is therefore a long hold of the earlier price, as the
change-point format says; two points at the same time keep the later row of the input.

Analyses accept a :class:`~spotlab.store.Store` or a polars frame with the ``spot_prices``
columns (``provider, zone, spec, ts`` and ``spot_price`` or ``discount`` with
``on_demand_price``; ``region``, ``currency`` and ``on_demand_price`` are optional).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from spotlab.domain import RULE_FRACTION, region_of_zone_expr
from spotlab.errors import AnalysisError, NoDataError, did_you_mean, wrap_errors
from spotlab.store import Store, scalar

SERIES = ("provider", "zone", "spec")

#: a series covering less than this in its window is flagged (the EAS console's own
#: reference is the last 48 h of prices)
MIN_HISTORY_HOURS = 48.0
#: a series whose newest point is older than this before the window's end is flagged
STALE_AFTER_HOURS = 24.0

#: "all" windows start here (before any real price history)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PriceSource = Store | pl.DataFrame


def price_points(
    store: Store,
    spec: str | None = None,
    zone: str | None = None,
    since: datetime | str | None = None,
    provider: str | None = None,
) -> pl.DataFrame:
    """Change points of the stored spot price series, sorted by series and time."""
    where, params = ["TRUE"], []
    for col, val in (("spec", spec), ("zone", zone), ("provider", provider)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    if since is not None:
        where.append("ts >= CAST(? AS TIMESTAMPTZ)")
        params.append(str(since))
    return store.query(
        "SELECT provider, region, zone, spec, ts, spot_price, discount, on_demand_price, "
        f"currency, source_id FROM spot_prices WHERE {' AND '.join(where)} "
        "ORDER BY provider, zone, spec, ts",
        params,
    )


def with_durations(points: pl.DataFrame, until: datetime | None = None) -> pl.DataFrame:
    """Add ``held_s``: seconds each point held. The last point of a series holds until
    ``until``, by default the newest time of its provider (one provider's history ending
    earlier than another's does not stretch its last price)."""
    pts = points.sort([*SERIES, "ts"])
    end = (
        pl.lit(until).cast(pts.schema["ts"])
        if until is not None
        else pl.col("ts").max().over("provider")
    )
    nxt = pl.col("ts").shift(-1).over(SERIES)
    return pts.with_columns(
        held_s=(pl.coalesce(nxt, end) - pl.col("ts"))
        .dt.total_microseconds()
        .truediv(1e6)
        .clip(lower_bound=0.0)
    )


def price_summary(store: Store) -> pl.DataFrame:
    """One row per series: span, number of points, time-weighted mean, min and max price."""
    pts = price_points(store)
    if pts.height == 0:
        return pl.DataFrame(
            schema={
                "provider": pl.String, "zone": pl.String, "spec": pl.String,
                "currency": pl.String, "first": pl.Datetime("us", "UTC"),
                "last": pl.Datetime("us", "UTC"), "points": pl.UInt32, "min": pl.Float64,
                "tw_mean": pl.Float64, "max": pl.Float64, "on_demand": pl.Float64,
                "tw_mean_discount": pl.Float64,
            }
        )  # fmt: skip
    d = with_durations(pts)
    w = pl.col("held_s")
    return (
        d.group_by(SERIES)
        .agg(
            pl.col("currency").first(),
            pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"),
            pl.len().alias("points"),
            pl.col("spot_price").min().alias("min"),
            (
                (pl.col("spot_price") * w).sum()
                / w.filter(pl.col("spot_price").is_not_null()).sum()
            ).alias("tw_mean"),
            pl.col("spot_price").max().alias("max"),
            pl.col("on_demand_price").drop_nulls().last().alias("on_demand"),
            (
                (pl.col("discount") * w).sum() / w.filter(pl.col("discount").is_not_null()).sum()
            ).alias("tw_mean_discount"),
        )
        .sort(SERIES)
    )


# -- windows -------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_window(window: str | timedelta | None) -> timedelta | None:
    """``"48h"``, ``"7d"``, ``"30d"``, ``"90m"``, ``"2w"`` or a timedelta; ``"all"`` or None
    → None (the whole history)."""
    if window is None or isinstance(window, timedelta):
        if isinstance(window, timedelta) and window <= timedelta(0):
            raise AnalysisError(f"the window must be positive, got {window}")
        return window
    text = str(window).strip().lower()
    if text in ("all", ""):
        return None
    m = _DURATION.match(text)
    if not m:
        raise AnalysisError(
            f"cannot read the window {window!r}: use a length such as '48h', '7d', '30d', "
            "'90m', '2w', or 'all'"
        )
    seconds = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
    if seconds <= 0:
        raise AnalysisError(f"the window must be positive, got {window!r}")
    return timedelta(seconds=seconds)


def window_label(window: str | timedelta | None) -> str:
    """A short human label: ``'30 days'``, ``'48 hours'``, ``'whole history'``."""
    length = parse_window(window)
    if length is None:
        return "whole history"
    hours = length.total_seconds() / 3600
    if hours > 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} hours"


def to_utc(value: datetime | str | None) -> datetime | None:
    """A time as an aware UTC datetime (naive input is taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise AnalysisError(
                f"cannot read the time {value!r}: use ISO 8601, e.g. 2026-01-31T12:00:00Z"
            ) from exc
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# -- sources: a store or a frame, seen through DuckDB ---------------------------------------


def _sql_list(values: Sequence[str]) -> str:
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def normalise_points(frame: pl.DataFrame) -> pl.DataFrame:
    """A user's points frame in the ``spot_prices`` columns: times as UTC, region derived
    from the zone when absent, one row per (series, ts) (the later input row wins)."""
    missing = [c for c in ("provider", "zone", "spec", "ts") if c not in frame.columns]
    if "spot_price" not in frame.columns and "discount" not in frame.columns:
        missing.append("spot_price")
    if missing:
        hints = "".join(did_you_mean(m, frame.columns) for m in missing)
        raise AnalysisError(
            f"the points frame lacks the columns {missing}.{hints} Expected the spot_prices "
            "columns: provider, zone, spec, ts, spot_price (or discount and on_demand_price)"
        )
    with wrap_errors("reading the points frame"):
        f = frame
        for col, dtype in (
            ("region", pl.String),
            ("spot_price", pl.Float64),
            ("discount", pl.Float64),
            ("on_demand_price", pl.Float64),
            ("currency", pl.String),
        ):
            if col not in f.columns:
                f = f.with_columns(pl.lit(None, dtype=dtype).alias(col))
        ts = f.schema["ts"]
        if ts == pl.String:
            f = f.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC"))
        elif isinstance(ts, pl.Datetime):
            if ts.time_zone is None:
                f = f.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
            else:
                f = f.with_columns(pl.col("ts").dt.convert_time_zone("UTC"))
        elif isinstance(ts, pl.Date):
            f = f.with_columns(pl.col("ts").cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        else:
            raise AnalysisError(f"the ts column must hold times, found {ts}")
        f = f.select(
            pl.col("provider").cast(pl.String),
            pl.coalesce(
                pl.col("region").cast(pl.String), region_of_zone_expr(pl.col("zone"))
            ).alias("region"),
            pl.col("zone").cast(pl.String),
            pl.col("spec").cast(pl.String),
            pl.col("ts").cast(pl.Datetime("us", "UTC")),
            pl.col("spot_price").cast(pl.Float64),
            pl.col("discount").cast(pl.Float64),
            pl.col("on_demand_price").cast(pl.Float64),
            pl.col("currency").cast(pl.String),
        )
        return f.unique(subset=["provider", "zone", "spec", "ts"], keep="last", maintain_order=True)


@dataclass
class _Source:
    """A DuckDB connection and a SELECT giving ``provider, region, zone, spec, ts, price,
    od, currency`` (price = spot price, else discount × on-demand; rows without a price are
    left out)."""

    con: duckdb.DuckDBPyConnection
    sql: str
    table: str
    catalog: bool


@contextmanager
def open_source(
    source: PriceSource,
    specs: Sequence[str] | None = None,
    zones: Sequence[str] | None = None,
    provider: str | None = None,
) -> Iterator[_Source]:
    """A store's ``spot_prices`` or a registered frame, filtered, as :class:`_Source`."""
    owned = None
    if isinstance(source, Store):
        con, table, catalog = source.con, "spot_prices", True
    elif isinstance(source, pl.DataFrame):
        frame = normalise_points(source)
        owned = duckdb.connect(
            ":memory:",
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
        owned.execute("SET TimeZone = 'UTC'")
        table = "_sl_frame"
        owned.register(table, frame)
        con, catalog = owned, False
    else:
        raise AnalysisError(
            f"expected a spotlab Store or a polars DataFrame of price points, got "
            f"{type(source).__name__}"
        )
    try:
        where = ["TRUE"]
        for col, vals in (("spec", specs), ("zone", zones), ("provider", [provider])):
            if vals and vals != [None]:
                where.append(f"s.{col} IN {_sql_list([v for v in vals if v is not None])}")
        null_prices = scalar(con, f"SELECT count(*) FROM {table} WHERE spot_price IS NULL")
        if catalog and null_prices:
            od = "coalesce(s.on_demand_price, c.on_demand_price)"
            join = "LEFT JOIN specs c USING (provider, region, spec)"
        else:
            od, join = "s.on_demand_price", ""
        sql = (
            f"SELECT s.provider, s.region, s.zone, s.spec, s.ts, "
            f"coalesce(s.spot_price, s.discount * {od}) AS price, {od} AS od, s.currency "
            f"FROM {table} s {join} WHERE {' AND '.join(where)} "
            f"AND coalesce(s.spot_price, s.discount * {od}) IS NOT NULL"
        )
        yield _Source(con=con, sql=sql, table=table, catalog=catalog)
    finally:
        if owned is not None:
            owned.close()


def series_index(src: _Source) -> pl.DataFrame:
    """One row per series: provider, region, zone, spec, first and last point, and the
    provider's newest point in the whole input (*now* for windows ending at "now")."""
    with wrap_errors("listing price series"):
        rel = src.con.sql(
            f"WITH s AS ({src.sql}), "
            f"now AS (SELECT provider, max(ts) AS provider_now FROM {src.table} GROUP BY ALL) "
            "SELECT provider, any_value(region) AS region, zone, spec, min(ts) AS first_ts, "
            "max(ts) AS last_ts, count(*) AS n_points, any_value(provider_now) AS provider_now "
            "FROM s JOIN now USING (provider) GROUP BY provider, zone, spec "
            "ORDER BY provider, spec, zone"
        )
        return rel.pl()


def check_selection(
    src: _Source, index: pl.DataFrame, specs: Sequence[str] | None, zones: Sequence[str] | None
) -> None:
    """Raise a clear AnalysisError when the selection matches no series."""
    if index.height:
        return
    known = {
        c: [r[0] for r in src.con.execute(f"SELECT DISTINCT {c} FROM {src.table}").fetchall()]
        for c in ("spec", "zone")
    }
    if not known["spec"]:
        raise NoDataError(
            "no spot price points to analyse: ingest price data first (`spotlab ingest data/`)"
        )
    hints = []
    for col, asked in (("spec", specs), ("zone", zones)):
        for a in asked or []:
            if a not in known[col]:
                hints.append(f"{col} {a!r} is not in the data.{did_you_mean(a, known[col])}")
    raise NoDataError(
        "no price series match the selection" + (": " + " ".join(hints) if hints else "")
    )


def make_windows(
    index: pl.DataFrame,
    window: str | timedelta | None = "30d",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    keys: Sequence[str] = ("provider", "region", "zone", "spec"),
) -> pl.DataFrame:
    """One analysis window per row of ``index`` (series, or providers with ``keys``):
    ``wid``, the keys, ``w_start, w_end`` (see the module docstring for the convention)."""
    length = parse_window(window)
    end_t, start_t = to_utc(end), to_utc(start)
    w = index.with_columns(
        w_end=(pl.lit(end_t) if end_t is not None else pl.col("provider_now")).cast(
            pl.Datetime("us", "UTC")
        )
    )
    if start_t is not None:
        w = w.with_columns(w_start=pl.lit(start_t).cast(pl.Datetime("us", "UTC")))
    elif length is not None:
        w = w.with_columns(w_start=pl.col("w_end") - pl.lit(length))
    else:
        w = w.with_columns(w_start=pl.lit(_EPOCH).cast(pl.Datetime("us", "UTC")))
    bad = w.filter(pl.col("w_start") >= pl.col("w_end"))
    if bad.height:
        raise AnalysisError(
            f"the window start {bad['w_start'][0]} is not before its end {bad['w_end'][0]}"
        )
    return w.with_row_index("wid").select(pl.col("wid").cast(pl.Int64), *keys, "w_start", "w_end")


def provider_bounds(
    src: _Source,
    window: str | timedelta | None = "30d",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> pl.DataFrame:
    """One window per provider: ``provider, provider_now, w_start, w_end`` (the module
    docstring's convention; *now* is the provider's newest point in the whole input)."""
    with wrap_errors("finding the newest prices"):
        now = src.con.sql(
            f"SELECT provider, max(ts) AS provider_now FROM {src.table} GROUP BY ALL"
        ).pl()
    return make_windows(now, window, start, end, keys=("provider", "provider_now"))


def series_levels(
    src: _Source,
    window: str | timedelta | None = "30d",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> tuple[pl.DataFrame, Levels]:
    """The series index and their :class:`Levels` over one window per provider.

    The fast path of :func:`window_levels` for the usual case (every series of a provider
    analysed over the same window): DuckDB finds each series' carried-in point and newest
    on-demand price in one grouped pass, and the points inside in one filtered scan, with
    no join on the series keys; a hash of the keys maps the points to their series.
    """
    bounds = provider_bounds(src, window, start, end)
    # per-provider window bounds as parameters (a join, even with a 1-row table, costs a
    # hash probe per row; a CASE on the provider does not)
    params: dict[str, object] = {}
    w_start, w_end, inside = "CASE s.provider", "CASE s.provider", []
    for i, b in enumerate(bounds.iter_rows(named=True)):
        params |= {f"p{i}": b["provider"], f"a{i}": b["w_start"], f"b{i}": b["w_end"]}
        w_start += f" WHEN $p{i} THEN $a{i}::TIMESTAMPTZ"
        w_end += f" WHEN $p{i} THEN $b{i}::TIMESTAMPTZ"
        # a plain filter (no join) keeps the table's row order, so rows stored in series
        # and time order need no sort afterwards
        inside.append(f"(s.provider = $p{i} AND s.ts > $a{i} AND s.ts < $b{i})")
    w_start, w_end = w_start + " END", w_end + " END"
    with wrap_errors("computing price levels"):
        index = src.con.sql(
            f"""
            WITH src AS ({src.sql})
            SELECT s.provider, any_value(s.region) AS region, s.zone, s.spec,
                hash(s.provider, s.zone, s.spec) AS h,
                min(s.ts) AS first_ts, max(s.ts) AS last_ts, count(*) AS n_points,
                max(s.ts) FILTER (WHERE s.ts <= {w_start}) AS carry_ts,
                arg_max(s.price, s.ts) FILTER (WHERE s.ts <= {w_start}) AS carry_price,
                arg_max(s.od, s.ts) FILTER (WHERE s.od IS NOT NULL AND s.ts < {w_end})
                    AS on_demand,
                any_value(s.currency) AS currency
            FROM src s
            GROUP BY s.provider, s.zone, s.spec
            ORDER BY s.provider, s.spec, s.zone
            """,
            params=params,
        ).pl()
        points = src.con.sql(
            f"""
            WITH src AS ({src.sql})
            SELECT hash(s.provider, s.zone, s.spec) AS h, s.ts, s.price
            FROM src s WHERE {" OR ".join(inside) or "FALSE"}
            """,
            params=params or None,
        ).pl()
    index = index.join(
        bounds.select("provider", "provider_now", "w_start", "w_end"),
        on="provider",
        how="left",
        maintain_order="left",
    )
    index = index.with_row_index("wid").with_columns(pl.col("wid").cast(pl.Int64))
    ids = index.select("h", "wid")
    windows = index.select("wid", "provider", "region", "zone", "spec", "w_start", "w_end")
    edge = index.select("wid", "carry_ts", "carry_price", "on_demand", "currency")
    levels = _reduce(src.con, windows, edge, points.rename({"h": "key"}), ids.rename({"h": "key"}))
    return index.drop("h"), levels


@dataclass
class Levels:
    """What :func:`window_levels` computes for a set of windows.

    - ``windows``: one row per window: ``wid, provider, region, zone, spec, w_start,
      w_end`` and, from the points, ``start`` (first covered time), ``seconds`` (covered
      time), ``points`` (change points used, including the one carried in), ``changes``
      (price changes inside the window), ``newest_ts`` (newest point before the end),
      ``min, mean, max`` (time-weighted mean), ``on_demand`` (the newest on-demand price),
      ``currency``. Windows without data have null ``seconds``.
    - ``levels``: one row per (window, distinct price level), sorted: ``wid, level,
      level_seconds`` (time at this level), ``level_price_seconds`` (level × seconds) and
      ``dups``
      (up-crossings starting at this level minus those ending at it: its cumulative sum
      over levels ≤ b is the number of up-crossings of a bid b).
    """

    windows: pl.DataFrame
    levels: pl.DataFrame


def window_levels(src: _Source, windows: pl.DataFrame) -> Levels:
    """Clip each series to its windows and reduce it to price levels.

    ``windows`` needs ``wid`` = 0..n-1 (its row index), the series keys, ``w_start`` and
    ``w_end``; windows may overlap (backtests), each is computed on its own. DuckDB finds,
    per window, the point carried in at the start, the newest on-demand price, and the
    points inside; polars turns them into held durations with shifts. Rows already come in
    (window, time) runs when the table is stored in series and time order, as ingestion
    writes it; otherwise they are sorted first.
    """
    if windows.height and not windows["wid"].equals(
        pl.Series("wid", range(windows.height), dtype=windows.schema["wid"])
    ):
        raise AnalysisError("internal: window ids must be 0..n-1 in order")
    tag = uuid.uuid4().hex[:8]
    wname = f"_sl_w_{tag}"
    con = src.con
    lo, hi = windows["w_start"].min(), windows["w_end"].max()
    keys = "p.provider = w.provider AND p.zone = w.zone AND p.spec = w.spec"
    con.register(wname, windows.select("wid", *SERIES, "w_start", "w_end"))
    try:
        with wrap_errors("computing price levels"):
            edge = con.sql(
                f"""
                WITH src AS ({src.sql})
                SELECT w.wid,
                    max(p.ts) FILTER (WHERE p.ts <= w.w_start) AS carry_ts,
                    arg_max(p.price, p.ts) FILTER (WHERE p.ts <= w.w_start) AS carry_price,
                    arg_max(p.od, p.ts) FILTER (WHERE p.od IS NOT NULL) AS on_demand,
                    arg_max(p.currency, p.ts) AS currency
                FROM {wname} w JOIN (SELECT * FROM src WHERE ts < $hi) p
                  ON {keys} AND p.ts < w.w_end
                GROUP BY w.wid
                """,
                params={"hi": hi},
            ).pl()
            inside = con.sql(
                f"""
                WITH src AS ({src.sql})
                SELECT w.wid, p.ts, p.price
                FROM {wname} w
                JOIN (SELECT provider, zone, spec, ts, price FROM src
                      WHERE ts > $lo AND ts < $hi) p
                  ON {keys} AND p.ts > w.w_start AND p.ts < w.w_end
                """,
                params={"lo": lo, "hi": hi},
            ).pl()
    finally:
        con.unregister(wname)
    return _reduce(con, windows, edge, inside.rename({"wid": "key"}))


def _in_runs(wid: pl.Series, ts: pl.Series) -> bool:
    """True when every window's rows are contiguous and strictly increasing in time."""
    if wid.len() < 2:
        return True
    same = wid.slice(1) == wid.slice(0, wid.len() - 1)
    rising = ts.slice(1) > ts.slice(0, ts.len() - 1)
    if not bool((rising | ~same).all()):
        return False
    starts = pl.concat([wid.head(1), wid.slice(1).filter(~same)])
    return not bool(starts.is_duplicated().any())


def _reduce(
    con: duckdb.DuckDBPyConnection,
    windows: pl.DataFrame,
    edge: pl.DataFrame,
    inside: pl.DataFrame,
    keys: pl.DataFrame | None = None,
) -> Levels:
    """Held durations, level sums and up-crossing counts from the carried-in points
    (``edge``: wid, carry_ts, carry_price, on_demand, currency) and the points inside each
    window (``inside``: key, ts, price). ``keys`` maps ``key`` to ``wid`` (default: the key
    is the wid). Durations come from shifts in polars; the group-bys run in DuckDB."""
    n = windows.height
    edge = edge.cast({"wid": pl.Int64})
    # per-window values by position (wid = row index): gathered, never joined row by row
    per_w = (
        pl.DataFrame({"wid": pl.int_range(n, eager=True, dtype=pl.Int64)})
        .join(edge, on="wid", how="left")
        .sort("wid")
        .with_columns(w_start=windows["w_start"], w_end=windows["w_end"])
    )
    if not _in_runs(inside["key"], inside["ts"]):
        inside = inside.sort("key", "ts")
    key = inside["key"]
    first = (key != key.shift(1)).fill_null(True)
    last = (key != key.shift(-1)).fill_null(True)
    run = first.cast(pl.Int64).cum_sum() - 1
    run_keys = inside.filter(first).select("key")
    if keys is None:
        run_wid = run_keys["key"].cast(pl.Int64)
    else:
        run_wid = run_keys.join(keys, on="key", how="left", maintain_order="left")["wid"]
    run_w = run_wid.cast(pl.Int64)
    wid = run_w.cast(pl.Int32).gather(run).alias("wid")
    del run
    ts = inside["ts"]
    price = inside["price"].cast(pl.Float64)
    first_idx, last_idx = first.arg_true(), last.arg_true()
    # a point holds until the next point of its window, the last one until the window end
    nxt = ts.shift(-1).scatter(last_idx, per_w["w_end"].gather(run_w))
    dur = ((nxt - ts).dt.total_microseconds() / 1e6).alias("dur")
    del nxt
    # the price before the first point inside is the one carried in (null: none)
    p_prev = price.shift(1).scatter(first_idx, per_w["carry_price"].cast(pl.Float64).gather(run_w))
    rise = (price > p_prev).fill_null(False)
    changed = ((price != p_prev).fill_null(False)).cast(pl.Int64).cum_sum()
    del p_prev
    # up-crossings of a bid b are the rises from a level <= b to one > b: each segment
    # counts +1 at its level when the next one rises from it, -1 when it rose itself
    rises_next = rise.shift(-1).fill_null(False).scatter(last_idx, False)
    d = (rises_next.cast(pl.Int8) - rise.cast(pl.Int8)).alias("d")
    seg_in = pl.DataFrame([wid, price.alias("price"), dur, d])
    del wid, dur, d, rises_next
    runs = pl.DataFrame(
        {
            "wid": run_w,
            "first_in": ts.gather(first_idx),
            "last_in": ts.gather(last_idx),
            "n_in": (last_idx - first_idx + 1).cast(pl.Int64),
            "first_price": price.gather(first_idx),
            # price changes inside the window: running count at the last point minus the
            # count before the first (a change into the first point counts, from the carry)
            "changes": changed.gather(last_idx)
            - changed.gather(first_idx)
            + (
                (price.gather(first_idx) != per_w["carry_price"].gather(run_w)).fill_null(False)
            ).cast(pl.Int64),
        }
    )
    del rise, changed
    per_w = per_w.join(runs, on="wid", how="left").with_columns(pl.col("n_in").fill_null(0))
    seg_carry = per_w.filter(pl.col("carry_ts").is_not_null()).select(
        pl.col("wid").cast(pl.Int32),
        price=pl.col("carry_price").cast(pl.Float64),
        dur=(pl.coalesce("first_in", "w_end") - pl.col("w_start")).dt.total_microseconds() / 1e6,
        d=(pl.col("first_price") > pl.col("carry_price")).fill_null(False).cast(pl.Int8),
    )
    seg = pl.concat([seg_carry, seg_in], how="vertical_relaxed")
    del seg_in
    name = f"_sl_seg_{uuid.uuid4().hex[:8]}"
    con.register(name, seg)
    try:
        with wrap_errors("aggregating price levels"):
            levels = con.sql(
                f"""
                SELECT wid, price AS level, sum(dur) AS level_seconds,
                    sum(price * dur) AS level_price_seconds, sum(d)::BIGINT AS dups
                FROM {name} GROUP BY ALL ORDER BY wid, level
                """
            ).pl()
    finally:
        con.unregister(name)
    del seg
    levels = levels.cast({"wid": pl.Int64})
    stats = levels.group_by("wid").agg(
        seconds=pl.col("level_seconds").sum(),
        min=pl.col("level").min(),
        max=pl.col("level").max(),
        mean=pl.col("level_price_seconds").sum() / pl.col("level_seconds").sum(),
    )
    info = (
        per_w.join(stats, on="wid", how="left")
        .select(
            "wid",
            first_ts=pl.coalesce("carry_ts", "first_in"),
            newest_ts=pl.coalesce("last_in", "carry_ts"),
            points=(pl.col("n_in") + pl.col("carry_ts").is_not_null().cast(pl.Int64)).cast(
                pl.Int64
            ),
            changes=pl.col("changes").fill_null(0).cast(pl.Int64),
            seconds="seconds",
            min="min",
            mean="mean",
            max="max",
            on_demand="on_demand",
            currency="currency",
        )
        .with_columns(points=pl.when(pl.col("seconds").is_not_null()).then("points"))
    )
    win = windows.join(info, on="wid", how="left").with_columns(
        start=pl.max_horizontal("w_start", "first_ts"),
    )
    return Levels(windows=win, levels=levels)


def catalog_on_demand(src: _Source, windows: pl.DataFrame) -> pl.DataFrame:
    """Fill ``on_demand`` (and ``currency``) from the store's specs catalog where the
    points carry none."""
    if not src.catalog or windows.filter(pl.col("on_demand").is_null()).height == 0:
        return windows
    cat = src.con.sql(
        "SELECT provider, region, spec, on_demand_price AS _cat_od, currency AS _cat_cur "
        "FROM specs WHERE on_demand_price IS NOT NULL"
    ).pl()
    return (
        windows.join(cat, on=["provider", "region", "spec"], how="left")
        .with_columns(
            on_demand=pl.coalesce("on_demand", "_cat_od"),
            currency=pl.coalesce("currency", "_cat_cur"),
        )
        .drop("_cat_od", "_cat_cur")
    )


def cumulative(levels: pl.DataFrame) -> pl.DataFrame:
    """Add running sums over levels: ``cum_seconds``, ``cum_price_seconds`` and ``ups``
    (up-crossings of a bid at this level)."""
    return levels.with_columns(
        cum_seconds=pl.col("level_seconds").cum_sum().over("wid"),
        cum_price_seconds=pl.col("level_price_seconds").cum_sum().over("wid"),
        ups=pl.col("dups").cum_sum().over("wid"),
    )


def value_at(
    cum: pl.DataFrame, queries: pl.DataFrame, columns: Sequence[str], key: str = "wid"
) -> pl.DataFrame:
    """For each query row (``key``, ``at``) the ``columns`` of the highest level <= ``at``
    in its window (null when ``at`` is below every level or null). ``cum`` must be sorted
    by (key, level), as :func:`cumulative` returns it. One as-of join per key group."""
    q = queries.select(key, "at").with_row_index("_q").with_columns(pl.col("at").cast(pl.Float64))
    valid = q.filter(pl.col("at").is_not_null()).sort(key, "at")
    right = cum.select(key, pl.col("level").cast(pl.Float64).alias("_level"), *columns)
    hit = valid.join_asof(
        right,
        left_on="at",
        right_on="_level",
        by=key,
        strategy="backward",
        check_sortedness=False,
    ).select("_q", *columns)
    return q.join(hit, on="_q", how="left").sort("_q").drop("_q")


# -- price statistics ----------------------------------------------------------------------


def flags_expr(min_history_hours: float = MIN_HISTORY_HOURS) -> pl.Expr:
    """'; '-joined warnings about a window: short history, stale data, no on-demand price."""
    hours = (pl.col("w_end") - pl.col("start")).dt.total_seconds() / 3600
    age_h = (pl.col("w_end") - pl.col("newest_ts")).dt.total_seconds() / 3600
    parts = [
        pl.when(pl.col("seconds").is_null()).then(pl.lit("no price point in the window")),
        pl.when(hours < min_history_hours).then(
            pl.format(
                "short history: {} h of data (< {} h)",
                hours.round(1),
                pl.lit(f"{min_history_hours:g}"),
            )
        ),
        pl.when(age_h > STALE_AFTER_HOURS).then(
            pl.format(
                "stale: newest point {} h before the window end (> {} h)",
                age_h.round(1),
                pl.lit(f"{STALE_AFTER_HOURS:g}"),
            )
        ),
        pl.when(pl.col("on_demand").is_null() & pl.col("seconds").is_not_null()).then(
            pl.lit("no on-demand price (load a specs catalog)")
        ),
    ]
    text = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(text != "").then(text).alias("flags")


def price_stats(
    source: PriceSource,
    specs: str | Sequence[str] | None = None,
    zones: str | Sequence[str] | None = None,
    window: str | timedelta | None = "30d",
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
) -> pl.DataFrame:
    """Time-weighted statistics per (provider, zone, spec) over a window.

    Columns: ``provider, region, zone, spec, currency, start, end, hours, points, changes,
    min, mean, p50, p90, p99, max, on_demand, discount`` (mean ÷ on-demand),
    ``share_above_rule`` (share of time above 20% of on-demand), ``newest_age_h`` (age
    of the newest point at the window end) and ``flags``. Quantiles are time-weighted: p90
    is the lowest price the market was at or below for 90% of the time.

    >>> price_stats(store, window="7d")  # doctest: +SKIP
    """
    specs_l, zones_l = _as_list(specs), _as_list(zones)
    with open_source(source, specs_l, zones_l, provider) as src:
        index, lv = series_levels(src, window, start, end)
        check_selection(src, index, specs_l, zones_l)
        win = catalog_on_demand(src, lv.windows)
    cum = cumulative(lv.levels).join(win.select("wid", "seconds"), on="wid")
    cum = cum.with_columns(share=pl.col("cum_seconds") / pl.col("seconds"))
    q = cum.group_by("wid").agg(
        *[
            pl.col("level").filter(pl.col("share") >= p - 1e-12).min().alias(name)
            for name, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        ]
    )
    rule = value_at(
        cum, win.select("wid", at=RULE_FRACTION * pl.col("on_demand")), ["share"]
    ).select(
        "wid",
        share_above_rule=pl.when(pl.col("at").is_not_null()).then(
            1.0 - pl.col("share").fill_null(0.0)
        ),
    )
    out = win.join(q, on="wid", how="left").join(rule, on="wid", how="left")
    return out.select(
        "provider",
        "region",
        "zone",
        "spec",
        "currency",
        "start",
        pl.col("w_end").alias("end"),
        ((pl.col("w_end") - pl.col("start")).dt.total_seconds() / 3600).alias("hours"),
        "points",
        "changes",
        "min",
        "mean",
        "p50",
        "p90",
        "p99",
        "max",
        "on_demand",
        (pl.col("mean") / pl.col("on_demand")).alias("discount"),
        "share_above_rule",
        ((pl.col("w_end") - pl.col("newest_ts")).dt.total_seconds() / 3600).alias("newest_age_h"),
        flags_expr(),
    ).sort("provider", "spec", "zone")


# -- step series for charts ----------------------------------------------------------------


def price_steps(
    source: PriceSource,
    spec: str,
    zone: str | None = None,
    window: str | timedelta | None = "30d",
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    provider: str | None = None,
) -> pl.DataFrame:
    """The market step line of a spec in its window, ready to draw with step-after
    interpolation: ``provider, zone, spec, ts, price, on_demand``. The point in effect at
    the window start is moved to the start, and a last row at the window end closes the
    final step."""
    zones_l = _as_list(zone)
    with open_source(source, [spec], zones_l, provider) as src:
        index = series_index(src)
        check_selection(src, index, [spec], zones_l)
        win = make_windows(index, window, start, end)
        wname = f"_sl_w_{uuid.uuid4().hex[:8]}"
        src.con.register(wname, win)
        try:
            with wrap_errors("reading the price steps"):
                steps = src.con.sql(
                    f"""
                    WITH src AS ({src.sql}),
                    carry AS (
                        SELECT w.wid, w.w_start AS ts, p.price, p.od FROM {wname} w
                        ASOF JOIN src p ON p.provider = w.provider AND p.zone = w.zone
                         AND p.spec = w.spec AND w.w_start >= p.ts
                    ),
                    inside AS (
                        SELECT w.wid, p.ts, p.price, p.od FROM {wname} w JOIN src p
                          ON p.provider = w.provider AND p.zone = w.zone AND p.spec = w.spec
                         AND p.ts > w.w_start AND p.ts < w.w_end
                    ),
                    body AS (SELECT * FROM carry UNION ALL SELECT * FROM inside),
                    last AS (
                        SELECT w.wid, w.w_end AS ts, arg_max(b.price, b.ts) AS price,
                            arg_max(b.od, b.ts) AS od
                        FROM {wname} w JOIN body b USING (wid) GROUP BY ALL
                    )
                    SELECT w.provider, w.zone, w.spec, x.ts, x.price, x.od AS on_demand
                    FROM (SELECT * FROM body UNION ALL SELECT * FROM last) x
                    JOIN {wname} w USING (wid)
                    ORDER BY w.provider, w.zone, w.spec, x.ts
                    """
                ).pl()
        finally:
            src.con.unregister(wname)
    return steps


def resample_prices(
    steps: pl.DataFrame, every: str = "1h", how: str = "max", by: Sequence[str] = SERIES
) -> pl.DataFrame:
    """Resample step series (``ts, price`` per ``by`` group, e.g. from :func:`price_steps`)
    to a regular grid for charts. ``how="last"`` takes the price in effect at each grid
    time; ``"max"`` the highest price in effect during each interval (spikes stay visible);
    ``"mean"`` the time-weighted mean over each interval."""
    if how not in ("last", "max", "mean"):
        raise AnalysisError(f"how must be 'last', 'max' or 'mean', got {how!r}")
    by = list(by)
    s = steps.sort([*by, "ts"])
    with wrap_errors("resampling prices"):
        grid = (
            s.group_by(by)
            .agg(
                pl.datetime_ranges(
                    pl.col("ts").min().dt.truncate(every), pl.col("ts").max(), every
                ).alias("ts")
            )
            .explode("ts")
        )
        at = grid.sort([*by, "ts"]).join_asof(s, on="ts", by=by, strategy="backward")
        if how == "last":
            return at.filter(pl.col("price").is_not_null())
        # pieces: every change point plus every grid time, each holding to the next piece
        pieces = (
            pl.concat([at.select(*by, "ts", "price"), s.select(*by, "ts", "price")])
            .filter(pl.col("price").is_not_null())
            .unique(subset=[*by, "ts"], keep="first")
            .sort([*by, "ts"])
            .with_columns(
                held=(pl.col("ts").shift(-1).over(by) - pl.col("ts")).dt.total_seconds(),
                bucket=pl.col("ts").dt.truncate(every),
            )
        )
        if how == "max":
            agg = pl.col("price").max()
        else:
            w = pl.col("held").fill_null(0)
            agg = (
                pl.when(w.sum() > 0)
                .then((pl.col("price") * w).sum() / w.sum())
                .otherwise(pl.col("price").last())
            )
        return (
            pieces.group_by([*by, "bucket"])
            .agg(agg.alias("price"))
            .rename({"bucket": "ts"})
            .sort([*by, "ts"])
        )


def provider_now(source: PriceSource) -> dict[str, datetime]:
    """Provider → newest point (the default window end)."""
    with open_source(source) as src:
        rows = src.con.execute(
            f"SELECT provider, max(ts) FROM {src.table} GROUP BY ALL ORDER BY 1"
        ).fetchall()
    return {r[0]: r[1] for r in rows}
