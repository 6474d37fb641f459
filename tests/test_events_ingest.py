"""Ingesting instance events, inventories, exposure and interruption feeds: every row counted."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.advise import interruptions as it
from tests.conftest import EVENTS, accounted, ingest_counts, reject_reasons


def test_cloudmonitor_events_compact_time_and_rejects(store, fixtures) -> None:
    (r,) = sl.ingest(store, EVENTS / "events_alibaba_cloudmonitor.json")
    assert r.format == "alibaba-events"
    # 6 items: 2 Running, 1 interruption, 1 Deleted, 1 interruption of an unknown
    # instance (kept), 1 maintenance event (not a lifecycle event: rejected)
    assert ingest_counts(r) == (6, 5, 0, 1)
    assert reject_reasons(store) == {
        6: "not a lifecycle event spotlab keeps: Instance:SystemMaintenance.Reboot"
    }
    ev = store.query(
        "SELECT instance_id, event, ts, detail, region, is_spot FROM instance_events ORDER BY ts"
    )
    first_warning = ev.filter(pl.col("event") == "interruption_warning").row(0, named=True)
    # 20240401T100000.000+0800 is 02:00 UTC
    assert first_warning["ts"] == datetime(2024, 4, 1, 2, 0, tzinfo=UTC)
    assert first_warning["detail"] == "delete"
    assert first_warning["is_spot"] is True
    assert set(ev["region"]) == {"cn-hangzhou"}
    assert ev.filter(pl.col("instance_id") == "i-bp1aaa")["event"].to_list() == [
        "ready",
        "interruption_warning",
        "terminated",
    ]


def test_eventbridge_cloudevents_as_json_lines(store, fixtures) -> None:
    (r,) = sl.ingest(store, EVENTS / "events_alibaba_eventbridge.jsonl")
    assert r.format == "alibaba-events"
    assert ingest_counts(r) == (3, 2, 0, 1)
    assert reject_reasons(store)[3] == (
        "not a lifecycle event spotlab keeps: Instance:StateChange state stopping"
    )
    ev = store.query("SELECT instance_id, event, ts FROM instance_events ORDER BY ts")
    assert ev.rows() == [
        ("i-bp1ccc", "ready", datetime(2024, 4, 1, 0, 30, tzinfo=UTC)),
        ("i-bp1bbb", "interruption_warning", datetime(2024, 4, 1, 4, 0, tzinfo=UTC)),
    ]


def test_aws_eventbridge_events(store, fixtures) -> None:
    (r,) = sl.ingest(store, EVENTS / "events_aws_eventbridge.json")
    assert r.format == "aws-events"
    assert ingest_counts(r) == (7, 6, 0, 1)
    assert "state stopping" in reject_reasons(store)[7]
    ev = store.query("SELECT event, count(*) AS n FROM instance_events GROUP BY ALL")
    assert dict(ev.rows()) == {
        "launched": 1,
        "ready": 1,
        "rebalance_recommendation": 1,
        "interruption_warning": 2,
        "terminated": 1,
    }


def test_lifecycle_csv_duplicates_and_rejects(store, fixtures) -> None:
    (r,) = sl.ingest(store, fixtures / "events_lifecycle.csv")
    assert r.format == "lifecycle-csv"
    # 15 rows: row 14 'preempted' is no event, row 15 'yesterday' no time, and row 16
    # repeats eas-sd-1's launch (same key) in another zone → a conflict, not a duplicate
    assert ingest_counts(r) == (15, 12, 0, 3) and r.rows_conflict == 1
    why = reject_reasons(store)
    assert why[14].startswith("unknown event preempted")
    assert why[15] == "unparsable time: yesterday"
    assert why[16].startswith("conflict with row 2 of this file")
    assert "zone cn-hangzhou-h there, cn-hangzhou-i here" in why[16]
    # the +08:00 warning of eas-sd-2 is 12:00 UTC
    ts = store.query(
        "SELECT ts FROM instance_events WHERE instance_id = 'eas-sd-2' "
        "AND event = 'interruption_warning'"
    )["ts"][0]
    assert ts == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_inventory_and_exposure_rejects(store, fixtures) -> None:
    inv, exp = sl.ingest(store, [EVENTS / "events_inventory.csv", fixtures / "events_exposure.csv"])
    assert (inv.format, exp.format) == ("inventory-csv", "exposure-csv")
    assert ingest_counts(inv) == (6, 4, 0, 2)
    assert ingest_counts(exp) == (2, 1, 0, 1)
    rej = store.query("SELECT source_id, row_number, reason FROM rejects ORDER BY ALL").rows()
    assert rej == [
        (inv.source_id, 6, "unparsable is_spot (use true/false): maybe"),
        (inv.source_id, 7, "missing instance_id"),
        (exp.source_id, 3, "instance_hours must be >= 0, got -5.0"),
    ]
    row = store.query("SELECT * FROM instances WHERE instance_id = 'i-0abc1234567890def'")
    assert row.row(0, named=True)["is_spot"] is True
    assert row["region"][0] == "us-east-1"


def test_unknown_instance_stays_visible(store, fixtures) -> None:
    sl.ingest(
        store,
        [
            EVENTS / "events_inventory.csv",
            EVENTS / "events_alibaba_cloudmonitor.json",
            EVENTS / "events_alibaba_eventbridge.jsonl",
            EVENTS / "events_aws_eventbridge.json",
        ],
    )
    lost = it.unattributed_events(store)
    assert sorted(zip(lost["instance_id"], lost["event"], strict=True)) == [
        ("i-0fff0000000000001", "interruption_warning"),
        ("i-bp1zzz", "interruption_warning"),
    ]
    summary = it.event_summary(store)
    assert (
        summary["events"].sum() == store.query("SELECT count(*) AS n FROM instance_events")["n"][0]
    )
    un = summary.filter(pl.col("attributed_from") == "unattributed")
    assert un["events"].sum() == 2
    # unattributed instances still count as interruptions, in a cell without a spec
    rates = it.interruption_rates(store)
    cell = rates.filter(pl.col("spec").is_null() & (pl.col("provider") == "alibaba"))
    assert cell["interruptions"].to_list() == [1]
    assert cell["used"].to_list() == ["none"]


def test_parcae_trace_end_to_end(store, fixtures) -> None:
    (r,) = sl.ingest(
        store,
        fixtures / "events_parcae_p3trace.csv",
        spec="p3.2xlarge",
        start="2023-01-01T00:00:00Z",
    )
    assert r.format == "addremove-trace"
    assert ingest_counts(r) == (344, 344, 0, 0)
    ev = store.query("SELECT event, count(*) AS n FROM instance_events GROUP BY ALL")
    assert dict(ev.rows()) == {"launched": 177, "reclaimed": 167}
    lives = it.lifecycles(store)
    assert lives.height == 177
    assert int(lives["interrupted"].sum()) == 167
    assert int(lives["censored"].sum()) == 10
    assert it.unattributed_events(store).height == 0
    # the last line is 40,920,000 ms: 11 h 22 min after the start
    assert store.query("SELECT max(ts) AS t FROM instance_events")["t"][0] == datetime(
        2023, 1, 1, 11, 22, tzinfo=UTC
    )


def test_parcae_without_spec_is_kept_unattributed(store, fixtures) -> None:
    (r,) = sl.ingest(store, fixtures / "events_parcae_p3trace.csv")
    assert ingest_counts(r) == (344, 344, 0, 0)
    assert any("no spec given" in n for n in r.notes)
    assert any("1970-01-01" in n for n in r.notes)
    assert it.unattributed_events(store).height == 344


def test_parcae_fixture_is_the_published_trace(shared_data, fixtures) -> None:
    original = shared_data / "parcae-p3-trace" / "p3trace.csv"
    assert original.read_bytes() == (fixtures / "events_parcae_p3trace.csv").read_bytes()


def test_addremove_bad_lines(store, tmp_path) -> None:
    f = tmp_path / "trace.csv"
    f.write_text(
        "0,add,node1\nx,add,node2\n60000,reboot,node1\n-5,add,node3\n120000,remove,node1\n"
    )
    (r,) = sl.ingest(store, f, spec="p3.2xlarge")
    assert ingest_counts(r) == (5, 2, 0, 3)
    assert list(reject_reasons(store).values()) == [
        "unparsable time_ms: x",
        "unknown action (add or remove): reboot",
        "negative time_ms: -5",
    ]


def test_bad_start_option_leaves_db_unchanged(store, fixtures) -> None:
    with pytest.raises(sl.FormatError, match="option start=noon is not valid"):
        sl.ingest(store, fixtures / "events_parcae_p3trace.csv", start="noon")
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_aws_advisor_excerpt(store, fixtures) -> None:
    (r,) = sl.ingest(store, fixtures / "bands_aws_spot_advisor_2025-07-28_excerpt.json")
    assert r.format == "aws-spot-advisor"
    assert ingest_counts(r) == (18, 18, 0, 0)
    row = store.query(
        "SELECT * FROM interruption_bands WHERE region = 'eu-west-1' AND os = 'Linux' "
        "AND spec = 'g4dn.xlarge'"
    ).row(0, named=True)
    assert (row["band_label"], row["band_low_pct"], row["band_high_pct"]) == ("5-10%", 5.0, 10.0)
    assert row["savings_pct"] == 54.0
    assert row["zone"] is None
    assert row["observed_at"] == datetime(2025, 7, 28, tzinfo=UTC)
    top = store.query(
        "SELECT band_low_pct, band_high_pct FROM interruption_bands WHERE band_label = '>20%' "
        "LIMIT 1"
    ).row(0)
    assert top == (20.0, 100.0)


@pytest.mark.parametrize(
    ("name", "rows", "regions", "types"),
    [
        # counts from the feed itself: sum over regions and OSes of the listed types
        ("spot-advisor-data_2021-02-10.json", 7890, 21, 379),
        ("spot-advisor-data_2025-07-28.json", 25323, 33, 929),
    ],
)
def test_aws_advisor_snapshots(store, shared_data, name, rows, regions, types) -> None:
    (r,) = sl.ingest(store, shared_data / "aws-spot-advisor" / name)
    assert ingest_counts(r) == (rows, rows, 0, 0)
    got = store.query(
        "SELECT count(DISTINCT region) AS regions, count(DISTINCT spec) AS types, "
        "count(*) FILTER (band_label IS NULL) AS unlabelled FROM interruption_bands"
    ).row(0)
    assert got[0] == regions
    assert got[1] <= types  # a few listed types have no advisor cell in any region
    assert got[2] == 0


def test_alibaba_spot_advice(store, fixtures) -> None:
    (r,) = sl.ingest(store, fixtures / "bands_alibaba_spot_advice.json", observed_at="2024-04-01")
    assert r.format == "alibaba-spot-advice"
    assert ingest_counts(r) == (4, 3, 0, 1)
    assert reject_reasons(store) == {4: "unparsable rate_pct: n/a"}
    row = store.query("SELECT * FROM interruption_bands WHERE zone = 'cn-hangzhou-i'").row(
        0, named=True
    )
    assert (row["spec"], row["rate_pct"], row["band_label"]) == (
        "ecs.gn7i-c8g1.2xlarge",
        12.0,
        "10-100%",
    )
    assert (row["band_low_pct"], row["band_high_pct"], row["savings_pct"]) == (10.0, 100.0, 79.0)
    assert row["region"] == "cn-hangzhou" and row["os"] is None


def test_advice_without_date_notes_ingest_time(store, fixtures, tmp_path) -> None:
    f = tmp_path / "advice.json"
    f.write_bytes((fixtures / "bands_alibaba_spot_advice.json").read_bytes())
    (r,) = sl.ingest(store, f)
    assert any("observed_at set to the ingest time" in n for n in r.notes)


def test_truncated_event_file_raises(store, tmp_path) -> None:
    f = tmp_path / "events.json"
    f.write_text('[{"name": "Instance:PreemptibleInstanceInterruption", "eventTime": "2019')
    with pytest.raises(sl.FormatError):
        sl.ingest(store, f, format="alibaba-events")
    assert store.query("SELECT count(*) AS n FROM instance_events")["n"][0] == 0


_event = st.fixed_dictionaries(
    {
        "name": st.sampled_from(
            [
                "Instance:PreemptibleInstanceInterruption",
                "Instance:StateChange",
                "Instance:Other",
                "",
            ]
        ),
        "eventTime": st.one_of(
            st.just("20190409T121826.922+0800"),
            st.just("2019-04-09T04:18:26Z"),
            st.text(max_size=12),
        ),
        "regionId": st.sampled_from(["cn-hangzhou", "cn-beijing"]),
        "content": st.fixed_dictionaries(
            {
                "instanceId": st.one_of(st.none(), st.text(min_size=1, max_size=8)),
                "state": st.sampled_from(["Running", "Deleted", "Stopping", "Pending"]),
            }
        ),
    }
)


_FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FUZZ
@given(items=st.lists(st.one_of(_event, st.integers()), min_size=1, max_size=12))
def test_cloudmonitor_fuzz_accounts_for_every_item(store, tmp_path, items) -> None:
    import json

    f = tmp_path / "fuzz.json"
    f.write_text(json.dumps(items))
    (r,) = sl.ingest(store, f, format="alibaba-events")
    if r.skipped_as_duplicate_file:
        return
    assert accounted(r)
    assert r.rows_read == len(items)
    rej = store.query("SELECT count(*) AS n FROM rejects WHERE source_id = ?", [r.source_id])
    assert rej["n"][0] == r.rows_rejected


@_FUZZ
@given(
    lines=st.lists(
        st.tuples(
            st.one_of(st.integers(min_value=-10, max_value=10**9).map(str), st.text(max_size=4)),
            st.sampled_from(["add", "remove", "ADD", "kill", ""]),
            st.from_regex(r"node[0-9]{1,3}", fullmatch=True),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_addremove_fuzz(store, tmp_path, lines) -> None:
    clean = [("".join(c for c in t if c not in ',\n\r"'), a, n) for t, a, n in lines]
    body = "0,add,node0\n" + "".join(f"{t},{a},{n}\n" for t, a, n in clean)
    f = tmp_path / "trace.csv"
    f.write_text(body)
    try:
        (r,) = sl.ingest(store, f, format="addremove-trace", spec="x")
    except sl.SpotlabError:
        return
    if r.skipped_as_duplicate_file:
        return
    assert accounted(r)
    assert r.rows_read == len(lines) + 1


def test_bundled_parcae_lifecycle_is_the_trace(store, fixtures) -> None:
    """data/parcae_p3trace_lifecycle.csv is the published trace, converted without change."""
    root = fixtures.parent.parent
    sl.ingest(store, fixtures / "events_parcae_p3trace.csv", spec="p3.2xlarge")
    with sl.Store(":memory:") as bundled:
        (r,) = sl.ingest(bundled, root / "data" / "parcae_p3trace_lifecycle.csv")
        assert r.format == "lifecycle-csv" and ingest_counts(r) == (344, 344, 0, 0)
        cols = "provider, spec, instance_id, is_spot, event, ts"
        q = f"SELECT {cols} FROM instance_events ORDER BY instance_id, event"
        assert bundled.query(q).rows() == store.query(q).rows()


_cell = st.text(alphabet="abc019-:TZ+ ", max_size=12)


@_FUZZ
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["alibaba", "aws", ""]),
            _cell,
            st.sampled_from(["launched", "reclaimed", "interruption_warning", "boom", ""]),
            st.one_of(st.just("2024-06-01T00:00:00Z"), st.just("2024-06-01T08:00:00+08:00"), _cell),
            st.sampled_from(["true", "false", "", "maybe"]),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_lifecycle_csv_fuzz(store, tmp_path, rows) -> None:
    body = "provider,instance_id,event,ts,is_spot\n" + "".join(",".join(r) + "\n" for r in rows)
    f = tmp_path / "life.csv"
    f.write_text(body)
    try:
        (r,) = sl.ingest(store, f, format="lifecycle-csv")
    except sl.SpotlabError:
        return
    if r.skipped_as_duplicate_file:
        return
    assert accounted(r)
    assert r.rows_read == len(rows)
    stored = store.query(
        "SELECT count(*) AS n FROM instance_events WHERE source_id = ?", [r.source_id]
    )
    assert stored["n"][0] == r.rows_loaded
