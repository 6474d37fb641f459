"""The typed EAS models: lossless round trips, errors with JSON paths, the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotlab.eas import cachefs
from spotlab.eas.lint import lint
from spotlab.eas.model import (
    AutoscalerConfig,
    CronScaleConfig,
    Metadata,
    ServiceConfig,
    detect_kind,
    dump,
    dumps,
    json_schema,
    load,
    load_bundle,
    load_service,
)
from spotlab.eas.secrets import MASK, mask_secrets, strip_secrets
from spotlab.errors import ConfigError

FIX = Path(__file__).resolve().parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = sorted(
    [*FIX.glob("eas_config_*.json"), *FIX.glob("eas_config_*/*.json"), *GOLDEN.glob("eas_*/*.json")]
)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_load_dump_round_trip(path: Path) -> None:
    raw = json.loads(path.read_text())
    model = load(path)
    assert dump(model) == raw
    assert json.loads(dumps(model)) == raw


def test_kinds_are_recognised() -> None:
    folder = FIX / "eas_config_domain_example"
    assert isinstance(load(folder / "service.json"), ServiceConfig)
    assert isinstance(load(folder / "autoscaler.json"), AutoscalerConfig)
    assert isinstance(load(folder / "cronscale.json"), CronScaleConfig)
    assert detect_kind({"min": 1, "max": 2}) == "autoscaler"
    assert detect_kind({"metadata": {}, "min": 1, "max": 2}) == "service"
    bundle = load_bundle(folder)
    assert bundle.autoscaler is not None and bundle.cronscale is not None
    assert set(bundle.files()) == {"service.json", "autoscaler.json", "cronscale.json"}


def test_unknown_keys_are_kept_and_reported_with_did_you_mean() -> None:
    path = FIX / "eas_config_unknown_keys.json"
    cfg = load_service(path)
    assert cfg.model_extra == {"contaners": []}
    assert cfg.metadata.rpc_keepalive == 60000  # the flat "rpc.keepalive" key is known
    unknown = {f.path: f for f in lint(cfg) if f.rule == "unknown-key"}
    assert set(unknown) == {
        "$.contaners",
        "$.metadata.resource_rebalanceing",
        "$.cloud.computing.spot_strategy",
        "$.containers[0].startup_check",
    }
    assert all(f.severity == "info" for f in unknown.values())
    assert "Did you mean 'containers'?" in unknown["$.contaners"].message
    assert unknown["$.metadata.resource_rebalanceing"].fix == "rename it to 'resource_rebalancing'"
    assert "Did you mean" not in unknown["$.containers[0].startup_check"].message


def test_single_spec_form_is_one_regular_instance() -> None:
    cfg = load_service(FIX / "eas_config_unknown_keys.json")
    (only,) = cfg.instances
    assert (only.type, only.is_spot) == ("ecs.gn7i-c8g1.2xlarge", False)


BASE = {"metadata": {"name": "t", "instance": 1}}


def with_(**parts: Any) -> dict[str, Any]:
    return {**BASE, **parts}


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        pytest.param(
            with_(cloud={"computing": {"instances": [{"type": "a", "spot_price_limit": "2.88"}]}}),
            "$.cloud.computing.instances[0].spot_price_limit", "valid number (found a string)",
            id="bid as a string",
        ),
        pytest.param(
            {"metadata": {"name": "t", "instance": "2"}}, "$.metadata.instance",
            "valid integer", id="replicas as a string",
        ),
        pytest.param(
            {"metadata": {"instance": 1}}, "$.metadata.name", "required key 'name' is missing",
            id="missing service name",
        ),
        pytest.param({}, "$.metadata", "required key 'metadata'", id="no metadata at all"),
        pytest.param(
            with_(containers={"image": "x"}), "$.containers", "valid list (found an object)",
            id="containers not a list",
        ),
        pytest.param(
            with_(containers=[{"image": "x", "port": True}]), "$.containers[0].port",
            "valid integer (found a boolean)", id="port as a boolean",
        ),
        pytest.param(
            with_(cloud={"computing": {"instances": [{"type": "a", "capacity": "2x"}]}}),
            "$.cloud.computing.instances[0].capacity", 'percentage such as "20%"',
            id="capacity neither integer nor percentage",
        ),
        pytest.param(
            {"metadata": {"name": "t", "instance": 1, "rpc.keepalive": "long"}},
            '$.metadata["rpc.keepalive"]', "valid integer", id="dotted key wrong type",
        ),
        pytest.param(
            {"ScaleJobs": [{"Name": "p", "Schedule": "0 0 9 * * *", "TargetSize": "6"}]},
            "$.ScaleJobs[0].TargetSize", "valid integer", id="cron target as a string",
        ),
        pytest.param([1, 2], "$", "expected a JSON object", id="top level is an array"),
    ],
)  # fmt: skip
def test_wrong_types_give_config_error_with_json_path(data: Any, path: str, words: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load(data) if isinstance(data, dict) else load_service(data)
    assert exc.value.json_path == path
    assert words in str(exc.value)
    # no pydantic traceback chained to the error
    assert exc.value.__cause__ is None
    assert exc.value.__context__ is None or exc.value.__suppress_context__
    assert "pydantic" not in str(exc.value)


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "service.json"
    f.write_text('{\n  "metadata": {"name": "x", "instance": 1},\n}\n')
    with pytest.raises(ConfigError) as exc:
        load(f)
    assert exc.value.json_path == "$"
    assert "line 3, column 1" in str(exc.value) and str(f) in str(exc.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.json")


def test_secret_values_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        load(with_(dockerAuth=["s3cr3t-value"], token=123456789))
    text = str(exc.value)
    assert "$.dockerAuth" in text and "$.token" in text
    assert "s3cr3t-value" not in text and "123456789" not in text


def test_mask_and_strip_secrets() -> None:
    data = with_(
        dockerAuth="dXNlcjpwYXNz",
        token="abc",
        containers=[{"image": "x", "env": [{"name": "HF_TOKEN", "value": "hf_x"},
                                            {"name": "MODEL_DIR", "value": "/models"}]}],
    )  # fmt: skip
    masked = mask_secrets(data)
    assert (masked["dockerAuth"], masked["token"]) == (MASK, MASK)
    assert [e["value"] for e in masked["containers"][0]["env"]] == [MASK, "/models"]
    assert data["token"] == "abc"  # the input is not modified
    stripped, removed = strip_secrets(data)
    assert removed == ["$.dockerAuth", "$.token", "$.containers[0].env[0] (HF_TOKEN)"]
    assert "token" not in stripped and stripped["containers"][0]["env"] == [
        {"name": "MODEL_DIR", "value": "/models"}
    ]


def test_json_schema_allows_unknown_keys() -> None:
    schema = json_schema("service")
    assert {"metadata", "cloud", "containers", "storage", "autoscaler"} <= set(schema["properties"])
    assert schema["required"] == ["metadata"]
    assert schema["additionalProperties"] is True
    assert "ScaleJobs" in json_schema("cronscale")["properties"]
    assert "scaleStrategies" in json_schema("autoscaler")["properties"]


def test_cli_schema_prints_json() -> None:
    from typer.testing import CliRunner

    from spotlab.cli import app

    res = CliRunner().invoke(app, ["schema", "--kind", "autoscaler"])
    assert res.exit_code == 0
    assert json.loads(res.output)["required"] == ["min", "max"]


@pytest.mark.parametrize(
    ("text", "gib"),
    [
        ("20Gi", 20.0),
        ("20G", 20e9 / 2**30),
        ("512Mi", 0.5),
        ("1T", 1e12 / 2**30),
        ("8", 8e9 / 2**30),
    ],
)
def test_cache_sizes(text: str, gib: float) -> None:
    assert cachefs.size_gib(text) == pytest.approx(gib)


def test_cache_entry_round_trips_through_the_reader() -> None:
    entry = cachefs.memory_cache_entry("/models-src", "/models", 7.2)
    (found,) = cachefs.memory_caches([{"mount_path": "/x", "oss": {"path": "oss://b/"}}, entry])
    assert (found.index, found.source_path, found.capacity) == (1, "/models-src", "8G")
    assert cachefs.size_gib("lots") is None


# -- property: unknown content of any shape survives load → dump ------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=8,
)
_extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(lambda k: k not in ServiceConfig.known_keys()),
    _json,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(top=_extra_keys, meta=_extra_keys, entry=_extra_keys)
def test_unknown_keys_survive_round_trip(
    top: dict[str, Any], meta: dict[str, Any], entry: dict[str, Any]
) -> None:
    meta = {k: v for k, v in meta.items() if k not in Metadata.known_keys()}
    entry = {k: v for k, v in entry.items() if k not in ("type", "spot_price_limit", "capacity")}
    data = {
        **top,
        "metadata": {"name": "p", "instance": 1, **meta},
        "cloud": {"computing": {"instances": [{"type": "ecs.gn8is.2xlarge", **entry}]}},
    }
    assert dump(load_service(data)) == data
    unknown = {f.path for f in lint(data, catalog={}) if f.rule == "unknown-key"}
    assert len(unknown) == len(top) + len(meta) + len(entry)
