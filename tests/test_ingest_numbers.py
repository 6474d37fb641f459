"""Issue #12, point 4 (the ingest side): ``inf``, ``Infinity``, ``1e309``, NaN and a
400-digit number are rejected, with a reason naming the column, in every number column of
every target."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import spotlab as sl
from tests.conftest import ingest_counts

HUGE = "1" * 400
BAD = ["inf", "Infinity", "1e309", HUGE, "-inf", "NaN"]

# (format, column whose rule rejects, maker of a file: one good row, then one row with
# the bad value in that column)
Maker = Callable[[str], tuple[str, bytes]]


def _prices(col: str) -> Maker:
    def make(v: str) -> tuple[str, bytes]:
        vals = {"spot_price": "0.9", "discount": "0.2", "on_demand_price": "4.5"}
        head = "provider,zone,spec,ts,spot_price,discount,on_demand_price,currency\n"
        good = "aws,us-east-1a,p3,2024-04-10T00:00:00Z,0.9,0.2,4.5,USD\n"
        bad = dict(vals, **{col: v})
        row = (f"aws,us-east-1a,p3,2024-04-10T01:00:00Z,{bad['spot_price']},{bad['discount']},"
               f"{bad['on_demand_price']},USD\n")  # fmt: skip
        return "p.csv", (head + good + row).encode()

    return make


def _specs(col: str) -> Maker:
    cols = ["vcpu", "memory_gib", "gpu_count", "gpu_memory_gib", "on_demand_price"]

    def make(v: str) -> tuple[str, bytes]:
        vals = ["8", "61", "1", "16", "3.06"]
        vals[cols.index(col)] = v
        head = "provider,region,spec," + ",".join(cols) + ",currency\n"
        return "c.csv", (
            head + "aws,us-east-1,p3.2xlarge,8,61,1,16,3.06,USD\n"
            f"aws,us-east-1,p3.8xlarge,{','.join(vals)},USD\n"
        ).encode()

    return make


def _simple(name: str, head: str, good: str, bad: str) -> Maker:
    return lambda v: (name, (head + good + bad.format(v=v)).encode())


def _advice(field: str) -> Maker:
    def make(v: str) -> tuple[str, bytes]:
        res = [
            {"InstanceType": "ecs.a", "InterruptionRate": 2.5, "InterruptRateDesc": "0-3%",
             "AverageSpotDiscount": 18},
            {"InstanceType": "ecs.b", "InterruptionRate": 2.5, "InterruptRateDesc": "0-3%",
             "AverageSpotDiscount": 18, field: "__V__"},
        ]  # fmt: skip
        doc = {"RegionId": "cn-hangzhou", "AvailableSpotZones": {"AvailableSpotZone": [
            {"ZoneId": "cn-hangzhou-h", "AvailableSpotResources": {"AvailableSpotResource": res}}
        ]}}  # fmt: skip
        # the value as a JSON number where JSON (as Python reads it) has one, else as text
        literal = {"inf": "Infinity", "-inf": "-Infinity", "NaN": "NaN"}.get(v, v)
        number = literal if literal[0] in "-IN1" else json.dumps(v)
        return "advice_2024-05-01.json", json.dumps(doc).replace('"__V__"', number).encode()

    return make


CASES: list[tuple[str, str, Maker]] = [
    *[("canonical-csv", c, _prices(c)) for c in ("spot_price", "discount", "on_demand_price")],
    *[("specs-csv", c, _specs(c))
      for c in ("vcpu", "memory_gib", "gpu_count", "gpu_memory_gib", "on_demand_price")],
    ("exposure-csv", "instance_hours", _simple("x.csv", "spec,zone,instance_hours\n",
     "p3,us-east-1a,10\n", "p3,us-east-1b,{v}\n")),
    *[("load-benchmarks-csv", c, _simple(
        "l.csv", "model,size_gb,path,load_seconds,run\n", "m,1,p,2.0,1\n",
        {"size_gb": "m,{v},p,2.0,2\n", "load_seconds": "m,1,p,{v},2\n",
         "run": "m,1,q,2.0,{v}\n"}[c])) for c in ("size_gb", "load_seconds", "run")],
    ("traffic-csv", "qps", _simple("t.csv", "service,ts,qps\n", "s,2024-04-10T00:00:00Z,1\n",
     "s,2024-04-10T01:00:00Z,{v}\n")),
    ("bamboo-step-csv", "available", _simple(
        "aws-spot-instances-g4dn-xlarge-us-east-1c-2020-11-20-1930-to-x.csv", "", "0,1\n",
        "10,{v}\n")),
    ("alibaba-spot-advice", "rate_pct", _advice("InterruptionRate")),
    ("alibaba-spot-advice", "savings_pct", _advice("AverageSpotDiscount")),
]  # fmt: skip


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(("fmt", "col", "make"), CASES, ids=[f"{f}-{c}" for f, c, _ in CASES])
def test_non_finite_numbers_are_rejected(
    fmt: str, col: str, make: Maker, value: str, store: sl.Store, tmp_path: Path
) -> None:
    name, data = make(value)
    f = tmp_path / name
    f.write_bytes(data)
    (r,) = sl.ingest(store, f, format=fmt)
    assert ingest_counts(r) == (2, 1, 0, 1), (fmt, col, value)
    code, reason = store.query("SELECT reason_code, reason FROM rejects").row(0)
    assert code == f"{col}_not_finite", (code, reason)
    assert " is not a finite number: " in reason


def test_absurd_whole_numbers_are_rejects_not_errors(store: sl.Store, tmp_path: Path) -> None:
    """Finite values too large for their INTEGER column are rejects (the whole file used to
    fail on the cast)."""
    f = tmp_path / "l.csv"
    f.write_text("model,size_gb,path,load_seconds,run\nm,1,p,2.0,1\nm,1,p,2.0,3000000000\n")
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (2, 1, 0, 1)
    assert store.query("SELECT reason_code FROM rejects")["reason_code"][0] == "run_invalid"
