"""Deterministic data: the bundled specs catalog, a SYNTHETIC EAS-like price sample, and
large canonical price inputs for benchmarks and tests.

Everything here is generated from a seed with numpy/polars (vectorised), so the same call
gives the same bytes on every machine. ``python -m spotlab.datasets`` rewrites
``data/specs_catalog.csv`` and ``data/eas_sample/`` from this module.

>>> frame = canonical_prices(n_rows=1_000, n_series=10, seed=1)
>>> frame.height, frame["zone"].n_unique() * frame["spec"].n_unique() >= 10
(1000, True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from spotlab.domain import family_of_spec, region_of_zone_expr

#: every file written by :func:`write_eas_sample` says so in its ``RequestId``
SYNTHETIC_TAG = "SYNTHETIC"

# -- specs catalog -------------------------------------------------------------------------

#: CNY per vCPU-hour and per GiB-hour in the estimate below (order of magnitude of
#: Alibaba's general-purpose ECS pay-as-you-go prices; an assumption, not a quote).
EST_CNY_PER_VCPU_H = 0.12
EST_CNY_PER_GIB_H = 0.03

#: Known pay-as-you-go prices (CNY/h) and where they come from (domain.md §5).
KNOWN_PRICES: dict[str, tuple[float, bool, str]] = {
    # spec: (price, is_estimate, source)
    "ecs.gn8is.2xlarge": (14.4, False, "seed: 8 vCPU + 1 x L20 at 14.4 CNY/h"),
    "ecs.gn7i-c8g1.2xlarge": (9.74, False, "third-party quote"),
    "ml.gu7i.c8m30.1-gu30": (8.0, True, "Alibaba solution page: <= 8 CNY/h on EAS"),
}


def _gpu_rate_from(spec: str, vcpu: int, mem: float, gpus: int) -> float:
    price = KNOWN_PRICES[spec][0]
    return (price - EST_CNY_PER_VCPU_H * vcpu - EST_CNY_PER_GIB_H * mem) / gpus


#: CNY per GPU-hour by GPU (the catalog's ``gpu_model``; "" for the unnamed gn8v/gn7e
#: GPUs, keyed by family). L20, A10 and GU30 are solved from the known prices above;
#: the others are assumed ratios to them (the ratio is the estimate, see data/README.md).
GPU_RATES: dict[str, float] = {
    "L20": _gpu_rate_from("ecs.gn8is.2xlarge", 8, 64, 1),
    "A10": _gpu_rate_from("ecs.gn7i-c8g1.2xlarge", 8, 30, 1),
    "GU30": _gpu_rate_from("ml.gu7i.c8m30.1-gu30", 8, 30, 1),
}
GPU_RATES |= {
    "T4": 0.5 * GPU_RATES["A10"],
    "A30": 1.3 * GPU_RATES["A10"],
    "V100": 1.2 * GPU_RATES["A10"],
    "ecs.gn7e": 2.0 * GPU_RATES["L20"],  # 80 GB GPU, model not named
    "ecs.gn8v": 1.6 * GPU_RATES["L20"],  # 96 GB HBM3 GPU, model not named (likely H20)
}

# spec, vcpu, memory GiB, GPU model ("" = not named), GPU count, GPU memory GiB per GPU
_SPECS: tuple[tuple[str, int, float, str, int, float], ...] = (
    ("ml.gu7i.c8m30.1-gu30", 8, 30, "GU30", 1, 24),
    ("ml.gu7i.c16m60.1-gu30", 16, 60, "GU30", 1, 24),
    ("ml.gu7i.c32m188.1-gu30", 32, 188, "GU30", 1, 24),
    ("ecs.gn8is.2xlarge", 8, 64, "L20", 1, 48),
    ("ecs.gn8is.4xlarge", 16, 128, "L20", 1, 48),
    ("ecs.gn8is-2x.8xlarge", 32, 256, "L20", 2, 48),
    ("ecs.gn8is-4x.16xlarge", 64, 512, "L20", 4, 48),
    ("ecs.gn8is-8x.32xlarge", 128, 1024, "L20", 8, 48),
    ("ecs.gn8v.4xlarge", 16, 96, "", 1, 96),
    ("ecs.gn8v.6xlarge", 24, 128, "", 1, 96),
    ("ecs.gn8v-2x.8xlarge", 32, 192, "", 2, 96),
    ("ecs.gn8v-4x.8xlarge", 32, 384, "", 4, 96),
    ("ecs.gn8v-2x.12xlarge", 48, 256, "", 2, 96),
    ("ecs.gn8v-8x.16xlarge", 64, 768, "", 8, 96),
    ("ecs.gn8v-4x.24xlarge", 96, 512, "", 4, 96),
    ("ecs.gn8v-8x.48xlarge", 192, 1024, "", 8, 96),
    ("ecs.gn7i-c8g1.2xlarge", 8, 30, "A10", 1, 24),
    ("ecs.gn7i-c16g1.4xlarge", 16, 60, "A10", 1, 24),
    ("ecs.gn7i-c32g1.8xlarge", 32, 188, "A10", 1, 24),
    ("ecs.gn7i-c48g1.12xlarge", 48, 310, "A10", 1, 24),
    ("ecs.gn7i-c56g1.14xlarge", 56, 346, "A10", 1, 24),
    ("ecs.gn7i-c32g1.16xlarge", 64, 376, "A10", 2, 24),
    ("ecs.gn7i-c32g1.32xlarge", 128, 752, "A10", 4, 24),
    ("ecs.gn7s-c8g1.2xlarge", 8, 60, "A30", 1, 24),
    ("ecs.gn7e-c16g1.4xlarge", 16, 125, "", 1, 80),
    ("ecs.gn6i-c4g1.xlarge", 4, 15, "T4", 1, 16),
    ("ecs.gn6i-c8g1.2xlarge", 8, 31, "T4", 1, 16),
    ("ecs.gn6i-c16g1.4xlarge", 16, 62, "T4", 1, 16),
    ("ecs.gn6i-c24g1.6xlarge", 24, 93, "T4", 1, 16),
    ("ecs.gn6e-c12g1.3xlarge", 12, 92, "V100", 1, 32),
    ("ecs.gn6v-c8g1.2xlarge", 8, 32, "V100", 1, 16),
)

CATALOG_REGION = "cn-hangzhou"


def estimate_on_demand(spec: str, vcpu: int, memory_gib: float, gpu_model: str, gpus: int) -> float:
    """Estimated pay-as-you-go CNY/h: vCPU and memory rates plus a per-GPU rate, 2 decimals."""
    rate = GPU_RATES[gpu_model or family_of_spec(spec)]
    return round(EST_CNY_PER_VCPU_H * vcpu + EST_CNY_PER_GIB_H * memory_gib + rate * gpus, 2)


def specs_catalog(region: str = CATALOG_REGION) -> pl.DataFrame:
    """The EAS/ECS GPU specs of domain.md §5 in the specs-csv reader's columns.

    Known prices come from :data:`KNOWN_PRICES`; every other price is
    :func:`estimate_on_demand` and has ``price_is_estimate`` true.
    """
    rows = []
    for spec, vcpu, mem, model, gpus, gmem in _SPECS:
        if spec in KNOWN_PRICES:
            price, is_est, _ = KNOWN_PRICES[spec]
        else:
            price, is_est = estimate_on_demand(spec, vcpu, mem, model, gpus), True
        rows.append(
            {
                "provider": "alibaba",
                "region": region,
                "spec": spec,
                "family": family_of_spec(spec),
                "vcpu": vcpu,
                "memory_gib": float(mem),
                "gpu_model": model or None,
                "gpu_count": gpus,
                "gpu_memory_gib": float(gmem),
                "on_demand_price": price,
                "currency": "CNY",
                "price_is_estimate": is_est,
            }
        )
    return pl.DataFrame(rows)


def on_demand_prices() -> dict[str, float]:
    """spec → catalog on-demand CNY/h (known or estimated)."""
    cat = specs_catalog()
    return dict(zip(cat["spec"].to_list(), cat["on_demand_price"].to_list(), strict=True))


# -- the SYNTHETIC EAS-like sample ---------------------------------------------------------


@dataclass(frozen=True)
class EasSampleParams:
    """Parameters of the SYNTHETIC EAS-like spot price sample (see :func:`eas_sample`).

    - ``specs``: spec → mean hours between price changes (per zone). Change points arrive
      as a Poisson process (exponential gaps), so their times are irregular; the first
      point of every series is at the start.
    - ``zones``: zone → (mean normal discount, spike probability per change point). Normal
      prices are ``on-demand × clip(mean + spec offset + N(0, normal_sd), normal_lo,
      normal_hi)``; a spike starts at a change point with the zone's probability and lasts
      a geometric number of change points (mean ``spike_mean_points``), its discount drawn
      uniformly from ``spike_range``. So some zones are worse than others, like a regime.
    - ``spec_offset_sd``: the per-spec shift of the normal discount.
    - ``end``, ``days``: the span; the sample ends at a fixed date so outputs reproduce.
    - ``page_size``: items per ``DescribeSpotPriceHistory`` page (the real API returns at
      most 1000).
    """

    specs: tuple[tuple[str, float], ...] = (
        ("ml.gu7i.c8m30.1-gu30", 6.0),
        ("ecs.gn7i-c8g1.2xlarge", 1.2),  # busy: more than one page per query
        ("ecs.gn8is.2xlarge", 4.0),
        ("ecs.gn6i-c4g1.xlarge", 8.0),
        ("ecs.gn8v.4xlarge", 5.0),
        ("ecs.gn7e-c16g1.4xlarge", 10.0),
        ("ecs.gn8is-8x.32xlarge", 9.0),
        ("ecs.gn8v-8x.48xlarge", 12.0),
    )
    zones: tuple[tuple[str, float, float], ...] = (
        ("cn-hangzhou-h", 0.115, 0.01),
        ("cn-hangzhou-i", 0.130, 0.03),
        ("cn-hangzhou-j", 0.150, 0.07),
    )
    spec_offset_sd: float = 0.01
    normal_sd: float = 0.02
    normal_lo: float = 0.085
    normal_hi: float = 0.195
    spike_range: tuple[float, float] = (0.22, 0.45)
    spike_mean_points: float = 2.0
    end: datetime = datetime(2026, 11, 27, tzinfo=UTC)
    days: int = 30
    page_size: int = 1000


def eas_sample(params: EasSampleParams | None = None, seed: int = 20261127) -> pl.DataFrame:
    """A SYNTHETIC EAS-like spot price history: change points per (zone, spec).

    Returns ``zone, spec, ts (UTC), on_demand_price, spot_price, discount, spike`` sorted
    by spec, time and zone. Prices are CNY/h rounded to 3 decimals (as the API returns
    them); on-demand prices are the bundled catalog's. Deterministic under ``seed``.
    """
    p = params or EasSampleParams()
    rng = np.random.default_rng(seed)
    od = on_demand_prices()
    span_s = p.days * 86_400
    start = p.end - timedelta(days=p.days)
    frames = []
    offsets = rng.normal(0.0, p.spec_offset_sd, size=len(p.specs))
    for (spec, mean_h), spec_off in zip(p.specs, offsets, strict=True):
        for zone, zone_mean, spike_p in p.zones:
            # enough exponential gaps to cover the span, then cut at the end
            n = int(span_s / (mean_h * 3600) * 2) + 20
            gaps = rng.exponential(mean_h * 3600, size=n).round().clip(min=60)
            t = np.concatenate([[0.0], np.cumsum(gaps)])
            t = t[t < span_s].astype(np.int64)
            m = t.size
            level = (zone_mean + spec_off + rng.normal(0.0, p.normal_sd, size=m)).clip(
                p.normal_lo, p.normal_hi
            )
            starts = rng.random(m) < spike_p
            length = rng.geometric(1.0 / p.spike_mean_points, size=m)
            ends = np.where(starts, np.arange(m) + length, -1)
            spike = np.maximum.accumulate(ends) > np.arange(m)
            spike_level = rng.uniform(*p.spike_range, size=m)
            disc = np.where(spike, spike_level, level)
            price = np.round(disc * od[spec], 3)
            frames.append(
                pl.DataFrame(
                    {
                        "zone": zone,
                        "spec": spec,
                        "ts": [start + timedelta(seconds=int(s)) for s in t],
                        "on_demand_price": od[spec],
                        "spot_price": price,
                        "spike": spike,
                    }
                )
            )
    out = pl.concat(frames).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"),
        discount=pl.col("spot_price") / pl.col("on_demand_price"),
    )
    return out.select(
        "zone", "spec", "ts", "on_demand_price", "spot_price", "discount", "spike"
    ).sort("spec", "ts", "zone")


def spot_price_pages(sample: pl.DataFrame, page_size: int = 1000) -> dict[str, list[dict]]:
    """``DescribeSpotPriceHistory`` response pages per spec (one query per instance type,
    as the API requires), at most ``page_size`` items each. ``NextOffset`` is the offset of
    the next page, 0 on the last page."""
    pages: dict[str, list[dict]] = {}
    for (spec,), part in sample.sort("spec", "ts", "zone").group_by("spec", maintain_order=True):
        items = part.select(
            ZoneId="zone",
            InstanceType="spec",
            IoOptimized=pl.lit("optimized"),
            NetworkType=pl.lit("vpc"),
            OriginPrice="on_demand_price",
            SpotPrice="spot_price",
            Timestamp=pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ).to_dicts()
        out = []
        for i, offset in enumerate(range(0, len(items), page_size)):
            chunk = items[offset : offset + page_size]
            last = offset + page_size >= len(items)
            out.append(
                {
                    "RequestId": f"{SYNTHETIC_TAG}-{spec}-{i + 1:02d}",
                    "Currency": "CNY",
                    "NextOffset": 0 if last else offset + page_size,
                    "SpotPrices": {"SpotPriceType": chunk},
                }
            )
        pages[str(spec)] = out
    return pages


def _page_text(page: dict) -> str:
    """A page as compact JSON with one price item per line (readable diffs)."""
    items = page["SpotPrices"]["SpotPriceType"]
    head = {k: v for k, v in page.items() if k != "SpotPrices"}
    lines = ",\n".join(json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in items)
    envelope = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1]
    return f'{envelope},"SpotPrices":{{"SpotPriceType":[\n{lines}\n]}}}}\n'


def write_eas_sample(
    folder: str | Path, params: EasSampleParams | None = None, seed: int = 20261127
) -> list[Path]:
    """Write the SYNTHETIC sample as one JSON page per file: ``<spec>.page-NN.json``."""
    p = params or EasSampleParams()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.page-*.json"):
        old.unlink()
    written = []
    for spec, pages in spot_price_pages(eas_sample(p, seed), p.page_size).items():
        for i, page in enumerate(pages, start=1):
            path = folder / f"{spec}.page-{i:02d}.json"
            path.write_text(_page_text(page))
            written.append(path)
    return written


# -- large canonical inputs ----------------------------------------------------------------

_BENCH_ZONES = tuple(f"cn-{r}-{z}" for r in ("hangzhou", "shanghai", "beijing") for z in "hijk")


def canonical_prices(n_rows: int, n_series: int = 1000, seed: int = 0) -> pl.DataFrame:
    """``n_rows`` valid canonical price rows in ``n_series`` series (SYNTHETIC).

    Columns: provider, region, zone, spec, ts (UTC, whole seconds), spot_price,
    on_demand_price, currency. Each series has irregular, strictly increasing change
    points from 2026-01-01; spot prices are 5-40 % of on-demand. No row is a duplicate or a
    reject, so a load of it must load every row.
    """
    if n_series < 1 or n_rows < n_series:
        raise ValueError("need n_rows >= n_series >= 1")
    rng = np.random.default_rng(seed)
    counts = np.full(n_series, n_rows // n_series, dtype=np.int64)
    counts[: n_rows % n_series] += 1
    series = np.repeat(np.arange(n_series, dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    # per-series time: cumulative gaps, restarted at each series' first row
    gaps = rng.integers(60, 7200, size=n_rows, dtype=np.int64)
    gaps[first] = rng.integers(0, 3600, size=n_series)
    csum = np.cumsum(gaps)
    secs = csum - np.repeat(csum[first] - gaps[first], counts)
    ids = np.arange(n_series)
    per_series = pl.DataFrame(
        {
            "zone": pl.Series(_BENCH_ZONES).gather(ids % len(_BENCH_ZONES)),
            "spec": pl.Series([f"ecs.bench-{i}" for i in ids // len(_BENCH_ZONES)]),
            "on_demand_price": np.round(rng.uniform(1.0, 200.0, size=n_series), 2),
        }
    )
    frame = per_series[series].with_columns(
        provider=pl.lit("alibaba"),
        ts=pl.Series(
            (np.datetime64("2026-01-01T00:00:00", "s") + secs).astype("datetime64[us]")
        ).dt.replace_time_zone("UTC"),
        spot_price=(pl.col("on_demand_price") * rng.uniform(0.05, 0.40, size=n_rows)).round(4),
    )
    # a file sorted by time, series interleaved, like a provider's export
    return (
        frame.with_columns(region=region_of_zone_expr(pl.col("zone")), currency=pl.lit("CNY"))
        .select(
            "provider",
            "region",
            "zone",
            "spec",
            "ts",
            "spot_price",
            "on_demand_price",
            "currency",
        )
        .sort("ts", "zone", "spec")
    )


def write_canonical_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write canonical rows as CSV with ISO 8601 UTC times (``2026-01-01T00:00:00Z``)."""
    frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return Path(path)


def write_canonical_parquet(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write canonical rows as Parquet (``ts`` as a UTC timestamp)."""
    frame.write_parquet(path)
    return Path(path)


# -- the GCP GPU subset (real data, Apache-2.0) ---------------------------------------------

GCP_SUBSET_FAMILIES = ("a2-", "a3-", "g2-")
GCP_SUBSET_REGIONS = (
    "us-central1",
    "us-east4",
    "europe-west4",
    "asia-northeast1",
    "asia-southeast1",
)
GCP_SUBSET_NAME = "gcp_gpu_vm_price_changepoints_2023-05_to_2026-07.csv.gz"


def write_gcp_gpu_subset(source: str | Path, dest: str | Path) -> int:
    """Copy the GPU VM rows (a2/a3/g2 in :data:`GCP_SUBSET_REGIONS`) that carry a spot
    price from the cyclenerd change-point CSV, lines unchanged; returns the rows written.

    Rows before spot pricing began (2023-05-08) have no spot price and are left out, so the
    bundled data loads without rejects.
    """
    import gzip

    src = Path(source)
    opener = gzip.open if src.name.endswith(".gz") else open
    with opener(src, "rt", encoding="utf-8", newline="") as fh:
        lines = fh.read().splitlines()
    header, rows = lines[0], lines[1:]
    cols = header.split(",")
    i_type, i_region, i_spot = (cols.index(c) for c in ("machine_type", "region", "hour_spot_usd"))
    keep = [
        line
        for line, f in ((ln, ln.split(",")) for ln in rows)
        if f[i_type].startswith(GCP_SUBSET_FAMILIES)
        and f[i_region] in GCP_SUBSET_REGIONS
        and f[i_spot].strip()
    ]
    body = "\n".join([header, *keep]) + "\n"
    # mtime=0: the same rows give the same bytes
    with open(dest, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(body.encode("utf-8"))
    return len(keep)


# -- regenerate the bundled files ----------------------------------------------------------


def regenerate(data_dir: str | Path = "data", gcp_source: str | Path | None = None) -> list[Path]:
    """Rewrite ``data/specs_catalog.csv`` and ``data/eas_sample/`` from this module, and the
    GCP subset when ``gcp_source`` (the cyclenerd change-point CSV) is given."""
    data_dir = Path(data_dir)
    catalog = data_dir / "specs_catalog.csv"
    specs_catalog().write_csv(catalog)
    written = [catalog, *write_eas_sample(data_dir / "eas_sample")]
    if gcp_source is not None and Path(gcp_source).exists():
        write_gcp_gpu_subset(gcp_source, data_dir / GCP_SUBSET_NAME)
        written.append(data_dir / GCP_SUBSET_NAME)
    return written


if __name__ == "__main__":
    _root = Path(__file__).resolve().parents[1]
    _gcp = (
        _root.parent
        / "shared/data/gcp-pricing-history-cyclenerd"
        / "gcp_vm_price_changepoints_2022-02_to_2026-07.csv.gz"
    )
    for _path in regenerate(_root / "data", _gcp):
        print(_path)
