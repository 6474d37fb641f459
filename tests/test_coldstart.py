"""Cold-start savings: load-time fits on the seed's table, image pull, timeline, savings."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.advise import coldstart as cs
from tests.conftest import BUNDLED


@pytest.fixture(scope="module")
def seed() -> pl.DataFrame:
    return cs.seed_load_times()


@pytest.fixture(scope="module")
def fits() -> dict[str, cs.LoadFit]:
    return cs.default_load_fits()


def _line_rows(path: str, overhead: float, throughput: float) -> pl.DataFrame:
    sizes = [1.0, 2.0, 4.0]
    return pl.DataFrame(
        {
            "model": [f"m{s:g}" for s in sizes],
            "size_gb": sizes,
            "path": [path] * 3,
            "load_seconds": [overhead + s / throughput for s in sizes],
            "hardware": ["lab"] * 3,
        }
    )


@pytest.fixture(scope="module")
def exact_fits() -> dict[str, cs.LoadFit]:
    """Measurements exactly on two lines: OSS 0 s + size / 0.1 GB/s; cachefs 2 s + size /
    0.5 GB/s. Every fit, resample and LOO refit recovers them, so timelines are exact."""
    rows = pl.concat(
        [_line_rows(cs.OSS_MOUNT, 0.0, 0.1), _line_rows(cs.CACHEFS_REMOTE_HIT, 2.0, 0.5)]
    )
    return cs.fit_load_times(rows)


# -- fits on the seed's table ----------------------------------------------------------------


def test_cachefs_throughput_inside_the_hand_worked_interval(fits) -> None:
    # By hand from the seed's cachefs column: from the two 2.0 GB models (mean
    # (5.46 + 5.55) / 2 = 5.505 s) to each larger size's median time:
    #   3.6 GB 7.13 s  -> 1.6 / (7.13 - 5.505)  = 0.985 GB/s
    #   4.0 GB median(3.20, 7.94, 8.47, 9.23) = 8.205 s -> 2.0 / 2.70 = 0.741 GB/s
    #   5.6 GB 10.17 s -> 3.6 / 4.665 = 0.772 GB/s
    #   7.2 GB 15.18 s -> 5.2 / 9.675 = 0.537 GB/s
    # so the throughput lies in [0.537, 0.985] GB/s.
    f = fits[cs.CACHEFS_REMOTE_HIT]
    assert 0.537 <= f.throughput_gb_per_s <= 0.985
    lo, hi = f.throughput_ci
    assert lo < f.throughput_gb_per_s < hi
    assert not f.overhead_fixed and 0 <= f.overhead_seconds < 5.46  # below the fastest load
    # revAnimated's 3.20 s at 4.0 GB is the seed's outlier: the Huber loss sets it aside.
    assert "revAnimated_v122.safetensors" in f.outlier_models


def test_oss_throughput_inside_the_hand_worked_interval(fits) -> None:
    # Same construction on the OSS column: 2.0 GB mean (16.73 + 16.33) / 2 = 16.53 s;
    #   3.6 GB 24.76 s -> 1.6 / 8.23 = 0.194 GB/s
    #   4.0 GB median(43.88, 48.79, 64.99, 69.38) = 56.89 s -> 2.0 / 40.36 = 0.0496 GB/s
    #   5.6 GB 71.78 s -> 3.6 / 55.25 = 0.0652 GB/s
    #   7.2 GB 89.88 s -> 5.2 / 73.35 = 0.0709 GB/s
    f = fits[cs.OSS_MOUNT]
    assert 0.0496 <= f.throughput_gb_per_s <= 0.194
    lo, hi = f.throughput_ci
    assert lo <= f.throughput_gb_per_s <= hi
    # The free line crosses zero below 0.8 GB (a negative overhead): held at 0 instead.
    assert f.overhead_fixed and f.overhead_seconds == 0.0


def test_leave_one_out_error_is_reported_and_beats_the_mean(fits, seed) -> None:
    for path, bound in ((cs.CACHEFS_REMOTE_HIT, 2.5), (cs.OSS_MOUNT, 12.0)):
        f = fits[path]
        y = seed.filter(pl.col("path") == path)["load_seconds"].to_numpy()
        # the constant predictor, left-one-out: the mean of the other eight rows
        mean_loo = np.abs(y - (y.sum() - y) / (len(y) - 1)).mean()
        assert 0 < f.loo_mae_seconds < min(bound, mean_loo)
        assert f.loo_mae_seconds <= f.loo_max_abs_seconds
        assert 0 < f.loo_mape < 0.5
        assert 0.5 < f.r2 <= 1


def test_fit_table_shows_floor_share(fits) -> None:
    table = cs.load_fit_table(fits).sort("path")
    assert table["path"].to_list() == ["cachefs_remote_hit", "oss_mount"]
    assert table["slowest_link"].to_list() == ["network", "oss"]
    share = table["share_of_floor"].to_list()
    # default floors are 1.25 GB/s on both paths
    assert share == pytest.approx([f.throughput_gb_per_s / 1.25 for f in fits.values()])


def test_prediction_interval_and_floor(fits) -> None:
    f = fits[cs.CACHEFS_REMOTE_HIT]
    line = cs.predict_load_seconds(f, [2.0, 7.2])
    wide = cs.predict_load_seconds(f, [2.0, 7.2], interval="prediction")
    assert line["load_seconds"].to_list() == pytest.approx([f.seconds(2.0), f.seconds(7.2)])
    # the line interval is the bootstrap's quantiles (5%-95% for the 90% fits), worked out
    # here independently (the library clamps it to hold the point: these sizes need none)
    assert f.confidence == 0.9
    sizes = np.array([2.0, 7.2])
    draws = f.boot_intercepts[:, None] + f.boot_slopes[:, None] * sizes[None, :]
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    assert line["load_seconds_lo"].to_list() == pytest.approx(list(lo))
    assert line["load_seconds_hi"].to_list() == pytest.approx(list(hi))
    assert (line["load_seconds_lo"] < line["load_seconds"]).all()
    assert (line["load_seconds"] < line["load_seconds_hi"]).all()
    # one load of one model (a resampled residual added) spreads wider than the line
    width = line["load_seconds_hi"] - line["load_seconds_lo"]
    assert (wide["load_seconds_hi"] - wide["load_seconds_lo"] > width).all()
    fast = cs.Bandwidths(network_gb_per_s=12.5)
    assert cs.predict_load_seconds(f, [7.2], fast)["floor_seconds"][0] == pytest.approx(7.2 / 12.5)


def test_store_rows_give_the_same_fit(store: sl.Store, fits) -> None:
    sl.ingest(store, BUNDLED / "seed_load_times.csv")
    again = cs.default_load_fits(store)
    for path in fits:
        assert again[path].throughput_gb_per_s == pytest.approx(fits[path].throughput_gb_per_s)


def test_exact_lines_are_recovered(exact_fits) -> None:
    oss, cache = exact_fits[cs.OSS_MOUNT], exact_fits[cs.CACHEFS_REMOTE_HIT]
    assert oss.throughput_gb_per_s == pytest.approx(0.1) and oss.overhead_seconds == 0
    assert cache.throughput_gb_per_s == pytest.approx(0.5)
    assert cache.overhead_seconds == pytest.approx(2.0)
    assert cache.loo_mae_seconds == pytest.approx(0, abs=1e-6) and cache.r2 == pytest.approx(1)


def test_fit_errors_are_actionable(seed) -> None:
    mixed = pl.concat([seed, seed.with_columns(pl.lit("other").alias("hardware"))])
    with pytest.raises(sl.AnalysisError, match="pass hardware="):
        cs.fit_load_times(mixed)
    with pytest.raises(sl.AnalysisError, match="Did you mean 'pai-eas'"):
        cs.fit_load_times(seed, "pai-ea")
    with pytest.raises(sl.AnalysisError, match="at least 3"):
        cs.fit_load_times(seed.head(2))
    with pytest.raises(sl.AnalysisError, match="Did you mean 'oss_mount'"):
        cs.fit_load_times(seed, paths=["oss_mnt"])


# -- the vectorised Huber solver matches scikit-learn ------------------------------------------


def _sklearn(x: np.ndarray, y: np.ndarray, intercept: bool) -> tuple[float, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import HuberRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = HuberRegressor(alpha=0.0, fit_intercept=intercept, max_iter=5000, tol=1e-9)
        m.fit(x[:, None], y)
    return (float(m.intercept_) if intercept else 0.0), float(m.coef_[0])


def test_huber_lines_matches_sklearn_on_the_seed(seed) -> None:
    for path in (cs.OSS_MOUNT, cs.CACHEFS_REMOTE_HIT):
        part = seed.filter(pl.col("path") == path)
        x, y = part["size_gb"].to_numpy(), part["load_seconds"].to_numpy()
        for intercept in (True, False):
            b0, b1, _ = cs.huber_lines(x, y, intercept=intercept)
            want = _sklearn(x, y, intercept)
            assert (b0[0], b1[0]) == pytest.approx(want, rel=1e-4, abs=1e-4)


def _objective(x: np.ndarray, y: np.ndarray, b0: float, b1: float, scale: float) -> float:
    """HuberRegressor's objective (alpha=0): n·σ + Σ_in r²/σ + Σ_out (2ε|r| − ε²σ)."""
    eps = 1.35
    r = y - b0 - b1 * x
    inl = np.abs(r) <= eps * scale
    out = 2 * eps * np.abs(r[~inl]) - eps**2 * scale
    return float(len(x) * scale + (r[inl] ** 2).sum() / scale + out.sum())


@settings(max_examples=20, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.floats(0.5, 20, allow_nan=False),
            st.floats(-3, 3, allow_nan=False),
        ),
        min_size=4,
        max_size=12,
    ),
    slope=st.floats(0.5, 20),
    outlier=st.floats(-40, 40),
)
# weights collapsing onto one x once made the solver return NaN
@example(data=[(1.0, 0.0), (1.0, 0.0), (2.0, 0.0), (2.0, 0.0)], slope=1.0, outlier=1.0)
# the infimum on the boundary σ → 0 (least absolute deviations), where reweighting stalls
@example(data=[(1.0, 0.0), (2.0, 0.0), (6.0, 0.0), (6.0, 0.0)], slope=1.0, outlier=1.0)
@example(data=[(6.0, 0.0), (16.0, 0.0), (6.25, 0.0), (16.0, 1.0)], slope=1.0, outlier=0.0)
def test_huber_lines_reaches_sklearns_minimum(data, slope, outlier) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import HuberRegressor

    x = np.array([d[0] for d in data])
    if np.ptp(x) < 0.5:
        return
    y = 1.0 + slope * x + np.array([d[1] for d in data])
    y[0] += outlier
    b0, b1, scale = cs.huber_lines(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = HuberRegressor(alpha=0.0, max_iter=5000).fit(x[:, None], y)
    mine = _objective(x, y, b0[0], b1[0], scale[0])
    theirs = _objective(x, y, float(m.intercept_), float(m.coef_[0]), float(m.scale_))
    # at least as low as scikit-learn's (which may stop early when σ heads to 0)
    assert mine <= theirs * (1 + 1e-6) + 1e-9


# -- image pull --------------------------------------------------------------------------------


def test_vendor_image_figures_are_reproduced() -> None:
    img = cs.ImagePullModel.vendor()
    # 36 s plain pull of 1.34 GB, half download half unpack: 1.34 / 18 = 0.0744 GB/s each
    assert img.registry_gb_per_s == pytest.approx(1.34 / 18)
    assert img.pull_seconds(1.34, False) == pytest.approx(36)
    assert img.pull_seconds(1.34, False) + img.start_seconds(1.34, False) == pytest.approx(38)
    assert img.pull_seconds(1.34, True) == pytest.approx(4)
    assert img.pull_seconds(1.34, True) + img.start_seconds(1.34, True) == pytest.approx(9)
    # the accelerated start reads 3 s x 0.0744 GB/s = 0.223 GB: 1/6 of the image
    assert img.startup_read_share == pytest.approx(1 / 6)


def test_own_image_measurements_replace_the_vendor_figure() -> None:
    mine = cs.ImagePullModel.from_measurements(10.0, 100.0, 5.0, 110.0, 30.0, download_share=0.8)
    assert mine.app_init_seconds == 10 and mine.index_fetch_seconds == 5
    assert mine.registry_gb_per_s == pytest.approx(10 / 80)
    assert mine.pull_seconds(10.0, True) + mine.start_seconds(10.0, True) == pytest.approx(30)
    with pytest.raises(sl.AnalysisError, match="app start must include the pull"):
        cs.ImagePullModel.from_measurements(1.34, 36, 4, 30, 9)


# -- timeline and savings ----------------------------------------------------------------------


def test_timeline_worked_by_hand(exact_fits) -> None:
    # 4 GB model, vendor 1.34 GB image, 60 s scheduling, 20 s warm-up:
    #   plain   60 + 36 + 2 + 40 + 20 = 158    cachefs 60 + 36 + 2 + (2 + 8) + 20 = 128
    #   acr     60 + 4 + (2 + 3) + 40 + 20 = 129    both 60 + 4 + 5 + 10 + 20 = 99
    t = cs.replacement_timeline(4.0, 1.34, "aws", load_fits=exact_fits)
    assert t["setup"].to_list() == ["plain", "cachefs", "acr", "both"]
    assert t["total_seconds"].to_list() == pytest.approx([158, 128, 129, 99])
    parts = t.select(
        pl.sum_horizontal(
            "scheduling_seconds", "pull_seconds", "image_start_seconds", "load_seconds",
            "warmup_seconds",
        )
    ).to_series()  # fmt: skip
    assert parts.to_list() == pytest.approx(t["total_seconds"].to_list())
    # AWS warns 120 s ahead: downtime = max(0, total - 120)
    assert t["downtime_seconds"].to_list() == pytest.approx([38, 8, 9, 0])
    assert t["billed_startup_seconds"].to_list() == pytest.approx([98, 68, 69, 39])
    # both instances billed from the replacement's allocation (60 s) until the old goes
    assert t["double_billed_seconds"].to_list() == pytest.approx([60, 60, 60, 39])
    ali = cs.replacement_timeline(4.0, 1.34, "alibaba", load_fits=exact_fits)
    assert ali["downtime_seconds"].to_list() == [0, 0, 0, 0]  # all inside the 300 s warning


def test_monthly_savings_worked_by_hand(exact_fits) -> None:
    t = cs.replacement_timeline(4.0, 1.34, "aws", load_fits=exact_fits)
    s = cs.monthly_savings(t, 10, price_per_hour=3.6, value_per_replica_hour=36.0, currency="USD")
    # per reclaim: downtime s x 36/3600 + billed s x 3.6/3600
    #   plain 0.38 + 0.098 = 0.478; cachefs 0.08 + 0.068 = 0.148
    #   acr 0.09 + 0.069 = 0.159; both 0 + 0.039 = 0.039; x 10 reclaims a month
    assert s["monthly_cost"].to_list() == pytest.approx([4.78, 1.48, 1.59, 0.39])
    assert s["monthly_saving"].to_list() == pytest.approx([0, 3.30, 3.19, 4.39])
    assert s["currency"].unique().to_list() == ["USD"]


def test_no_reclaims_no_savings(fits) -> None:
    got = cs.coldstart_saving(7.2, 12.0, reclaims_per_month=0)
    assert got.monthly_saving == {"plain": 0, "cachefs": 0, "acr": 0, "both": 0}


def test_model_inside_the_warning_window_has_no_downtime() -> None:
    got = cs.coldstart_saving(2.0, 1.34, reclaims_per_month=5)
    assert max(got.seconds.values()) < 300
    assert set(got.downtime_seconds.values()) == {0.0}
    # the same service with a 12 GB image misses the window without acceleration
    big = cs.coldstart_saving(2.0, 12.0, reclaims_per_month=5)
    assert big.downtime_seconds["plain"] > 0 and big.downtime_seconds["acr"] == 0


def test_saving_fields_for_the_config_linter() -> None:
    got = cs.coldstart_saving(7.2, 12.0, "alibaba", 10)
    assert got.model_s == pytest.approx(got.seconds["plain"] - got.seconds["cachefs"])
    assert got.image_s == pytest.approx(got.seconds["plain"] - got.seconds["acr"])
    assert got.total_s == pytest.approx(got.seconds["plain"] - got.seconds["both"])
    assert got.best_setup == "both" and got.currency == "CNY"
    assert got.monthly_saving["both"] > got.monthly_saving["acr"] > got.monthly_saving["cachefs"]
    # the linter passes zeros when a size is unknown: an answer, not an error. With no
    # image, acceleration only adds its 4 s index fetch.
    zero = cs.coldstart_saving(model_size_gb=0.0, image_size_gb=0.0, reclaims_per_month=0.0)
    assert zero.image_s == pytest.approx(-4.0)


def test_cache_memory_headroom_flag() -> None:
    # 7.2 GB = 6.71 GiB. 30 GiB: 30 - 4 reserved - 6.71 staged = 19.3 GiB >= 6.71: fits.
    # 16 GiB: 16 - 4 - 6.71 = 5.29 GiB < 6.71: the cache does not fit.
    assert cs.cache_fits(30.0, 7.2) is True
    assert cs.cache_fits(16.0, 7.2) is False
    assert cs.cache_fits(None, 7.2) is None
    t = cs.replacement_timeline(7.2, 1.34, memory_gib=16.0)
    assert t["cache_fits_memory"].to_list() == [None, False, None, False]
    per_spec = cs.predicted_startup_seconds(
        7.2, 1.34, "both", memory_gib={"big": 30.0, "small": 16.0, "unknown": None}
    )
    totals = dict(zip(t["setup"], t["total_seconds"], strict=True))
    assert per_spec == pytest.approx(
        {"big": totals["both"], "small": totals["acr"], "unknown": totals["both"]}
    )
    assert cs.predicted_startup_seconds(7.2, 1.34, "cachefs") == pytest.approx(totals["cachefs"])


def test_bad_inputs_are_actionable() -> None:
    with pytest.raises(sl.AnalysisError, match="Did you mean 'alibaba'"):
        cs.replacement_timeline(7.2, 1.34, "alibab")
    with pytest.raises(sl.AnalysisError, match="model size"):
        cs.replacement_timeline(-1.0)
    with pytest.raises(sl.AnalysisError, match="price_per_hour"):
        cs.coldstart_saving(7.2, 1.34, "aws", 3)
    with pytest.raises(sl.AnalysisError, match="unknown setup"):
        cs.predicted_startup_seconds(7.2, setup="cache")


def test_report_reads_spec_memory_from_the_store(store: sl.Store) -> None:
    sl.ingest(store, [BUNDLED / "specs_catalog.csv", BUNDLED / "seed_load_times.csv"])
    rep = cs.coldstart_report(7.2, 12.0, store=store, spec="ml.gu7i.c8m30.1-gu30")
    assert rep.assumptions["memory_gib"] == 30.0
    assert rep.assumptions["load_fits_source"].startswith("store")
    assert rep.assumptions["reclaims_per_month"] == cs.DEFAULT_RECLAIMS_PER_MONTH
    assert rep.setups["cache_fits_memory"].to_list() == [None, True, None, True]
    assert set(rep.as_dict()) == {"assumptions", "setups", "load_fits"}


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.floats(0.0, 200.0),
    bigger=st.floats(0.0, 50.0),
    image=st.floats(0.0, 40.0),
    provider=st.sampled_from(["alibaba", "aws"]),
)
def test_downtime_non_negative_and_monotone_in_model_size(size, bigger, image, provider) -> None:
    a = cs.replacement_timeline(size, image, provider)
    b = cs.replacement_timeline(size + bigger, image, provider)
    for col in ("total_seconds", "downtime_seconds", "billed_startup_seconds"):
        assert (a[col] >= 0).all()
        assert (b[col] >= a[col] - 1e-9).all()
    assert (a["downtime_seconds"] <= a["total_seconds"]).all()
    assert (a["double_billed_seconds"] <= a["lead_seconds"]).all()


@settings(max_examples=30, deadline=None)
@given(
    size=st.floats(0.5, 100.0),
    image=st.floats(0.5, 40.0),
    rate=st.floats(0.0, 100.0),
    more=st.floats(0.0, 100.0),
)
def test_savings_grow_with_the_reclaim_rate(size, image, rate, more) -> None:
    # Above 0.5 GB of model and image, every setup starts faster than plain (cachefs adds
    # a 1.8 s overhead, acceleration a 4 s index fetch: both repaid above ~0.2 GB).
    low = cs.coldstart_saving(size, image, reclaims_per_month=rate)
    high = cs.coldstart_saving(size, image, reclaims_per_month=rate + more)
    for setup in cs.SETUPS:
        assert low.monthly_saving[setup] >= -1e-9
        assert high.monthly_saving[setup] >= low.monthly_saving[setup] - 1e-9


@settings(max_examples=20, deadline=None)
@given(size=st.floats(0.0, 100.0), image=st.floats(0.0, 40.0), rate=st.floats(0.0, 100.0))
def test_savings_are_linear_in_the_reclaim_rate(size, image, rate) -> None:
    one = cs.coldstart_saving(size, image, reclaims_per_month=1.0)
    many = cs.coldstart_saving(size, image, reclaims_per_month=rate)
    for setup in cs.SETUPS:
        assert many.monthly_saving[setup] == pytest.approx(
            rate * one.monthly_saving[setup], rel=1e-9, abs=1e-9
        )
