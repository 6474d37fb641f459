"""Every command in README.md runs: docs that cannot drift.

The fenced blocks of each ``<!-- section:NAME -->`` run in README order, in one workspace (a
temporary folder with copies of ``data/`` and ``examples/``, a database holding the bundled
data, ``SPOTLAB_DB`` unset), so a section that breaks another (two exports into one folder)
fails too. Every failure names its README line. How a line is treated:

- ``spotlab ...``, ``.venv/bin/spotlab ...`` (also after a ``$ `` prompt, the lines after
  it being output): run through the CLI's ``main()``; it must exit 0, or the code its comment
  states (``# exits 1: ...``). ``report`` runs with ``--no-notebooks``: nbval and
  ``tests/test_htmlreport.py`` execute the notebooks.
- ``python ...``: run in a subprocess; a ``python`` fenced block runs as a script.
- a usage line (``[...]``, ``...`` or an UPPERCASE placeholder such as ``PATH``): not run;
  its command and each ``--flag`` must exist.
- ``make TARGET [VAR=value]``: the Makefile must define the target; a target whose recipe
  is only spotlab commands (``make load``) runs them, others are CI itself and do not run.
- ``export VAR=value``: sets the variable for the section's later commands; ``python ...
  &`` starts a background server for them (``python -m spotlab.replay``, on a free port in
  place of the README's 8765, so parallel runs do not collide), stopped after the section.
- ``spotlab fetch`` without a replay endpoint: skipped, it calls a provider's API (an
  account and the network); a line naming ``../shared``: skipped, the data sets live only
  beside the project's clone; a line running ``benchmarks/``: skipped, minutes of work.
- files a line presents as the user's own (``events.json``, ...) are real-format fixtures
  copied under that name (:data:`USER_FILES`).

In the prose, every ``sl.NAME...`` reference must resolve and every ``from spotlab.X import
Y`` must import.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer

import spotlab as sl
from spotlab.cli import app
from tests.conftest import EVENTS, run_cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FIX = ROOT / "tests" / "fixtures"
#: names a README line uses for the user's own files → a fixture in that real format
USER_FILES = {
    "events.json": EVENTS / "events_alibaba_cloudmonitor.json",
    "inventory.csv": EVENTS / "events_inventory.csv",
    "p3trace.csv": FIX / "events_parcae_p3trace.csv",
    "my_load_times.csv": FIX / "coldstart_my_load_times.csv",
}
SPOTLAB = ("spotlab", ".venv/bin/spotlab")
PYTHON = ("python", "python3", ".venv/bin/python")
COMMANDS = (*SPOTLAB, *PYTHON, "make", "export")
#: the replay server's default port, as the README writes it
REPLAY_PORT = 8765
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*(\.\.\.)?(=[A-Z_]+)?$")


@dataclass(frozen=True)
class Command:
    section: str
    line: int  # 1-based line of README.md
    text: str  # the command, continuation lines joined, comment removed
    comment: str
    python_block: bool = False

    @property
    def where(self) -> str:
        return f"README.md:{self.line} `{self.text}`"

    def tokens(self) -> list[str]:
        return shlex.split(self.text)


def _split_comment(text: str) -> tuple[str, str]:
    m = re.search(r"\s#\s?(.*)$", text)
    return (text[: m.start()].rstrip(), m.group(1)) if m else (text.rstrip(), "")


def parse_readme(text: str) -> list[Command]:
    """The commands of the README's fenced blocks, in order, with their section."""
    out: list[Command] = []
    section, fence, block = "top", None, []
    for number, raw in enumerate(text.splitlines(), start=1):
        marker = re.fullmatch(r"<!-- (/?)section:([\w-]+) -->", raw.strip())
        if fence is None and marker:
            section = "top" if marker.group(1) else marker.group(2)
            continue
        if raw.startswith("```"):
            if fence is None:
                fence, block = raw[3:].strip() or "shell", []
                start = number
            else:
                out += _block_commands(section, fence, start, block)
                fence = None
            continue
        if fence is not None:
            block.append(raw)
    return out


def _block_commands(section: str, fence: str, start: int, lines: list[str]) -> list[Command]:
    if fence == "python":
        return [Command(section, start + 1, "\n".join(lines), "", python_block=True)]
    prompted = any(ln.startswith("$ ") for ln in lines)
    out, i = [], 0
    while i < len(lines):
        first, text = i, lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        if prompted:
            if not text.startswith("$ "):
                continue  # output of the command above
            text = text[2:]
        command, comment = _split_comment(text.strip())
        if command.split(" ", 1)[0] in COMMANDS or (command.startswith("spotlab ")):
            out.append(Command(section, start + 1 + first, command, comment))
    return out


COMMANDS_IN_README = parse_readme(README.read_text())
SECTIONS = list(dict.fromkeys(c.section for c in COMMANDS_IN_README))


def _cli_options() -> dict[str, set[str]]:
    group: Any = typer.main.get_command(app)
    return {n: {o for p in c.params for o in p.opts} for n, c in group.commands.items()}


CLI = _cli_options()
GLOBAL = {"--db", "--help"}


def _check_flags(tokens: list[str]) -> str | None:
    """Why a spotlab command line names a command or flag the CLI does not have, or None."""
    args = [t.strip("[]") for t in tokens[1:]]
    while args and args[0] in GLOBAL:
        args = args[2:] if args[0] == "--db" else args[1:]
    if not args:
        return "no command"
    name, flags = args[0], [a.split("=", 1)[0] for a in args[1:] if a.startswith("--")]
    if name not in CLI:
        return f"no command {name!r}.{sl.errors.did_you_mean(name, CLI)}"
    unknown = [f for f in flags if f not in CLI[name] | GLOBAL]
    return f"{name} has no option {', '.join(unknown)}" if unknown else None


def _is_usage(tokens: list[str]) -> bool:
    return any("[" in t or "]" in t or "..." in t or _PLACEHOLDER.match(t) for t in tokens[1:])


def _expected_code(comment: str) -> int:
    m = re.search(r"\bexits? (\d+)", comment)
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "data", ws / "data")
    shutil.copytree(ROOT / "examples", ws / "examples")
    for name, fixture in USER_FILES.items():
        shutil.copyfile(fixture, ws / name)
    with sl.Store(ws / "spotlab.duckdb") as store:  # every section may run alone (-k)
        sl.ingest(store, ws / "data")
    return ws


@dataclass
class Section:
    """The state one section's commands share: exported variables, background servers."""

    ws: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: Any
    port: int
    env: dict[str, str] = field(default_factory=dict)
    background: list[subprocess.Popen[str]] = field(default_factory=list)

    def local(self, text: str) -> str:
        # the replay server listens on a free port, not the README's 8765: test runs in
        # parallel on one machine must not collide
        return text.replace(f"127.0.0.1:{REPLAY_PORT}", f"127.0.0.1:{self.port}")

    def subprocess_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "SPOTLAB_DB"}
        return {**env, **self.env, "PYTHONPATH": str(ROOT)}

    def stop(self) -> None:
        for proc in self.background:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()


def _make_recipe(target: str) -> list[str] | None:
    """The recipe of a Makefile target when it is only spotlab commands, after those of its
    prerequisites that are (``report: load``); None when it is not only spotlab commands."""
    text = (ROOT / "Makefile").read_text()
    m = re.search(rf"^{re.escape(target)}:(.*)\n((?:\t.*\n)+)", text, re.M)
    lines = [ln.strip() for ln in m.group(2).splitlines()] if m else []
    if not (lines and all(ln.startswith(".venv/bin/spotlab ") for ln in lines)):
        return None
    before = [ln for dep in m.group(1).split() if m for ln in _make_recipe(dep) or []]
    return before + lines


def _make_defaults() -> dict[str, str]:
    """The Makefile's ``NAME ?= value`` defaults."""
    text = (ROOT / "Makefile").read_text()
    return dict(re.findall(r"^(\w+) \?= ?(.*)$", text, re.M))


def _run(cmd: Command, sec: Section) -> str | None:
    """Run one README command; the failure (naming the README line), or None."""
    if cmd.python_block:
        script = sec.ws / f"readme_{cmd.line}.py"
        script.write_text(cmd.text)
        return _subprocess(cmd, [sys.executable, str(script)], sec)
    background = cmd.text.endswith("&")
    tokens = shlex.split(sec.local(cmd.text.rstrip("&").strip()))
    word = tokens[0]
    if word == "export":
        for pair in tokens[1:]:
            key, _, value = pair.partition("=")
            sec.env[key] = value
            sec.monkeypatch.setenv(key, value)
        return None
    if word == "make":
        return _make(cmd, tokens, sec)
    if "../shared" in cmd.text + cmd.comment:
        return None  # skipped: ../shared/data is only beside the project's own clone
    if any(t.startswith("benchmarks/") for t in tokens):
        return None  # skipped: a benchmark (make bench)
    if word in SPOTLAB:
        return _spotlab(cmd, tokens, sec)
    argv = [sys.executable, *tokens[1:]]
    if background:
        if tokens[1:3] == ["-m", "spotlab.replay"]:
            argv += ["--port", str(sec.port)]
        proc = subprocess.Popen(argv, cwd=sec.ws, env=sec.subprocess_env(), text=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        sec.background.append(proc)
        return _wait_for_port(cmd, sec.port, proc)
    return _subprocess(cmd, argv, sec)


def _make(cmd: Command, tokens: list[str], sec: Section) -> str | None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    names = [t for t in tokens[1:] if "=" not in t]
    missing = [t for t in names if t not in targets]
    if missing:
        return f"{cmd.where}: the Makefile has no target {missing}"
    variables = {**_make_defaults(), **dict(t.split("=", 1) for t in tokens[1:] if "=" in t)}
    for name in names:  # a target that is only spotlab commands runs them (make load)
        for line in _make_recipe(name) or []:
            for key, value in variables.items():
                line = line.replace(f"$({key})", value)
            problem = _spotlab(Command(cmd.section, cmd.line, line, ""), shlex.split(line), sec)
            if problem:
                return f"{cmd.where} (recipe `{line}`): {problem}"
    return None


def _spotlab(cmd: Command, tokens: list[str], sec: Section) -> str | None:
    problem = _check_flags(tokens)
    if problem:
        return f"{cmd.where}: {problem}"
    if _is_usage(tokens):
        return None  # a usage line: its command and flags exist
    args = tokens[1:]
    if "fetch" in args and "SPOTLAB_FETCH_ENDPOINT" not in sec.env and "--endpoint" not in args:
        return None  # skipped: calls a provider's API (an account and the network)
    if "report" in args and "--no-notebooks" not in args:
        args.append("--no-notebooks")
    if "fetch" in args:  # in a process of its own, as typed: the SDKs keep state per process
        return _subprocess(cmd, [sys.executable, "-m", "spotlab.cli", *args], sec)
    code, out, err = run_cli(sec.monkeypatch, sec.capsys, *args)
    want = _expected_code(cmd.comment)
    if code != want:
        return f"{cmd.where}: exited {code}, expected {want}: {(err or out)[-600:]}"
    return None


def _wait_for_port(cmd: Command, port: int, proc: subprocess.Popen[str]) -> str | None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"{cmd.where}: the background process exited: {proc.stderr.read()[-600:]}"  # type: ignore[union-attr]
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return None
        time.sleep(0.1)
    return f"{cmd.where}: nothing listens on 127.0.0.1:{port} after 30 s"


def _subprocess(cmd: Command, argv: list[str], sec: Section) -> str | None:
    proc = subprocess.run(argv, cwd=sec.ws, env=sec.subprocess_env(), capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    want = _expected_code(cmd.comment)
    if proc.returncode != want:
        return f"{cmd.where}: exited {proc.returncode}, expected {want}: {proc.stderr[-600:]}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_readme_section_runs(
    section: str, workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("SPOTLAB_DB", raising=False)
    sec = Section(workspace, monkeypatch, capsys, _free_port())
    try:
        failures = [
            problem
            for cmd in COMMANDS_IN_README
            if cmd.section == section and (problem := _run(cmd, sec))
        ]
    finally:
        sec.stop()
    assert not failures, "\n".join(failures)


def test_the_parser_sees_every_kind_of_line() -> None:
    by_text = {c.text: c for c in COMMANDS_IN_README}
    assert "make lab" in by_text and "make test" in by_text
    tour = [c for c in COMMANDS_IN_README if c.section == "tour"]
    assert ".venv/bin/spotlab ingest data/" in [c.text for c in tour]
    assert any("--pool" in c.text and c.text.startswith(".venv/bin/spotlab allocate") for c in tour)
    assert any(c.python_block for c in COMMANDS_IN_README)
    prompted = [c for c in COMMANDS_IN_README if c.text.startswith("spotlab bids --spec")]
    assert prompted, "the `$ spotlab bids ...` line of the bids section"
    assert _is_usage(shlex.split("spotlab ingest PATH... [--format F]"))
    assert not _is_usage(shlex.split("spotlab bids --spec ecs.gn8is.2xlarge"))
    assert _expected_code("exits 1: the three errors below") == 1


def test_flag_checks_name_the_problem() -> None:
    assert _check_flags(["spotlab", "order", "--gpu-mem", "24"]) == "order has no option --gpu-mem"
    assert "Did you mean 'lint'" in (_check_flags(["spotlab", "lnt", "x"]) or "")
    assert _check_flags(["spotlab", "--db", "x.duckdb", "lint", "f", "--format", "json"]) is None


# -- references in the prose ---------------------------------------------------------------


def _inline_code(text: str) -> list[tuple[int, str]]:
    out, fence = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            fence = not fence
            continue
        if not fence:
            out += [(number, span) for span in re.findall(r"`([^`]+)`", line)]
    return out


_CHECK_SL = """
import functools, json, sys
import spotlab as sl
bad = {}
for ref in json.loads(sys.argv[1]):
    try:
        functools.reduce(getattr, ref.split("."), sl)
    except AttributeError as exc:
        bad[ref] = str(exc)
print(json.dumps(bad))
"""


def test_python_references_in_the_prose_resolve() -> None:
    # `sl.X.Y` as a reader types it: attributes of a fresh `import spotlab as sl` (a
    # submodule only some other import loads, as sl.overview once, does not count)
    spans = _inline_code(README.read_text())
    refs = {
        ref.rstrip("."): n
        for n, span in spans
        for ref in re.findall(r"\bsl\.([A-Za-z_][\w.]*)", span)
    }
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK_SL, json.dumps(sorted(refs))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    problems = [f"README.md:{refs[r]} `sl.{r}`: {e}" for r, e in json.loads(proc.stdout).items()]
    imports = 0
    for number, span in spans:
        for module, names in re.findall(r"from (spotlab[\w.]*) import ([\w, ]+)", span):
            for name in (n.strip() for n in names.split(",")):
                imports += 1
                try:
                    getattr(importlib.import_module(module), name)
                except (AttributeError, ModuleNotFoundError) as exc:
                    problems.append(f"README.md:{number} `from {module} import {name}`: {exc}")
    assert len(refs) > 8 and imports and not problems, "\n".join(problems)
