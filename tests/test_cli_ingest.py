"""`spotlab ingest/sources/rejects/prices`: JSON shapes and exit codes (0 ok, 1 rows rejected
under --strict, 2 usage or format error), run through the real entry point ``main``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import zstandard

ROOT = Path(__file__).resolve().parents[1]
RESULT_KEYS = {
    "uri",
    "format",
    "rows_read",
    "rows_loaded",
    "rows_duplicate",
    "rows_rejected",
    "skipped_as_duplicate_file",
}


def test_ingest_json_shape(cli, fixtures: Path) -> None:
    code, out, _ = cli(
        "ingest",
        "--json",
        fixtures / "specs_catalog.csv",
        fixtures / "gcp_changepoints_excerpt.csv",
    )
    assert code == 0
    results = json.loads(out)
    assert isinstance(results, list) and len(results) == 2
    for r in results:
        assert set(r) >= RESULT_KEYS
        assert r["rows_read"] == r["rows_loaded"] + r["rows_duplicate"] + r["rows_rejected"]
    by_format = {r["format"]: r for r in results}
    gcp = by_format["gcp-changepoints"]
    assert (gcp["rows_read"], gcp["rows_loaded"], gcp["rows_rejected"]) == (13, 7, 6)
    assert gcp["skipped_as_duplicate_file"] is False
    assert gcp["uri"].endswith("gcp_changepoints_excerpt.csv")
    code, out, _ = cli("ingest", "--json", fixtures / "gcp_changepoints_excerpt.csv")
    (again,) = json.loads(out)
    assert again["skipped_as_duplicate_file"] is True and again["rows_loaded"] == 0


def test_strict_exits_1_when_rows_rejected(cli, fixtures: Path) -> None:
    code, out, _ = cli(
        "ingest", "--strict", "--json", fixtures / "aws_describe_spot_price_history.json"
    )
    assert code == 1
    assert json.loads(out)[0]["rows_rejected"] == 2


def test_strict_exits_0_without_rejects(cli, tmp_path: Path) -> None:
    f = tmp_path / "ok.csv"
    f.write_text(
        "provider,zone,spec,ts,spot_price,currency\naws,us-east-1a,p3.2xlarge,2024-04-10T00:00:00Z,0.9,USD\n"
    )
    code, _, _ = cli("ingest", "--strict", f)
    assert code == 0


def test_format_error_exits_2_with_a_message(cli, tmp_path: Path) -> None:
    bad = tmp_path / "empty.json"
    bad.write_text("   \n")
    code, out, err = cli("ingest", bad)
    assert code == 2
    assert err.startswith("error: ") and str(bad) in err and "empty" in err
    assert "Traceback" not in err and out == ""


def test_unknown_format_name_suggests(cli, fixtures: Path) -> None:
    code, _, err = cli("ingest", "--format", "aws-spot-tvs", fixtures / "aws_spot_prices.tsv")
    assert code == 2 and "Did you mean 'aws-spot-tsv'" in err


def test_map_typo_exits_2(cli, fixtures: Path) -> None:
    code, _, err = cli("ingest", "--map", "prise=spot_price", fixtures / "canonical_mapped.csv")
    assert code == 2 and "Did you mean 'price'" in err
    code, _, err = cli("ingest", "--map", "nonsense", fixtures / "canonical_mapped.csv")
    assert code == 2 and "SRC=DST" in err


def test_map_and_options(cli, fixtures: Path) -> None:
    maps = [
        "cloud=provider",
        "az=zone",
        "instance=spec",
        "time=ts",
        "price=spot_price",
        "ccy=currency",
    ]
    args = [a for m in maps for a in ("--map", m)]
    code, out, _ = cli("ingest", "--json", *args, fixtures / "canonical_mapped.csv")
    assert code == 0
    (r,) = json.loads(out)
    assert (r["rows_loaded"], r["rows_rejected"], r["naive_timestamps"]) == (3, 2, 1)
    code, out, _ = cli(
        "ingest", "--json", "-o", "gpu_only=true", fixtures / "gcp_changepoints_excerpt.csv"
    )
    assert json.loads(out)[0]["rows_loaded"] == 5


def test_usage_error_exits_2(cli) -> None:
    code, _, err = cli("ingest", "--no-such-flag", "x")
    assert code == 2 and "No such option" in err
    code, _, _ = cli("ingest")
    assert code == 2


def test_missing_path_exits_2(cli, tmp_path: Path) -> None:
    code, _, err = cli("ingest", tmp_path / "nope.csv")
    assert code == 2 and "no such file" in err


def test_sources_rejects_prices_json(cli, fixtures: Path, tmp_path: Path) -> None:
    tsv = tmp_path / "dump.tsv.zst"
    tsv.write_bytes(
        zstandard.ZstdCompressor().compress((fixtures / "aws_spot_prices.tsv").read_bytes())
    )
    assert cli("ingest", tsv)[0] == 0
    code, out, _ = cli("sources", "--json")
    (src,) = json.loads(out)
    assert code == 0
    assert (src["format"], src["rows_read"], src["rows_loaded"], src["rows_rejected"]) == (
        "aws-spot-tsv",
        10,
        4,
        5,
    )
    assert "sha256" not in src
    code, out, _ = cli("rejects", str(src["source_id"]), "--json")
    rejects = json.loads(out)
    assert [r["row_number"] for r in rejects] == [2, 5, 7, 8, 9]
    assert {"source_id", "uri", "row_number", "reason", "raw"} <= set(rejects[0])
    code, out, _ = cli("rejects", "--json", "--limit", "2")
    assert len(json.loads(out)) == 2
    code, out, _ = cli("prices", "g5.xlarge", "--json")
    pts = json.loads(out)
    assert code == 0 and [p["zone"] for p in pts] == ["usw2-az1"]
    assert pts[0]["spot_price"] == pytest.approx(0.4036) and pts[0]["currency"] == "USD"
    code, out, _ = cli(
        "prices", "g4dn.xlarge", "--zone", "use1-az4", "--since", "2022-05-31T18:00:00Z", "--json"
    )
    assert [p["region"] for p in json.loads(out)] == ["us-east-1"]
    code, out, _ = cli("prices", "g4dn.xlarge", "--since", "2022-06-01", "--json")
    assert json.loads(out) == []


def test_tables_without_json(cli, fixtures: Path) -> None:
    code, out, _ = cli("ingest", fixtures / "eas_spot_discount_history.json", "-o", "currency=CNY")
    assert code == 0 and "eas-spot-discount" in out
    code, out, _ = cli("rejects")
    assert code == 0 and "discount 1.8 outside" in out


def test_real_entry_point_exit_codes(tmp_path: Path, fixtures: Path) -> None:
    exe = ROOT / ".venv" / "bin" / "spotlab"
    if not exe.exists():
        pytest.skip("no .venv/bin/spotlab (run `make setup`)")
    db = str(tmp_path / "sub.duckdb")
    ok = subprocess.run(
        [
            exe,
            "--db",
            db,
            "ingest",
            "--strict",
            "--json",
            fixtures / "aws_describe_spot_price_history.json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 1, ok.stderr
    assert json.loads(ok.stdout)[0]["rows_loaded"] == 4
    bad = tmp_path / "bad.json"
    bad.write_text('{"SpotPriceHistory": [')
    err = subprocess.run(
        [exe, "--db", db, "ingest", bad], capture_output=True, text=True, timeout=120
    )
    assert err.returncode == 2
    assert "truncated" in err.stderr and "Traceback" not in err.stderr


def test_progress_shows_a_large_file_from_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file DuckDB reads in one go reports its rows only at the end: a large one gets its
    spinner when it starts; a small one with few rows gets none."""
    from spotlab.progress import Progress

    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 2048)
    small = tmp_path / "small.csv"
    small.write_bytes(b"x")
    bar = Progress(min_bytes=1024)
    bar.enabled = True  # as on a terminal
    shown: list[str] = []

    class Fake:
        def add_task(self, description: str, total: object = None) -> str:
            shown.append(description)
            return description

        def update(self, task: str, description: str) -> None:
            shown.append(description)

        def stop(self) -> None:
            shown.append("stop")

    bar._bar = Fake()
    with bar:
        bar.update(str(small), 0)
        bar.update(str(big), 0)
        bar.update(str(big), 5)
    assert shown == [str(big), f"{big}: loading", f"{big}: 5 rows", "stop"]
