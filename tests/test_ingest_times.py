"""Issue #12, point 2 and the time defects of point 7: impossible times are rejected by
every reader with one rule (``spotlab.ingest.times``), and *now* ignores the future.

The rule: a time is plausible from 1970-01-01 to the wall clock + 1 day; an offset beyond
±14:59 is rejected; a time without an offset or zone (a date alone included) is naive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import spotlab as sl
from spotlab.ingest.times import check_time
from tests.conftest import ingest_counts

GOOD = "2024-04-10T00:00:00Z"
# year 10000, infinity, year 0, a year ahead of the wall clock
BAD = ["10000-01-01T00:00:00Z", "infinity", "0000-01-01T00:00:00Z", "2099-01-01T00:00:00Z"]


def _csv(header: str, row: Callable[[int, str], str]) -> Callable[[list[str]], bytes]:
    return lambda times: (header + "".join(row(i, t) for i, t in enumerate(times))).encode()


def _json(doc: Callable[[list[dict]], object], item: Callable[[int, str], dict]):
    return lambda times: json.dumps(doc([item(i, t) for i, t in enumerate(times)])).encode()


def _parquet(times: list[str]) -> bytes:
    import io

    buf = io.BytesIO()
    pl.DataFrame({
        "provider": ["aws"] * len(times), "zone": [f"us-east-1{'abcdef'[i]}" for i in
                                                   range(len(times))],
        "spec": ["p3.2xlarge"] * len(times), "ts": times, "spot_price": [0.9] * len(times),
        "currency": ["USD"] * len(times),
    }).write_parquet(buf)  # fmt: skip
    return buf.getvalue()


# reader: (file name, maker of a file holding one row per time, column whose rule fails)
READERS: dict[str, tuple[str, Callable[[list[str]], bytes], str]] = {
    "canonical-csv": ("p.csv", _csv("provider,zone,spec,ts,spot_price,currency\n",
        lambda i, t: f"aws,us-east-1{'abcdef'[i]},p3.2xlarge,{t},0.9,USD\n"), "ts"),
    "canonical-parquet": ("p.parquet", _parquet, "ts"),
    "alibaba-spot-history": ("a.json", _json(
        lambda items: {"Currency": "CNY", "SpotPrices": {"SpotPriceType": items}},
        lambda i, t: {"ZoneId": f"cn-hangzhou-{'bcdefg'[i]}", "InstanceType": "ecs.g5.large",
                      "SpotPrice": 0.04, "OriginPrice": 0.35, "Timestamp": t}), "ts"),
    "eas-spot-discount": ("e.json", _json(lambda items: {"SpotDiscounts": items},
        lambda i, t: {"ZoneId": f"cn-hangzhou-{'bcdefg'[i]}", "InstanceType": "ml.x",
                      "SpotDiscount": "0.1", "Timestamp": t}), "ts"),
    "aws-spot-history": ("h.json", _json(lambda items: {"SpotPriceHistory": items},
        lambda i, t: {"AvailabilityZone": f"us-east-1{'abcdef'[i]}", "InstanceType": "p3",
                      "ProductDescription": "Linux/UNIX", "SpotPrice": "0.9", "Timestamp": t}),
        "ts"),
    "aws-spot-tsv": ("d.tsv", _csv("", lambda i, t: f"use1-az{i + 1}\tp3\tLinux/UNIX\t0.9\t{t}\n"),
                     "ts"),
    "gcp-changepoints": ("g.csv", _csv(
        "snapshot_time_utc,commit,machine_type,region,cpu,ram_gib,accelerator,"
        "accelerator_count,hour_ondemand_usd,hour_spot_usd\n",
        lambda i, t: f"{t},c,a2-highgpu-1g,us-central{i + 1},12,85,a100,1,3.6,1.1\n"), "ts"),
    "alibaba-events": ("c.json", _json(lambda items: items,
        lambda i, t: {"name": "Instance:PreemptibleInstanceInterruption", "eventTime": t,
                      "regionId": "cn-hangzhou", "content": {"instanceId": f"i-{i}"}}), "ts"),
    "aws-events": ("w.json", _json(lambda items: items,
        lambda i, t: {"detail-type": "EC2 Spot Instance Interruption Warning",
                      "source": "aws.ec2", "time": t, "region": "us-east-1",
                      "detail": {"instance-id": f"i-{i}", "instance-action": "terminate"}}),
        "ts"),
    "lifecycle-csv": ("l.csv", _csv("provider,instance_id,event,ts\n",
        lambda i, t: f"aws,i-{i},launched,{t}\n"), "ts"),
    "exposure-csv": ("x.csv", _csv("spec,zone,instance_hours,period_start\n",
        lambda i, t: f"p3,us-east-1{'abcdef'[i]},10,{t}\n"), "period_start"),
    "traffic-csv": ("t.csv", _csv("service,ts,qps\n", lambda i, t: f"s{i},{t},1\n"), "ts"),
}  # fmt: skip


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_impossible_times_are_rejected_by_every_reader(
    fmt: str, store: sl.Store, tmp_path: Path
) -> None:
    name, make, col = READERS[fmt]
    f = tmp_path / name
    f.write_bytes(make([GOOD, *BAD]))
    opts = {"currency": "CNY"} if fmt == "eas-spot-discount" else {}
    (r,) = sl.ingest(store, f, format=fmt, **opts)
    assert ingest_counts(r) == (5, 1, 0, 4), fmt
    got = store.query("SELECT row_number, reason_code, reason FROM rejects ORDER BY 1").rows()
    first = 2 if name.endswith(".csv") and fmt != "aws-spot-tsv" else 1
    assert [g[0] for g in got] == list(range(first + 1, first + 5))
    assert {g[1] for g in got} == {f"{col}_out_of_range"}
    for _, _, reason in got:
        assert "is outside the plausible range 1970-01-01 .. " in reason
        assert "UTC (the wall clock + 1 day)" in reason


@pytest.mark.parametrize(
    ("fmt", "option"),
    [("spot-trace-json", "start"), ("bamboo-step-csv", "start"),
     ("addremove-trace", "start"), ("aws-spot-advisor", "observed_at"),
     ("alibaba-spot-advice", "observed_at")],
)  # fmt: skip
def test_time_options_are_checked_by_the_same_rule(
    fmt: str, option: str, store: sl.Store, fixtures: Path
) -> None:
    files = {
        "spot-trace-json": next((fixtures / "spot_traces").rglob("*.json")),
        "bamboo-step-csv": next(fixtures.glob("aws-spot-instances-*.csv")),
        "addremove-trace": fixtures / "events_parcae_p3trace.csv",
        "aws-spot-advisor": fixtures / "bands_aws_spot_advisor_2025-07-28_excerpt.json",
        "alibaba-spot-advice": fixtures / "bands_alibaba_spot_advice.json",
    }
    for bad in ("9999-01-01T00:00:00Z", "0001-01-01"):
        with pytest.raises(sl.FormatError, match=f"option {option} .* is outside the plausible "
                           r"range 1970-01-01 \.\. the wall clock \+ 1 day"):  # fmt: skip
            sl.ingest(store, files[fmt], format=fmt, **{option: bad})
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_offsets_push_trace_times_out_of_range(store: sl.Store, tmp_path: Path) -> None:
    """A plausible start plus offsets that run past the wall clock: those rows are rejects."""
    f = tmp_path / "t.csv"
    f.write_text("0,add,n1\n99999999999999,remove,n1\n")  # ~3,170 years later
    (r,) = sl.ingest(store, f, format="addremove-trace", start="2024-01-01T00:00:00Z")
    assert ingest_counts(r) == (2, 1, 0, 1)
    assert store.query("SELECT reason_code FROM rejects")["reason_code"][0] == "ts_out_of_range"


def test_offsets_and_zones(store: sl.Store, tmp_path: Path) -> None:
    """+25:00 and -99 are rejected; a date alone and a time without offset are naive;
    named zones and offsets are not."""
    times = [
        ("2024-04-10T00:00:00+25:00", "reject"),
        ("2024-04-10T00:00:00-99", "reject"),
        ("2024-04-10", "naive"),
        ("2024-04-10T03:00:00", "naive"),
        ("2024-04-10 05:00:00 Asia/Shanghai", "aware"),
        ("2024-04-10 06:00:00 UTC", "aware"),
        ("2024-04-10T07:00:00+14:00", "aware"),
        ("20190409T121826.922+0800", "aware"),
    ]
    f = tmp_path / "z.csv"
    f.write_text(
        "provider,zone,spec,ts,spot_price,currency\n"
        + "".join(f"aws,us-east-1a,p3.{i},{t},0.9,USD\n" for i, (t, _) in enumerate(times))
    )
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (8, 6, 0, 2)
    assert r.naive_timestamps == 2
    got = store.query("SELECT reason_code FROM rejects ORDER BY row_number")["reason_code"]
    assert got.to_list() == ["ts_bad_offset", "ts_bad_offset"]
    shanghai = store.query("SELECT ts FROM spot_prices WHERE spec = 'p3.4'")["ts"][0]
    assert shanghai == datetime(2024, 4, 9, 21, 0, tzinfo=UTC)


def test_check_time_states_the_range() -> None:
    assert check_time(datetime(2024, 1, 1), "x") is None
    assert check_time(datetime.now(UTC) + timedelta(hours=20), "x") is None
    msg = check_time(datetime.now(UTC) + timedelta(days=2), "the start")
    assert msg is not None and msg.startswith("the start ")
    assert msg.endswith("outside the plausible range 1970-01-01 .. the wall clock + 1 day")


# -- now: the newest point not after the wall clock -----------------------------------------


def _points(future: datetime | None) -> pl.DataFrame:
    """Hourly prices of two specs over 10 days ending 3 days ago, and maybe one point of
    the second spec in the future."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    rows = [
        {"provider": "alibaba", "zone": "cn-hangzhou-h", "spec": spec,
         "ts": end - timedelta(hours=h), "spot_price": 1.0 + (h * k) % 7 / 10,
         "on_demand_price": 10.0, "currency": "CNY"}
        for h in range(240) for spec, k in (("ecs.a", 3), ("ecs.b", 5))
    ]  # fmt: skip
    if future is not None:
        rows.append(rows[-1] | {"ts": future, "spot_price": 9.0})
    return pl.DataFrame(rows)


def test_a_future_point_of_one_spec_does_not_move_another_specs_window() -> None:
    now = datetime.now(UTC)
    clean = _points(None)
    for future in (now + timedelta(days=300), now + timedelta(hours=12)):
        poisoned = _points(future)
        a_clean = sl.price_stats(clean, specs="ecs.a", window="7d")
        a_poisoned = sl.price_stats(poisoned, specs="ecs.a", window="7d")
        assert a_poisoned.equals(a_clean)
        bids_clean = sl.recommend_bids(clean, specs="ecs.a", window="7d").specs
        bids_poisoned = sl.recommend_bids(poisoned, specs="ecs.a", window="7d").specs
        assert bids_poisoned["bid"].to_list() == bids_clean["bid"].to_list()
        # the future point itself lies after the window's end: spec b's stats ignore it
        b = sl.price_stats(poisoned, specs="ecs.b", window="7d")
        assert b["max"][0] < 9.0 and b["end"][0] < now


def test_a_year_9999_point_does_not_stretch_a_backtest() -> None:
    clean = _points(None)
    poisoned = _points(datetime(9999, 12, 31, tzinfo=UTC))
    a = sl.backtest_bids(clean, window="2d", horizon="1d", step="1d")
    b = sl.backtest_bids(poisoned, window="2d", horizon="1d", step="1d")
    assert b.series.height == a.series.height  # the same origins, not ~2.9 M more
    assert b.summary.equals(a.summary)


def test_a_source_with_an_impossible_time_can_be_removed(cli, tmp_path: Path) -> None:
    """A store written before the rule (a year-9999 point loaded by an older spotlab):
    prices still work and `spotlab forget` removes the source."""
    f = tmp_path / "p.csv"
    f.write_text(f"provider,zone,spec,ts,spot_price,currency\naws,us-east-1a,p3,{GOOD},0.9,USD\n")
    code, _, _ = cli("ingest", f)
    with sl.Store(cli.db) as store:
        store.execute(
            "INSERT INTO spot_prices (provider, region, zone, spec, ts, spot_price, discount, "
            "on_demand_price, currency, source_id) VALUES ('aws', 'us-east-1', 'us-east-1a', 'p3', "
            "'9999-12-31 00:00:00+00', 0.9, NULL, NULL, 'USD', 1)"
        )
        store.execute("UPDATE sources SET rows_read = 2, rows_loaded = 2")
    code, out, err = cli("prices", "p3", "--json")
    assert code == 0 and len(json.loads(out)) == 2, err
    code, out, err = cli("bids", "--spec", "p3", "--window", "all")
    assert code in (0, 2) and "Traceback" not in err
    code, out, _ = cli("forget", "1")
    assert code == 0 and out.startswith("forgot source 1 (") and "2 from spot_prices" in out
    with sl.Store(cli.db) as store:
        assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 0
