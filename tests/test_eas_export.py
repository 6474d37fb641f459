"""build_config and export: golden files, the lint gate, overwrite and secrets, properties.

Golden files live in ``tests/golden/eas_<case>/`` and are compared as parsed JSON; run
with ``SPOTLAB_UPDATE_GOLDEN=1`` to rewrite them after a deliberate change (then read the
diff). The catalog is ``tests/fixtures/eas_config_specs_catalog.csv`` (on-demand CNY/h:
ecs.gn8is.2xlarge 14.4, ecs.gn7i-c8g1.2xlarge 9.74, ml.gu7i.c8m30.1-gu30 8.0,
ecs.gn8is-8x.32xlarge 115.2; memory GiB 64, 30, 30, 1024).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotlab import Store
from spotlab.eas import facts
from spotlab.eas.export import build_config, config_from_store, export
from spotlab.eas.lint import errors, lint
from spotlab.eas.model import load_bundle
from spotlab.errors import ConfigError
from spotlab.ingest import ingest

FIX = Path(__file__).resolve().parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
ROOT = Path(__file__).resolve().parents[1]


def _catalog() -> dict[str, facts.SpecInfo]:
    with Store(":memory:") as s:
        ingest(s, FIX / "eas_config_specs_catalog.csv")
        return facts.store_specs(s)


CATALOG = _catalog()
NET = {"vpc_id": "vpc-golden", "vswitch_id": "vsw-golden", "security_group_id": "sg-golden"}
ACR = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/sd/webui"

# fmt: off
GOLDEN_CASES = [
    pytest.param(
        "bids_filled_regular_appended",
        {
            "name": "chat_spot",
            "image": "eas-registry-vpc.cn-hangzhou.cr.aliyuncs.com/pai-eas/vllm:0.6.3",
            "instances": [
                {"type": "ecs.gn8is.2xlarge", "spot_price_limit": None},
                {"type": "ecs.gn7i-c8g1.2xlarge", "spot_price_limit": None},
            ],
            "bids": pl.DataFrame({"spec": ["ecs.gn8is.2xlarge"], "bid": [2.5]}),
            "replicas": 2,
        },
        id="bids from a frame (2.5), seed 20% fallback 1.948 up to 1.95, cheapest regular appended",
    ),
    pytest.param(
        "model_cache_and_scaling",
        {
            "name": "sd_elastic",
            "image": f"{ACR}:4.2",
            "command": "./webui.sh --listen --port 8000 --api",
            "instances": [
                {"type": "ecs.gn8is-8x.32xlarge", "spot_price_limit": 23.04, "capacity": 2},
                {"type": "ecs.gn8is.2xlarge", "spot_price_limit": None},
                {"type": "ecs.gn8is.2xlarge"},
            ],
            "model_oss_path": "oss://example-bucket/sd/models/",
            "model_size_gb": 7.2,
            "scaling": {
                "autoscaler": {
                    "min": 2,
                    "max": 6,
                    "scaleStrategies": [{"metricName": "qps", "threshold": 10}],
                },
                "cronscale": {
                    "ExcludeDates": ["* * * * * 6,0"],
                    "ScaleJobs": [
                        {
                            "Name": "peak",
                            "Schedule": "0 0 9 * * *",
                            "TargetSize": 6,
                            "TimeZone": "Asia/Shanghai",
                        },
                        {
                            "Name": "night",
                            "Schedule": "0 0 21 * * *",
                            "TargetSize": 2,
                            "TimeZone": "Asia/Shanghai",
                        },
                    ],
                },
            },
        },
        id="OSS model + memory cache 8G for 7.2 GB, autoscaler and cron files, instance=min",
    ),
    pytest.param(
        "accelerated_dedicated_reordered",
        {
            "name": "sd_dedicated",
            "image": f"{ACR}:2.1",
            "instances": [
                {"type": "dedicated_resource", "capacity": 2},
                {"type": "ml.gu7i.c8m30.1-gu30"},
                {"type": "ecs.gn7i-c8g1.2xlarge", "spot_price_limit": 20.0},
                {"type": "ml.gu7i.c8m30.1-gu30", "spot_price_limit": 1.6},
            ],
            "accelerated": True,
            "networking": NET,
            "resource": "eas-r-golden01",
            "replicas": 3,
            "extra": {"labels": {"team": "search"}, "token": "not-for-files"},
        },
        id="regular moved last, bid 20 capped at 9.74, _accelerated tag, VPC, token left out",
    ),
]
# fmt: on


@pytest.mark.parametrize(("case", "kwargs"), GOLDEN_CASES)
def test_golden_export(case: str, kwargs: dict[str, Any], tmp_path: Path) -> None:
    bundle = build_config(**kwargs, catalog=CATALOG)
    result = export(bundle, tmp_path, catalog=CATALOG)
    written = {p.name: json.loads(p.read_text()) for p in result.paths}
    folder = GOLDEN / f"eas_{case}"
    if os.environ.get("SPOTLAB_UPDATE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in written.items():
            (folder / name).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    expected = {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    assert written == expected
    assert errors(lint(folder, catalog=CATALOG)) == []


def test_golden_hand_checked_values() -> None:
    """The figures in the golden files, worked by hand from the catalog."""
    one = json.loads((GOLDEN / "eas_bids_filled_regular_appended" / "service.json").read_text())
    assert one["cloud"]["computing"]["instances"] == [
        {"type": "ecs.gn8is.2xlarge", "spot_price_limit": 2.5},
        {"type": "ecs.gn7i-c8g1.2xlarge", "spot_price_limit": 1.95},  # 0.2 × 9.74, up to the tick
        {"type": "ecs.gn7i-c8g1.2xlarge"},  # lowest on-demand of the two
    ]
    two = load_bundle(GOLDEN / "eas_model_cache_and_scaling")
    assert two.service.metadata.instance == 2  # the autoscaler's min
    assert two.service.storage is not None and two.service.storage[1].cache is not None
    assert two.service.storage[1].cache.capacity == "8G"  # ceil(7.2 × 1.1)
    three = json.loads(
        (GOLDEN / "eas_accelerated_dedicated_reordered" / "service.json").read_text()
    )
    assert [e["type"] for e in three["cloud"]["computing"]["instances"]] == [
        "dedicated_resource", "ecs.gn7i-c8g1.2xlarge", "ml.gu7i.c8m30.1-gu30",
        "ml.gu7i.c8m30.1-gu30",
    ]  # fmt: skip
    assert three["cloud"]["computing"]["instances"][1]["spot_price_limit"] == 9.74
    assert three["containers"][0]["image"].endswith(":2.1_accelerated")
    assert "token" not in three


def test_export_refuses_lint_errors(tmp_path: Path) -> None:
    bundle = load_bundle(FIX / "eas_config_acceptance_bad.json")
    with pytest.raises(ConfigError) as exc:
        export(bundle, tmp_path / "out", catalog=CATALOG)
    assert {f.rule for f in exc.value.findings} == {
        "spot-without-regular",
        "unknown-spec",
        "reserved-port",
    }
    assert "$.containers[0].port" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_export_refuses_to_overwrite(tmp_path: Path) -> None:
    bundle = load_bundle(FIX / "eas_config_domain_example")
    first = export(bundle, tmp_path, catalog=CATALOG)
    assert sorted(p.name for p in first.paths) == [
        "autoscaler.json",
        "cronscale.json",
        "service.json",
    ]
    before = (tmp_path / "service.json").read_text()
    with pytest.raises(ConfigError, match="already exist"):
        export(bundle, tmp_path, catalog=CATALOG)
    bundle.service.metadata.instance = 3
    export(bundle, tmp_path, overwrite=True, catalog=CATALOG)
    after = json.loads((tmp_path / "service.json").read_text())
    assert after["metadata"]["instance"] == 3 and before != (tmp_path / "service.json").read_text()


def test_secrets_written_only_when_asked(tmp_path: Path) -> None:
    data = json.loads((FIX / "eas_config_domain_inline_autoscaler.json").read_text())
    data.update(dockerAuth="dXNlcjpzM2NyM3Q=", token="tok")
    bundle = load_bundle(_write(tmp_path / "in.json", data))
    result = export(bundle, tmp_path / "a", catalog=CATALOG)
    assert result.omitted_secrets == ["service.json $.dockerAuth", "service.json $.token"]
    text = (tmp_path / "a" / "service.json").read_text()
    assert "dXNlcjpzM2NyM3Q=" not in text and "tok" not in json.loads(text).values()
    export(bundle, tmp_path / "b", include_secrets=True, catalog=CATALOG)
    assert json.loads((tmp_path / "b" / "service.json").read_text())["token"] == "tok"
    assert [f.rule for f in result.findings if f.rule == "secret-present"] == ["secret-present"] * 2


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_build_config_checks_its_output() -> None:
    with pytest.raises(ConfigError) as exc:
        build_config("x", "img:1", instances=[{"type": "ecs.gn8is.2xlarge"}], port=8080,
                     catalog=CATALOG)  # fmt: skip
    assert [f.rule for f in exc.value.findings] == ["reserved-port"]
    with pytest.raises(ConfigError, match="no instance specs"):
        build_config("x", "img:1", catalog=CATALOG)
    with pytest.raises(ConfigError, match="resource='eas-r-"):
        build_config("x", "img:1", instances=[{"type": "dedicated_resource"}], catalog=CATALOG)
    with pytest.raises(ConfigError) as exc:
        build_config("x", f"{ACR}:1", instances=[{"type": "ecs.gn8is.2xlarge"}], accelerated=True,
                     catalog=CATALOG)  # fmt: skip
    assert [f.rule for f in exc.value.findings] == ["accelerated-image-no-vpc"]


def test_build_config_uses_the_ordering_advisor() -> None:
    ordering = pytest.importorskip("spotlab.advise.ordering")
    with Store(":memory:") as s:
        ingest(s, [FIX / "eas_config_specs_catalog.csv", FIX / "eas_config_spot_prices.csv"])
        advice = ordering.recommend_ordering({"gpu_memory_gib": 24}, s)
        bundle = build_config("ordered", "img:1", ordering=advice, store=s)
        got = [dict(e) for e in bundle.service.model_dump(by_alias=True, exclude_unset=True)
               ["cloud"]["computing"]["instances"]]  # fmt: skip
        want = advice.to_instances()
        assert [e["type"] for e in got] == [e["type"] for e in want]
        assert errors(lint(bundle, s, {"gpu_memory_gib": 24})) == []


def test_build_config_uses_a_scaling_plan() -> None:
    scaling = pytest.importorskip("spotlab.fleet.scaling")
    hours = pl.datetime_range(
        pl.datetime(2025, 1, 6, time_zone="UTC"), pl.datetime(2025, 1, 7, 23, time_zone="UTC"),
        "1h", eager=True,
    )  # fmt: skip
    qps = [40.0 if 1 <= h.hour <= 12 else 8.0 for h in hours]  # synthetic day/night traffic
    traffic = pl.DataFrame({"ts": hours, "qps": qps})
    plan = scaling.scaling_plan(traffic, 10.0, 14.4, 2.88, 14.4 * 730 * 0.6, startup_seconds=120)
    bundle = build_config("planned", "img:1", instances=[
        {"type": "ecs.gn8is.2xlarge", "spot_price_limit": 2.88},
        {"type": "ecs.gn7i-c8g1.2xlarge", "spot_price_limit": 1.948},
    ], scaling=plan, catalog=CATALOG)  # fmt: skip
    assert bundle.autoscaler is not None and bundle.cronscale is not None
    assert bundle.autoscaler.min == plan.min_replicas
    assert plan.min_replicas <= bundle.service.metadata.instance <= plan.max_replicas
    assert errors(lint(bundle, catalog=CATALOG)) == []


@pytest.fixture(scope="module")
def bundled_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (ROOT / "data" / "specs_catalog.csv").exists():
        pytest.skip("the bundled data (data/specs_catalog.csv) is absent")
    db = tmp_path_factory.mktemp("bundled") / "bundled.duckdb"
    with Store(db) as s:
        ingest(s, ROOT / "data")
    yield db


def test_acceptance_cli_export_from_bundled_data_lints_clean(
    bundled_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from spotlab.cli import main

    out = tmp_path / "deploy"
    args = ["--db", str(bundled_db), "export", "--name", "sd_spot", "--image", f"{ACR}:4.2",
            "--gpu-memory-gib", "24", "--model-oss", "oss://b/sd/", "--model-size-gb", "7.2",
            "--min", "1", "--max", "4", "--qps", "10", "--out", str(out)]  # fmt: skip
    monkeypatch.setattr("sys.argv", ["spotlab", *args])
    main()
    assert "wrote" in capsys.readouterr().out
    monkeypatch.setattr("sys.argv", ["spotlab", "--db", str(bundled_db), "lint", str(out)])
    main()  # exits only on errors (SystemExit) or returns on a clean lint
    with Store(bundled_db, read_only=True) as s:
        found = lint(out, s, {"gpu_memory_gib": 24})
    assert errors(found) == []
    instances = json.loads((out / "service.json").read_text())["cloud"]["computing"]["instances"]
    assert "spot_price_limit" in instances[0] and "spot_price_limit" not in instances[-1]


def test_config_from_store_with_named_specs(bundled_db: Path) -> None:
    with Store(bundled_db, read_only=True) as s:
        bundle = config_from_store(s, "named", "img:1", specs=["ecs.gn8is.2xlarge"])
    types = [e.type for e in bundle.service.instances]
    assert types == ["ecs.gn8is.2xlarge", "ecs.gn8is.2xlarge"]
    assert [e.is_spot for e in bundle.service.instances] == [True, False]


# -- property: whatever build_config emits lints without errors ---------------------------

PRICED = sorted(s for s, i in CATALOG.items() if i.on_demand_price is not None)
ALL_SPECS = sorted(CATALOG)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    specs = draw(st.lists(st.sampled_from(ALL_SPECS), min_size=1, max_size=4, unique=True))
    instances = []
    for spec in specs:
        priced = spec in PRICED
        kind = draw(st.sampled_from(["spot", "regular"] + (["advised"] if priced else [])))
        entry: dict[str, Any] = {"type": spec}
        if kind == "spot":
            entry["spot_price_limit"] = draw(st.floats(0.01, 300.0))
        elif kind == "advised":
            entry["spot_price_limit"] = None
        if draw(st.booleans()):
            entry["capacity"] = draw(st.integers(1, 10) | st.just("30%"))
        instances.append(entry)
    gpu = min(CATALOG[s].total_gpu_memory_gib or 0 for s in specs)
    kw: dict[str, Any] = {
        "instances": instances,
        "replicas": draw(st.integers(1, 30)),
        "port": draw(st.integers(1, 65535).filter(lambda p: p not in (8080, 9090))),
        "requirements": {"gpu_memory_gib": draw(st.floats(0, gpu)) if gpu else None},
    }
    if draw(st.booleans()):
        lo = draw(st.integers(0, 5))
        kw["autoscaler"] = {"min": lo, "max": draw(st.integers(max(lo, 1), 20))}
    if draw(st.booleans()):
        kw["model_oss_path"] = "oss://b/m/"
        kw["model_size_gb"] = draw(st.floats(0.1, 500.0))
        kw["memory_cache"] = draw(st.none() | st.booleans())
    if draw(st.booleans()):
        kw["accelerated"], kw["networking"] = True, NET
    return kw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kw=configs())
def test_any_built_config_lints_without_errors(kw: dict[str, Any]) -> None:
    bundle = build_config("prop", f"{ACR}:1", catalog=CATALOG, **kw)
    assert errors(lint(bundle, None, kw["requirements"], catalog=CATALOG)) == []
    entries = bundle.service.instances
    spot = [i for i, e in enumerate(entries) if e.is_spot]
    regular = [i for i, e in enumerate(entries) if not e.is_spot]
    assert not spot or (regular and max(spot) < min(regular))  # a regular entry, last
    for e in entries:
        od = CATALOG[e.type].on_demand_price
        if e.is_spot and od is not None:
            assert e.spot_price_limit is not None and 0 < e.spot_price_limit <= od


def test_bid_advice_and_coldstart_advice_are_used() -> None:
    bids = pytest.importorskip("spotlab.advise.bids")
    with Store(":memory:") as s:
        ingest(s, [FIX / "eas_config_specs_catalog.csv", FIX / "eas_config_spot_prices.csv"])
        advice = bids.recommend_bids(s, specs=["ecs.gn8is.2xlarge"])
        want = advice.specs["bid"][0]
    entry = [{"type": "ecs.gn8is.2xlarge", "spot_price_limit": None}, {"type": "ecs.gn8is.2xlarge"}]
    got = build_config("b", "img:1", instances=entry, bids=advice, catalog=CATALOG)
    assert got.service.instances[0].spot_price_limit == pytest.approx(want)
    oss = {"model_oss_path": "oss://b/m/", "instances": entry, "catalog": CATALOG}
    no_fit = {"best_setup": "acr", "cache_fits_memory": False, "model_size_gb": 90.0}
    plain = build_config("c", "img:1", coldstart=no_fit, **oss)
    assert [s.mount_path for s in plain.service.storage or []] == ["/models"]  # OSS, no cache
    fits = {"best_setup": "both", "cache_fits_memory": True, "model_size_gb": 7.2}
    cached = build_config("c", "img:1", coldstart=fits, **oss)
    assert cached.service.storage is not None and cached.service.storage[1].cache is not None
    assert cached.service.storage[1].cache.capacity == "8G"  # ceil(7.2 × 1.1) from the advice
