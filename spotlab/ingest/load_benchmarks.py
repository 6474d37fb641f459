"""Model load-time measurements: the seed's table, ServerlessLLM results, your own CSV.

All three become rows of ``load_benchmarks`` (see :mod:`spotlab.schema`):

=================  ==================================================================
``model``          model or checkpoint name (required)
``size_gb``        checkpoint size in GB (10^9 bytes); ``7.2G`` / ``7.2 GB`` accepted
``path``           how it was loaded: ``oss_mount``, ``cachefs_remote_hit``,
                   ``sllm_random``, ``safetensors_cached``, ... (lower-case, ``_``)
``load_seconds``   measured load time in seconds (required, > 0)
``hardware``       where it was measured (default ``unspecified``)
``run``            optional: measurement number within (model, path, hardware); when
                   absent, repeats are numbered in file order
``notes``          optional free text
=================  ==================================================================

Formats:

- ``load-benchmarks-csv``: a CSV with the columns above (header names exactly; ``--map``
  renames others). ``data/seed_load_times.csv`` is the seed's table in this format.
- ``serverlessllm-json``: ServerlessLLM's ``benchmarks/results`` files, each a JSON list of
  ``{model_name, loading_time, end_to_end_time, throughput, output_text}`` named
  ``{model}_{format}_{runs}_{test}.json``. ``path`` is ``{format}_{test}`` (the 2024
  format label ``phantom`` is read as ``sllm``, the name the same checkpoint format has in
  the 2025 results); ``hardware`` comes from the folder (:data:`SLLM_HARDWARE`); the size is
  parameters × bytes per parameter (:data:`MODEL_PARAMS_B`, bf16/fp16 = 2 bytes), else the
  parameter count in the model's name (e.g. ``opt-6.7b``). Options: ``bytes_per_param``,
  ``model_size_gb`` (override), ``hardware``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest._common import load_json, read_text_table, records_frame, rename_columns
from spotlab.ingest.core import Staged, Target, register, register_target
from spotlab.ingest.targets import _positive_reasons, text

COLUMNS = ("model", "size_gb", "path", "load_seconds", "hardware", "run", "notes")
DEFAULT_HARDWARE = "unspecified"
#: implausible values are rejected rather than loaded (10 TB checkpoints, day-long loads)
MAX_SIZE_GB = 10_000.0
MAX_LOAD_SECONDS = 86_400.0

#: Parameter counts (billions) of models in ServerlessLLM's results, from their model cards.
MODEL_PARAMS_B: dict[str, float] = {
    "facebook/opt-6.7b": 6.7,
    "facebook/opt-66b": 66.0,
    "Qwen/Qwen3-32B": 32.8,
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": 32.5,  # Qwen2.5-32B base
    "meta-llama/Llama-3.1-8B-Instruct": 8.03,
    "meta-llama/Meta-Llama-3-8B": 8.03,
    "meta-llama/Meta-Llama-3-70B": 70.6,
    "mistralai/Mistral-7B-v0.3": 7.25,
    "mistralai/Mixtral-8x7B-v0.1": 46.7,
    "google/gemma-7b": 8.54,
    "tiiuae/falcon-40b": 40.0,
}
#: bf16 / fp16 checkpoints, as ServerlessLLM benchmarks them
BYTES_PER_PARAM = 2.0

#: Result folders of ServerlessLLM → hardware label (from each folder's README).
SLLM_HARDWARE: dict[str, str] = {
    "h100_2025": "H100 SXM, NVMe 29.4 GB/s (ServerlessLLM 2025)",
    "a5000_2024": "A5000, 2x NVMe RAID 0 PCIe 4.0 (ServerlessLLM 2024)",
}
#: format labels in file names → the path name spotlab uses
SLLM_FORMATS = {"phantom": "sllm"}
_SLLM_NAME = re.compile(
    r"^(?P<model>.+)_(?P<format>[A-Za-z0-9]+)_(?P<runs>\d+)_(?P<test>[A-Za-z0-9]+)\.json$"
)
_SCENARIO_FOLDERS = {"random", "cached"}
_PARAMS_IN_NAME = re.compile(r"(?i)(?:^|[-_/])(\d+(?:\.\d+)?)b(?:$|[-_.])")


# -- target -------------------------------------------------------------------------------


def _size_sql(col: str, schema: dict[str, pl.DataType]) -> str:
    if col not in schema:
        return "NULL::DOUBLE"
    if schema[col].is_numeric():
        return f'CAST("{col}" AS DOUBLE)'
    # "7.2", "7.2G", "7.2 GB" are all GB; anything else (GiB, MB) stays unparsable.
    return f"try_cast(regexp_replace({text(col)}, '(?i)\\s*(gb|g)$', '') AS DOUBLE)"


def _prepare(schema: dict[str, pl.DataType]) -> list[str]:
    numeric = "run" in schema and schema["run"].is_numeric()
    run_in = 'CAST("run" AS DOUBLE)' if numeric else f"try_cast({text('run')} AS DOUBLE)"
    path = f"regexp_replace(lower({text('path')}), '[\\s-]+', '_', 'g')"
    hw = f"coalesce({text('hardware')}, '{DEFAULT_HARDWARE}')"
    return [
        f"{_size_sql('size_gb', schema)} AS _size",
        f"{_size_sql('load_seconds', schema)} AS _secs",
        f"{run_in} AS _run_in",
        f"{path} AS _path",
        f"{hw} AS _hw",
        f"row_number() OVER (PARTITION BY {text('model')}, {path}, {hw} ORDER BY _row) "
        "AS _run_auto",
    ]


LOAD_BENCHMARKS = register_target(
    Target(
        kind="load_benchmarks",
        table="load_benchmarks",
        key=("model", "path", "hardware", "run"),
        required=("model", "size_gb", "path", "load_seconds"),
        optional=("hardware", "run", "notes"),
        prepare=_prepare,
        outputs=(
            ("model", text("model")),
            ("size_gb", "_size"),
            ("path", "_path"),
            ("load_seconds", "_secs"),
            ("hardware", "_hw"),
            ("run", "CAST(coalesce(_run_in, _run_auto) AS INTEGER)"),
            ("notes", text("notes")),
        ),
        reasons=(
            (f"{text('model')} IS NULL", "'missing model'"),
            (f"{text('path')} IS NULL", "'missing path'"),
            (f"{text('size_gb')} IS NULL", "'missing size_gb'"),
            (f"{text('load_seconds')} IS NULL", "'missing load_seconds'"),
            *_positive_reasons("size_gb", text("size_gb"), "_size"),
            *_positive_reasons("load_seconds", text("load_seconds"), "_secs"),
            (f"_size > {MAX_SIZE_GB}", f"'size_gb ' || _size || ' above {MAX_SIZE_GB:g} GB'"),
            (
                f"_secs > {MAX_LOAD_SECONDS}",
                f"'load_seconds ' || _secs || ' above {MAX_LOAD_SECONDS:g} s (one day)'",
            ),
            (
                f"{text('run')} IS NOT NULL AND _run_in IS NULL",
                f"'unparsable run: ' || {text('run')}",
            ),
            (
                "_run_in IS NOT NULL AND (_run_in < 1 OR _run_in <> floor(_run_in))",
                "'run must be a whole number >= 1, got ' || _run_in",
            ),
        ),
    )
)


# -- readers ------------------------------------------------------------------------------


def _header_columns(head: bytes) -> set[str]:
    header = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").lower()
    return {c.strip().strip('"') for c in header.split(",")}


class LoadBenchmarksCsv:
    """A CSV of load-time measurements (the seed's table, or your own)."""

    name = "load-benchmarks-csv"
    sniff_rule = "a .csv (.gz) whose header has model, size_gb and load_seconds"
    kind = "load_benchmarks"
    priority = 30  # before the canonical price CSV (90), which takes any CSV

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.name.lower().endswith((".csv", ".csv.gz")):
            return False
        return {"model", "size_gb", "load_seconds"} <= _header_columns(head)

    def read(self, path: Path, map: Mapping[str, str] | None = None, **_: Any) -> Staged:
        frame = rename_columns(read_text_table(path), map, path)
        keep = [c for c in frame.columns if c in COLUMNS or c.startswith("_")]
        return Staged(kind=self.kind, batches=[frame.select(keep)])


def params_from_name(model: str) -> float | None:
    """Parameter count (billions) from a model name: ``facebook/opt-6.7b`` → 6.7."""
    hits = _PARAMS_IN_NAME.findall(model.split("/")[-1])
    return float(hits[-1]) if hits else None


def size_from_model_name(
    model: str, bytes_per_param: float = BYTES_PER_PARAM
) -> tuple[float, str] | None:
    """(size in GB, how it was found) for a model name, or None when unknown."""
    if model in MODEL_PARAMS_B:
        return MODEL_PARAMS_B[model] * bytes_per_param, "parameters from the model card"
    guess = params_from_name(model)
    if guess is None:
        return None
    return guess * bytes_per_param, "parameters from the model name"


def _sllm_hardware(path: Path) -> str:
    for folder in path.resolve().parents:
        if folder.name.lower() in _SCENARIO_FOLDERS:
            continue
        return SLLM_HARDWARE.get(folder.name, folder.name)
    return DEFAULT_HARDWARE  # pragma: no cover - a file always has a parent folder


class ServerlessLlmJson:
    """ServerlessLLM ``benchmarks/results`` JSON (a list of per-load results)."""

    name = "serverlessllm-json"
    sniff_rule = 'a .json with "model_name" and "loading_time" (ServerlessLLM results)'
    kind = "load_benchmarks"
    priority = 30

    def sniff(self, path: Path, head: bytes) -> bool:
        return (
            path.name.lower().endswith(".json")
            and b'"model_name"' in head
            and b'"loading_time"' in head
        )

    def read(
        self,
        path: Path,
        bytes_per_param: float | str = BYTES_PER_PARAM,
        model_size_gb: float | str | None = None,
        hardware: str | None = None,
        **_: Any,
    ) -> Staged:
        match = _SLLM_NAME.match(path.name)
        if match is None:
            raise FormatError(
                "cannot tell the load format and test from the file name",
                path=path,
                expected="{model}_{format}_{runs}_{test}.json, e.g. Qwen_Qwen3-32B_sllm_5_cached"
                ".json (ServerlessLLM's naming)",
                found=path.name,
            )
        fmt = match["format"].lower()
        load_path = f"{SLLM_FORMATS.get(fmt, fmt)}_{match['test'].lower()}"
        doc = load_json(path)
        if not isinstance(doc, list):
            raise FormatError(
                "expected a JSON list of results at $", path=path, expected="list",
                found=type(doc).__name__,
            )  # fmt: skip
        if not doc:
            raise FormatError("the JSON list holds no results", path=path)
        frame = records_frame(
            doc, {"model_copy": "model_name", "load_seconds": "loading_time"}, label="$[] item"
        )
        per_param = float(bytes_per_param)
        override = float(model_size_gb) if model_size_gb is not None else None
        sizes: list[str | None] = []
        notes: list[str | None] = []
        rejects: list[str | None] = list(frame["_reject"])
        for i, copy in enumerate(frame["model_copy"]):
            model = re.sub(r"_\d+$", "", copy or "")
            if override is not None:
                sizes.append(repr(override))
                notes.append(None)
                continue
            found = size_from_model_name(model, per_param) if model else None
            if found is None:
                sizes.append(None)
                notes.append(None)
                if rejects[i] is None:
                    rejects[i] = (
                        f"model size unknown for {model or '(no model_name)'!r}: "
                        "pass -o model_size_gb=N"
                    )
                continue
            sizes.append(repr(round(found[0], 6)))
            notes.append(f"{found[1]} x {per_param:g} bytes")
        label = "format label 'phantom' read as sllm; " if fmt in SLLM_FORMATS else ""
        frame = frame.with_columns(
            pl.col("model_copy").str.replace(r"_\d+$", "").alias("model"),
            pl.Series("size_gb", sizes, dtype=pl.String),
            pl.lit(load_path).alias("path"),
            pl.lit(hardware or _sllm_hardware(path)).alias("hardware"),
            pl.col("_row").cast(pl.String).alias("run"),
            (pl.lit(label) + pl.Series("n", notes, dtype=pl.String)).alias("notes"),
            pl.Series("_reject", rejects, dtype=pl.String),
        ).drop("model_copy")
        return Staged(kind=self.kind, batches=[frame])


register(LoadBenchmarksCsv())
register(ServerlessLlmJson())
