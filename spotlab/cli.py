"""The ``spotlab`` command line: thin commands over the library.

Exit codes: 0 ok; 1 rows rejected under ``--strict`` (or lint errors); 2 usage or format error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from spotlab.cli_examples import add_examples
from spotlab.errors import SpotlabError
from spotlab.htmlreport import CELL_TIMEOUT_SECONDS
from spotlab.store import Store
from spotlab.text import PrintableWriter, printable, strict_json

app = typer.Typer(
    name="spotlab",
    help="Spot GPU inference: ingest prices and events, get bids, orderings and configs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class State:
    db: str | None = None
    wide: bool = False


@app.callback()
def _global(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database file (default $SPOTLAB_DB or ./spotlab.duckdb)."),
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide", help="Tables show every column, however wide.")
    ] = False,
) -> None:
    State.db = db
    State.wide = wide


def open_store(read_only: bool = False) -> Store:
    return Store(State.db, read_only=read_only)


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if hasattr(o, "as_dict"):
        return o.as_dict()
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(o)
    return str(o)


def terminal_width() -> int | None:
    """``$COLUMNS``, else the terminal's width; None when printing into a pipe or file."""
    import os
    import shutil

    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def emit(data: pl.DataFrame | list[Any] | dict[str, Any], as_json: bool, title: str = "") -> None:
    """Print a frame or records as a table, or as strict JSON with ``--json`` (NaN → null).

    Tables (:func:`spotlab.tables.text_table`) carry units and currency in their headers,
    round floats to meaningful digits and fit the terminal (``--wide``: every column);
    control characters in the data are shown as escapes, never sent to the terminal."""
    if as_json:
        if isinstance(data, pl.DataFrame):
            data = data.to_dicts()
        typer.echo(strict_json(data, default=_default))
        return
    if title:
        typer.echo(printable(title))
    if isinstance(data, pl.DataFrame):
        from spotlab.tables import text_table

        typer.echo(printable(text_table(data, width=terminal_width(), wide=State.wide)))
    else:
        typer.echo(strict_json(data, default=_default))


def parse_pairs(pairs: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs or []:
        if "=" not in p:
            raise typer.BadParameter(f"{what} takes SRC=DST, got {p!r}")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


# -- foundation: ingest and look at what is stored -----------------------------------------


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to load.")] = None,
    sample: Annotated[
        bool,
        typer.Option(
            help="Load the sample shipped with spotlab (partly SYNTHETIC, data/README.md)."
        ),
    ] = False,
    format: Annotated[str | None, typer.Option("--format", "-f", help="Force a reader.")] = None,
    map: Annotated[
        list[str] | None, typer.Option("--map", help="Rename a column: SRC=DST (repeatable).")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="Reader option KEY=VALUE.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any row was rejected.")] = False,
    reload: Annotated[
        bool, typer.Option("--reload", help="Forget earlier loads of each file, then load it.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load price histories, catalogs and logs; every row is loaded, a duplicate or a reject."""
    from spotlab.bundled import bundled
    from spotlab.ingest import ingest as run
    from spotlab.progress import Progress

    paths = [*(paths or []), *([bundled("data")] if sample else [])]
    if not paths:
        raise typer.BadParameter("give the files or folders to load (or --sample)")
    opts: dict[str, Any] = parse_pairs(option, "--option")
    if map:
        opts["map"] = parse_pairs(map, "--map")
    from spotlab.store import interrupt_on_sigint

    try:
        with (
            open_store() as store,
            interrupt_on_sigint(store),
            Progress(enabled=not as_json) as bar,
        ):
            results = run(store, paths, format=format, progress=bar.update, reload=reload, **opts)
    except KeyboardInterrupt as exc:  # typer would turn it into a silent exit 130
        raise _Interrupted(*getattr(exc, "__notes__", [])) from exc
    if as_json:
        emit([{k: v for k, v in r.as_dict().items() if k != "seconds"} for r in results], True)
    else:
        cols = ["source_id", "uri", "format", "rows_read", "rows_loaded", "rows_duplicate",
                "rows_rejected", "rows_conflict", "skipped_as_duplicate_file"]  # fmt: skip
        emit(pl.DataFrame([r.as_dict() for r in results]).select(cols), False)
        for line in (x for r in results for x in [*(f"{r.uri}: {n}" for n in r.notes), r.summary]):
            if line:
                typer.echo(line)
    if strict and any(r.rows_rejected for r in results):
        raise typer.Exit(1)


@app.command()
def forget(
    source_ids: Annotated[list[int], typer.Argument(help="Sources to remove (`spotlab sources`).")],
    as_json: JsonOpt = False,
) -> None:
    """Remove sources and every row they loaded, in one transaction (undo an ingest)."""
    from spotlab.sources import forget as run

    with open_store() as store:
        gone = run(store, *source_ids)
    emit([g.as_dict() for g in gone], True) if as_json else typer.echo(
        "\n".join(g.describe() for g in gone)
    )


@app.command()
def fetch(
    source: Annotated[str, typer.Argument(help="What to fetch (see `spotlab fetch --help`).")],
    region: Annotated[str | None, typer.Option(help="Region, e.g. cn-hangzhou.")] = None,
    spec: Annotated[list[str] | None, typer.Option(help="Spec (repeat; default: known).")] = None,
    since: Annotated[str | None, typer.Option(help="30d or an ISO date (default: newest).")] = None,
    profile: Annotated[str | None, typer.Option(help="Credentials profile.")] = None,
    raw_dir: Annotated[Path | None, typer.Option(help="Pages folder (default: beside db).")] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="TESTING ONLY: a local replay server's URL.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch prices, discounts, advice or specs from a provider API into the database.

    Sources: alibaba-spot-prices, alibaba-spot-advice, alibaba-prices, eas-spot-discounts,
    eas-specs, aws-spot-prices, aws-prices, aws-placement-scores, aws-spot-advisor."""
    from spotlab.fetch import fetch as run

    with open_store() as store:
        result = run(store, source, region, spec or (), since, profile, raw_dir, endpoint)
    if as_json:
        emit(result.as_dict(), True)
        return
    emit(pl.DataFrame([result.summary()]).drop("raw_dir"), False)
    typer.echo(f"pages under {result.raw_dir}")
    for note in result.notes:  # e.g. the spot prices a fetched quote re-priced
        typer.echo(f"note: {note}")


@app.command()
def sources(as_json: JsonOpt = False) -> None:
    """Files loaded so far, with their row accounting."""
    with open_store() as store:
        emit(store.query("SELECT * EXCLUDE (sha256) FROM sources ORDER BY source_id"), as_json)


@app.command()
def rejects(
    source_id: Annotated[int | None, typer.Argument(help="Only this source.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    by_code: Annotated[
        bool, typer.Option("--by-code", help="Only the counts per source and reason code.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rejected rows with their reason codes, reasons and raw text (grouped by code first)."""
    from spotlab.sources import reject_reasons, rejected_rows

    with open_store() as store:
        counts = reject_reasons(store, source_id)
        rows = None if by_code else rejected_rows(store, source_id, limit)
    if by_code or not as_json:
        emit(counts, as_json, title="" if as_json else "rejects by reason code:")
    if rows is not None:
        emit(rows, as_json)


@app.command()
def prices(
    spec: Annotated[str, typer.Argument(help="Instance spec, e.g. ecs.gn7i-c8g1.2xlarge.")],
    zone: Annotated[str | None, typer.Option(help="Only this zone.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stored spot price change points of one spec."""
    from spotlab.prices import price_points

    with open_store() as store:
        emit(price_points(store, spec=spec, zone=zone, since=since), as_json)


# -- configs: EAS deployment files (lint, export, schema) ----------------------------------


def _config_store() -> Store | None:
    """The store when a database exists (lint never creates one), read-only if possible."""
    from spotlab.errors import StoreError
    from spotlab.store import resolve_path

    if not Path(resolve_path(State.db)).exists():
        return None
    try:
        return open_store(read_only=True)
    except StoreError:  # an older database: opening it for writing migrates it
        return open_store()


def _needs(
    gpu: float | None, model: float | None, image: float | None, region: str | None
) -> dict[str, Any]:
    return {"gpu_memory_gib": gpu, "model_size_gb": model, "image_size_gb": image,
            "region": region}  # fmt: skip


GpuOpt = Annotated[float | None, typer.Option(help="GPU memory the model needs (GiB).")]
ModelOpt = Annotated[float | None, typer.Option(help="Model size (GB).")]
ImageOpt = Annotated[float | None, typer.Option(help="Image size (GB).")]
RegionOpt = Annotated[str | None, typer.Option(help="Region of the catalog and prices.")]


@app.command("lint")
def lint_cmd(
    file: Annotated[Path, typer.Argument(help="service/autoscaler/cronscale JSON or a folder.")],
    format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    gpu_memory_gib: GpuOpt = None,
    model_size_gb: ModelOpt = None,
    image_size_gb: ImageOpt = None,
    region: RegionOpt = None,
) -> None:
    """Check an EAS config against the spot best practices; exit 1 on any error finding."""
    from spotlab.eas import errors, format_findings, lint

    if format not in ("text", "json"):
        raise typer.BadParameter(f"--format is text or json, not {format!r}")
    store = _config_store()
    try:
        need = _needs(gpu_memory_gib, model_size_gb, image_size_gb, region)
        found = lint(file, store, need)
    finally:
        if store is not None:
            store.close()
    if format == "json":
        emit([f.as_dict() for f in found], True)
    else:
        typer.echo(format_findings(found))
    if errors(found):
        raise typer.Exit(1)


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for service.json etc.")],
    name: Annotated[str, typer.Option(help="Service name.")],
    image: Annotated[str, typer.Option(help="Container image.")],
    spec: Annotated[list[str] | None, typer.Option(help="Spot spec, in order (repeat).")] = None,
    port: Annotated[int, typer.Option(help="Container port.")] = 8000,
    model_oss: Annotated[str | None, typer.Option(help="OSS path of the model.")] = None,
    min_replicas: Annotated[int | None, typer.Option("--min", help="Autoscaler min.")] = None,
    max_replicas: Annotated[int | None, typer.Option("--max", help="Autoscaler max.")] = None,
    qps: Annotated[float | None, typer.Option(help="Autoscaler QPS per instance.")] = None,
    gpu_memory_gib: GpuOpt = None,
    model_size_gb: ModelOpt = None,
    region: RegionOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write an EAS config from the stored advice (ordering, bids); only if it lints clean."""
    from spotlab.eas import config_from_store, export, format_findings
    from spotlab.eas.export import autoscaler_file

    need = _needs(gpu_memory_gib, model_size_gb, None, region)
    with open_store() as store:
        bundle = config_from_store(
            store, name, image, specs=spec, requirements=need, port=port,
            model_oss_path=model_oss, autoscaler=autoscaler_file(min_replicas, max_replicas, qps),
        )  # fmt: skip
        result = export(bundle, out, overwrite, store=store, requirements=need)
    if as_json:
        emit(result.as_dict(), True)
    else:
        typer.echo(f"wrote {', '.join(map(str, result.paths))}\n{format_findings(result.findings)}")


@app.command("schema")
def schema_cmd(
    kind: Annotated[str, typer.Option(help="service, autoscaler or cronscale.")] = "service",
) -> None:
    """Print the JSON Schema of an EAS file (unknown keys are allowed)."""
    from spotlab.eas import json_schema

    if kind not in ("service", "autoscaler", "cronscale"):
        raise typer.BadParameter(f"--kind is service, autoscaler or cronscale, not {kind!r}")
    emit(json_schema(kind), True)  # type: ignore[arg-type]


# -- coldstart: replacement start-up and what cachefs / ACR acceleration save ---------------


@app.command("coldstart")
def coldstart_cmd(
    model_size: Annotated[float, typer.Option("--model-size-gb", help="Model size, GB.")],
    image_size: Annotated[
        float, typer.Option("--image-size-gb", help="Image size, GB (default: vendor's 1.34).")
    ] = 1.34,
    provider: Annotated[str, typer.Option(help="alibaba (300 s warning) or aws (120 s).")] = (
        "alibaba"
    ),
    reclaims_per_month: Annotated[
        float | None, typer.Option("--reclaims-per-month", help="Reclaims of the service.")
    ] = None,
    spec: Annotated[str | None, typer.Option(help="Spec: memory and reclaim rate.")] = None,
    price: Annotated[float | None, typer.Option(help="Spot price per hour.")] = None,
    value: Annotated[float | None, typer.Option(help="Value of a lost replica-hour.")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of --price/--value.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Seconds, downtime and monthly saving of plain / cachefs / acr / both, and the fits."""
    from pathlib import Path as _P

    from spotlab.advise.coldstart import coldstart_report
    from spotlab.store import resolve_path

    db = resolve_path(State.db)
    store = open_store(read_only=True) if _P(db).exists() else None
    try:
        rep = coldstart_report(
            model_size, image_size, provider, reclaims_per_month, store=store, spec=spec,
            price_per_hour=price, value_per_replica_hour=value, currency=currency,
        )  # fmt: skip
    finally:
        if store is not None:
            store.close()
    if as_json:
        emit(rep.as_dict(), True)
        return
    a = rep.assumptions
    emit(
        rep.setups.select(
            "setup", "total_seconds", "total_seconds_lo", "total_seconds_hi", "downtime_seconds",
            "billed_startup_seconds", "double_billed_seconds", "monthly_cost", "monthly_saving",
            "cache_fits_memory",
        ).with_columns(pl.col("^.*seconds.*$").round(1), pl.col("^monthly_.*$").round(2)),
        False,
        title=f"{a['provider']}: warning lead {a['lead_seconds']:g} s; "
        f"{a['reclaims_per_month']:g} reclaims/month ({a['reclaims_source']}); "
        f"price {a['price_per_hour']:g}, lost replica-hour {a['value_per_replica_hour']:g} "
        f"{a['currency']}/h",
    )  # fmt: skip
    emit(
        rep.fits.select(
            "path", "n", "throughput_gb_per_s", "throughput_lo", "throughput_hi",
            "overhead_seconds", "overhead_lo", "overhead_hi", "r2", "loo_mae_seconds",
            "share_of_floor",
        ).with_columns(pl.selectors.float().round(3)),
        False,
        title=f"Load-time fits (90% bootstrap intervals) from {a['load_fits_source']}:",
    )  # fmt: skip


# -- interruptions: rates from instance logs, spec ordering, EAS allocation ----------------


@app.command("interruptions")
def interruptions_cmd(
    by: Annotated[str, typer.Option(help="Cell columns, comma-separated.")] = (
        "provider,spec,zone,is_spot"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Interruption rates (90% exact intervals), lead times and the feeds beside the logs."""
    from spotlab.advise.interruptions import interruption_report

    with open_store(read_only=True) as store:
        report = interruption_report(store, by=[c.strip() for c in by.split(",") if c.strip()])
    if as_json:
        emit(report.as_dict(), True)
    for title, frame in [] if as_json else report.tables():
        emit(frame, False, title)


ModelSizeOpt = Annotated[
    float | None,
    typer.Option(
        "--model-size-gb", help="Model size (GB): the cold-start model predicts start-up."
    ),
]
ImageSizeOpt = Annotated[float | None, typer.Option("--image-size-gb", help="Image size (GB).")]
SetupOpt = Annotated[str, typer.Option(help="Start-up setup: plain, cachefs, acr, both.")]


def _startup(
    store: Store,
    explicit: float | None,
    model_size: float | None,
    image_size: float | None,
    setup: str,
) -> float | dict[str, float] | None:
    """Start-up seconds for bids and ordering: given, or predicted from the model size."""
    if explicit is not None or model_size is None:
        return explicit
    from spotlab.advise.coldstart import VENDOR_IMAGE_GB, startup_seconds_for_store

    image = image_size if image_size is not None else VENDOR_IMAGE_GB
    return startup_seconds_for_store(store, model_size, image, setup)


@app.command("order")
def order_cmd(
    gpu_mem: Annotated[
        float, typer.Option("--gpu-memory-gib", help="GPU memory one replica needs (GiB).")
    ],
    gpus: Annotated[int, typer.Option(help="GPUs per replica.")] = 1,
    vcpu: Annotated[float, typer.Option(help="Minimum vCPU.")] = 0.0,
    memory: Annotated[float, typer.Option("--memory-gib", help="Minimum host memory (GiB).")] = 0.0,
    region: Annotated[str | None, typer.Option(help="Region (default: from the catalog).")] = None,
    replicas: Annotated[int | None, typer.Option(help="Service size, for integer caps.")] = None,
    max_share: Annotated[float, typer.Option(help="Largest share of one spot spec.")] = 0.5,
    window: Annotated[str, typer.Option(help="Price window for the bids.")] = "30d",
    target: Annotated[float, typer.Option(help="Target service availability.")] = 0.99,
    startup_seconds: Annotated[float | None, typer.Option(help="Replacement start-up.")] = None,
    model_size: ModelSizeOpt = None,
    image_size: ImageSizeOpt = None,
    setup: SetupOpt = "both",
    as_json: JsonOpt = False,
) -> None:
    """Spot specs in the order EAS should try them, the regular fallback last, with reasons."""
    from spotlab.advise.ordering import Requirements, recommend_ordering

    req = Requirements(gpu_memory_gib=gpu_mem, gpus=gpus, vcpu=vcpu, memory_gib=memory,
                       region=region)  # fmt: skip
    with open_store(read_only=True) as store:
        startup = _startup(store, startup_seconds, model_size, image_size, setup)
        o = recommend_ordering(req, store, window=window, target_availability=target,
                               startup_seconds=startup, max_share=max_share,
                               replicas=replicas)  # fmt: skip
    emit(o.as_dict() if as_json else o.frame().select("position", "spec", "spot",
         "spot_price_limit", "capacity", "cost_per_replica_hour", "currency"), as_json)  # fmt: skip
    for line in [] if as_json else [e.reason for e in o.entries] + o.notes:
        typer.echo(line)


@app.command("allocate")
def allocate_cmd(
    n: Annotated[int, typer.Argument(help="Instances the service needs.")],
    pool: Annotated[str, typer.Option(help="spec=stock[:cap],... in EAS order (* = unlimited).")],
    dedicated: Annotated[int, typer.Option(help="Free instances in the dedicated group.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Where EAS places N instances: the dedicated group, then the pool in order."""
    from spotlab.advise.allocation import allocate, parse_pool

    result = allocate(n, dedicated, parse_pool(pool))
    emit(result.as_dict() if as_json else result.frame().drop("reason"), as_json)
    if not as_json:
        typer.echo(result.explain())


# -- bids: what to set as spot_price_limit, and would it have held -------------------------

SpecOpt = Annotated[list[str] | None, typer.Option("--spec", help="Only this spec (repeatable).")]
ZoneOpt = Annotated[list[str] | None, typer.Option("--zone", help="Only this zone (repeatable).")]
TargetOpt = Annotated[
    float, typer.Option("--target", help="Target service availability, a share in (0, 1].")
]
StartupSecondsOpt = Annotated[
    float | None,
    typer.Option("--startup-seconds", help="Seconds to a serving replacement (default 123)."),
]
ValueOpt = Annotated[
    float | None,
    typer.Option(
        "--value-per-replica-hour",
        help="What an hour short of a replica costs you (default: the on-demand price).",
    ),
]


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


@app.command("bids")
def bids_cmd(
    spec: SpecOpt = None,
    zone: ZoneOpt = None,
    window: Annotated[str, typer.Option(help="Look-back: 48h, 7d, 30d, all.")] = "30d",
    target: TargetOpt = 0.99,
    max_price: Annotated[
        float | None, typer.Option("--max-price", help="Budget cap on the bid, per hour.")
    ] = None,
    value_per_replica_hour: ValueOpt = None,
    startup_seconds: StartupSecondsOpt = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    per_zone: Annotated[bool, typer.Option("--per-zone", help="One row per zone.")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="All columns, whatever the width.")] = False,
    model_size: ModelSizeOpt = None,
    image_size: ImageSizeOpt = None,
    setup: SetupOpt = "both",
    as_json: JsonOpt = False,
) -> None:
    """spot_price_limit per spec (worst zone) from the cost model, vs the 20% rule, with
    in- and out-of-sample figures and a reason."""
    import textwrap

    from spotlab.advise.bids import bid_table, recommend_bids

    with open_store(read_only=True) as store:
        startup = _startup(store, startup_seconds, model_size, image_size, setup)
        advice = recommend_bids(store, spec, zone, window, provider=provider,
                                target_availability=target, max_price=max_price,
                                value_per_replica_hour=value_per_replica_hour,
                                startup_seconds=startup)  # fmt: skip
    if as_json:
        emit(advice.as_dict(), True)
        return
    width = _terminal_width()
    emit(bid_table(advice, per_zone, width, wide), False)
    rows = advice.zones if per_zone else advice.specs
    for r in rows.iter_rows(named=True):
        typer.echo(textwrap.fill(f"{r['spec']}: {r['reason']}", width=max(40, width)))


@app.command("backtest")
def backtest_cmd(
    spec: SpecOpt = None,
    zone: ZoneOpt = None,
    window: Annotated[str, typer.Option(help="Training look-back: 7d, 30d, 90d, all.")] = "30d",
    horizon: Annotated[str, typer.Option(help="Test span after each origin.")] = "30d",
    step: Annotated[str | None, typer.Option(help="Origin spacing (default horizon).")] = None,
    target: TargetOpt = 0.99,
    startup_seconds: StartupSecondsOpt = None,
    value_per_replica_hour: ValueOpt = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider.")] = None,
    per_series: Annotated[bool, typer.Option("--per-series", help="Also per series.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rolling-origin backtest: spotlab's bid vs the 20% rule, max observed, a bid at
    on-demand, the lowest level meeting the target and the previous heuristic."""
    from spotlab.advise.backtest import backtest_bids, compare_strategies

    with open_store(read_only=True) as store:
        result = backtest_bids(store, spec, zone, window, horizon, step, provider=provider,
                               target_availability=target, startup_seconds=startup_seconds,
                               value_per_replica_hour=value_per_replica_hour)  # fmt: skip
    if as_json:
        data = result.as_dict()
        emit(data if per_series else {k: v for k, v in data.items() if k != "series"}, True)
        return
    if per_series:
        emit(result.series.with_columns(pl.selectors.float().round(4)), False)
    emit(result.summary.with_columns(pl.selectors.float().round(4)), False,
         "Out of sample (each run advised from its look-back only):")  # fmt: skip
    emit(compare_strategies(result.summary).with_columns(pl.selectors.float().round(4)), False,
         "Against spotlab (cost ÷ on-demand change, service availability points):")  # fmt: skip


# -- fleet: replay spot availability against policies; scaling plans from traffic ----------

PriceOpt = Annotated[float, typer.Option(help="Per replica-hour.")]
StartupOpt = Annotated[
    float | None, typer.Option(help="Replacement start-up (s); default: cold-start model.")
]
ModelGbOpt = Annotated[
    float | None, typer.Option(help="Model size (GB) for the cold-start model (default 14).")
]
ImageGbOpt = Annotated[float | None, typer.Option(help="Image size (GB; default 1.34).")]
FleetSetupOpt = Annotated[
    str | None, typer.Option(help="Start-up setup: plain, cachefs, acr, both (default both).")
]


@app.command("simulate")
def simulate_cmd(
    spec: Annotated[str, typer.Argument(help="Spec whose stored spot availability to replay.")],
    spot_price: Annotated[float, typer.Option(help="Spot price per replica-hour.")],
    regular_price: Annotated[float, typer.Option(help="Regular price per replica-hour.")],
    zone: Annotated[list[str] | None, typer.Option(help="Only these zones.")] = None,
    demand: Annotated[int, typer.Option(help="Replicas needed.")] = 4,
    target: Annotated[float, typer.Option(help="Service availability to meet (0-1].")] = 0.995,
    startup_seconds: StartupOpt = None,
    model_size_gb: ModelGbOpt = None,
    image_size_gb: ImageGbOpt = None,
    setup: FleetSetupOpt = None,
    warning_seconds: Annotated[float | None, typer.Option(help="Reclaim notice (s).")] = None,
    step_seconds: Annotated[float, typer.Option(help="Simulation step (s).")] = 60.0,
    train_share: Annotated[float, typer.Option(help="Share that trains the choice.")] = 0.25,
    max_spare: Annotated[int | None, typer.Option(help="Most spares (default demand).")] = None,
    max_dedicated: Annotated[
        int | None, typer.Option(help="Largest dedicated group (default demand; 0: none).")
    ] = None,
    dedicated_share: Annotated[
        float, typer.Option(help="Dedicated slot price ÷ regular price (an assumption).")
    ] = 0.63,
    export: Annotated[Path | None, typer.Option(help="Write the EAS files here.")] = None,
    name: Annotated[str | None, typer.Option(help="Service name (with --export).")] = None,
    image: Annotated[str | None, typer.Option(help="Container image (with --export).")] = None,
    eas_spec: Annotated[str | None, typer.Option(help="EAS spec to deploy on.")] = None,
    dedicated_resource: Annotated[
        str | None, typer.Option(help="Dedicated group id eas-r-... (with --export).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace exported files.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Replay stored spot availability against every policy, and recommend the cheapest EAS
    setting that meets --target (chosen on the first --train-share, reported on the rest)."""
    from spotlab.fleet.config import export_choice
    from spotlab.fleet.evaluate import replay_store, simulate_report
    from spotlab.fleet.search import SearchSpace
    from spotlab.fleet.startup import fleet_startup

    if export is not None and not (name and image):
        raise typer.BadParameter("--export needs --name and --image")
    with open_store(read_only=True) as store:
        startup = fleet_startup(startup_seconds, model_size_gb, image_size_gb, setup,
                                store=store, spec=eas_spec or spec)  # fmt: skip
        replay = replay_store(store, spec, zone, demand=demand, spot_prices=spot_price,
                              regular_price=regular_price, startup=startup,
                              warning_seconds=warning_seconds, step_seconds=step_seconds,
                              train_share=train_share, target=target,
                              dedicated_share=dedicated_share,
                              space=SearchSpace(max_spare, max_dedicated))  # fmt: skip
        written = None
        if export is not None:
            written = export_choice(replay.choice, export, str(name), str(image), regular_price,
                                    eas_spec, dedicated_resource, store, overwrite)  # fmt: skip
    report = simulate_report(replay, written)
    if as_json:
        emit(report, True)
        return
    cols = ["policy", "cost_ratio", "availability", "replica_availability", "regular_share",
            "reclaims", "eas_expressible"]  # fmt: skip
    typer.echo(report["lines"][0])
    emit(pl.DataFrame(report["policies"]).select(cols).with_columns(pl.selectors.float().round(4)),
         False)  # fmt: skip
    typer.echo("\n".join(report["lines"][1:]))


@app.command("scale")
def scale_cmd(
    service: Annotated[str, typer.Argument(help="Service in the traffic table.")],
    qps_per_replica: Annotated[float, typer.Option(help="QPS one replica serves.")],
    regular_price: PriceOpt = 8.0,
    spot_price: PriceOpt = 1.6,
    dedicated_monthly_price: Annotated[
        float | None,
        typer.Option(help="Per replica-month (default 0.63 × regular × 730 h)."),
    ] = None,
    target_utilization: Annotated[float, typer.Option(help="Autoscaler target.")] = 0.8,
    time_zone: Annotated[str, typer.Option(help="Time zone of the cron jobs.")] = "Asia/Shanghai",
    max_jobs: Annotated[int, typer.Option(help="Cron jobs per daily profile.")] = 8,
    startup_seconds: StartupOpt = None,
    model_size_gb: ModelGbOpt = None,
    image_size_gb: ImageGbOpt = None,
    setup: FleetSetupOpt = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated spot market.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """A scaling plan: dedicated floor, autoscaler, cron jobs, simulated cost vs regular."""
    from spotlab.fleet.scaling import plan_from_store
    from spotlab.fleet.startup import fleet_startup

    with open_store(read_only=True) as store:
        startup = fleet_startup(startup_seconds, model_size_gb, image_size_gb, setup)
        plan = plan_from_store(
            store,
            service,
            qps_per_replica=qps_per_replica,
            regular_price=regular_price,
            spot_price=spot_price,
            dedicated_monthly_price=dedicated_monthly_price,
            target_utilization=target_utilization,
            time_zone=time_zone,
            max_jobs=max_jobs,
            startup=startup,
            seed=seed,
        )
    emit(plan.as_dict() if as_json else plan.summary(), as_json)  # fmt: skip
    if not as_json:
        typer.echo("\n".join(["notes:", *plan.notes]))


# -- report: the headless summary of what is loaded (make report) -------------------------


@app.command("assumptions")
def assumptions_cmd(as_json: JsonOpt = False) -> None:
    """Every assumption behind spotlab's figures: value, source, and what changes it."""
    from spotlab.assumptions import assumptions_frame

    frame = assumptions_frame()
    emit(frame if as_json else frame.select("assumption", "value", "source", "changed_by"), as_json)


@app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the report.")] = Path("out"),
    notebooks: Annotated[
        bool, typer.Option(help="Also execute the notebooks into self-contained HTML pages.")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the config files already in OUT/config.")
    ] = False,
    notebook: Annotated[
        list[str] | None, typer.Option("--notebook", help="Only this notebook (repeatable).")
    ] = None,
    image: Annotated[
        str | None, typer.Option(help="Container image of the advised service.json.")
    ] = None,
    model_oss: Annotated[str | None, typer.Option(help="OSS path of the model.")] = None,
    current_monthly_cost: Annotated[
        float | None, typer.Option(help="What the service costs you a month now.")
    ] = None,
    cell_timeout_seconds: Annotated[
        int, typer.Option(help="Longest a notebook cell may run.")
    ] = CELL_TIMEOUT_SECONDS,
    as_json: JsonOpt = False,
) -> None:
    """The report: out/index.html (the money, the advised deployment, charts, assumptions,
    data flags), the advised EAS config, the tables, and the notebooks as HTML pages."""
    from spotlab.htmlreport import notebook_paths, render_notebooks
    from spotlab.report import write_index, write_report
    from spotlab.store import snapshot

    names = [p.stem for p in notebook_paths(notebook)] if notebooks else None

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    # one state for the whole report: ingests committing meanwhile do not mix in
    with snapshot(State.db) as copy:
        with Store(copy, read_only=True) as store:
            rep = write_report(store, out)
            front = write_index(store, rep, out, image=image, model_oss_path=model_oss,
                                current_monthly_cost=current_monthly_cost, notebooks=names,
                                overwrite_config=overwrite)  # fmt: skip
        pages = render_notebooks(out / "notebooks", str(copy), names, cell_timeout_seconds,
                                 progress=progress) if names else []  # fmt: skip
    if as_json:
        emit({"totals": rep.totals(), "index": str(front.index),
              "files": [str(f) for f in rep.files], "config": [str(p) for p in front.config],
              "notes": front.notes,
              "notebooks": [{"html": str(p.html), "seconds": round(p.seconds, 1),
                             "svg_charts": p.svg_charts} for p in pages]}, True)  # fmt: skip
        return
    typer.echo(front.first_line)
    if front.overview is not None:
        for item, value in front.overview.headline().head(2).iter_rows():
            typer.echo(f"{item}: {value}")
    typer.echo("\n".join(f"note: {n}" for n in front.notes))
    typer.echo(f"wrote {front.index} (open it in a browser), " + ", ".join(
        str(f) for f in [*rep.files, *front.config]))  # fmt: skip
    for p in pages:
        typer.echo(f"{p.html}: ran in {p.seconds:.1f} s, {p.svg_charts} charts inline")


@app.command("formats")
def formats_cmd(as_json: JsonOpt = False) -> None:
    """Input formats ingest reads, in the order it tries them, with what picks each one."""
    from spotlab.ingest import READERS

    readers = sorted(READERS.values(), key=lambda r: (r.priority, r.name))
    emit(pl.DataFrame({"format": [r.name for r in readers], "kind": [r.kind for r in readers],
                       "picked_when": [r.sniff_rule for r in readers]}), as_json)  # fmt: skip
    if not as_json:
        typer.echo("The first format whose rule matches reads the file; --format NAME forces one.")


add_examples(app)


def _message(exc: BaseException) -> str:
    """One line: the error and its notes (e.g. which files an ingest committed first)."""
    return "; ".join([str(exc) or type(exc).__name__, *getattr(exc, "__notes__", [])])


class _Interrupted(Exception):
    """Ctrl-C during an ingest; ``args`` are the notes (the files committed before)."""


def _interrupted(notes: Sequence[str]) -> None:
    typer.echo(
        "error: " + "; ".join(["interrupted: the file being loaded was rolled back", *notes]),
        err=True,
    )
    sys.exit(130)


def main() -> None:
    """Entry point: spotlab errors become a message and exit code 2, not a traceback;
    Ctrl-C exits 130 (the interrupted transaction is rolled back).

    Whatever a command prints goes through :func:`spotlab.text.printable`: a spec name or
    a reason read from a file cannot send control sequences to the terminal."""
    stdout, sys.stdout = sys.stdout, PrintableWriter(sys.stdout)
    try:
        _run()
    finally:
        sys.stdout = stdout


def _run() -> None:
    try:
        code = app(standalone_mode=False)
    except SpotlabError as exc:
        typer.echo(f"error: {printable(_message(exc))}", err=True)
        sys.exit(2)
    except _Interrupted as exc:
        _interrupted(exc.args)
    except KeyboardInterrupt as exc:
        _interrupted(getattr(exc, "__notes__", []))
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.BadParameter, typer.Abort) as exc:
        typer.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(2)
    except typer.TyperException as exc:  # usage errors (typer bundles its own click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    # Outside standalone mode typer *returns* the code of `raise typer.Exit(n)`, and 130
    # for a Ctrl-C it caught.
    if code == 130:
        typer.echo("error: interrupted", err=True)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
