"""Every number in an EAS config is finite and in range; JSON spotlab writes is strict JSON.

Each case names the JSON path the error must point at; export refuses, lint fails with one
``error:`` line naming the path (exit 2, as for any config it cannot read).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spotlab.eas.export import autoscaler_file
from spotlab.eas.model import dumps, load, load_autoscaler, load_service
from spotlab.errors import ConfigError

FIX = Path(__file__).resolve().parent / "fixtures"
GOOD: dict[str, Any] = {
    "metadata": {"name": "demo", "instance": 2},
    "cloud": {
        "computing": {
            "instances": [
                {"type": "ecs.gn8is.2xlarge", "spot_price_limit": 6.86, "capacity": 1},
                {"type": "ml.gu7i.c8m30.1-gu30"},
            ]
        }
    },
    "containers": [{"image": "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/a/b:1", "port": 8000}],
    "autoscaler": {"min": 1, "max": 4, "strategies": {"qps": 10}},
}
INSTANCE0 = "$.cloud.computing.instances[0]"


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(GOOD)
    node: Any = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return cfg


COMPUTING = ("cloud", "computing")
BAD = [
    # (why, path in the dict, value, expected JSON path)
    ("NaN bid", (*COMPUTING, "instances", 0, "spot_price_limit"), math.nan,
     f"{INSTANCE0}.spot_price_limit"),
    ("infinite bid", (*COMPUTING, "instances", 0, "spot_price_limit"), math.inf,
     f"{INSTANCE0}.spot_price_limit"),
    ("port above 65535", ("containers", 0, "port"), 99999, "$.containers[0].port"),
    ("port 0", ("containers", 0, "port"), 0, "$.containers[0].port"),
    ("negative port", ("containers", 0, "port"), -1, "$.containers[0].port"),
    ("negative instance count", ("metadata", "instance"), -5, "$.metadata.instance"),
    ("400-digit instance count", ("metadata", "instance"), 10**400, "$.metadata.instance"),
    ("negative capacity", (*COMPUTING, "instances", 0, "capacity"), -3, f"{INSTANCE0}.capacity"),
    ("capacity above 100%", (*COMPUTING, "instances", 0, "capacity"), "120%",
     f"{INSTANCE0}.capacity"),
    ("empty instances list", (*COMPUTING, "instances"), [], "$.cloud.computing.instances"),
    ("empty spec name", (*COMPUTING, "instances", 0, "type"), "", f"{INSTANCE0}.type"),
    ("empty service name", ("metadata", "name"), "", "$.metadata.name"),
    ("blank service name", ("metadata", "name"), "   ", "$.metadata.name"),
    ("empty image", ("containers", 0, "image"), "", "$.containers[0].image"),
    ("QPS target 0", ("autoscaler", "strategies", "qps"), 0, "$.autoscaler.strategies.qps"),
    ("negative QPS target", ("autoscaler", "strategies", "qps"), -10,
     "$.autoscaler.strategies.qps"),
    ("negative autoscaler min", ("autoscaler", "min"), -1, "$.autoscaler.min"),
    ("NaN under a key spotlab does not model", ("options", ), {"x": [1, math.inf]},
     "$.options.x[1]"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "where", "value", "path"), BAD, ids=[b[0] for b in BAD])
def test_out_of_range_service_values_name_their_path(why, where, value, path) -> None:
    load_service(GOOD)  # the base config is valid
    with pytest.raises(ConfigError) as err:
        load_service(_with(where, value))
    assert err.value.json_path == path, why


@pytest.mark.parametrize("threshold", [0, -1, math.nan, math.inf])
def test_standalone_autoscaler_threshold_must_be_positive(threshold: float) -> None:
    data = {"min": 1, "max": 3, "scaleStrategies": [{"metricName": "qps", "threshold": threshold}]}
    with pytest.raises(ConfigError) as err:
        load_autoscaler(data)
    assert err.value.json_path == "$.scaleStrategies[0].threshold"


def test_integer_targets_stay_integers() -> None:
    strategy = {"metricName": "qps", "threshold": 10}
    auto = load_autoscaler({"min": 1, "max": 3, "scaleStrategies": [strategy]})
    assert '"threshold": 10\n' in dumps(auto)


@pytest.mark.parametrize(
    "literal", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"], ids=lambda s: s
)
def test_json_text_with_non_finite_numbers_is_refused(literal: str, tmp_path: Path) -> None:
    text = json.dumps(GOOD).replace('"spot_price_limit": 6.86', f'"spot_price_limit": {literal}')
    path = tmp_path / "service.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert err.value.json_path == f"{INSTANCE0}.spot_price_limit"
    assert "NaN or infinite" in str(err.value)


def test_lint_cli_names_the_path_in_one_line(cli, tmp_path: Path) -> None:
    path = tmp_path / "service.json"
    path.write_text(json.dumps(_with(("containers", 0, "port"), 99999)))
    code, out, err = cli("lint", path)
    assert code == 2 and out == ""
    assert err.startswith("error: $.containers[0].port: ") and "65535" in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
def catalog_db(cli) -> Any:
    code, _, _ = cli("ingest", FIX / "eas_config_specs_catalog.csv")
    assert code == 0
    return cli


EXPORT = ["export", "--name", "demo", "--image", "registry.example.com/ns/app:1",
          "--spec", "ecs.gn8is.2xlarge", "--spec", "ml.gu7i.c8m30.1-gu30"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (["--min", "1", "--max", "4", "--qps", "nan"], "$.scaleStrategies[0].threshold"),
        (["--min", "1", "--max", "4", "--qps", "inf"], "$.scaleStrategies[0].threshold"),
        (["--min", "1", "--max", "4", "--qps", "0"], "$.scaleStrategies[0].threshold"),
        (["--min", "-5", "--max", "4"], "$.min"),
        (["--port", "99999"], "$.containers[0].port"),
        (["--port", "0"], "$.containers[0].port"),
        (["--port", "-1"], "$.containers[0].port"),
    ],
    ids=["qps-nan", "qps-inf", "qps-0", "min-5", "port-99999", "port-0", "port-minus-1"],
)
def test_export_refuses_and_writes_nothing(catalog_db, tmp_path: Path, args, path) -> None:
    out = tmp_path / "deploy"
    code, _, err = catalog_db(*EXPORT, "--out", out, *args)
    assert code == 2, err
    assert err.startswith(f"error: {path}: "), err
    assert not out.exists()


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_written_files_and_cli_json_are_strict_json(catalog_db, tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    code, stdout, err = catalog_db(*EXPORT, "--out", out, "--min", "1", "--max", "3",
                                   "--qps", "12.5", "--json")  # fmt: skip
    assert code == 0, err
    assert _strict(stdout)["paths"]
    auto = _strict((out / "autoscaler.json").read_text())
    assert auto["scaleStrategies"] == [{"metricName": "qps", "threshold": 12.5}]
    _strict((out / "service.json").read_text())
    # an analysis with a NaN figure (R² of a one-size fit, say) prints null, not NaN
    import contextlib
    import io

    from spotlab.cli import emit

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        emit({"r2": math.nan, "rows": [{"x": math.inf}]}, True)
    assert _strict(buf.getvalue()) == {"r2": None, "rows": [{"x": None}]}


def test_qps_alone_is_refused_by_the_library() -> None:
    with pytest.raises(ConfigError, match="needs its bounds"):
        autoscaler_file(None, None, 10)
    assert autoscaler_file(None, None) is None


# -- bad input never ends in a traceback ---------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 0 */" + "9" * 5000 + " * * *", "step '99999"),  # once a ValueError (int digits)
        ("0 0 */25 * * *", "must be an integer in 1-24"),
        ("0 0 */0 * * *", "must be an integer in 1-24"),
        ("0 0 ² * * *", "hour field '²' is not in 0-23"),  # a Unicode digit, not 0-9
        ("0 0 " + "1" * 5000 + " * * *", "is not in 0-23"),
    ],
    ids=["5000-digit-step", "step-above-range", "step-0", "unicode-digit", "5000-digit-hour"],
)
def test_cron_fields_are_bounded(schedule: str, problem: str) -> None:
    from spotlab.eas.lint import cron_problem, lint

    assert problem in (cron_problem(schedule) or "")
    cron = {"ScaleJobs": [{"Name": "peak", "Schedule": schedule, "TargetSize": 2}]}
    found = [f for f in lint(cron) if f.rule == "cron-schedule"]
    assert len(found) == 1 and len(found[0].message) < 300  # the field is cut short


def test_a_5000_digit_number_in_json_is_an_error(cli, tmp_path: Path) -> None:
    path = tmp_path / "service.json"
    path.write_text('{"metadata": {"name": "x", "instance": 1' + "1" * 5000 + "}}")
    code, _, err = cli("lint", path)
    assert code == 2 and err.startswith("error: $: ") and "4,300 digits" in err


def test_lint_format_and_input_type_are_checked(cli, tmp_path: Path) -> None:
    from spotlab.eas.lint import lint

    path = tmp_path / "service.json"
    path.write_text(json.dumps(GOOD))
    code, _, err = cli("lint", path, "--format", "xml")
    assert code == 2 and "--format is text or json, not 'xml'" in err
    with pytest.raises(ConfigError, match="not int"):
        lint(3)  # type: ignore[arg-type]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["20%", "0 0 9 * * *", "20G", "Asia/Shanghai"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


DOMAIN = FIX / "eas_config_domain_example"
BASES = [json.loads((DOMAIN / f"{k}.json").read_text()) for k in ("service", "autoscaler",
                                                                  "cronscale")]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_lint_of_any_mutated_config_fails_only_as_config_error(data: st.DataObject) -> None:
    from spotlab.eas.lint import lint

    base = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    where = data.draw(st.sampled_from(_paths(base)))
    value = data.draw(_JSON)
    cfg = value if not where else base
    assume(not isinstance(cfg, str))  # a string is a file name to lint
    if where:
        node = cfg
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
    try:
        lint(cfg)
    except ConfigError as exc:
        assert exc.json_path, exc  # every refusal names where


def test_export_names_a_misspelled_spec(catalog_db, tmp_path: Path) -> None:
    code, _, err = catalog_db("export", "--name", "a", "--image", "r/a:1", "--spec",
                              "ecs.gn8is.2xlarg", "--out", tmp_path / "d")  # fmt: skip
    assert code == 2 and "unknown spec 'ecs.gn8is.2xlarg'" in err
    assert "Did you mean 'ecs.gn8is.2xlarge'" in err
