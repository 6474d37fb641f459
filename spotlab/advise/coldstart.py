"""Cold-start savings: how long a spot replacement takes to serve, and what faster starts save.

Every spot reclaim starts a replacement instance. Its start-up is a timeline

    scheduling + image pull (+ container start) + model load + warm-up

and the service is short of a replica for ``max(0, total − warning lead)`` seconds: EAS starts
the replacement when the reclaim warning arrives, 300 s before the instance goes on Alibaba
(120 s on AWS). Two features shorten the timeline (seed §1.7, §1.8):

- **cachefs** (memory cache of the model directory): the model is read from a peer's memory
  instead of the OSS mount;
- **ACR acceleration** (``_accelerated`` image tag): the image is fetched lazily, only the
  part read at start-up.

Load times follow ``load_seconds = overhead + size_gb / throughput_gb_per_s`` per load path,
fitted robustly with scikit-learn's ``HuberRegressor`` on measured rows (the seed's table by
default), with bootstrap intervals and leave-one-out errors (:func:`fit_load_times`).

Units: sizes in GB (10^9 bytes), memory in GiB, times in seconds, prices per hour.
Every default below that is not from the seed or a vendor figure is an assumption, named as
such and overridable.

>>> saving = coldstart_saving(7.2, 1.34, reclaims_per_month=10)  # doctest: +SKIP
>>> round(saving.monthly_saving["both"])  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from spotlab import resources
from spotlab.advise.interruptions import interruption_rates
from spotlab.domain import HOURS_PER_MONTH, PROVIDER_CURRENCY, warning_lead_seconds
from spotlab.errors import AnalysisError, did_you_mean
from spotlab.store import Store

# -- names and defaults -------------------------------------------------------------------

OSS_MOUNT = "oss_mount"
CACHEFS_REMOTE_HIT = "cachefs_remote_hit"
#: hardware label of the seed's benchmark rows (the seed does not name the GPU)
SEED_HARDWARE = "pai-eas"
#: where the seed's load times come from when neither a store nor a table is given
SEED_SOURCE = "the seed's table (seed_load_times.csv, shipped with spotlab)"

#: The four setups: (model load path, accelerated image).
SETUPS: dict[str, tuple[str, bool]] = {
    "plain": (OSS_MOUNT, False),
    "cachefs": (CACHEFS_REMOTE_HIT, False),
    "acr": (OSS_MOUNT, True),
    "both": (CACHEFS_REMOTE_HIT, True),
}
#: What a cache setup becomes when the model does not fit the spec's memory headroom.
WITHOUT_CACHE = {"cachefs": "plain", "both": "acr", "plain": "plain", "acr": "acr"}


#: Assumption: allocating the replacement instance until its container can start.
DEFAULT_SCHEDULING_SECONDS = 60.0
#: Assumption: after the weights are loaded, until the first request is served at speed.
DEFAULT_WARMUP_SECONDS = 20.0
#: Assumption: host memory kept for the system besides the service and the cache.
DEFAULT_SYSTEM_RESERVED_GIB = 4.0

#: The seed's example (domain.md §1.2): 8 vCPU + 1 × L20 at 14.4 CNY/h pay-as-you-go; the
#: recommended bid (20 %) is 2.88 CNY/h. Used as Alibaba defaults for price and lost value.
SEED_ON_DEMAND_CNY = 14.4
SEED_SPOT_BID_CNY = 2.88

#: Vendor figure for ACR image acceleration (domain.md §1.8), a 1.34 GB image.
VENDOR_IMAGE_GB = 1.34
VENDOR_PULL_SECONDS = 36.0
VENDOR_ACCELERATED_PULL_SECONDS = 4.0
VENDOR_APP_START_SECONDS = 38.0
VENDOR_ACCELERATED_APP_START_SECONDS = 9.0

_GIB = 2**30 / 1e9  # GB per GiB


# -- physical floor -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bandwidths:
    """Bandwidths of the links a model crosses while loading, GB/s (assumptions: set yours).

    ``oss_gb_per_s``: OSS intranet download for one client (10 Gbit/s assumed);
    ``network_gb_per_s``: the instance's NIC, which a cachefs remote hit crosses (10 Gbit/s
    assumed: an 8-vCPU GPU spec); ``pcie_gb_per_s``: host to GPU (PCIe 4.0 x16, practical);
    ``nvme_gb_per_s``: local NVMe (29.4 GB/s, ServerlessLLM's H100 server);
    ``memory_gb_per_s``: host memory copy.
    """

    oss_gb_per_s: float = 1.25
    network_gb_per_s: float = 1.25
    pcie_gb_per_s: float = 25.0
    nvme_gb_per_s: float = 29.4
    memory_gb_per_s: float = 10.0


#: The links each load path crosses; the slowest one sets the floor.
PATH_LINKS: dict[str, tuple[str, ...]] = {
    OSS_MOUNT: ("oss", "network", "pcie"),
    CACHEFS_REMOTE_HIT: ("network", "pcie"),
    "cachefs_local_hit": ("memory", "pcie"),
    "sllm_random": ("nvme", "pcie"),
    "safetensors_random": ("nvme", "pcie"),
}


def floor_bandwidth(path: str, bandwidths: Bandwidths | None = None) -> tuple[str, float] | None:
    """(slowest link, its GB/s) for a load path; None when the path's links are unknown."""
    bw = bandwidths or Bandwidths()
    links = PATH_LINKS.get(path)
    if not links:
        return None
    rates = {link: float(getattr(bw, f"{link}_gb_per_s")) for link in links}
    slowest = min(rates, key=lambda k: rates[k])
    return slowest, rates[slowest]


# -- load-time fits -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadFit:
    """``load_seconds = overhead_seconds + size_gb / throughput_gb_per_s`` for one path.

    Intervals are bootstrap percentile intervals at ``confidence``; ``throughput_ci`` may
    end at ``inf`` when some resamples show no growth with size. ``overhead_fixed`` says the
    overhead was held at 0: the free fit gave a negative overhead (physically meaningless),
    or the sizes were too close together to separate overhead from throughput.
    ``loo_*`` are leave-one-out prediction errors; ``outlier_models`` are rows the Huber
    loss treated as outliers.
    """

    path: str
    hardware: str
    n: int
    n_sizes: int
    throughput_gb_per_s: float
    throughput_ci: tuple[float, float]
    overhead_seconds: float
    overhead_ci: tuple[float, float]
    r2: float
    loo_mae_seconds: float
    loo_max_abs_seconds: float
    loo_mape: float
    overhead_fixed: bool
    outlier_models: tuple[str, ...]
    confidence: float
    n_boot: int
    boot_intercepts: np.ndarray = field(repr=False, compare=False)
    boot_slopes: np.ndarray = field(repr=False, compare=False)
    residuals: np.ndarray = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("boot_intercepts", "boot_slopes", "residuals"):
            d.pop(k)
        return d

    def seconds(self, size_gb: float) -> float:
        """Point prediction of the load time, seconds."""
        return self.overhead_seconds + size_gb / self.throughput_gb_per_s


def _huber(
    x: np.ndarray, y: np.ndarray, epsilon: float, intercept: bool
) -> tuple[float, float, np.ndarray]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import HuberRegressor

    model = HuberRegressor(epsilon=epsilon, alpha=0.0, fit_intercept=intercept, max_iter=1000)
    with warnings.catch_warnings():
        # Tiny resamples can stop L-BFGS early; the estimate is still usable.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[:, None], y)
    b0 = float(model.intercept_) if intercept else 0.0
    return b0, float(model.coef_[0]), np.asarray(model.outliers_, dtype=bool)


def _fit_line(
    x: np.ndarray, y: np.ndarray, epsilon: float, free_overhead: bool
) -> tuple[float, float, np.ndarray, bool]:
    """(overhead, seconds per GB, outlier mask, overhead fixed at 0) with overhead >= 0."""
    if free_overhead and np.unique(x).size >= 2:
        b0, b1, out = _huber(x, y, epsilon, True)
        if b0 >= 0:
            return b0, b1, out, False
    _, b1, out = _huber(x, y, epsilon, False)
    return 0.0, b1, out, True


def _scale_step(resid: np.ndarray, epsilon: float) -> np.ndarray:
    """Per row, the exact minimiser over σ of HuberRegressor's objective for fixed residuals:
    n·σ + Σ_in r²/σ + Σ_out (2ε|r| − ε²σ), inliers being |r| <= εσ."""
    rows, n = resid.shape
    a = np.sort(np.abs(resid), axis=1)
    csum = np.cumsum(a**2, axis=1)  # sum of the j smallest squares at column j-1
    denom = n - epsilon**2 * (n - np.arange(1, n + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = np.sqrt(np.where(denom > 0, csum / denom, np.nan))
    nxt = np.concatenate([a[:, 1:], np.full((rows, 1), np.inf)], axis=1)
    ok = (
        np.isfinite(sig) & (a <= epsilon * sig * (1 + 1e-12)) & (nxt >= epsilon * sig * (1 - 1e-12))
    )
    pick = sig[np.arange(rows), np.argmax(ok, axis=1)]
    pick = np.where(ok.any(axis=1), pick, np.sqrt(csum[:, -1] / n))
    return np.maximum(pick, np.finfo(float).eps * 10)


def huber_lines(
    x: np.ndarray,
    y: np.ndarray,
    epsilon: float = 1.35,
    intercept: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many Huber line fits at once: rows of ``x`` and ``y`` (shape (fits, points)).

    Minimises the objective of scikit-learn's ``HuberRegressor`` (``alpha=0``; joint scale
    σ, Owen 2007) by alternating a reweighted least-squares step for the line with the exact
    σ step; the tests check it against ``HuberRegressor``. Used for the bootstrap and the
    leave-one-out refits, which would take seconds one ``HuberRegressor`` at a time.
    Returns (intercepts, slopes, scales); rows whose x are all equal give NaN with an
    intercept.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.atleast_2d(np.asarray(y, dtype=float))
    rows = x.shape[0]
    b0 = np.zeros(rows)
    b1 = np.zeros(rows)
    sig = np.full(rows, np.nan)
    w = np.ones_like(x)
    active = np.arange(rows)  # rows still moving: converged rows stop costing time
    for it in range(max_iter):
        xa, ya, wa = x[active], y[active], w[active]
        s0, sx, sy = wa.sum(1), (wa * xa).sum(1), (wa * ya).sum(1)
        sxx, sxy = (wa * xa * xa).sum(1), (wa * xa * ya).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            if intercept:
                det = s0 * sxx - sx**2
                det = np.where(np.abs(det) > 1e-12 * s0 * sxx, det, np.nan)
                n1 = (s0 * sxy - sx * sy) / det
                n0 = (sy - n1 * sx) / s0
            else:
                n1 = sxy / sxx
                n0 = np.zeros(active.size)
        if it > 0:
            # weights can collapse onto one x (σ → 0 on an exact sub-fit): keep the last
            # finite line for such rows instead of letting NaN through
            lost = ~np.isfinite(n1) & np.isfinite(b1[active])
            n0 = np.where(lost, b0[active], n0)
            n1 = np.where(lost, b1[active], n1)
        resid = ya - n0[:, None] - n1[:, None] * xa
        nsig = _scale_step(np.nan_to_num(resid), epsilon)
        cut = epsilon * nsig[:, None]
        absr = np.abs(resid)
        with np.errstate(divide="ignore", invalid="ignore"):
            w[active] = np.nan_to_num(np.where(absr <= cut, 1.0, cut / absr), nan=1.0)
        step = np.abs(n0 - b0[active]) + np.abs(n1 - b1[active]) + np.abs(nsig - sig[active])
        moved = np.where(np.isfinite(step), step / (1.0 + np.abs(n0) + np.abs(n1) + nsig), 0.0)
        b0[active], b1[active], sig[active] = n0, n1, nsig
        if it > 0:
            active = active[moved >= tol]
            if active.size == 0:
                break
    _l1_boundary(x, y, epsilon, intercept, b0, b1, sig)
    return b0, b1, sig


# points nearest the reweighted fit whose pairwise lines are tried at the boundary σ → 0
_BOUNDARY_POINTS = 8


def _huber_objective(
    x: np.ndarray, y: np.ndarray, b0: np.ndarray, b1: np.ndarray, sig: np.ndarray, eps: float
) -> np.ndarray:
    """Per row, HuberRegressor's objective (alpha=0) at (b0, b1, σ)."""
    r = np.abs(y - b0[:, None] - b1[:, None] * x)
    s = sig[:, None]
    inl = r <= eps * s
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(inl, np.where(r > 0, r * r / s, 0.0), 2 * eps * r - eps * eps * s)
    return x.shape[1] * sig + terms.sum(1)


def _l1_boundary(
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    intercept: bool,
    b0: np.ndarray,
    b1: np.ndarray,
    sig: np.ndarray,
) -> None:
    """The objective's infimum may lie on the boundary σ → 0, where it is 2ε·Σ|r| (least
    absolute deviations), and reweighting crawls there (σ shrinks, the weights of the points
    fitted nearly exactly grow without bound). An LAD line passes through two of the points
    (one, through the origin): the lines through the :data:`_BOUNDARY_POINTS` points nearest
    the reweighted fit (all of them on small fits) are tried, and the lowest objective is kept.
    Never worse than the reweighted fit. In place."""
    rows = np.flatnonzero(np.isfinite(b1) & np.isfinite(b0))
    if rows.size == 0:
        return
    xr, yr = x[rows], y[rows]
    m = min(x.shape[1], _BOUNDARY_POINTS)
    near = np.argsort(np.abs(yr - b0[rows, None] - b1[rows, None] * xr), axis=1)[:, :m]
    xn, yn = np.take_along_axis(xr, near, 1), np.take_along_axis(yr, near, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if intercept:
            i, j = np.triu_indices(m, 1)
            dx = xn[:, j] - xn[:, i]
            c1 = np.where(dx != 0, (yn[:, j] - yn[:, i]) / dx, np.nan)
            c0 = yn[:, i] - c1 * xn[:, i]
        else:
            c1 = np.where(xn != 0, yn / xn, np.nan)
            c0 = np.zeros_like(c1)
    # (rows, candidate lines, points): Σ|r| of every candidate line
    l1 = np.abs(yr[:, None, :] - c0[:, :, None] - c1[:, :, None] * xr[:, None, :]).sum(2)
    l1 = np.where(np.isfinite(l1), l1, np.inf)
    best = np.argmin(l1, axis=1)
    k = np.arange(rows.size)
    better = 2 * eps * l1[k, best] < _huber_objective(xr, yr, b0[rows], b1[rows], sig[rows], eps)
    take = rows[better]
    b0[take] = c0[k, best][better]
    b1[take] = c1[k, best][better]
    sig[take] = np.finfo(float).eps * 10


def _fit_lines(
    x: np.ndarray, y: np.ndarray, epsilon: float, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of (overhead >= 0, seconds per GB): the free fit where allowed and non-negative,
    else the fit through the origin (as :func:`_fit_line` does for one fit)."""
    b0, b1, _ = huber_lines(x, y, epsilon, intercept=True)
    _, c1, _ = huber_lines(x, y, epsilon, intercept=False)
    use_free = free & np.isfinite(b0) & np.isfinite(b1) & (b0 >= 0)
    return np.where(use_free, b0, 0.0), np.where(use_free, b1, c1)


def _spread(x: np.ndarray) -> np.ndarray:
    """(max − min) / max of each row of sizes."""
    top = x.max(axis=-1)
    return np.where(top > 0, (top - x.min(axis=-1)) / np.where(top > 0, top, 1.0), 0.0)


def _throughput(slope: float) -> float:
    return 1.0 / slope if slope > 0 else math.inf


def fit_load_times(
    benchmarks: pl.DataFrame,
    hardware: str | None = None,
    *,
    paths: Sequence[str] | None = None,
    epsilon: float = 1.35,
    n_boot: int = 200,
    confidence: float = 0.9,
    min_spread: float = 0.2,
    seed: int = 0,
) -> dict[str, LoadFit]:
    """Fit ``load_seconds = overhead + size_gb / throughput`` per path, robustly.

    ``benchmarks`` has columns ``model, size_gb, path, load_seconds, hardware`` (the
    ``load_benchmarks`` table, or :func:`seed_load_times`). ``hardware`` keeps only rows of
    that hardware; a path measured on several kinds of hardware must be narrowed this way.
    ``min_spread``: when (max − min) / max of the sizes is below it, the overhead is held at
    0 (two close sizes cannot separate it from the throughput). Returns {path: LoadFit}.
    """
    need = {"size_gb", "path", "load_seconds", "hardware"}
    missing = need - set(benchmarks.columns)
    if missing:
        raise AnalysisError(
            f"load benchmarks lack column(s) {', '.join(sorted(missing))}; "
            "pass the load_benchmarks table or seed_load_times()"
        )
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence must be in (0, 1), got {confidence}")
    frame = benchmarks
    if hardware is not None:
        frame = frame.filter(pl.col("hardware") == hardware)
        if frame.height == 0:
            known = benchmarks["hardware"].unique().to_list()
            raise AnalysisError(
                f"no load benchmarks on hardware {hardware!r}.{did_you_mean(hardware, known)} "
                f"Known: {', '.join(sorted(map(str, known)))}"
            )
    if paths is not None:
        unknown = [p for p in paths if p not in set(frame["path"].to_list())]
        if unknown:
            known = sorted(set(frame["path"].to_list()))
            raise AnalysisError(
                f"no load benchmarks for path(s) {', '.join(unknown)}."
                f"{did_you_mean(unknown[0], known)} Known: {', '.join(known)}"
            )
        frame = frame.filter(pl.col("path").is_in(list(paths)))
    if frame.height == 0:
        raise AnalysisError("no load benchmarks to fit: ingest some (spotlab ingest data/)")
    mixed = (
        frame.group_by("path")
        .agg(pl.col("hardware").n_unique().alias("k"), pl.col("hardware").unique().alias("hw"))
        .filter(pl.col("k") > 1)
    )
    if mixed.height:
        row = mixed.row(0, named=True)
        raise AnalysisError(
            f"path {row['path']!r} was measured on {row['k']} kinds of hardware "
            f"({', '.join(sorted(row['hw']))}): pass hardware=... to fit one of them"
        )
    rng = np.random.default_rng(seed)
    fits: dict[str, LoadFit] = {}
    for (path,), group in sorted(frame.group_by("path"), key=lambda g: str(g[0][0])):
        fits[str(path)] = _fit_path(group, epsilon, n_boot, confidence, min_spread, rng)
    return fits


def _fit_path(
    group: pl.DataFrame,
    epsilon: float,
    n_boot: int,
    confidence: float,
    min_spread: float,
    rng: np.random.Generator,
) -> LoadFit:
    x = group["size_gb"].to_numpy().astype(float)
    y = group["load_seconds"].to_numpy().astype(float)
    models = group["model"].to_list() if "model" in group.columns else [""] * len(x)
    n = len(x)
    if n < 3:
        raise AnalysisError(
            f"path {group['path'][0]!r} has {n} measurement(s): a fit needs at least 3"
        )
    free = bool(_spread(x) >= min_spread)
    b0, b1, outliers, fixed = _fit_line(x, y, epsilon, free)
    if b1 <= 0:
        raise AnalysisError(
            f"load times on path {group['path'][0]!r} do not grow with model size "
            f"(fitted {b1:.3g} s/GB): add measurements of other sizes"
        )
    fitted = b0 + b1 * x
    resid = y - fitted
    ss_tot = float(((y - y.mean()) ** 2).sum())
    # With one size, R² only measures run-to-run noise: report none.
    one_size = np.unique(x).size < 2
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 and not one_size else math.nan
    # Leave-one-out: refit without each row (all at once), predict it.
    keep = ~np.eye(n, dtype=bool)
    xl = np.broadcast_to(x, (n, n))[keep].reshape(n, n - 1)
    yl = np.broadcast_to(y, (n, n))[keep].reshape(n, n - 1)
    c0, c1 = _fit_lines(xl, yl, epsilon, free & (_spread(xl) >= min_spread))
    loo = y - (c0 + c1 * x)
    # Case-resampling bootstrap of the same estimator.
    idx = rng.integers(0, n, (n_boot, n))
    xb, yb = x[idx], y[idx]
    boot_b0, boot_b1 = _fit_lines(xb, yb, epsilon, free & (_spread(xb) >= min_spread))
    valid = np.isfinite(boot_b0) & np.isfinite(boot_b1)
    boot_b0, boot_b1 = boot_b0[valid], boot_b1[valid]
    alpha = (1 - confidence) / 2
    if boot_b1.size:
        s_lo, s_hi = np.quantile(boot_b1, [alpha, 1 - alpha])
        o_lo, o_hi = np.quantile(boot_b0, [alpha, 1 - alpha])
    else:  # pragma: no cover - only when n_boot=0
        s_lo = s_hi = b1
        o_lo = o_hi = b0
    return LoadFit(
        path=str(group["path"][0]),
        hardware=str(group["hardware"][0]),
        n=n,
        n_sizes=int(np.unique(x).size),
        throughput_gb_per_s=1.0 / b1,
        throughput_ci=(_throughput(float(s_hi)), _throughput(float(s_lo))),
        overhead_seconds=b0,
        overhead_ci=(float(o_lo), float(o_hi)),
        r2=r2,
        loo_mae_seconds=float(np.abs(loo).mean()),
        loo_max_abs_seconds=float(np.abs(loo).max()),
        loo_mape=float((np.abs(loo) / y).mean()),
        overhead_fixed=fixed,
        outlier_models=tuple(str(m) for m, o in zip(models, outliers, strict=True) if o),
        confidence=confidence,
        n_boot=int(boot_b1.size),
        boot_intercepts=boot_b0,
        boot_slopes=boot_b1,
        residuals=resid,
    )


def load_fit_table(
    fits: Mapping[str, LoadFit], bandwidths: Bandwidths | None = None
) -> pl.DataFrame:
    """One row per path: throughput and overhead with intervals, R², LOO errors, floor share."""
    rows = []
    for fit in fits.values():
        floor = floor_bandwidth(fit.path, bandwidths)
        rows.append(
            {
                "path": fit.path,
                "hardware": fit.hardware,
                "n": fit.n,
                "throughput_gb_per_s": fit.throughput_gb_per_s,
                "throughput_lo": fit.throughput_ci[0],
                "throughput_hi": fit.throughput_ci[1],
                "overhead_seconds": fit.overhead_seconds,
                "overhead_lo": fit.overhead_ci[0],
                "overhead_hi": fit.overhead_ci[1],
                "r2": fit.r2,
                "loo_mae_seconds": fit.loo_mae_seconds,
                "loo_mape": fit.loo_mape,
                "slowest_link": floor[0] if floor else None,
                "floor_gb_per_s": floor[1] if floor else None,
                "share_of_floor": fit.throughput_gb_per_s / floor[1] if floor else None,
                "outliers": ", ".join(fit.outlier_models),
            }
        )
    return pl.DataFrame(rows)


def predict_load_seconds(
    fit: LoadFit,
    size_gb: float | Sequence[float],
    bandwidths: Bandwidths | None = None,
    interval: str = "line",
) -> pl.DataFrame:
    """Predicted load seconds for model sizes, with an interval and the physical floor.

    ``interval="line"``: bootstrap interval of the fitted line (where the typical load time
    lies); ``"prediction"``: adds a resampled residual, for one load of one model.
    Columns: ``path, size_gb, load_seconds, load_seconds_lo, load_seconds_hi,
    floor_seconds, share_of_floor`` (floor ÷ prediction: 1 = at the physical limit).
    """
    if interval not in ("line", "prediction"):
        raise AnalysisError(f"interval must be 'line' or 'prediction', got {interval!r}")
    sizes = np.atleast_1d(np.asarray(size_gb, dtype=float))
    if (sizes < 0).any() or not np.isfinite(sizes).all():
        raise AnalysisError("model sizes must be finite and >= 0 GB")
    point = fit.overhead_seconds + sizes / fit.throughput_gb_per_s
    alpha = (1 - fit.confidence) / 2
    if fit.boot_slopes.size:
        draws = fit.boot_intercepts[:, None] + fit.boot_slopes[:, None] * sizes[None, :]
        if interval == "prediction":
            rng = np.random.default_rng(0)
            draws = draws + rng.choice(fit.residuals, size=draws.shape[0])[:, None]
        lo, hi = np.quantile(draws, [alpha, 1 - alpha], axis=0)
        lo = np.maximum(lo, 0.0)
    else:  # pragma: no cover - only when n_boot=0
        lo = hi = point
    floor = floor_bandwidth(fit.path, bandwidths)
    floor_s = sizes / floor[1] if floor else np.full(sizes.shape, np.nan)
    return pl.DataFrame(
        {
            "path": [fit.path] * sizes.size,
            "size_gb": sizes,
            "load_seconds": point,
            "load_seconds_lo": np.minimum(lo, point),
            "load_seconds_hi": np.maximum(hi, point),
            "floor_seconds": floor_s,
            "share_of_floor": np.where(point > 0, floor_s / np.where(point > 0, point, 1), np.nan),
        }
    ).with_columns(pl.col("floor_seconds", "share_of_floor").fill_nan(None))


def load_fit_curves(
    fits: Mapping[str, LoadFit],
    sizes: Sequence[float] | None = None,
    bandwidths: Bandwidths | None = None,
) -> pl.DataFrame:
    """Predictions of every fit over a grid of sizes (for the fit chart)."""
    grid = np.linspace(0.0, 10.0, 51) if sizes is None else np.asarray(sizes, dtype=float)
    frames = [predict_load_seconds(f, grid.tolist(), bandwidths) for f in fits.values()]
    if not frames:
        raise AnalysisError("no fits to draw")
    return pl.concat(frames)


# -- where the measurements come from ---------------------------------------------------------


def seed_load_times(path: str | Path | None = None) -> pl.DataFrame:
    """The seed's load-time table (shipped with spotlab, :mod:`spotlab.resources`; or the
    load-benchmarks CSV at ``path``), read and validated by the same reader
    ``spotlab ingest`` uses. Columns as the ``load_benchmarks`` table."""
    if path is not None:
        if not Path(path).exists():
            raise AnalysisError(
                f"the load-time table {path} is missing: pass measurements explicitly "
                "(fit_load_times(frame)) or ingest a load-benchmarks CSV into the store"
            )
        return _read_load_times(Path(path))
    with resources.resource_path(resources.SEED_LOAD_TIMES) as packaged:
        return _read_load_times(packaged)


def _read_load_times(csv: Path) -> pl.DataFrame:
    from spotlab.ingest import ingest

    with Store(":memory:") as mem:
        ingest(mem, csv, format="load-benchmarks-csv")
        return mem.query("SELECT * EXCLUDE (source_id) FROM load_benchmarks ORDER BY path, model")


def load_times(store: Store | None = None, hardware: str | None = SEED_HARDWARE) -> pl.DataFrame:
    """Load benchmarks from the store (of ``hardware``; None = all), else the seed's table."""
    if store is not None and "load_benchmarks" in store.tables():
        where = "WHERE hardware = ?" if hardware is not None else ""
        rows = store.query(
            f"SELECT * EXCLUDE (source_id) FROM load_benchmarks {where} ORDER BY path, model, run",
            [hardware] if hardware is not None else None,
        )
        if rows.height:
            return rows
    seed = seed_load_times()
    return seed if hardware is None else seed.filter(pl.col("hardware") == hardware)


@functools.lru_cache(maxsize=1)
def _cached_seed_fits() -> dict[str, LoadFit]:
    return fit_load_times(seed_load_times(), SEED_HARDWARE)


def default_load_fits(store: Store | None = None) -> dict[str, LoadFit]:
    """Fits of the seed's two paths (``oss_mount``, ``cachefs_remote_hit``): from the store's
    seed rows when present, else from the seed's table shipped with spotlab (cached)."""
    if store is not None:
        rows = load_times(store, SEED_HARDWARE)
        return fit_load_times(rows, SEED_HARDWARE, paths=[OSS_MOUNT, CACHEFS_REMOTE_HIT])
    return dict(_cached_seed_fits())


# -- image pull ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImagePullModel:
    """Container image start-up, plain or with ACR acceleration.

    Plain: pull = size ÷ registry bandwidth + size ÷ unpack rate, then the container starts
    (``app_init_seconds``). Accelerated (lazy loading): pull = fetch of the image index
    (``index_fetch_seconds``), then the container starts and reads ``startup_read_share``
    of the image from the registry while starting.

    :meth:`from_measurements` calibrates it from one image's measured pull and start times;
    the default (:meth:`vendor`) uses ACR's figure for a 1.34 GB image (pull 36 s → 4 s,
    app start 38 s → 9 s), splitting the plain pull half download, half unpack (the vendor
    gives only the total: an assumption).
    """

    registry_gb_per_s: float
    unpack_gb_per_s: float
    index_fetch_seconds: float
    startup_read_share: float
    app_init_seconds: float

    @classmethod
    def from_measurements(
        cls,
        image_size_gb: float,
        pull_seconds: float,
        accelerated_pull_seconds: float,
        app_start_seconds: float,
        accelerated_app_start_seconds: float,
        download_share: float = 0.5,
    ) -> ImagePullModel:
        """Calibrate from one image: pull and app-start seconds, plain and accelerated.

        App start counts from the start of the pull until the app is up.
        ``download_share`` is the part of the plain pull spent downloading (rest: unpack).
        """
        values = (image_size_gb, pull_seconds, accelerated_pull_seconds)
        if min(values) <= 0 or not 0 < download_share < 1:
            raise AnalysisError(
                "image size and pull times must be > 0 and download_share in (0, 1)"
            )
        app_init = app_start_seconds - pull_seconds
        lazy = accelerated_app_start_seconds - accelerated_pull_seconds - app_init
        if app_init < 0 or lazy < 0:
            raise AnalysisError(
                "app start must include the pull and the accelerated start must take at "
                f"least as long as the plain container start: got app start "
                f"{app_start_seconds} s vs pull {pull_seconds} s, accelerated "
                f"{accelerated_app_start_seconds} s vs {accelerated_pull_seconds} s"
            )
        per_gb = pull_seconds / image_size_gb
        registry = 1.0 / (download_share * per_gb)
        share = lazy * registry / image_size_gb
        if share > 1:
            raise AnalysisError(
                f"the accelerated start reads {share:.0%} of the image: more than all of it. "
                "Check the measurements (or raise download_share)"
            )
        return cls(
            registry_gb_per_s=registry,
            unpack_gb_per_s=1.0 / ((1 - download_share) * per_gb),
            index_fetch_seconds=accelerated_pull_seconds,
            startup_read_share=share,
            app_init_seconds=app_init,
        )

    @classmethod
    def vendor(cls) -> ImagePullModel:
        """Calibrated on the ACR vendor figure for a 1.34 GB image."""
        return cls.from_measurements(
            VENDOR_IMAGE_GB,
            VENDOR_PULL_SECONDS,
            VENDOR_ACCELERATED_PULL_SECONDS,
            VENDOR_APP_START_SECONDS,
            VENDOR_ACCELERATED_APP_START_SECONDS,
        )

    def pull_seconds(self, image_size_gb: float, accelerated: bool) -> float:
        """Seconds until the container can start."""
        if accelerated:
            return self.index_fetch_seconds
        return image_size_gb / self.registry_gb_per_s + image_size_gb / self.unpack_gb_per_s

    def start_seconds(self, image_size_gb: float, accelerated: bool) -> float:
        """Seconds from container start until the app runs (lazy reads when accelerated)."""
        lazy = self.startup_read_share * image_size_gb / self.registry_gb_per_s
        return self.app_init_seconds + (lazy if accelerated else 0.0)


# -- replacement timeline and savings -------------------------------------------------------


def cache_headroom_gib(
    memory_gib: float,
    model_size_gb: float,
    system_reserved_gib: float = DEFAULT_SYSTEM_RESERVED_GIB,
) -> float:
    """Host memory (GiB) left for a cache after the system and the serving process, which
    stages the weights in host memory while loading (taken as the model's size)."""
    return memory_gib - system_reserved_gib - model_size_gb / _GIB


def cache_fits(
    memory_gib: float | None,
    model_size_gb: float,
    system_reserved_gib: float = DEFAULT_SYSTEM_RESERVED_GIB,
) -> bool | None:
    """Does the model's cache fit the spec's memory headroom? None when memory is unknown."""
    if memory_gib is None or (isinstance(memory_gib, float) and math.isnan(memory_gib)):
        return None
    return model_size_gb / _GIB <= cache_headroom_gib(
        memory_gib, model_size_gb, system_reserved_gib
    )


def _check_sizes(model_size_gb: float, image_size_gb: float) -> None:
    for name, v in (("model size", model_size_gb), ("image size", image_size_gb)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise AnalysisError(f"{name} must be a finite number of GB >= 0, got {v!r}")


def replacement_timeline(
    model_size_gb: float,
    image_size_gb: float = VENDOR_IMAGE_GB,
    provider: str = "alibaba",
    *,
    load_fits: Mapping[str, LoadFit] | None = None,
    image: ImagePullModel | None = None,
    scheduling_seconds: float = DEFAULT_SCHEDULING_SECONDS,
    warmup_seconds: float = DEFAULT_WARMUP_SECONDS,
    lead_seconds: float | None = None,
    memory_gib: float | None = None,
    system_reserved_gib: float = DEFAULT_SYSTEM_RESERVED_GIB,
) -> pl.DataFrame:
    """The start-up of a replacement in each setup (plain, cachefs, acr, both).

    Columns: ``setup, load_path, accelerated, scheduling_seconds, pull_seconds,
    image_start_seconds, load_seconds(_lo/_hi), warmup_seconds, total_seconds(_lo/_hi),
    lead_seconds, downtime_seconds(_lo/_hi)`` (= max(0, total − lead)),
    ``billed_startup_seconds`` (the replacement is billed from allocation: total −
    scheduling), ``double_billed_seconds`` (both instances billed: the old one until the
    lead time ends), ``cache_fits_memory`` (cache setups; None when ``memory_gib`` of the
    spec is not given), ``available`` (False for a cache setup whose cache does not fit)
    and ``unavailable_reason``. ``load_fits`` defaults to the seed's fits.
    """
    _check_sizes(model_size_gb, image_size_gb)
    fits = load_fits if load_fits is not None else default_load_fits()
    for p in (OSS_MOUNT, CACHEFS_REMOTE_HIT):
        if p not in fits:
            raise AnalysisError(
                f"no load-time fit for path {p!r} (have: {', '.join(fits) or 'none'}); "
                "fit the seed's table or your own measurements of both paths"
            )
    img = image or ImagePullModel.vendor()
    lead = warning_lead_seconds(provider) if lead_seconds is None else float(lead_seconds)
    fits_mem = cache_fits(memory_gib, model_size_gb, system_reserved_gib)
    no_fit = None
    if fits_mem is False and memory_gib is not None:
        room = cache_headroom_gib(memory_gib, model_size_gb, system_reserved_gib)
        no_fit = (
            f"the {model_size_gb / _GIB:.1f} GiB cache does not fit: {memory_gib:g} GiB of memory "
            f"leaves {max(room, 0.0):.1f} GiB after {system_reserved_gib:g} GiB for the system "
            f"and {model_size_gb / _GIB:.1f} GiB staging the weights"
        )
    loads = {
        p: predict_load_seconds(fits[p], [model_size_gb]).row(0, named=True)
        for p in (OSS_MOUNT, CACHEFS_REMOTE_HIT)
    }
    rows = []
    for setup, (path, accel) in SETUPS.items():
        load = loads[path]
        fixed = (
            scheduling_seconds
            + img.pull_seconds(image_size_gb, accel)
            + img.start_seconds(image_size_gb, accel)
            + warmup_seconds
        )
        rows.append(
            {
                "setup": setup,
                "load_path": path,
                "accelerated": accel,
                "scheduling_seconds": float(scheduling_seconds),
                "pull_seconds": img.pull_seconds(image_size_gb, accel),
                "image_start_seconds": img.start_seconds(image_size_gb, accel),
                "load_seconds": load["load_seconds"],
                "load_seconds_lo": load["load_seconds_lo"],
                "load_seconds_hi": load["load_seconds_hi"],
                "warmup_seconds": float(warmup_seconds),
                "total_seconds": fixed + load["load_seconds"],
                "total_seconds_lo": fixed + load["load_seconds_lo"],
                "total_seconds_hi": fixed + load["load_seconds_hi"],
                "cache_fits_memory": fits_mem if path == CACHEFS_REMOTE_HIT else None,
                "available": not (path == CACHEFS_REMOTE_HIT and fits_mem is False),
                "unavailable_reason": no_fit if path == CACHEFS_REMOTE_HIT else None,
            }
        )
    return pl.DataFrame(rows).with_columns(
        pl.col("cache_fits_memory").cast(pl.Boolean),
        pl.col("unavailable_reason").cast(pl.String),
        pl.lit(lead).alias("lead_seconds"),
        *[
            (pl.col(f"total_seconds{s}") - lead).clip(lower_bound=0).alias(f"downtime_seconds{s}")
            for s in ("", "_lo", "_hi")
        ],
        (pl.col("total_seconds") - pl.col("scheduling_seconds")).alias("billed_startup_seconds"),
        (pl.min_horizontal(pl.col("total_seconds"), pl.lit(lead)) - pl.col("scheduling_seconds"))
        .clip(lower_bound=0)
        .alias("double_billed_seconds"),
    )


def _default_prices(
    provider: str, price_per_hour: float | None, value_per_replica_hour: float | None
) -> tuple[float, float, str]:
    if price_per_hour is not None and value_per_replica_hour is not None:
        # AWS prices are USD; Alibaba's are CNY on the China site (USD on the international
        # one: pass currency= then).
        cur = PROVIDER_CURRENCY.get(provider.lower(), "")
        return float(price_per_hour), float(value_per_replica_hour), cur
    if provider.lower() != "alibaba":
        raise AnalysisError(
            f"no default price for provider {provider!r}: pass price_per_hour (--price: the "
            "spot price) and value_per_replica_hour (--value: what an hour without a replica "
            "costs you)"
        )
    return (
        SEED_SPOT_BID_CNY if price_per_hour is None else float(price_per_hour),
        SEED_ON_DEMAND_CNY if value_per_replica_hour is None else float(value_per_replica_hour),
        "CNY",
    )


def monthly_savings(
    timeline: pl.DataFrame,
    reclaims_per_month: float,
    price_per_hour: float,
    value_per_replica_hour: float,
    currency: str = "CNY",
) -> pl.DataFrame:
    """Add the monthly cost of cold starts and the saving of each setup against ``plain``.

    Per reclaim: downtime hours × ``value_per_replica_hour`` (what an hour short of a
    replica costs you; e.g. the on-demand price of a stand-in) + billed start-up hours ×
    ``price_per_hour`` (the spot price). Monthly = ``reclaims_per_month`` × that;
    ``monthly_saving`` = plain's monthly cost − this setup's.
    """
    for name, v in (
        ("reclaims_per_month", reclaims_per_month),
        ("price_per_hour", price_per_hour),
        ("value_per_replica_hour", value_per_replica_hour),
    ):
        if not (math.isfinite(v) and v >= 0):
            raise AnalysisError(f"{name} must be a finite number >= 0, got {v!r}")
    if "plain" not in timeline["setup"].to_list():
        raise AnalysisError("the timeline has no 'plain' row to compare against")
    per_reclaim = (
        pl.col("downtime_seconds") / 3600 * value_per_replica_hour
        + pl.col("billed_startup_seconds") / 3600 * price_per_hour
    )
    out = timeline.with_columns(
        pl.lit(float(reclaims_per_month)).alias("reclaims_per_month"),
        per_reclaim.alias("cost_per_reclaim"),
        (per_reclaim * reclaims_per_month).alias("monthly_cost"),
        pl.lit(currency).alias("currency"),
    )
    plain = out.filter(pl.col("setup") == "plain")["monthly_cost"][0]
    return out.with_columns((plain - pl.col("monthly_cost")).alias("monthly_saving"))


def savings_by_reclaim_rate(
    model_size_gb: float,
    image_size_gb: float = VENDOR_IMAGE_GB,
    provider: str = "alibaba",
    rates: Sequence[float] = (0, 1, 2, 5, 10, 20, 50),
    price_per_hour: float | None = None,
    value_per_replica_hour: float | None = None,
    **timeline_options: Any,
) -> pl.DataFrame:
    """Monthly saving of each setup over a range of reclaim rates (for the savings chart)."""
    price, value, currency = _default_prices(provider, price_per_hour, value_per_replica_hour)
    timeline = replacement_timeline(model_size_gb, image_size_gb, provider, **timeline_options)
    return pl.concat(
        monthly_savings(timeline, float(r), price, value, currency or "").select(
            "setup", "reclaims_per_month", "monthly_cost", "monthly_saving", "currency"
        )
        for r in rates
    )


@dataclass(frozen=True)
class ColdstartSaving:
    """What cachefs and ACR acceleration save for one service (see :func:`coldstart_saving`).

    ``seconds``/``downtime_seconds``/``monthly_saving`` map each setup (plain, cachefs, acr,
    both) to its replacement start-up seconds, downtime per reclaim and monthly saving
    against plain (plain: 0). ``model_s``, ``image_s``, ``total_s``: seconds saved per cold
    start by the memory cache, by image acceleration and by both. ``best_setup`` is the
    available setup that saves most; ``unavailable`` maps each setup that cannot run (its
    cache does not fit the spec's memory) to the reason.
    """

    model_size_gb: float
    image_size_gb: float
    provider: str
    reclaims_per_month: float
    price_per_hour: float
    value_per_replica_hour: float
    currency: str
    seconds: dict[str, float]
    downtime_seconds: dict[str, float]
    monthly_saving: dict[str, float]
    model_s: float
    image_s: float
    total_s: float
    cache_fits_memory: bool | None
    best_setup: str
    unavailable: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def coldstart_saving(
    model_size_gb: float,
    image_size_gb: float = VENDOR_IMAGE_GB,
    provider: str = "alibaba",
    reclaims_per_month: float = 0.0,
    *,
    price_per_hour: float | None = None,
    value_per_replica_hour: float | None = None,
    currency: str | None = None,
    memory_gib: float | None = None,
    **timeline_options: Any,
) -> ColdstartSaving:
    """Monthly saving of cachefs, ACR acceleration and both against a plain setup.

    Prices default, on Alibaba, to the seed's example (spot 2.88 CNY/h, a lost replica-hour
    valued at the 14.4 CNY/h on-demand price); other providers need both given.
    ``memory_gib`` (the spec's) flags a cache that does not fit. Other options go to
    :func:`replacement_timeline`.
    """
    price, value, cur = _default_prices(provider, price_per_hour, value_per_replica_hour)
    timeline = replacement_timeline(
        model_size_gb, image_size_gb, provider, memory_gib=memory_gib, **timeline_options
    )
    table = monthly_savings(timeline, reclaims_per_month, price, value, currency or cur or "")
    secs = dict(zip(table["setup"], table["total_seconds"], strict=True))
    down = dict(zip(table["setup"], table["downtime_seconds"], strict=True))
    save = dict(zip(table["setup"], table["monthly_saving"], strict=True))
    off = {
        r["setup"]: r["unavailable_reason"]
        for r in table.filter(~pl.col("available")).iter_rows(named=True)
    }
    # a setup that cannot run is never "best", whatever it would save
    best = max((s for s in SETUPS if s not in off), key=lambda s: (round(save[s], 9), -secs[s]))
    return ColdstartSaving(
        model_size_gb=float(model_size_gb),
        image_size_gb=float(image_size_gb),
        provider=provider,
        reclaims_per_month=float(reclaims_per_month),
        price_per_hour=price,
        value_per_replica_hour=value,
        currency=currency or cur or "",
        seconds=secs,
        downtime_seconds=down,
        monthly_saving=save,
        model_s=secs["plain"] - secs["cachefs"],
        image_s=secs["plain"] - secs["acr"],
        total_s=secs["plain"] - secs["both"],
        cache_fits_memory=timeline.filter(pl.col("setup") == "cachefs")["cache_fits_memory"][0],
        best_setup=best,
        unavailable=off,
    )


def predicted_startup_seconds(
    model_size_gb: float,
    image_size_gb: float = VENDOR_IMAGE_GB,
    setup: str = "plain",
    *,
    memory_gib: Mapping[str, float | None] | None = None,
    provider: str = "alibaba",
    **timeline_options: Any,
) -> float | dict[str, float]:
    """Seconds a replacement takes to serve (scheduling + pull + load + warm-up).

    For the bid advisor and the ordering (their ``startup_seconds``). Without
    ``memory_gib`` returns one number for ``setup``. With ``memory_gib`` ({spec: host memory
    GiB}, e.g. from the specs table) returns {spec: seconds}: on a spec whose memory cannot
    hold the cache, a cache setup runs without it (cachefs → plain, both → acr).
    """
    if setup not in SETUPS:
        raise AnalysisError(
            f"unknown setup {setup!r}.{did_you_mean(setup, SETUPS)} Use one of {', '.join(SETUPS)}"
        )
    timeline = replacement_timeline(model_size_gb, image_size_gb, provider, **timeline_options)
    totals = dict(zip(timeline["setup"], timeline["total_seconds"], strict=True))
    if memory_gib is None:
        return float(totals[setup])
    reserved = float(timeline_options.get("system_reserved_gib", DEFAULT_SYSTEM_RESERVED_GIB))
    out: dict[str, float] = {}
    for spec, mem in memory_gib.items():
        ok = cache_fits(mem, model_size_gb, reserved)
        out[spec] = float(totals[setup if ok is not False else WITHOUT_CACHE[setup]])
    return out


def startup_seconds_for_store(
    store: Store,
    model_size_gb: float,
    image_size_gb: float = VENDOR_IMAGE_GB,
    setup: str = "both",
    provider: str = "alibaba",
) -> dict[str, float]:
    """{spec: predicted replacement seconds} for every spec of the store's catalog.

    What the bid advisor and the ordering take as ``startup_seconds`` once the user's model
    and image sizes are known: the prediction replaces their default restart cost. ``setup``
    is the one the service uses; on a spec whose memory cannot hold the cache, it runs
    without the cache.
    """
    memory = spec_memory_gib(store)
    got = predicted_startup_seconds(
        model_size_gb, image_size_gb, setup, memory_gib=memory, provider=provider
    )
    return dict(got) if isinstance(got, Mapping) else dict.fromkeys(memory, float(got))


def spec_memory_gib(store: Store, specs: Sequence[str] | None = None) -> dict[str, float | None]:
    """{spec: memory_gib} from the store's specs table (largest value over regions)."""
    where = "WHERE spec IN (SELECT unnest(?))" if specs is not None else ""
    rows = store.query(
        f"SELECT spec, max(memory_gib) AS memory_gib FROM specs {where} GROUP BY spec",
        [list(specs)] if specs is not None else None,
    )
    found = dict(zip(rows["spec"], rows["memory_gib"], strict=True))
    return {s: found.get(s) for s in specs} if specs is not None else found


def mark_outliers(benchmarks: pl.DataFrame, fits: Mapping[str, LoadFit]) -> pl.DataFrame:
    """The benchmark rows with a boolean ``outlier``: the Huber fit of its path set it aside."""
    flagged = [(f.path, m) for f in fits.values() for m in f.outlier_models]
    keys = pl.DataFrame(
        {"path": [p for p, _ in flagged], "model": [m for _, m in flagged]},
        schema={"path": pl.String, "model": pl.String},
    ).unique()
    return benchmarks.join(
        keys.with_columns(pl.lit(True).alias("outlier")), on=["path", "model"], how="left"
    ).with_columns(pl.col("outlier").fill_null(False))


# -- one answer for the CLI and the widget -------------------------------------------------

#: Assumption when no rate is given and none can be measured: reclaims of the service a month.
DEFAULT_RECLAIMS_PER_MONTH = 2.0


def reclaims_per_month_from_store(
    store: Store, spec: str, replicas: float = 1.0, provider: str | None = None
) -> float | None:
    """Reclaims a month of ``replicas`` spot instances of ``spec`` from the interruption
    analytics (rate per instance-hour × 730 h × replicas); None when nothing is measured."""
    rates = interruption_rates(store, by=("provider", "spec", "is_spot"))
    rows = rates.filter(
        (pl.col("spec") == spec)
        & pl.col("is_spot").fill_null(True)
        & pl.col("rate_used").is_not_null()
    )
    if provider is not None:
        rows = rows.filter(pl.col("provider") == provider.lower())
    if rows.height == 0:
        return None
    rate = float(rows["rate_used"].cast(pl.Float64).max() or 0.0)  # type: ignore[arg-type]
    return rate * HOURS_PER_MONTH * replicas


@dataclass(frozen=True)
class ColdstartReport:
    """The four setups with seconds, downtime and monthly saving, the load fits behind
    them and the assumptions used (where each number came from)."""

    setups: pl.DataFrame
    fits: pl.DataFrame
    assumptions: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "assumptions": self.assumptions,
            "setups": self.setups.to_dicts(),
            "load_fits": self.fits.to_dicts(),
        }


def coldstart_report(
    model_size_gb: float,
    image_size_gb: float = VENDOR_IMAGE_GB,
    provider: str = "alibaba",
    reclaims_per_month: float | None = None,
    *,
    store: Store | None = None,
    spec: str | None = None,
    replicas: float = 1.0,
    price_per_hour: float | None = None,
    value_per_replica_hour: float | None = None,
    currency: str | None = None,
    load_fits: Mapping[str, LoadFit] | None = None,
    **timeline_options: Any,
) -> ColdstartReport:
    """Timeline and savings of the four setups plus the load fits, for one service.

    Load fits: ``load_fits``, else the store's seed rows when there are any, else
    the seed's table shipped with spotlab. ``reclaims_per_month``: given, else measured for
    ``spec`` by the interruption analytics (× ``replicas``), else
    :data:`DEFAULT_RECLAIMS_PER_MONTH` (an assumption). ``spec`` also gives the memory
    headroom for the cache (specs table).
    """
    if timeline_options.get("lead_seconds") is None:
        warning_lead_seconds(provider)  # an unknown provider fails first, with a suggestion
    fits_source = SEED_SOURCE if load_fits is None else "given"
    fits = load_fits
    if fits is None and store is not None and "load_benchmarks" in store.tables():
        n = store.query(
            "SELECT count(*) AS n FROM load_benchmarks WHERE hardware = ?", [SEED_HARDWARE]
        )
        if n["n"][0]:
            fits = default_load_fits(store)
            fits_source = f"store {store.path} (load_benchmarks, hardware {SEED_HARDWARE})"
    if fits is None:
        fits = default_load_fits()
    rate_source = "given"
    if reclaims_per_month is None and store is not None and spec is not None:
        reclaims_per_month = reclaims_per_month_from_store(store, spec, replicas, provider)
        rate_source = f"interruption analytics for {spec} x {replicas:g} replicas"
    if reclaims_per_month is None:
        reclaims_per_month = DEFAULT_RECLAIMS_PER_MONTH
        rate_source = "assumed (pass --reclaims-per-month or --spec with events loaded)"
    memory = timeline_options.pop("memory_gib", None)
    if memory is None and store is not None and spec is not None:
        memory = spec_memory_gib(store, [spec]).get(spec)
    price, value, cur = _default_prices(provider, price_per_hour, value_per_replica_hour)
    timeline = replacement_timeline(
        model_size_gb, image_size_gb, provider, load_fits=fits, memory_gib=memory,
        **timeline_options,
    )  # fmt: skip
    table = monthly_savings(timeline, reclaims_per_month, price, value, currency or cur or "")
    priced = "given" if price_per_hour is not None else "seed's L20 bid (20% of 14.4 CNY/h)"
    valued = "given" if value_per_replica_hour is not None else "seed's L20 on-demand price"
    assumptions = {
        "model_size_gb": float(model_size_gb),
        "image_size_gb": float(image_size_gb),
        "provider": provider,
        "lead_seconds": float(timeline["lead_seconds"][0]),
        "reclaims_per_month": float(reclaims_per_month),
        "reclaims_source": rate_source,
        "price_per_hour": price,
        "price_source": priced,
        "value_per_replica_hour": value,
        "value_source": valued,
        "currency": currency or cur or "",
        "memory_gib": memory,
        "load_fits_source": fits_source,
        "scheduling_seconds": float(timeline["scheduling_seconds"][0]),
        "warmup_seconds": float(timeline["warmup_seconds"][0]),
        "image_model": asdict(timeline_options.get("image") or ImagePullModel.vendor()),
    }
    return ColdstartReport(setups=table, fits=load_fit_table(fits), assumptions=assumptions)
