"""Security of what spotlab reads and writes: links, overwrites, secrets, injections.

Each test is one case of issue 12 §8, tried as an attacker would.
"""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import spotlab as sl
from spotlab.eas.export import export, write_files
from spotlab.eas.lint import lint
from spotlab.eas.model import load, load_bundle, parse_json
from spotlab.eas.secrets import MASK, find_secrets, mask_secrets, strip_secrets
from spotlab.errors import ConfigError
from spotlab.text import printable, spreadsheet_safe, strict_json, write_csv
from tests.conftest import run_cli

FIX = Path(__file__).resolve().parent / "fixtures"
BUNDLED = Path(__file__).resolve().parents[1] / "data"
GOOD: dict[str, Any] = {
    "metadata": {"name": "demo", "instance": 1, "resource_rebalancing": True},
    "cloud": {
        "computing": {
            "instances": [
                {"type": "ecs.gn8is.2xlarge", "spot_price_limit": 6.86},
                {"type": "ecs.gn7i-c8g1.2xlarge", "spot_price_limit": 5.09},
                {"type": "ml.gu7i.c8m30.1-gu30"},
            ]
        }
    },
    "containers": [{"image": "registry.example.com/ns/app:1", "port": 8000}],
}


def _catalog() -> Any:
    from spotlab.eas import facts

    with sl.Store(":memory:") as s:
        sl.ingest(s, FIX / "eas_config_specs_catalog.csv")
        return facts.store_specs(s)


CATALOG = _catalog()


# -- writing files -------------------------------------------------------------------------


def test_a_planted_tmp_link_is_never_written_through(tmp_path: Path) -> None:
    out, victim = tmp_path / "deploy", tmp_path / "outside.txt"
    out.mkdir()
    victim.write_text("precious")
    (out / "service.json.tmp").symlink_to(victim)
    export(sl.ServiceConfig.model_validate(GOOD), out, catalog=CATALOG)
    assert victim.read_text() == "precious"
    assert json.loads((out / "service.json").read_text())["metadata"]["name"] == "demo"
    # the planted link is left alone, and spotlab leaves no temporary file of its own
    assert sorted(p.name for p in out.iterdir()) == ["service.json", "service.json.tmp"]


def test_a_target_that_is_a_link_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    out, victim = tmp_path / "deploy", tmp_path / "outside.json"
    out.mkdir()
    victim.write_text("{}")
    (out / "service.json").symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        write_files(out, {"service.json": {"a": 1}}, overwrite=True)
    assert victim.read_text() == "{}"


def test_a_failed_write_leaves_no_tmp_and_blames_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "deploy"

    def full(*_a: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ConfigError, match=r"No space left on device.*not the config.*nothing was"):
        write_files(out, {"service.json": {"a": 1}, "autoscaler.json": {"min": 1}})
    assert list(out.iterdir()) == []


def test_an_existing_file_needs_overwrite_and_modes(tmp_path: Path) -> None:
    write_files(tmp_path, {"service.json": {"a": 1}})
    assert stat.S_IMODE((tmp_path / "service.json").stat().st_mode) == 0o644
    with pytest.raises(ConfigError, match="already exists; pass overwrite=True"):
        write_files(tmp_path, {"service.json": {"a": 2}})
    write_files(tmp_path, {"service.json": {"a": 3}}, overwrite=True, private=True)
    assert json.loads((tmp_path / "service.json").read_text()) == {"a": 3}
    assert stat.S_IMODE((tmp_path / "service.json").stat().st_mode) == 0o600


REPORT_PRICES = """provider,zone,spec,ts,spot_price,on_demand_price,currency
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-01T00:00:00Z,2.0,14.4,CNY
alibaba,cn-hangzhou-h,ecs.gn8is.2xlarge,2026-11-02T00:00:00Z,3.0,14.4,CNY
alibaba,cn-hangzhou-h,ml.gu7i.c8m30.1-gu30,2026-11-01T00:00:00Z,1.6,8.0,CNY
alibaba,cn-hangzhou-h,ml.gu7i.c8m30.1-gu30,2026-11-02T00:00:00Z,1.7,8.0,CNY
"""


@pytest.fixture
def report_db(tmp_path: Path) -> Path:
    db, prices = tmp_path / "r.duckdb", tmp_path / "prices.csv"
    prices.write_text(REPORT_PRICES)
    with sl.Store(db) as s:
        sl.ingest(s, [BUNDLED / "specs_catalog.csv", prices])
    return db


def test_report_does_not_overwrite_a_config_unless_asked(
    report_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    mine = tmp_path / "o" / "config" / "service.json"
    mine.parent.mkdir(parents=True)
    mine.write_text('{"metadata": {"name": "my_real_service", "instance": 9}}')
    args = ["--db", report_db, "report", "--out", tmp_path / "o", "--no-notebooks"]
    _, out, err = run_cli(monkeypatch, capsys, *args)
    assert "already exists" in out + err and "my_real_service" in mine.read_text()
    code, _, _ = run_cli(monkeypatch, capsys, *args, "--overwrite")
    assert code == 0 and "my_real_service" not in mine.read_text()


# -- secrets -------------------------------------------------------------------------------

LEAKY: dict[str, Any] = {
    **GOOD,
    "containers": [
        {
            "image": "bob:pa55w0rd@registry.example.com/ns/app:1",
            "port": 8000,
            "env": [
                {"name": "HF_TOKEN", "value": "hf_not_a_real_token"},
                {"name": "MODEL_DIR", "value": "/models"},
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "MIRROR", "value": "AKIAABCDEFGHIJKLMNOP"},
            ],
        }
    ],
    "options": {"Token": "opt-token-value", "docker_auth": "ZG9jazpwdw=="},
}
LEAKS = ["pa55w0rd", "hf_not_a_real_token", "hunter2", "AKIAABCDEFGHIJKLMNOP",
         "opt-token-value", "ZG9jazpwdw=="]  # fmt: skip
LEAK_PATHS = [
    "$.containers[0].env[0].value",
    "$.containers[0].env[2].value",
    "$.containers[0].env[3].value",
    "$.containers[0].image",
    "$.options.Token",
    "$.options.docker_auth",
]


def test_lint_flags_every_secret_without_printing_it() -> None:
    found = [f for f in lint(LEAKY, catalog=CATALOG) if f.rule == "secret-present"]
    assert sorted(f.path for f in found) == LEAK_PATHS
    text = json.dumps([f.as_dict() for f in lint(LEAKY, catalog=CATALOG)])
    assert not [s for s in LEAKS if s in text]


def test_export_writes_no_secret_and_says_what_it_left_out(tmp_path: Path) -> None:
    # credentials in the image make it no registry reference: export refuses, silently
    with pytest.raises(ConfigError, match="image-invalid") as err:
        export(load(LEAKY), tmp_path / "no", catalog=CATALOG)
    assert "pa55w0rd" not in str(err.value) and not (tmp_path / "no").exists()
    leaky = json.loads(json.dumps(LEAKY))
    leaky["containers"][0]["image"] = "registry.example.com/ns/app:1"
    result = export(load(leaky), tmp_path, catalog=CATALOG)
    text = (tmp_path / "service.json").read_text()
    assert not [s for s in LEAKS if s in text]
    written = json.loads(text)
    assert written["containers"][0]["env"] == [{"name": "MODEL_DIR", "value": "/models"}]
    assert "****" not in text  # a masked value would be deployed as is: removed instead
    assert result.omitted_secrets == [
        "service.json $.containers[0].env[0] (HF_TOKEN)",
        "service.json $.containers[0].env[2] (DB_PASSWORD)",
        "service.json $.containers[0].env[3] (MIRROR)",
        "service.json $.options.Token",
        "service.json $.options.docker_auth",
    ]
    kept = export(load(leaky), tmp_path / "all", catalog=CATALOG, include_secrets=True)
    assert (
        kept.omitted_secrets == [] and "hunter2" in (tmp_path / "all" / "service.json").read_text()
    )


def test_mask_hides_every_secret_and_keeps_the_rest() -> None:
    masked = mask_secrets(LEAKY)
    text = json.dumps(masked)
    assert not [s for s in LEAKS if s in text]
    assert masked["containers"][0]["image"] == f"{MASK}@registry.example.com/ns/app:1"
    assert masked["containers"][0]["env"][1] == {"name": "MODEL_DIR", "value": "/models"}
    assert LEAKY["options"]["Token"] == "opt-token-value"  # the input is not modified


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("https://user:pw@host/x", True),
        ("registry.example.com/ns/app:1", False),
        ("git@github.com:org/repo.git", False),  # a user without a password is no secret
        ("oss://bucket/models/", False),
        ("sk-" + "a" * 24, True),
    ],
)
def test_credentials_in_strings(value: str, secret: bool) -> None:
    assert bool(find_secrets({"x": value})) is secret
    assert strip_secrets({"x": value})[0].get("x", "") != value or not secret


def test_a_repeated_token_key_cannot_hide_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "service.json"
    text = json.dumps(GOOD)[:-1] + ', "token": "s3cret-service-token", "token": null}'
    path.write_text(text)
    found = lint(path, catalog=CATALOG)
    by_rule = {(f.rule, f.path) for f in found}
    assert ("duplicate-key", "$.token") in by_rule
    assert ("secret-present", "$.token") in by_rule
    assert "s3cret-service-token" not in json.dumps([f.as_dict() for f in found])
    with pytest.raises(ConfigError, match="duplicate-key"):
        export(load_bundle(path), tmp_path / "out", catalog=CATALOG)
    assert parse_json('{"a": 1, "a": 2}') == {"a": 2}  # the value Python keeps


# -- what reaches a spreadsheet and a terminal ----------------------------------------------

EVIL_SPEC = "ecs.\x1b[31mred\x1b[0m\x9b2J"
FORMULA_SPEC = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("cell", "safe"),
    [("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("ecs.gn8is.2xlarge", "ecs.gn8is.2xlarge"), ("", "")],
)  # fmt: skip
def test_spreadsheet_cells(cell: str, safe: str, tmp_path: Path) -> None:
    import polars as pl

    assert spreadsheet_safe(cell) == safe
    write_csv(pl.DataFrame({"s": [cell], "n": [-1.5]}), tmp_path / "x.csv")
    with (tmp_path / "x.csv").open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row == {"s": safe, "n": "-1.5"}  # numbers stay numbers


def test_report_csvs_neutralise_formulas(tmp_path: Path) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text(
        "provider,zone,spec,ts,spot_price,on_demand_price,currency\n"
        f'alibaba,cn-hangzhou-h,"{FORMULA_SPEC.replace(chr(34), chr(34) * 2)}",'
        "2026-11-01T00:00:00Z,2.0,14.4,CNY\n"
    )
    with sl.Store(":memory:") as s:
        sl.ingest(s, prices)
        sl.write_report(s, tmp_path / "o")
    with (tmp_path / "o" / "price_summary.csv").open(newline="") as f:
        specs = [r["spec"] for r in csv.DictReader(f)]
    assert specs == ["'" + FORMULA_SPEC]


def test_terminal_escapes_never_reach_the_terminal(cli, tmp_path: Path) -> None:
    prices = tmp_path / "p.csv"
    prices.write_text(
        "provider,zone,spec,ts,spot_price,on_demand_price,currency\n"
        f"alibaba,cn-hangzhou-h,{EVIL_SPEC},2026-11-01T00:00:00Z,2.0,14.4,CNY\n"
        f"alibaba,cn-hangzhou-h,{EVIL_SPEC},2026-11-02T00:00:00Z,3.0,14.4,CNY\n"
    )
    assert cli("ingest", prices)[0] == 0
    for args in (["prices", EVIL_SPEC], ["prices", EVIL_SPEC, "--json"], ["bids"],
                 ["report", "--out", tmp_path / "o", "--no-notebooks"]):  # fmt: skip
        _, out, err = cli(*args)
        assert "\x1b" not in out + err and "\x9b" not in out + err, args
        assert EVIL_SPEC not in out
    _, out, _ = cli("prices", EVIL_SPEC)
    assert "ecs.\\x1b[31mred" in out
    _, out, _ = cli("prices", EVIL_SPEC, "--json")
    assert json.loads(out)[0]["spec"] == EVIL_SPEC  # the JSON value itself is unchanged


def test_printable_and_strict_json() -> None:
    assert printable("a\tb\nc\rd\x07\u202e") == "a\tb\nc\\x0dd\\x07\\u202e"
    assert json.loads(strict_json({"s": "\x9b\u202e", "x": float("nan")})) == {
        "s": "\x9b\u202e",
        "x": None,
    }
    assert "\x9b" not in strict_json({"s": "\x9b"})
