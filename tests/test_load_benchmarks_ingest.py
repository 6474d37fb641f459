"""Ingesting model load-time measurements: the seed's table, ServerlessLLM JSON, user CSVs."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.ingest import sniff_format
from spotlab.ingest.load_benchmarks import params_from_name, size_from_model_name
from tests.conftest import BUNDLED, accounted, ingest_counts

SEED = BUNDLED / "seed_load_times.csv"


def test_seed_table_is_sniffed_and_loads_without_rejects(store: sl.Store) -> None:
    # data/ is ingested as a whole by `make lab`: the seed CSV must not fall to the
    # canonical price reader (priority 90), which would reject the whole file.
    assert sniff_format(SEED).name == "load-benchmarks-csv"
    (r,) = sl.ingest(store, SEED)
    assert ingest_counts(r) == (18, 18, 0, 0)
    rows = store.query(
        "SELECT path, count(*) AS n, sum(load_seconds) AS total FROM load_benchmarks "
        "GROUP BY path ORDER BY path"
    )
    assert rows["path"].to_list() == ["cachefs_remote_hit", "oss_mount"]
    assert rows["n"].to_list() == [9, 9]
    # Column sums of the seed's table (domain.md §1.7), added by hand:
    # OSS 89.88+16.73+24.76+48.79+64.99+16.33+71.78+43.88+69.38 = 446.52
    # cachefs 15.18+5.46+7.13+8.47+7.94+5.55+10.17+9.23+3.20 = 72.33
    assert rows["total"].to_list() == pytest.approx([72.33, 446.52])
    one = store.query(
        "SELECT size_gb, load_seconds, hardware, run FROM load_benchmarks "
        "WHERE model = 'revAnimated_v122.safetensors' AND path = 'cachefs_remote_hit'"
    ).row(0)
    assert one == (4.0, 3.2, "pai-eas", 1)


def test_user_csv_accounts_for_every_row(store: sl.Store, fixtures: Path) -> None:
    csv = fixtures / "coldstart_my_load_times.csv"
    assert sniff_format(csv).name == "load-benchmarks-csv"
    (r,) = sl.ingest(store, csv)
    assert ingest_counts(r) == (8, 4, 0, 4) and accounted(r)
    reasons = store.query("SELECT row_number, reason FROM rejects ORDER BY row_number")
    assert reasons["row_number"].to_list() == [5, 6, 7, 8]  # header is line 1
    assert reasons["reason"].to_list() == [
        "missing model",
        "unparsable size_gb: 4 GiB",
        "load_seconds must be positive, got -3.0",
        "load_seconds is not a finite number: NaN",
    ]
    loaded = store.query(
        "SELECT model, size_gb, path, load_seconds, hardware, run FROM load_benchmarks "
        "ORDER BY model, path, run"
    )
    # "6.9G", "6.9 GB" and "6.9" are the same size; "oss-mount" and "OSS Mount" the same
    # path; repeats without a run column are numbered in file order.
    assert loaded.rows() == [
        ("sd-xl-base", 6.9, "oss_mount", 70.1, "my-gn7i", 1),
        ("sd-xl-base", 6.9, "oss_mount", 68.4, "my-gn7i", 2),
        ("sd-xl-base", 6.9, "oss_mount", 66.0, "my-gn7i", 3),
        ("tiny", 4.0, "cachefs_remote_hit", 9.5, "unspecified", 1),
    ]


def test_changed_file_loads_only_new_rows(store: sl.Store, fixtures: Path, tmp_path) -> None:
    src = (fixtures / "coldstart_my_load_times.csv").read_text()
    sl.ingest(store, fixtures / "coldstart_my_load_times.csv")
    grown = tmp_path / "more.csv"
    grown.write_text(src + "sd-xl-base,6.9,oss_mount,64.2,my-gn7i,fourth\n")
    (r,) = sl.ingest(store, grown)
    assert ingest_counts(r) == (9, 1, 4, 4)
    (again,) = sl.ingest(store, grown)
    assert again.skipped_as_duplicate_file


def test_explicit_run_column_and_bad_runs(store: sl.Store, tmp_path) -> None:
    f = tmp_path / "runs.csv"
    f.write_text(
        "model,size_gb,path,load_seconds,run\n"
        "m,1,p,2.0,3\n"
        "m,1,p,2.5,3\n"  # same key (m, p, unspecified, 3), another time: a conflict
        "m,1,p,2.0,0\n"
        "m,1,p,2.0,1.5\n"
        "m,1,p,2.0,x\n"
    )
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (5, 1, 0, 4) and r.rows_conflict == 1
    reasons = store.query("SELECT reason FROM rejects ORDER BY row_number")["reason"].to_list()
    assert reasons.pop(0).startswith("conflict with row 2 of this file")
    assert reasons == [
        "run must be a whole number from 1 to 2147483647, got 0.0",
        "run must be a whole number from 1 to 2147483647, got 1.5",
        "unparsable run: x",
    ]


def test_missing_required_column_names_it(store: sl.Store, tmp_path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("model,size_gb,load_seconds\nm,1,2\n")
    with pytest.raises(sl.FormatError, match="missing required column"):
        sl.ingest(store, f, format="load-benchmarks-csv")
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_serverlessllm_fixture_files(store: sl.Store, fixtures: Path) -> None:
    folder = fixtures / "coldstart_sllm"
    results = sl.ingest(store, folder)
    assert [r.format for r in results] == ["serverlessllm-json"] * 2
    assert sorted(ingest_counts(r) for r in results) == [(5, 5, 0, 0), (30, 30, 0, 0)]
    rows = store.query(
        "SELECT hardware, path, model, any_value(size_gb) AS size_gb, count(*) AS n, "
        "min(run) AS first, max(run) AS last, any_value(notes) AS notes, "
        "sum(load_seconds) AS total FROM load_benchmarks GROUP BY ALL ORDER BY model"
    )
    qwen, opt = rows.row(0, named=True), rows.row(1, named=True)
    assert qwen["model"] == "Qwen/Qwen3-32B" and opt["model"] == "facebook/opt-6.7b"
    # 32.8 B parameters x 2 bytes (bf16) = 65.6 GB; 6.7 B x 2 = 13.4 GB
    assert qwen["size_gb"] == pytest.approx(65.6) and opt["size_gb"] == pytest.approx(13.4)
    assert (qwen["path"], opt["path"]) == ("sllm_cached", "sllm_random")
    assert qwen["hardware"].startswith("H100 SXM") and opt["hardware"].startswith("A5000")
    assert (qwen["n"], qwen["first"], qwen["last"]) == (5, 1, 5)
    assert "phantom" in opt["notes"]
    raw = json.loads((folder / "h100_2025/cached/Qwen_Qwen3-32B_sllm_5_cached.json").read_text())
    assert qwen["total"] == pytest.approx(sum(x["loading_time"] for x in raw))


def test_serverlessllm_needs_its_file_naming(store: sl.Store, tmp_path) -> None:
    f = tmp_path / "results.json"
    f.write_text('[{"model_name": "Qwen/Qwen3-32B_0", "loading_time": 1.2}]')
    assert sniff_format(f).name == "serverlessllm-json"
    with pytest.raises(sl.FormatError, match=r"\{model\}_\{format\}_\{runs\}_\{test\}"):
        sl.ingest(store, f)
    assert store.query("SELECT count(*) AS n FROM sources")["n"][0] == 0


def test_serverlessllm_unknown_model_is_rejected_or_sized_by_option(
    store: sl.Store, tmp_path
) -> None:
    f = tmp_path / "acme_mystery_sllm_2_random.json"
    f.write_text(
        '[{"model_name": "acme/mystery_0", "loading_time": 2.0},'
        ' {"model_name": "acme/mystery_1", "loading_time": -1},'
        " 7]"
    )
    (r,) = sl.ingest(store, f)
    assert ingest_counts(r) == (3, 0, 0, 3)
    reasons = store.query("SELECT reason FROM rejects ORDER BY row_number")["reason"].to_list()
    assert reasons[0].startswith("model size unknown for 'acme/mystery'")
    assert reasons[2] == "$[] item is not a JSON object"
    other = tmp_path / "acme_mystery_sllm_1_cached.json"
    other.write_text('[{"model_name": "acme/mystery_0", "loading_time": 2.0}]')
    (r2,) = sl.ingest(store, other, model_size_gb="10")
    assert ingest_counts(r2) == (1, 1, 0, 0)
    assert store.query("SELECT size_gb FROM load_benchmarks")["size_gb"].to_list() == [10.0]


def test_model_sizes_from_names() -> None:
    assert params_from_name("facebook/opt-6.7b") == 6.7
    assert params_from_name("Qwen/Qwen3-32B") == 32.0
    assert params_from_name("meta-llama/Llama-3.1-8B-Instruct") == 8.0
    assert params_from_name("stabilityai/sdxl") is None
    # the documented table wins over the name: Qwen3-32B has 32.8 B parameters
    card = size_from_model_name("Qwen/Qwen3-32B")
    assert card == (pytest.approx(65.6), "parameters from the model card")
    assert size_from_model_name("x/foo-13b", 1.0) == (13.0, "parameters from the model name")


def test_serverlessllm_shared_results(store: sl.Store, shared_data: Path) -> None:
    results = sl.ingest(store, shared_data / "serverlessllm-loading-benchmarks")
    assert len(results) == 12
    assert sum(r.rows_loaded for r in results) == 260  # 8 files x 30 loads + 4 x 5
    assert sum(r.rows_rejected for r in results) == 0
    # ServerlessLLM's own README: Qwen3-32B sllm random averages 3.216 s on the H100.
    mean = store.query(
        "SELECT avg(load_seconds) AS s, any_value(size_gb) AS gb FROM load_benchmarks "
        "WHERE model = 'Qwen/Qwen3-32B' AND path = 'sllm_random'"
    ).row(0)
    assert mean[0] == pytest.approx(3.216, abs=0.001)
    assert 18 < mean[1] / mean[0] < 22  # ≈ 20 GB/s effective (domain.md §6)


_SUFFIXES = st.sampled_from(["", "G", "GB", " gb", " G", "g"])


@settings(max_examples=25, deadline=None)
@given(
    size=st.floats(min_value=0.01, max_value=9_999, allow_nan=False),
    suffix=_SUFFIXES,
    secs=st.floats(min_value=0.001, max_value=80_000, allow_nan=False),
)
def test_sizes_with_units_parse_to_the_same_number(size: float, suffix: str, secs: float) -> None:
    with tempfile.TemporaryDirectory() as d, sl.Store(":memory:") as s:
        f = Path(d) / "one.csv"
        f.write_text(f"model,size_gb,path,load_seconds\nm,{size!r}{suffix},p,{secs!r}\n")
        (r,) = sl.ingest(s, f)
        assert ingest_counts(r) == (1, 1, 0, 0)
        got = s.query("SELECT size_gb, load_seconds FROM load_benchmarks").row(0)
        assert got == (pytest.approx(size), pytest.approx(secs))


_CELL = st.one_of(
    st.text(alphabet="abc019.-GiBN ", max_size=6),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.tuples(_CELL, _CELL, _CELL, _CELL), min_size=1, max_size=8))
def test_every_row_is_loaded_duplicate_or_rejected(rows: list[tuple[str, ...]]) -> None:
    with tempfile.TemporaryDirectory() as d, sl.Store(":memory:") as s:
        f = Path(d) / "fuzz.csv"
        body = "\n".join(",".join(c.replace(",", "") for c in row) for row in rows)
        f.write_text("model,size_gb,path,load_seconds\n" + body + "\n")
        try:
            (r,) = sl.ingest(s, f)
        except sl.FormatError:
            return  # e.g. a blank-only file; nothing was loaded
        assert accounted(r)
        bad = s.query(
            "SELECT count(*) AS n FROM load_benchmarks WHERE NOT (size_gb > 0 AND "
            "load_seconds > 0) OR isnan(size_gb) OR isnan(load_seconds)"
        )["n"][0]
        assert bad == 0
