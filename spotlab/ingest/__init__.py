"""Ingestion: one reader module per input format, loaded into the store without loss.

>>> from spotlab import Store, ingest
>>> results = ingest(Store(":memory:"), "data/")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

from spotlab.ingest.core import (
    READERS,
    TARGETS,
    IngestResult,
    Reader,
    Staged,
    Target,
    expand_paths,
    get_reader,
    ingest,
    register,
    register_target,
    sniff_format,
)

# Targets first (tables), then one module per input format. Add new readers here.
_MODULES = (
    "targets",
    "fetched_targets",
    "specs_catalog",
    "alibaba_describe_price",
    "alibaba_spot",
    "canonical",
    "eas_discount",
    "aws_spot",
    "aws_spot_export",
    "gcp_changepoints",
    "spot_comparison_daily",
    "event_targets",
    "alibaba_events",
    "aws_events",
    "lifecycle",
    "addremove_trace",
    "aws_spot_advisor",
    "aws_price_list",
    "aws_placement_scores",
    "eas_machine_spec",
    "alibaba_spot_advice",
    "load_benchmarks",
    "availability",
    "traffic",
)
for _m in _MODULES:
    importlib.import_module(f"spotlab.ingest.{_m}")

__all__ = [
    "READERS",
    "TARGETS",
    "IngestResult",
    "Reader",
    "Staged",
    "Target",
    "expand_paths",
    "get_reader",
    "ingest",
    "register",
    "register_target",
    "sniff_format",
]
