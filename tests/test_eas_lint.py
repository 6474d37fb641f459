"""The EAS config linter: every rule fails on one example and passes on a near one.

The store holds a hand-written specs catalog and price points in the real ingest formats
(``tests/fixtures/eas_config_specs_catalog.csv``, ``eas_config_spot_prices.csv``).
Hand-worked facts used below: ecs.gn8is.2xlarge costs 14.4 CNY/h on demand and its latest
market price is 2.40 (zone k; zone j's newest point is 2.60); ml.gu7i.c8m30.1-gu30's latest
point is a discount of 0.15 × 8.0 = 1.20; ecs.gn7i-c8g1.2xlarge has 30 GiB of memory and
24 GiB of GPU memory and no price points.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from spotlab import Store
from spotlab.eas import facts
from spotlab.eas.lint import RULES, cron_problem, errors, lint
from spotlab.eas.model import (
    ConfigBundle,
    load_autoscaler,
    load_cronscale,
    load_service,
    parse_json,
)
from spotlab.ingest import ingest
from tests.conftest import run_cli

FIX = Path(__file__).resolve().parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def eas_store() -> Iterator[Store]:
    s = Store(":memory:")
    ingest(s, [FIX / "eas_config_specs_catalog.csv", FIX / "eas_config_spot_prices.csv"])
    yield s
    s.close()


VPC_IMAGE = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/ns/app:1.0_accelerated"
BASE: dict[str, Any] = {
    "metadata": {"name": "lint_base", "instance": 2, "resource_rebalancing": True},
    "cloud": {
        "computing": {
            "instances": [
                {"type": "ecs.gn8is.2xlarge", "spot_price_limit": 2.88},
                {"type": "ecs.gn7i-c8g1.2xlarge", "spot_price_limit": 1.948},
                {"type": "ecs.gn8is.2xlarge"},
            ]
        },
        "networking": {"vpc_id": "vpc-1", "vswitch_id": "vsw-1", "security_group_id": "sg-1"},
    },
    "containers": [{"image": VPC_IMAGE, "port": 8000}],
}
AUTO = {"min": 2, "max": 10}
CRON = {"ScaleJobs": [{"Name": "peak", "Schedule": "0 0 9 * * *", "TargetSize": 6}]}


def cfg(patch: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    if patch is not None:
        patch(data)
    return data


def inst(d: dict[str, Any]) -> list[dict[str, Any]]:
    return d["cloud"]["computing"]["instances"]


def bundle(
    service: dict[str, Any], auto: dict[str, Any] | None = None, cron: dict[str, Any] | None = None
) -> ConfigBundle:
    return ConfigBundle(
        load_service(service),
        load_autoscaler(auto) if auto else None,
        load_cronscale(cron) if cron else None,
    )


def job(**kw: Any) -> dict[str, Any]:
    return {"ScaleJobs": [{**CRON["ScaleJobs"][0], **kw}]}


def test_base_config_has_no_findings(eas_store: Store) -> None:
    assert lint(cfg(), eas_store, bids={}) == []


# (rule, expected path, failing config, passing config, lint kwargs); each a near pair.
# fmt: off
CASES: list[Any] = [
    pytest.param(
        "unknown-key", "$.contaners",
        cfg(lambda d: d.update(contaners=[])), cfg(lambda d: d.update(labels={"a": "b"})), {},
        id="unknown-key: misspelled top-level key; labels is known",
    ),
    pytest.param(
        "spot-without-regular", "$.cloud.computing.instances",
        cfg(lambda d: inst(d).pop()), cfg(), {},
        id="spot-without-regular: the regular fallback removed",
    ),
    pytest.param(
        "regular-not-last", "$.cloud.computing.instances[0]",
        cfg(lambda d: inst(d).insert(0, inst(d).pop())), cfg(), {},
        id="regular-not-last: regular entry moved first",
    ),
    pytest.param(
        "single-spot-spec", "$.cloud.computing.instances",
        cfg(lambda d: inst(d).pop(1)), cfg(), {},
        id="single-spot-spec: one spot spec left; two pass",
    ),
    pytest.param(
        "resource-rebalancing-off", "$.metadata.resource_rebalancing",
        cfg(lambda d: d["metadata"].pop("resource_rebalancing")), cfg(), {},
        id="resource-rebalancing-off: no move back to spot",
    ),
    pytest.param(
        "bid-not-positive", "$.cloud.computing.instances[1].spot_price_limit",
        cfg(lambda d: inst(d)[1].update(spot_price_limit=0)),
        cfg(lambda d: inst(d)[1].update(spot_price_limit=0.01)), {},
        id="bid-not-positive: 0 fails, 0.01 passes",
    ),
    pytest.param(
        "bid-above-on-demand", "$.cloud.computing.instances[0].spot_price_limit",
        cfg(lambda d: inst(d)[0].update(spot_price_limit=14.41)),
        cfg(lambda d: inst(d)[0].update(spot_price_limit=14.4)), {},
        id="bid-above-on-demand: 14.41 > 14.4 on demand; equal passes",
    ),
    pytest.param(
        "bid-below-market", "$.cloud.computing.instances[0].spot_price_limit",
        cfg(lambda d: inst(d)[0].update(spot_price_limit=2.39)),
        cfg(lambda d: inst(d)[0].update(spot_price_limit=2.40)), {},
        id="bid-below-market: 2.39 < 2.40 latest in zone k; equal passes",
    ),
    pytest.param(
        "bid-off-advice", "$.cloud.computing.instances[0].spot_price_limit",
        cfg(lambda d: inst(d)[0].update(spot_price_limit=3.7)),
        cfg(lambda d: inst(d)[0].update(spot_price_limit=3.5)),
        {"bids": {"ecs.gn8is.2xlarge": 2.88}},
        id="bid-off-advice: +28% from 2.88 advised; +22% passes",
    ),
    pytest.param(
        "unknown-spec", "$.cloud.computing.instances[0].type",
        cfg(lambda d: inst(d)[0].update(type="ecs.gn8is-8x.32large")),
        cfg(lambda d: inst(d)[0].update(type="ecs.gn8is-8x.32xlarge", spot_price_limit=23.04)), {},
        id="unknown-spec: the seed's misspelling; the real name passes",
    ),
    pytest.param(
        "gpu-memory-short", "$.cloud.computing.instances[1].type",
        cfg(), cfg(), {"requirements": {"gpu_memory_gib": 40}},
        id="gpu-memory-short: gn7i has 24 GiB, model needs 40 (pass: 24 below)",
    ),
    pytest.param(
        "accelerated-image-registry", "$.containers[0].image",
        cfg(lambda d: d["containers"][0].update(image=VPC_IMAGE.replace("-vpc", ""))), cfg(), {},
        id="accelerated-image-registry: public ACR domain instead of -registry-vpc",
    ),
    pytest.param(
        "accelerated-image-no-vpc", "$.cloud.networking",
        cfg(lambda d: d["cloud"].pop("networking")), cfg(), {},
        id="accelerated-image-no-vpc: accelerated tag without cloud.networking",
    ),
    pytest.param(
        "image-not-accelerated", "$.containers[0].image",
        cfg(lambda d: d["containers"][0].update(image="reg.example.com/ns/app:1.0")),
        cfg(lambda d: d["containers"][0].update(image="reg.example.com/ns/app:1.0")),
        {"requirements": {"image_size_gb": 2.0}},
        id="image-not-accelerated: 2 GB plain image on spot (pass: 0.5 GB below)",
    ),
    pytest.param(
        "oss-model-no-cache", "$.storage[0]",
        cfg(lambda d: d.update(storage=[{"mount_path": "/m", "oss": {"path": "oss://b/m/"}}])),
        cfg(lambda d: d.update(storage=[
            {"mount_path": "/m", "oss": {"path": "oss://b/m/"}},
            {"mount_path": "/models", "cache": {"path": "/m", "capacity": "10G"}},
        ])), {},
        id="oss-model-no-cache: OSS mount on spot; a cache over it passes",
    ),
    pytest.param(
        "cache-capacity-invalid", "$.storage[0].cache.capacity",
        cfg(lambda d: d.update(storage=[{"mount_path": "/m", "cache": {"path": "/s",
                                                                       "capacity": "lots"}}])),
        cfg(lambda d: d.update(storage=[{"mount_path": "/m", "cache": {"path": "/s",
                                                                       "capacity": "20G"}}])),
        {},
        id="cache-capacity-invalid: 'lots' is not a size",
    ),
    pytest.param(
        "cache-over-memory", "$.storage[0].cache.capacity",
        cfg(lambda d: d.update(storage=[{"mount_path": "/m", "cache": {"path": "/s",
                                                                       "capacity": "31Gi"}}])),
        cfg(lambda d: d.update(storage=[{"mount_path": "/m", "cache": {"path": "/s",
                                                                       "capacity": "30Gi"}}])),
        {},
        id="cache-over-memory: 31 GiB > gn7i's 30 GiB; 30 GiB passes",
    ),
    pytest.param(
        "autoscaler-min-max", "$.autoscaler.min",
        cfg(lambda d: d.update(autoscaler={"min": 3, "max": 2})),
        cfg(lambda d: d.update(autoscaler={"min": 2, "max": 2})), {},
        id="autoscaler-min-max: inline min 3 > max 2",
    ),
    pytest.param(
        "instance-outside-range", "$.metadata.instance",
        bundle(cfg(lambda d: d["metadata"].update(instance=11)), AUTO),
        bundle(cfg(lambda d: d["metadata"].update(instance=10)), AUTO), {},
        id="instance-outside-range: 11 replicas outside the autoscaler file's [2, 10]",
    ),
    pytest.param(
        "cron-target-outside-range", "$.ScaleJobs[0].TargetSize",
        bundle(cfg(), AUTO, job(TargetSize=11)), bundle(cfg(), AUTO, job(TargetSize=10)), {},
        id="cron-target-outside-range: cron scales to 11 above max 10",
    ),
    pytest.param(
        "burstable-without-resource", "$.metadata.resource_burstable",
        cfg(lambda d: d["metadata"].update(resource_burstable=True)),
        cfg(lambda d: d["metadata"].update(resource_burstable=True, resource="eas-r-1")), {},
        id="burstable-without-resource: no dedicated group to overflow from",
    ),
    pytest.param(
        "cron-schedule", "$.ScaleJobs[0].Schedule",
        bundle(cfg(), None, job(Schedule="0 9 * * *")), bundle(cfg(), None, CRON), {},
        id="cron-schedule: 5-field Unix cron; 6 fields pass",
    ),
    pytest.param(
        "cron-timezone", "$.ScaleJobs[0].TimeZone",
        bundle(cfg(), None, job(TimeZone="Asia/Shangai")),
        bundle(cfg(), None, job(TimeZone="Asia/Shanghai")), {},
        id="cron-timezone: misspelled IANA zone",
    ),
    pytest.param(
        "reserved-port", "$.containers[0].port",
        cfg(lambda d: d["containers"][0].update(port=9090)), cfg(), {},
        id="reserved-port: 9090 is EAS's; 8000 passes",
    ),
    pytest.param(
        "secret-present", "$.token",
        cfg(lambda d: d.update(token="s3cr3t-token")), cfg(), {},
        id="secret-present: a service token in the file",
    ),
    pytest.param(
        "not-eas-spec", "$.cloud.computing.instances[1].type",
        cfg(lambda d: inst(d)[1].update(type="p3.2xlarge")), cfg(), {},
        id="not-eas-spec: an AWS type in an EAS service (GCP types: test_not_eas_spec_*)",
    ),
    pytest.param(
        "image-invalid", "$.containers[0].image",
        cfg(lambda d: d["containers"][0].update(image="not a valid image ref!!")), cfg(), {},
        id="image-invalid: not a registry reference",
    ),
    pytest.param(
        "duplicate-key", "$.labels.team",
        load_service(parse_json(json.dumps(cfg())[:-1] + ', "labels": {"team": 1, "team": 2}}')),
        load_service(parse_json(json.dumps(cfg())[:-1] + ', "labels": {"team": "a"}}')), {},
        id="duplicate-key: a key written twice in one object",
    ),
]
# fmt: on


@pytest.mark.parametrize(("rule", "path", "failing", "passing", "kw"), CASES)
def test_rule_fails_and_passes(
    eas_store: Store, rule: str, path: str, failing: Any, passing: Any, kw: dict[str, Any]
) -> None:
    kw = {"bids": {}, **kw}  # no bid advice unless the case gives it
    req_fail = kw.pop("requirements", None)
    req_pass = req_fail
    if rule == "gpu-memory-short":
        req_pass = {"gpu_memory_gib": 24}
    if rule == "image-not-accelerated":
        req_pass = {"image_size_gb": 0.5}
    bad = [f for f in lint(failing, eas_store, req_fail, **kw) if f.rule == rule]
    assert [f.path for f in bad] == [path]
    assert bad[0].severity == RULES[rule].severity
    assert bad[0].message and bad[0].fix
    good = lint(passing, eas_store, req_pass, **kw)
    assert rule not in {f.rule for f in good}


def test_every_rule_has_a_case() -> None:
    assert {c.values[0] for c in CASES} == set(RULES)


def test_messages_carry_the_figures(eas_store: Store) -> None:
    data = cfg(lambda d: inst(d)[0].update(spot_price_limit=2.0))
    (f,) = [f for f in lint(data, eas_store) if f.rule == "bid-below-market"]
    assert "2.4 CNY" in f.message and "cn-hangzhou-k" in f.message
    (f,) = [
        f
        for f in lint(cfg(), eas_store, bids={"ecs.gn8is.2xlarge": 2.0})
        if f.rule == "bid-off-advice"
    ]
    assert "+44%" in f.message and "2 CNY" in f.message  # (2.88 - 2.0) / 2.0
    data = cfg(lambda d: inst(d)[0].update(type="ecs.gn8is-8x.32large"))
    (f,) = [f for f in lint(data, eas_store) if f.rule == "unknown-spec"]
    assert "ecs.gn8is-8x.32xlarge" in f.message and f.fix == "use 'ecs.gn8is-8x.32xlarge'"


def test_bid_advice_comes_from_the_bid_advisor(eas_store: Store) -> None:
    got = facts.gather(eas_store, ["ecs.gn8is.2xlarge"])
    if not got.bid_source:
        pytest.skip("the bid advisor (spotlab.advise.bids) is not installed")
    # whatever it recommends must be a usable bid: above the latest 2.40, at most on-demand
    assert 2.40 <= got.bids["ecs.gn8is.2xlarge"] <= 14.4


def test_market_price_is_latest_point_per_zone_then_cheapest(eas_store: Store) -> None:
    got = facts.market_prices(eas_store, ["ecs.gn8is.2xlarge", "ml.gu7i.c8m30.1-gu30"])
    assert (got["ecs.gn8is.2xlarge"].price, got["ecs.gn8is.2xlarge"].zone) == (
        2.40,
        "cn-hangzhou-k",
    )
    assert got["ml.gu7i.c8m30.1-gu30"].price == pytest.approx(0.15 * 8.0)


def test_reserved_ports_both_fail(eas_store: Store) -> None:
    for port in (8080, 9090):
        data = cfg(lambda d, p=port: d["containers"][0].update(port=p))
        assert [f.rule for f in errors(lint(data, eas_store))] == ["reserved-port"]


def test_dockerauth_warns_and_no_secret_in_any_message(eas_store: Store) -> None:
    data = cfg(lambda d: d.update(dockerAuth="dXNlcjpzM2NyM3Q=", token="tok-123"))
    found = lint(data, eas_store)
    paths = sorted(f.path for f in found if f.rule == "secret-present")
    assert paths == ["$.dockerAuth", "$.token"]
    text = json.dumps([f.as_dict() for f in found])
    assert "dXNlcjpzM2NyM3Q=" not in text and "tok-123" not in text


@pytest.mark.parametrize(
    ("expr", "ok"),
    [
        ("0 0 9 * * *", True),
        ("*/15 * * * * ?", True),
        ("0 30 8-18/2 * * MON-FRI", True),
        ("0 0 0 1 JAN,JUL *", True),
        ("* * * * * 6,0", True),
        ("0 0 9 * *", False),
        ("0 60 9 * * *", False),
        ("0 0 24 * * *", False),
        ("0 0 9 0 * *", False),
        ("0 0 9 * 13 *", False),
        ("0 0 9 * * 8", False),
        ("0 0 9 * * FRI-MON", False),
        ("0 0 9 * * */0", False),
        ("0 0 9 ? * *", True),
        ("0 ? 9 * * *", False),
    ],
)
def test_cron_fields(expr: str, ok: bool) -> None:
    assert (cron_problem(expr) is None) is ok, cron_problem(expr)


def test_domain_example_lints_without_errors(eas_store: Store) -> None:
    folder = FIX / "eas_config_domain_example"
    assert errors(lint(folder, eas_store)) == []
    assert errors(lint(FIX / "eas_config_domain_inline_autoscaler.json", eas_store)) == []
    assert errors(lint(folder)) == []  # and against the packaged catalog, without a store


def test_acceptance_cli_lint_shows_three_errors_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    db = tmp_path / "t.duckdb"
    with Store(db) as s:
        ingest(s, FIX / "eas_config_specs_catalog.csv")
    bad = str(FIX / "eas_config_acceptance_bad.json")
    code, out, _ = run_cli(monkeypatch, capsys, "--db", str(db), "lint", bad)
    assert code == 1
    assert "$.cloud.computing.instances  [spot-without-regular]" in out
    assert "$.cloud.computing.instances[0].type  [unknown-spec]" in out
    assert "Did you mean 'ecs.gn8is-8x.32xlarge'?" in out
    assert "$.containers[0].port  [reserved-port]" in out
    code, out, _ = run_cli(monkeypatch, capsys, "--db", str(db), "lint", bad, "--format", "json")
    assert code == 1
    found = [f for f in json.loads(out) if f["severity"] == "error"]
    assert {(f["rule"], f["path"]) for f in found} == {
        ("spot-without-regular", "$.cloud.computing.instances"),
        ("unknown-spec", "$.cloud.computing.instances[0].type"),
        ("reserved-port", "$.containers[0].port"),
    }


def test_cli_lint_clean_file_exits_0_and_bad_json_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    db = tmp_path / "none.duckdb"  # absent: lint must not create it
    good = str(FIX / "eas_config_domain_example")
    code, out, _ = run_cli(monkeypatch, capsys, "--db", str(db), "lint", good)
    assert (code, out.strip()) == (0, "no findings")
    assert not db.exists()
    broken = tmp_path / "service.json"
    broken.write_text('{"metadata": {"name": "x",, }}')
    code, _, err = run_cli(monkeypatch, capsys, "--db", str(db), "lint", str(broken))
    assert code == 2
    assert "line 1, column 27" in err and "Traceback" not in err


def test_real_console_script_exit_code(tmp_path: Path) -> None:
    """One real process: the installed entry point maps lint errors to exit status 1."""
    bad = FIX / "eas_config_acceptance_bad.json"
    cmd = [sys.executable, "-m", "spotlab.cli", "--db", str(tmp_path / "x.duckdb"), "lint"]
    run = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 1, run.stderr
    assert "[reserved-port]" in run.stdout


def test_not_eas_spec_gcp_type_from_the_store() -> None:
    # the store's catalog lists GCP machine types too: known, but not an EAS type
    with Store(":memory:") as s:
        ingest(s, [FIX / "gcp_changepoints_excerpt.csv", FIX / "eas_config_specs_catalog.csv"])
        data = cfg(lambda d: inst(d)[0].update(type="a2-highgpu-1g"))
        found = [f for f in lint(data, s, bids={}) if f.severity == "error"]
    assert [(f.rule, f.path) for f in found] == [
        ("not-eas-spec", "$.cloud.computing.instances[0].type")
    ]
    assert "a GCP type (the specs catalog lists it under gcp)" in found[0].message


def test_image_references() -> None:
    from spotlab.eas.lint import image_problem

    good = ["nginx", "nginx:1.25", "docker.io/library/nginx:latest", "localhost:5000/a/b",
            VPC_IMAGE, "reg.example.com/ns/app@sha256:" + "a" * 64]  # fmt: skip
    bad = ["not a valid image ref!!", "UPPER/x:1", "a//b", "a:b:c", "u:p@reg.io/a:1",
           "reg.example.com/ns/app:", "x" * 300]  # fmt: skip
    assert [image_problem(i) for i in good] == [None] * len(good)
    assert all(image_problem(i) for i in bad)
