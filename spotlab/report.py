"""The headless report (``make report``, ``spotlab report --out out/``).

What was loaded (every source with its row accounting, rejects counted by reason) and what
the prices look like (one time-weighted summary row per price series). :func:`build_report`
only reads the store; :func:`write_report` also writes the tables as CSV and a Markdown
summary under a folder.

>>> import spotlab as sl
>>> rep = sl.build_report(sl.Store(":memory:"))
>>> rep.totals()["rows_read"]
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from spotlab.prices import price_stats, price_summary
from spotlab.sources import reject_reasons
from spotlab.store import Store
from spotlab.text import write_csv

if TYPE_CHECKING:
    import altair as alt

    from spotlab.overview import Overview

#: source files whose rows are SYNTHETIC (made by spotlab.datasets), by path fragment
SYNTHETIC_PATHS = ("eas_sample/", "traffic_sample.csv")

SOURCE_COLUMNS = (
    "source_id", "uri", "format", "kind", "rows_read", "rows_loaded", "rows_duplicate",
    "rows_rejected", "naive_timestamps", "synthetic",
)  # fmt: skip
COUNTS = ("rows_read", "rows_loaded", "rows_duplicate", "rows_rejected", "naive_timestamps")


@dataclass
class Report:
    """The report's tables; ``files`` lists what :func:`write_report` wrote."""

    database: str
    sources: pl.DataFrame
    reject_reasons: pl.DataFrame
    prices: pl.DataFrame
    files: list[Path] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Row counts over every source (``rows_read = loaded + duplicate + rejected``)."""
        return {c: int(self.sources[c].sum() or 0) for c in COUNTS} | {
            "sources": self.sources.height,
            "price_series": self.prices.height,
        }

    def markdown(self) -> str:
        """The summary as Markdown: totals, sources, reject reasons, price series."""
        t = self.totals()
        balanced = t["rows_read"] == t["rows_loaded"] + t["rows_duplicate"] + t["rows_rejected"]
        lines = [
            "# spotlab report",
            "",
            f"Database: `{self.database}`.",
            "",
            "## Ingest",
            "",
            f"{t['sources']} source files: {t['rows_read']:,} rows read = "
            f"{t['rows_loaded']:,} loaded + {t['rows_duplicate']:,} duplicates + "
            f"{t['rows_rejected']:,} rejected"
            + ("" if balanced else " (DOES NOT ADD UP)")
            + f"; {t['naive_timestamps']:,} timestamps without an offset were taken as UTC.",
            "",
        ]
        if self.sources["synthetic"].any():
            lines += [
                "Sources marked `synthetic` hold SYNTHETIC data made by `spotlab.datasets` "
                "(see data/README.md), not measured prices.",
                "",
            ]
        lines += [markdown_table(self.sources), "", "### Reject reasons", ""]
        if self.reject_reasons.height:
            lines.append(markdown_table(self.reject_reasons))
        else:
            lines.append("No row was rejected.")
        lines += [
            "",
            "## Prices",
            "",
            f"{t['price_series']} price series (provider, zone, spec). Prices are per hour in "
            "the series' currency; `tw_mean` and `tw_mean_discount` are time-weighted (each "
            "change point holds until the next one; the last until the newest time stored); "
            "`tw_mean_discount` is spot ÷ on-demand.",
            "",
            markdown_table(self.prices) if self.prices.height else "No prices are stored.",
            "",
        ]
        return "\n".join(lines)


def build_report(store: Store) -> Report:
    """The report's tables from a store (reads only)."""
    src = store.query(
        "SELECT source_id, uri, format, kind, rows_read, rows_loaded, rows_duplicate, "
        "rows_rejected, naive_timestamps FROM sources ORDER BY source_id"
    )
    uri = pl.col("uri").str.replace_all("\\", "/", literal=True)
    marks = [uri.str.contains(p, literal=True) for p in SYNTHETIC_PATHS]
    src = src.with_columns(synthetic=pl.any_horizontal(marks)).select(SOURCE_COLUMNS)
    reasons = reject_reasons(store)
    if reasons.height:
        reasons = reasons.join(src.select("source_id", "uri"), on="source_id", how="left").select(
            "source_id", "uri", "reason", "rows"
        )
    return Report(store.path, src, reasons, price_summary(store))


def write_report(store: Store, out: str | Path) -> Report:
    """Build the report and write it under ``out``: ``sources.csv``, ``reject_reasons.csv``,
    ``price_summary.csv`` and ``summary.md``. Returns the report with ``files`` set."""
    rep = build_report(store)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "sources.csv": rep.sources,
        "reject_reasons.csv": rep.reject_reasons,
        "price_summary.csv": rep.prices,
    }
    for name, frame in tables.items():
        write_csv(frame, folder / name, datetime_format="%Y-%m-%dT%H:%M:%SZ")
        rep.files.append(folder / name)
    summary = folder / "summary.md"
    summary.write_text(rep.markdown(), encoding="utf-8")
    rep.files.append(summary)
    return rep


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pl.DataFrame) -> str:
    """A frame as a GitHub Markdown table (floats to 4 significant digits, UTC minutes)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if dt.is_numeric() else "---" for dt in frame.dtypes) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *body])


# -- what the front page says besides the tables -------------------------------------------


@dataclass(frozen=True)
class Flag:
    """A data-quality flag: ``kind`` is synthetic, estimate, stale, rejects or utc."""

    kind: str
    text: str


def _synthetic_share(
    store: Store, rep: Report, table: str, where: str = "", args: Any = None
) -> float:
    """Share of a table's rows that came from SYNTHETIC sources (0 when it is empty)."""
    ids = rep.sources.filter(pl.col("synthetic"))["source_id"].to_list()
    got = store.query(
        f"SELECT count(*) AS n, count(*) FILTER (WHERE source_id IN (SELECT unnest(?))) AS s "
        f"FROM {table} {where}",
        [ids, *(args or [])],
    )
    n, syn = int(got["n"][0]), int(got["s"][0])
    return syn / n if n else 0.0


def data_nature(store: Store, rep: Report, ov: Overview | None) -> str:
    """The front page's first line: the period of the prices the advice read and what the
    data is (real, SYNTHETIC, estimated prices)."""
    parts: list[str] = []
    provider = ov.provider if ov is not None else None
    if ov is not None and ov.period is not None:
        first, last = ov.period
        days = (last - first).total_seconds() / 86400
        parts.append(f"Prices {first:%Y-%m-%d} → {last:%Y-%m-%d} ({days:.0f} days, {ov.provider})")
    elif rep.prices.height:
        lo, hi = rep.prices["first"].min(), rep.prices["last"].max()
        parts.append(f"Prices {_cell(lo)[:10]} → {_cell(hi)[:10]}")
    else:
        parts.append("No prices stored")
    if provider is not None and rep.prices.height:
        share = _synthetic_share(store, rep, "spot_prices", "WHERE provider = ?", [provider])
        if share == 1:
            parts.append(f"SYNTHETIC {provider} spot prices (a seeded generator, not measured)")
        elif share > 0:
            parts.append(f"{share:.0%} of the {provider} spot prices SYNTHETIC")
        else:
            parts.append(f"real {provider} spot prices")
    if "traffic" in store.tables() and _synthetic_share(store, rep, "traffic") == 1:
        parts.append("SYNTHETIC traffic")
    est = store.query(
        "SELECT count(DISTINCT spec) FILTER (WHERE price_is_estimate) AS e, "
        "count(DISTINCT spec) AS n FROM specs"
    ).row(0)
    if est[0]:
        parts.append(f"estimated on-demand prices for {est[0]} of {est[1]} catalog specs")
    return " · ".join(parts) + "."


def data_flags(store: Store, rep: Report, ov: Overview | None = None) -> list[Flag]:
    """What a reader must know about the data behind the figures: SYNTHETIC sources,
    estimated prices (those the advice uses first), stale price series, rejected rows and
    timestamps read as UTC."""
    flags: list[Flag] = []
    syn = rep.sources.filter(pl.col("synthetic"))
    if syn.height:
        kinds = ", ".join(sorted(set(syn["kind"].to_list())))
        flags.append(
            Flag(
                "synthetic",
                f"SYNTHETIC data: {syn.height} of {rep.sources.height} source files ({kinds}) "
                "are made by spotlab.datasets' seeded generator, not measured; figures from "
                "them show how spotlab works, not what your service will pay.",
            )
        )
    est = store.query("SELECT DISTINCT spec FROM specs WHERE price_is_estimate ORDER BY spec")
    if est.height:
        used = []
        if ov is not None:
            named = set(est["spec"].to_list())
            used = sorted({e.spec for e in ov.ordering.entries if e.spec in named})
        extra = (
            f"; the advice prices {', '.join(used)} with one (fallback, bids ÷ on-demand)"
            if used
            else ""
        )
        flags.append(
            Flag(
                "estimate",
                f"Estimated prices: the on-demand price of {est.height} catalog specs is an "
                f"estimate (price_is_estimate){extra}.",
            )
        )
    if rep.prices.height:
        stats = price_stats(store, window=ov.window if ov is not None else "30d")
        stale = stats.filter(pl.col("flags").str.contains("stale").fill_null(False))
        if stale.height:
            examples = ", ".join(
                f"{r['provider']} {r['spec']} {r['zone']}"
                for r in stale.head(3).iter_rows(named=True)
            )
            flags.append(
                Flag(
                    "stale",
                    f"Stale series: {stale.height} of {stats.height} price series have no "
                    f"change point in the last day of their window (e.g. {examples}); their "
                    "last price is taken to hold.",
                )
            )
    t = rep.totals()
    if t["rows_rejected"]:
        top = rep.reject_reasons.sort("rows", descending=True).head(3)
        reasons = "; ".join(f"{r['reason']} ({r['rows']:,})" for r in top.iter_rows(named=True))
        flags.append(
            Flag(
                "rejects",
                f"Rejected rows: {t['rows_rejected']:,} of {t['rows_read']:,} rows read "
                f"(see reject_reasons.csv): {reasons}.",
            )
        )
    else:
        flags.append(
            Flag(
                "rejects",
                f"No rejected rows: all {t['rows_read']:,} rows read were loaded or duplicates.",
            )
        )
    if t["naive_timestamps"]:
        flags.append(
            Flag("utc", f"{t['naive_timestamps']:,} timestamps had no offset and were read as UTC.")
        )
    return flags


def price_bid_chart(store: Store, ov: Overview) -> alt.TopLevelMixin | None:
    """The market of the first spot spec of the advice against its recommended bid."""
    from spotlab.charts.bids import bid_chart
    from spotlab.prices import price_steps

    first = next((e for e in ov.ordering.entries if e.spot), None)
    if first is None:
        return None
    rows = ov.bids.specs.filter(pl.col("spec") == first.spec)
    if rows.height == 0:
        return None
    steps = price_steps(store, first.spec, window=ov.window, provider=ov.provider)
    title = f"{first.spec}: market per zone vs the recommended bid ({ov.window})"
    return bid_chart(steps, rows.row(0, named=True), title=title)


def plan_demand_chart(ov: Overview) -> alt.TopLevelMixin | None:
    """The scaling plan's replicas against the replicas the traffic needs."""
    from spotlab.charts.fleet import plan_chart

    if ov.plan is None:
        return None
    p = ov.plan
    title = f"{p.service}: replicas needed vs planned, dedicated floor {p.dedicated_floor}"
    return plan_chart(p.replicas, p.dedicated_floor, title=title)


@dataclass(frozen=True)
class PolicyCosts:
    """Cost per month of each deployment policy replayed on one measured availability
    trace (``table``: ``policy, cost_per_month, availability, cost_ratio``)."""

    spec: str
    zones: list[str]
    demand: int
    hours: float
    currency: str
    table: pl.DataFrame


def policy_costs(store: Store) -> PolicyCosts | None:
    """The fleet policies replayed on the store's measured spot availability
    (:func:`spotlab.fleet.evaluate.replay_store`), scaled to a month; None without a
    trace spotlab has prices for (today: the bundled Bamboo g4dn.xlarge trace)."""
    from spotlab.domain import HOURS_PER_MONTH
    from spotlab.fleet import evaluate

    if "spot_availability" not in store.tables():
        return None
    specs = store.query("SELECT DISTINCT spec FROM spot_availability")["spec"].to_list()
    options = dict(evaluate.BAMBOO_G4DN)
    spec = options.pop("spec")
    if spec not in specs:
        return None
    replay = evaluate.replay_store(store, spec, **options)
    table = replay.table()
    hours = float(table["hours"][0])
    zones = store.query(
        "SELECT DISTINCT zone FROM spot_availability WHERE spec = ? ORDER BY zone", [spec]
    )["zone"].to_list()
    return PolicyCosts(
        spec=spec,
        zones=zones,
        demand=int(options["demand"]),
        hours=hours,
        currency="USD",
        table=table.select(
            "policy",
            (pl.col("cost") * HOURS_PER_MONTH / hours).alias("cost_per_month"),
            "availability",
            "cost_ratio",
        ),
    )


def policy_chart(costs: PolicyCosts) -> alt.TopLevelMixin:
    from spotlab.charts.report import policy_cost_chart

    return policy_cost_chart(
        costs.table, costs.currency,
        f"{costs.spec}, {', '.join(costs.zones)} (measured trace, {costs.hours:.0f} h): cost per "
        f"month of {costs.demand} replicas by policy",
    )  # fmt: skip


@dataclass
class FrontPage:
    """What :func:`write_index` wrote: the page, the advised config, the overview behind
    them (None when the store holds too little for advice) and notes shown on the page."""

    index: Path
    config: list[Path]
    overview: Overview | None
    first_line: str
    notes: list[str] = field(default_factory=list)


#: notebook pages, by stem, with the title the front page links them under
NOTEBOOK_TITLES = {
    "00_overview": "00 · Overview: the money, the bids, the plan",
    "01_fetch": "01 · Fetch from your own account",
    "02_bid_advisor": "02 · Bid advisor: what to set as spot_price_limit",
    "03_interruptions_and_ordering": "03 · Interruptions, spec ordering and allocation",
    "04_cold_start_savings": "04 · Cold-start savings: cachefs and ACR acceleration",
    "05_fleet_and_scaling": "05 · Fleet policies and scaling plans",
    "06_export_config": "06 · EAS configs: lint, build, export",
}


def write_index(
    store: Store,
    rep: Report,
    out: str | Path,
    *,
    image: str | None = None,
    model_oss_path: str | None = None,
    current_monthly_cost: float | None = None,
    notebooks: list[str] | None = None,
    overwrite_config: bool = False,
) -> FrontPage:
    """Write ``index.html`` (the front page) and the advised config under ``out``.

    The page, one self-contained file with inline SVG charts: the period and nature of the
    data, the cost per month now vs advised with the saving's out-of-sample range, the
    advised deployment in words, the price-and-bid, plan-and-demand and cost-by-policy
    charts, the assumptions table, data-quality flags, links to the config files and to
    the ``notebooks`` pages (stems; None: none rendered). ``config/`` holds the advised
    EAS files; without ``image`` they carry :data:`spotlab.overview.EXAMPLE_IMAGE`, and
    the page and the notes say so. Config files already in ``config/`` are kept (and a note
    says so) unless ``overwrite_config``.
    """
    from spotlab.domain import HOURS_PER_MONTH
    from spotlab.errors import SpotlabError
    from spotlab.htmlreport import chart_svg, index_page
    from spotlab.overview import EXAMPLE_IMAGE, export_overview_config, overview

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    ov: Overview | None
    try:
        ov = overview(store)
    except SpotlabError as exc:  # shown on the page: the data part still stands
        ov = None
        notes.append(f"No advice: {exc}")
    config: list[Path] = []
    charts: list[tuple[str, str]] = []
    if ov is not None:
        notes += ov.notes
        if image is None:
            notes.append(
                f"config/service.json carries an EXAMPLE image ({EXAMPLE_IMAGE}): "
                "rerun with --image <your registry image> before deploying it."
            )
        if not model_oss_path:
            notes.append("config/service.json mounts no model: pass --model-oss oss://…/")
        try:
            config = export_overview_config(
                ov, store, folder / "config", image or EXAMPLE_IMAGE, model_oss_path,
                overwrite=overwrite_config,
            )  # fmt: skip
        except SpotlabError as exc:
            notes.append(f"No config written: {exc}")
        bid = price_bid_chart(store, ov)
        if bid is not None:
            charts.append(
                (
                    "Price vs bid: the spot market of the first spec of the advice in each "
                    "zone (step lines), its recommended bid, the 20% rule and on-demand.",
                    chart_svg(bid),
                )
            )
        plan = plan_demand_chart(ov)
        if plan is not None:
            charts.append(
                (
                    "Plan vs demand: replicas the traffic needs (QPS ÷ the autoscaler's "
                    "threshold) and the replicas the plan runs (cron sizes, autoscaler).",
                    chart_svg(plan),
                )
            )
    costs = policy_costs(store)
    if costs is not None:
        charts.append(
            (
                "Cost by policy: every deployment policy replayed on a real measured "
                f"availability trace ({costs.spec}, {', '.join(costs.zones)}), scaled to a "
                f"month ({HOURS_PER_MONTH:g} h); labels give the share of time the demand was "
                "met.",
                chart_svg(policy_chart(costs)),
            )
        )
    first_line = data_nature(store, rep, ov)
    from spotlab.assumptions import assumptions_frame

    table = (ov.assumptions() if ov is not None else assumptions_frame()).select(
        "assumption", "value", "source", "drives", "changed_by"
    )
    links: list[tuple[str, list[tuple[str, str]]]] = []
    if config:
        links.append(("The advised config", [(p.name, f"config/{p.name}") for p in config]))
    if notebooks:
        links.append(
            (
                "Notebook pages (the analysis behind each figure)",
                [(NOTEBOOK_TITLES.get(n, n), f"notebooks/{n}.html") for n in notebooks],
            )
        )
    tables = [
        ("summary.md: row accounting and price series", "summary.md"),
        ("sources.csv: every file, rows accounted", "sources.csv"),
        ("reject_reasons.csv", "reject_reasons.csv"),
        ("price_summary.csv: one row per price series", "price_summary.csv"),
    ]
    links.append(("Tables", tables))
    page = index_page(
        first_line, ov, charts, table, data_flags(store, rep, ov), links, notes,
        current_monthly_cost,
    )  # fmt: skip
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return FrontPage(index, config, ov, first_line, notes)
