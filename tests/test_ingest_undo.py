"""Issue #12, point 3: every ingest can be undone or redone.

``spotlab forget ID`` removes a source and all it loaded in one transaction; ``ingest
--reload`` forgets the earlier loads of a file and loads it again, in one transaction; the
same bytes with other options are another ingest; every ingest with rejects says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import spotlab as sl
from spotlab import store as store_module


def _counts(store: sl.Store) -> dict[str, int]:
    tables = [*store_module.source_tables(store.con), "sources"]
    return {t: int(store.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in tables}


def test_forget_removes_a_source_from_every_table(store: sl.Store, fixtures: Path) -> None:
    files = [
        fixtures / "specs_catalog.csv",
        fixtures / "gcp_changepoints_excerpt.csv",  # prices + specs (side table) + rejects
        fixtures / "events_lifecycle.csv",
        fixtures / "bands_alibaba_spot_advice.json",
        fixtures / "coldstart_my_load_times.csv",
    ]
    results = sl.ingest(store, files, observed_at="2024-05-01")
    before = _counts(store)
    assert all(before[t] for t in ("spot_prices", "specs", "instance_events", "rejects"))
    for r in results:
        gone = sl.forget(store, r.source_id)
        assert [g.source_id for g in gone] == [r.source_id]
        for table in [*store_module.source_tables(store.con), "sources"]:
            left = store.query(f"SELECT count(*) AS n FROM {table} WHERE source_id = ?",
                               [r.source_id])["n"][0]  # fmt: skip
            assert left == 0, (r.format, table)
        assert gone[0].rows.get("sources") == 1
    assert sum(_counts(store).values()) == 0


def test_forget_is_one_transaction(
    store: sl.Store, fixtures: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (r,) = sl.ingest(store, fixtures / "gcp_changepoints_excerpt.csv")
    before = _counts(store)
    real = store_module.source_tables

    def failing(con):  # a table that cannot be deleted from, after the first ones
        return [*real(con), "no_such_table"]

    monkeypatch.setattr(store_module, "source_tables", failing)
    with pytest.raises(sl.ExternalError, match="no_such_table"):
        sl.forget(store, r.source_id)
    monkeypatch.undo()
    assert _counts(store) == before


def test_forget_unknown_source_from_the_cli(cli, fixtures: Path) -> None:
    cli("ingest", fixtures / "specs_catalog.csv")
    code, out, err = cli("forget", "7")
    assert code == 2 and out == ""
    assert err.startswith("error: no source 7 in ") and "(sources: 1)" in err
    code, out, _ = cli("forget", "1")
    assert code == 0 and out.startswith("forgot source 1 (") and "from specs" in out
    code, out, _ = cli("sources", "--json")
    assert json.loads(out) == []


def test_reload_after_loading_a_catalog(cli, fixtures: Path) -> None:
    """The reason says 'load a specs catalog first'; after doing so, the same file is the
    same ingest (skipped, saying so) until --reload forgets and loads it again."""
    discounts = fixtures / "eas_spot_discount_history.json"
    code, out, _ = cli("ingest", "--json", discounts)
    (first,) = json.loads(out)
    assert first["rows_loaded"] == 0 and first["rows_rejected"] == first["rows_read"]
    assert first["summary"] == (
        f"{discounts}: {first['rows_read']} of {first['rows_read']} rows rejected, "
        f"see `spotlab rejects {first['source_id']}`"
    )
    cli("ingest", fixtures / "eas_config_specs_catalog.csv")
    code, out, _ = cli("ingest", discounts)
    assert code == 0 and "--reload loads it again" in out
    code, out, _ = cli("ingest", "--reload", "--json", discounts)
    (again,) = json.loads(out)
    assert again["replaced"] == [first["source_id"]] and again["rows_loaded"] > 0
    assert any(n.startswith("reloaded: forgot the earlier load") for n in again["notes"])
    code, out, _ = cli("sources", "--json")
    assert first["source_id"] not in [s["source_id"] for s in json.loads(out)]


def test_reload_is_one_transaction(store: sl.Store, tmp_path: Path) -> None:
    """A reload whose new load fails keeps the earlier load."""
    f = tmp_path / "p.csv"
    head = "provider,zone,spec,ts,spot_price,currency\n"
    f.write_text(head + "aws,us-east-1a,p3,2024-04-10T00:00:00Z,0.9,USD\n")
    (r,) = sl.ingest(store, f)
    f.write_text(  # now mixed currencies in one series: the whole file fails
        head + "aws,us-east-1a,p3,2024-04-10T00:00:00Z,0.9,USD\n"
        "aws,us-east-1a,p3,2024-04-10T01:00:00Z,6.5,CNY\n"
    )
    with pytest.raises(sl.IngestError, match="mixed currencies"):
        sl.ingest(store, f, reload=True)
    assert store.query("SELECT source_id FROM sources")["source_id"].to_list() == [r.source_id]
    assert store.query("SELECT count(*) AS n FROM spot_prices")["n"][0] == 1


@pytest.mark.parametrize(
    ("fixture", "options"),
    [
        ("eas_spot_discount_history.json", {"currency": "CNY"}),
        ("aws_spot_prices.tsv", {"product": "Windows"}),
        ("gcp_changepoints_excerpt.csv", {"gpu_only": "true"}),
        ("events_parcae_p3trace.csv", {"start": "2023-01-01T00:00:00Z"}),
    ],
)
def test_same_bytes_with_other_options_are_another_ingest(
    store: sl.Store, fixtures: Path, fixture: str, options: dict[str, str]
) -> None:
    (a,) = sl.ingest(store, fixtures / fixture)
    (b,) = sl.ingest(store, fixtures / fixture, **options)
    assert not b.skipped_as_duplicate_file and b.source_id != a.source_id
    assert b.options != "{}" and a.options == "{}"
    (c,) = sl.ingest(store, fixtures / fixture, **options)
    assert c.skipped_as_duplicate_file and c.source_id == b.source_id


def test_options_are_normalized(store: sl.Store, fixtures: Path) -> None:
    """A default given explicitly, or a value spelled another way, is the same ingest."""
    tsv = fixtures / "aws_spot_prices.tsv"
    (a,) = sl.ingest(store, tsv, product="Linux/UNIX")
    (b,) = sl.ingest(store, tsv)
    assert b.skipped_as_duplicate_file and b.source_id == a.source_id
    discounts = fixtures / "eas_spot_discount_history.json"
    (c,) = sl.ingest(store, discounts, currency="cny")
    (d,) = sl.ingest(store, discounts, currency="CNY")
    assert c.options == '{"currency":"CNY"}' and d.skipped_as_duplicate_file


def test_all_rows_rejected_prints_the_summary(cli, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "provider,zone,spec,ts,spot_price,currency\n"
        + "".join(f"aws,us-east-1a,p3,2024-04-10T0{i}:00:00Z,-1,USD\n" for i in range(6))
    )
    code, out, _ = cli("ingest", f)
    assert code == 0
    assert out.rstrip().endswith(f"{f}: 6 of 6 rows rejected, see `spotlab rejects 1`")
    code, _, _ = cli("ingest", "--strict", "--reload", f)
    assert code == 1


def test_a_folder_failing_on_a_later_file_names_what_it_committed(
    cli, fixtures: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(fixtures / "specs_catalog.csv", folder / "a_catalog.csv")
    (folder / "b_prices.csv").write_text(
        "provider,zone,spec,ts,spot_price,currency\n"
        "aws,us-east-1a,p3,2024-04-10T00:00:00Z,0.9,USD\n"
        "aws,us-east-1a,p3,2024-04-10T01:00:00Z,6.5,CNY\n"
    )
    code, _, err = cli("ingest", folder)
    assert code == 2 and err.count("\n") == 1
    assert "mixed currencies" in err
    assert f"{folder / 'b_prices.csv'} was not loaded; the files before it stay loaded: " in err
    assert f"{folder / 'a_catalog.csv'} (source 1)" in err
    with sl.Store(cli.db) as store:
        assert store.query("SELECT uri FROM sources")["uri"].to_list() == [
            str(folder / "a_catalog.csv")
        ]
