"""Spot availability traces: how many spot instances a zone gave, over time.

Two formats, both loaded into ``spot_availability(provider, zone, spec, ts, available)``:

**spot-traces JSON** (SkyPilot's ``spot-traces`` and the SpotHedge artifact):
``{"metadata": {"gap_seconds": N}, "data": [count, ...]}``, one count every ``N`` seconds.
The file holds no start time, zone or instance type; they come from options or from the
names, as the public repositories lay them out::

    availability/1-node/aws-02-15-2023/us-east-1a_v100_1.json
                        ^provider and start date (MM-DD-YYYY)
                                       ^zone      ^GPU key (see TRACE_SPECS)
    data/GCP1/us-central1-a_a100_40gb_8.json     (provider from the folder; no date: pass
                                                  ``-o start=...``)

The GPU key maps to an instance type by :data:`TRACE_SPECS`; pass ``-o spec=...`` for
others. Row ``i`` (1-based) is the count at ``start + (i - 1) * gap_seconds``.

**Bamboo step CSV** (``uclasystem/bamboo``, MIT): two columns without a header, seconds
since the start (hours in ``*_scaled.csv``) and the number of running spot instances,
written as a step function: the first row opens the first level, then each change is two
rows at the same time, the level that ends and the level that begins. Zone, spec and start
come from names like ``aws-spot-instances-g4dn-xlarge-us-east-1c-2020-11-20-1930-to-...csv``
(or options). A row that closes a level restates the level's opening row, so it is stored
as that row's duplicate; a closing row whose count differs from its level is rejected.

Start times taken from names carry no time zone: they are read as UTC and counted as naive
timestamps in the ingest result. Options: ``start`` (ISO 8601), ``zone``, ``spec``,
``provider`` and, for the CSV, ``time_unit`` (``s`` or ``h``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError, did_you_mean
from spotlab.ingest._common import expect, load_json, read_text_table
from spotlab.ingest.core import Staged, Target, register, register_target
from spotlab.ingest.targets import number, text, timestamp

#: GPU/CPU keys of the trace file names → instance types (provider, key): spec.
#: ``a100_40gb_8`` is the SpotHedge GCP1 trace, which its README names a2-ultragpu-4g
#: (PROVENANCE.md); ``k80_8`` follows spot-traces' README (p2.16xlarge).
TRACE_SPECS: dict[tuple[str, str], str] = {
    ("aws", "v100_1"): "p3.2xlarge",
    ("aws", "v100_8"): "p3.16xlarge",
    ("aws", "k80_1"): "p2.xlarge",
    ("aws", "k80_8"): "p2.16xlarge",
    ("aws", "intel_64"): "r5.16xlarge",
    ("gcp", "c3-88"): "c3-highcpu-88",
    ("gcp", "a100_40gb_8"): "a2-ultragpu-4g",
}


# -- the table -----------------------------------------------------------------------------


def _availability_prepare(schema: dict[str, pl.DataType]) -> list[str]:
    ts, naive = timestamp("ts", schema)
    return [f"{ts} AS _ts", f"{naive} AS _naive_in", f"{number('available', schema)} AS _n"]


AVAILABILITY = register_target(
    Target(
        kind="availability",
        table="spot_availability",
        key=("provider", "zone", "spec", "ts"),
        required=("provider", "zone", "spec", "ts", "available"),
        prepare=_availability_prepare,
        outputs=(
            ("provider", f"lower({text('provider')})"),
            ("zone", text("zone")),
            ("spec", text("spec")),
            ("ts", "_ts"),
            ("available", "CAST(_n AS INTEGER)"),
            ("_naive", "coalesce(_naive_in AND _ts IS NOT NULL, FALSE)"),
        ),
        reasons=(
            (f"{text('spec')} IS NULL", "'missing spec'"),
            (f"{text('zone')} IS NULL", "'missing zone'"),
            (f"{text('provider')} IS NULL", "'missing provider'"),
            ("_ts IS NULL", f"'unparsable time: ' || coalesce({text('ts')}, '(empty)')"),
            ("_n IS NULL", f"'unparsable count: ' || coalesce({text('available')}, '(empty)')"),
            ("_n < 0", "'count must be >= 0, got ' || _n"),
            ("_n <> round(_n)", "'count must be a whole number, got ' || _n"),
            ("_n > 1000000", "'count ' || _n || ' is implausibly large'"),
        ),
    )
)

_DATED_FOLDER = re.compile(r"^(?P<provider>[a-z]+)-(?P<m>\d{2})-(?P<d>\d{2})-(?P<y>\d{4})$")
_PROVIDER_FOLDER = re.compile(r"^(?P<provider>[A-Za-z]+)\d*$")
_BAMBOO_NAME = re.compile(
    r"spot-instances-(?P<family>[a-z0-9]+)-(?P<size>[a-z0-9]+)"
    r"(?:-(?P<zone>[a-z]{2}-[a-z]+-\d[a-z]))?"
    r"-(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:-(?P<hh>\d{2})-?(?P<mm>\d{2}))?(?:-|\.|_|$)"
)
_PROVIDERS = ("aws", "gcp", "azure", "alibaba")
_NUMERIC_PAIR = re.compile(rb"^\s*\d+(\.\d+)?\s*,\s*-?\d+\s*$")


def parse_start(value: str | datetime, path: Path) -> datetime:
    """An ISO 8601 start time; naive values are UTC (and stay naive, to be counted)."""
    if isinstance(value, datetime):
        return value
    try:
        ts = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise FormatError(
            f"cannot read the start time {value!r}", path=path, expected="ISO 8601, e.g. "
            "2023-02-15T00:00:00Z",
        ) from exc  # fmt: skip
    return ts.astimezone(UTC) if ts.tzinfo is not None else ts


def trace_names(path: Path) -> dict[str, Any]:
    """Provider, start, zone and GPU key that a spot-traces file's path implies (may be
    partial: a missing part is absent from the dict)."""
    out: dict[str, Any] = {}
    stem = path.name
    for suffix in (".gz", ".zst", ".json"):
        stem = stem.removesuffix(suffix)
    if "_" in stem:
        out["zone"], out["key"] = stem.split("_", 1)
    folder = path.parent.name
    if m := _DATED_FOLDER.match(folder):
        out["provider"] = m["provider"]
        out["start"] = datetime(int(m["y"]), int(m["m"]), int(m["d"]))
    elif (m := _PROVIDER_FOLDER.match(folder)) and m["provider"].lower() in _PROVIDERS:
        out["provider"] = m["provider"].lower()
    return out


def _resolve_spec(provider: str, key: str | None, spec: str | None, path: Path) -> str:
    if spec:
        return spec
    if key is not None and (provider, key) in TRACE_SPECS:
        return TRACE_SPECS[(provider, key)]
    keys = [k for p, k in TRACE_SPECS if p == provider]
    hint = did_you_mean(key, keys) if key else ""
    raise FormatError(
        f"cannot tell the instance type from the file name (key {key!r}).{hint} "
        "Pass -o spec=<instance type>",
        path=path,
        expected=", ".join(f"{p}:{k}" for p, k in TRACE_SPECS),
    )


def _ts_column(start: datetime, offsets_s: pl.Expr) -> pl.Expr:
    """``start + offset seconds`` as a Datetime column (UTC-aware when ``start`` is)."""
    naive = start.replace(tzinfo=None)
    expr = pl.lit(naive, pl.Datetime("us")) + pl.duration(microseconds=(offsets_s * 1e6).round())
    if start.tzinfo is not None:
        expr = expr.dt.replace_time_zone("UTC")
    return expr


class SpotTraceJson:
    name = "spot-trace-json"
    sniff_rule = 'JSON with "gap_seconds" and "data" (SkyPilot / SpotHedge spot traces)'
    kind = "availability"
    priority = 25

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"gap_seconds"' in head and b'"data"' in head

    def read(
        self,
        path: Path,
        start: str | datetime | None = None,
        zone: str | None = None,
        spec: str | None = None,
        provider: str | None = None,
        **_: Any,
    ) -> Staged:
        doc = load_json(path)
        meta = expect(doc, "metadata", "$", path, dict)
        gap = expect(meta, "gap_seconds", "$.metadata", path, (int, float))
        if isinstance(gap, bool) or gap <= 0:
            raise FormatError("gap_seconds must be a positive number", path=path, found=repr(gap))
        data = expect(doc, "data", "$", path, list)
        names = trace_names(path)
        prov = (provider or names.get("provider") or "").lower()
        if not prov:
            raise FormatError(
                f"cannot tell the provider from the folder name {path.parent.name!r}: "
                "pass -o provider=aws (or gcp, ...)",
                path=path,
            )
        the_zone = zone or names.get("zone")
        if not the_zone:
            raise FormatError(
                "cannot tell the zone from the file name: pass -o zone=<zone>",
                path=path, expected="<zone>_<gpu key>.json",
            )  # fmt: skip
        the_spec = _resolve_spec(prov, names.get("key"), spec, path)
        begin = start if start is not None else names.get("start")
        if begin is None:
            raise FormatError(
                f"the folder name {path.parent.name!r} carries no start date: pass "
                "-o start=<ISO 8601 time>, e.g. -o start=2023-02-15T00:00:00Z",
                path=path,
            )
        t0 = parse_start(begin, path)
        ok = [isinstance(v, int) and not isinstance(v, bool) for v in data]
        frame = pl.DataFrame(
            {
                "available": [str(v) if k else None for v, k in zip(data, ok, strict=True)],
                "_raw": [json.dumps(v) for v in data],
                "_reject": [
                    None if k else f"count is not an integer: {json.dumps(v)[:40]}"
                    for v, k in zip(data, ok, strict=True)
                ],
            },
            schema={"available": pl.String, "_raw": pl.String, "_reject": pl.String},
        ).with_row_index("_row", offset=1)
        frame = frame.with_columns(
            pl.col("_row").cast(pl.Int64),
            _ts_column(t0, (pl.col("_row").cast(pl.Float64) - 1.0) * float(gap)).alias("ts"),
            pl.lit(prov).alias("provider"),
            pl.lit(the_zone).alias("zone"),
            pl.lit(the_spec).alias("spec"),
        )
        notes = [f"{the_spec} in {the_zone}: {len(data)} samples every {gap:g} s from {t0}"]
        return Staged(kind=self.kind, batches=[frame], notes=notes)


def bamboo_names(path: Path) -> dict[str, Any]:
    """Spec, zone and start time that a Bamboo trace's file name implies (may be partial)."""
    m = _BAMBOO_NAME.search(path.name)
    if m is None:
        return {}
    out: dict[str, Any] = {"spec": f"{m['family']}.{m['size']}"}
    if m["zone"]:
        out["zone"] = m["zone"]
    hh, mm = (int(m["hh"]), int(m["mm"])) if m["hh"] else (0, 0)
    out["start"] = datetime(int(m["y"]), int(m["m"]), int(m["d"]), hh, mm)
    return out


class BambooStepCsv:
    name = "bamboo-step-csv"
    sniff_rule = "a .csv named *spot-instances* whose first line is a numeric pair (Bamboo)"
    kind = "availability"
    priority = 25

    def sniff(self, path: Path, head: bytes) -> bool:
        if "spot-instances" not in path.name or not path.name.lower().endswith(".csv"):
            return False
        first = head.splitlines()[0] if head.strip() else b""
        return bool(_NUMERIC_PAIR.match(first))

    def read(
        self,
        path: Path,
        start: str | datetime | None = None,
        zone: str | None = None,
        spec: str | None = None,
        provider: str | None = None,
        time_unit: str | None = None,
        **_: Any,
    ) -> Staged:
        names = bamboo_names(path)
        the_spec = spec or names.get("spec")
        the_zone = zone or names.get("zone")
        begin = start if start is not None else names.get("start")
        missing = [
            f"-o {k}=..."
            for k, v in (("spec", the_spec), ("zone", the_zone), ("start", begin))
            if v is None
        ]
        if missing:
            raise FormatError(
                f"the file name does not say everything needed: pass {', '.join(missing)}",
                path=path,
                expected="aws-spot-instances-<family>-<size>-<zone>-<YYYY-MM-DD-HHMM>-...csv",
            )
        assert begin is not None and the_spec is not None and the_zone is not None
        unit = time_unit or ("h" if "_scaled" in path.name else "s")
        if unit not in ("s", "h"):
            raise FormatError(f"time_unit must be 's' or 'h', got {unit!r}", path=path)
        scale = 3600.0 if unit == "h" else 1.0
        t0 = parse_start(begin, path)
        raw = read_text_table(path, has_header=False, new_columns=["t", "available"])
        frame = _bamboo_rows(raw, scale).with_columns(
            _ts_column(t0, pl.col("_t_s")).alias("ts"),
            pl.lit((provider or "aws").lower()).alias("provider"),
            pl.lit(the_zone).alias("zone"),
            pl.lit(the_spec).alias("spec"),
        )
        notes = [
            f"{the_spec} in {the_zone}: {raw.height} rows, time in "
            f"{'hours' if unit == 'h' else 'seconds'} from {t0}"
        ]
        return Staged(
            kind=self.kind,
            batches=[frame.select("provider", "zone", "spec", "ts", "available", "_row",
                                  "_raw", "_reject")],
            notes=notes,
        )  # fmt: skip


def _bamboo_rows(raw: pl.DataFrame, scale: float) -> pl.DataFrame:
    """Map the step CSV's rows to change points: a row that closes a level takes the time
    of the row that opened it (so it duplicates that row); mismatches are rejected."""
    t = pl.col("t").str.strip_chars().cast(pl.Float64, strict=False)
    v = pl.col("available").str.strip_chars()
    df = raw.with_columns(
        _t=t,
        _v=v,
        _raw=pl.concat_str(
            [pl.col("t").fill_null(""), pl.col("available").fill_null("")], separator=","
        ),
    )
    nxt = pl.col("_t").shift(-1)
    df = df.with_columns(_close=(pl.col("_t") == nxt).fill_null(False) & pl.col("_t").is_not_null())
    opens = pl.when(~pl.col("_close") & pl.col("_t").is_not_null())
    df = df.with_columns(
        _open_t=opens.then(pl.col("_t")).forward_fill(),
        _open_v=opens.then(pl.col("_v")).forward_fill(),
        _open_row=opens.then(pl.col("_row")).forward_fill(),
    )
    # On a closing row the forward-filled open_* are those of the level it closes.
    df = df.with_columns(
        _seg_t=pl.when(pl.col("_close")).then(pl.col("_open_t")).otherwise(pl.col("_t")),
        _seg_v=pl.when(pl.col("_close")).then(pl.col("_open_v")),
        _seg_row=pl.when(pl.col("_close")).then(pl.col("_open_row")),
    )
    close = pl.col("_close")
    reject = (
        pl.when(pl.col("_t").is_null())
        .then(pl.lit("unparsable time offset: ") + pl.col("t").fill_null("(empty)"))
        .when(close & pl.col("_seg_t").is_null() & (pl.col("_v") != pl.col("_v").shift(-1)))
        .then(pl.lit("the trace starts with a zero-length level"))
        .when(close & pl.col("_seg_v").is_not_null() & (pl.col("_v") != pl.col("_seg_v")))
        .then(
            pl.lit("closing count ") + pl.col("_v").fill_null("") + pl.lit(" differs from the "
            "level's count ") + pl.col("_seg_v") + pl.lit(" (opened at row ")
            + pl.col("_seg_row").cast(pl.String) + pl.lit(")")
        )
    )  # fmt: skip
    return df.with_columns(
        _t_s=pl.coalesce(pl.col("_seg_t"), pl.col("_t")) * scale,
        _reject=reject,
    ).with_columns(pl.col("_t_s").fill_null(0.0))


register(SpotTraceJson())
register(BambooStepCsv())
