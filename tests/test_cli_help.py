"""CLI output for people: every command's --help has an example, ``spotlab formats`` lists
the readers with their sniffing rule, and tables fit the terminal with units in the headers."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from spotlab.cli import app
from spotlab.cli_examples import EXAMPLES, command_name
from spotlab.ingest import READERS
from tests.conftest import BUNDLED

COMMANDS = [command_name(info) for info in app.registered_commands]


def test_every_command_has_an_example() -> None:
    missing = sorted(set(COMMANDS) - set(EXAMPLES))
    assert not missing, f"add an example to spotlab/cli_examples.py for: {missing}"
    assert not sorted(set(EXAMPLES) - set(COMMANDS)), "an example for a command that is gone"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_the_example(name: str, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping inside the example line
    code, out, _ = cli(name, "--help")
    assert code == 0
    assert "Example" in out
    for line in EXAMPLES[name]:
        assert line in out


def test_formats_lists_every_reader_with_its_rule(cli: Any) -> None:
    code, out, _ = cli("formats", "--json")
    assert code == 0
    import json

    rows = json.loads(out)
    assert {r["format"] for r in rows} == set(READERS)
    assert all(r["picked_when"].strip() for r in rows)
    # in the order sniffing tries them: the catch-all canonical CSV comes late
    names = [r["format"] for r in rows]
    assert names.index("specs-csv") < names.index("canonical-csv")


def test_tables_fit_columns_and_wide_shows_all(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("ingest", BUNDLED / "specs_catalog.csv", BUNDLED / "eas_sample")[0] == 0
    monkeypatch.setenv("COLUMNS", "70")
    code, out, _ = cli("sources")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 70
    assert "more columns" in out and "--wide" in out
    code, out, _ = cli("--wide", "sources")
    assert code == 0 and "more columns" not in out
    assert "rows_rejected" in out and "naive_timestamps" in out
    assert max(len(line) for line in out.splitlines()) > 70


def test_headers_carry_units_and_currency(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("ingest", BUNDLED / "specs_catalog.csv", BUNDLED / "eas_sample")[0] == 0
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli("order", "--gpu-memory-gib", "24")
    assert code == 0
    head = out.splitlines()[:2]
    assert "cost_per_replica_hour" in head[0] and "(CNY/h)" in head[1]
    assert "spot_price_limit" in head[0]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_name_real_flags(name: str) -> None:
    from tests.test_readme import _check_flags

    for line in EXAMPLES[name]:
        assert _check_flags(shlex.split(line)) is None, line


def test_assumptions_name_real_flags() -> None:
    from spotlab.assumptions import assumptions_frame
    from tests.test_readme import CLI, GLOBAL

    every = set().union(*CLI.values()) | GLOBAL
    texts = assumptions_frame()["changed_by"]
    named = {f for text in texts for f in re.findall(r"--[a-z][a-z-]*", text)}
    assert named, "the registry names the flags that change each assumption"
    assert not sorted(named - every), "flags in spotlab/assumptions.py that no command has"
