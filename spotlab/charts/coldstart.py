"""Charts of cold-start savings: load-time fits, replacement timelines, monthly savings.

Pure builders: frames from :mod:`spotlab.advise.coldstart` in, altair charts out.
"""

from __future__ import annotations

import altair as alt
import polars as pl

_SETUP_ORDER = ["plain", "cachefs", "acr", "both"]
#: how a setup that cannot run is marked (its bars grey, its saving not drawn)
UNAVAILABLE = "unavailable"


def _unavailable(frame: pl.DataFrame) -> set[str]:
    """Setups a frame marks as not available (``available`` False): their cache does not
    fit the spec's memory."""
    if "available" not in frame.columns:
        return set()
    return set(frame.filter(~pl.col("available").fill_null(True))["setup"].to_list())


_STAGES = [
    ("scheduling_seconds", "scheduling"),
    ("pull_seconds", "image pull"),
    ("image_start_seconds", "container start"),
    ("load_seconds", "model load"),
    ("warmup_seconds", "warm-up"),
]


def load_fit_chart(points: pl.DataFrame, curves: pl.DataFrame) -> alt.TopLevelMixin:
    """Model size vs load seconds per path: measured points, fitted line, interval band and
    the physical floor (dashed).

    ``points``: ``model, size_gb, path, load_seconds`` (+ optional boolean ``outlier``,
    see :func:`~spotlab.advise.coldstart.mark_outliers`);
    ``curves``: :func:`~spotlab.advise.coldstart.load_fit_curves`.
    """
    pts = points.select(
        "model",
        "size_gb",
        "path",
        "load_seconds",
        *(["outlier"] if "outlier" in points.columns else []),
    )
    if "outlier" not in pts.columns:
        pts = pts.with_columns(pl.lit(False).alias("outlier"))
    color = alt.Color("path:N", title="load path")
    x = alt.X("size_gb:Q", title="model size (GB)")
    band = (
        alt.Chart(curves)
        .mark_area(opacity=0.2)
        .encode(
            x=x,
            y=alt.Y("load_seconds_lo:Q", title="load time (s)"),
            y2="load_seconds_hi:Q",
            color=color,
        )
    )
    line = alt.Chart(curves).mark_line().encode(x=x, y="load_seconds:Q", color=color)
    floor = (
        alt.Chart(curves.drop_nulls("floor_seconds"))
        .mark_line(strokeDash=[4, 4], opacity=0.6)
        .encode(x=x, y="floor_seconds:Q", color=color, detail="path:N")
    )
    dots = (
        alt.Chart(pts)
        .mark_point(filled=True, size=60)
        .encode(
            x=x,
            y="load_seconds:Q",
            color=color,
            shape=alt.Shape("outlier:N", title="Huber outlier"),
            tooltip=[
                alt.Tooltip("model:N"),
                alt.Tooltip("path:N"),
                alt.Tooltip("size_gb:Q"),
                alt.Tooltip("load_seconds:Q"),
                alt.Tooltip("outlier:N"),
            ],
        )
    )
    return alt.layer(band, line, floor, dots).properties(
        title="Model load time vs size (band: 90% bootstrap interval; dashed: physical floor)",
        width=520,
        height=320,
    )


def timeline_chart(timeline: pl.DataFrame) -> alt.TopLevelMixin:
    """Stacked start-up stages per setup with a rule at the reclaim warning lead time; a
    setup that cannot run (``available`` False) is greyed and labelled unavailable."""
    off = _unavailable(timeline)
    long = (
        timeline.select("setup", *[c for c, _ in _STAGES])
        .unpivot(index="setup", variable_name="stage_col", value_name="seconds")
        .with_columns(
            pl.col("stage_col").replace_strict(dict(_STAGES), return_dtype=pl.String).alias("stage")
        )
        .with_columns(
            pl.col("stage_col")
            .replace_strict({c: i for i, (c, _) in enumerate(_STAGES)}, return_dtype=pl.Int64)
            .alias("order")
        )
        .with_columns(
            pl.when(pl.col("setup").is_in(list(off)))
            .then(pl.lit(0.3))
            .otherwise(pl.lit(1.0))
            .alias("opacity"),
            pl.when(pl.col("setup").is_in(list(off)))
            .then(pl.col("setup") + f" ({UNAVAILABLE})")
            .otherwise(pl.col("setup"))
            .alias("setup"),
        )
    )
    order = [f"{s} ({UNAVAILABLE})" if s in off else s for s in _SETUP_ORDER]
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("setup:N", sort=order, title=None),
            opacity=alt.Opacity("opacity:Q", legend=None, scale=None),
            x=alt.X("sum(seconds):Q", title="seconds from the reclaim warning"),
            color=alt.Color("stage:N", sort=[s for _, s in _STAGES], title="stage"),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("setup:N"),
                alt.Tooltip("stage:N"),
                alt.Tooltip("seconds:Q", format=".1f"),
            ],
        )
    )
    lead = timeline.select(pl.col("lead_seconds").first())
    rule = (
        alt.Chart(lead)
        .mark_rule(color="black", strokeDash=[6, 3])
        .encode(x="lead_seconds:Q", tooltip=[alt.Tooltip("lead_seconds:Q", title="warning lead")])
    )
    return alt.layer(bars, rule).properties(
        title="Replacement start-up (dashed: the old instance goes; beyond it = downtime)",
        width=520,
        height=160,
    )


def savings_chart(savings: pl.DataFrame) -> alt.TopLevelMixin:
    """Monthly saving against plain per setup (bars), from ``monthly_savings``; or saving vs
    reclaim rate (lines) when the frame has several ``reclaims_per_month`` values.

    A setup that cannot run (``available`` False: its cache does not fit the spec's memory)
    gets no bar, only the word "unavailable" at zero, so it never looks like the best."""
    cur = savings["currency"][0] if "currency" in savings.columns else ""
    y_title = f"monthly saving vs plain ({cur})" if cur else "monthly saving vs plain"
    if savings["reclaims_per_month"].n_unique() > 1:
        return (
            alt.Chart(savings.filter(pl.col("setup") != "plain"))
            .mark_line(point=True)
            .encode(
                x=alt.X("reclaims_per_month:Q", title="reclaims per month"),
                y=alt.Y("monthly_saving:Q", title=y_title),
                color=alt.Color("setup:N", sort=_SETUP_ORDER),
                tooltip=[
                    alt.Tooltip("setup:N"),
                    alt.Tooltip("reclaims_per_month:Q"),
                    alt.Tooltip("monthly_saving:Q", format=".2f"),
                ],
            )
            .properties(title="Saving grows with the reclaim rate", width=520, height=260)
        )
    off = _unavailable(savings)
    bars = (
        alt.Chart(savings.filter(~pl.col("setup").is_in(list(off))))
        .mark_bar()
        .encode(
            x=alt.X("setup:N", sort=_SETUP_ORDER, title=None, scale=alt.Scale(domain=_SETUP_ORDER)),
            y=alt.Y("monthly_saving:Q", title=y_title),
            color=alt.Color("setup:N", sort=_SETUP_ORDER, legend=None),
            tooltip=[
                alt.Tooltip("setup:N"),
                alt.Tooltip("monthly_saving:Q", format=".2f"),
                alt.Tooltip("downtime_seconds:Q", format=".0f"),
                alt.Tooltip("total_seconds:Q", format=".0f"),
            ],
        )
    )
    title = "Monthly saving against a plain setup"
    if not off:
        return bars.properties(title=title, width=300, height=220)
    marks = (
        alt.Chart(pl.DataFrame({"setup": sorted(off), "y": [0.0] * len(off),
                                "text": [UNAVAILABLE] * len(off)}))
        .mark_text(angle=270, align="left", dx=6, color="#777777")
        .encode(x=alt.X("setup:N", sort=_SETUP_ORDER), y="y:Q", text="text:N")
    )  # fmt: skip
    return alt.layer(bars, marks).properties(
        title=f"{title} ({', '.join(sorted(off))}: cache does not fit, unavailable)",
        width=300,
        height=220,
    )
