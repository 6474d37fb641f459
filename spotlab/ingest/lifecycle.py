"""spotlab's CSV formats for instance logs: lifecycle events, an inventory, exposure.

**Lifecycle CSV** (one row per event; CSV, optionally gzip; ``--map SRC=DST`` renames):

==================  ==================================================================
``provider``        ``alibaba``, ``aws``, ... (required)
``instance_id``     the instance (required)
``event``           launched, ready, interruption_warning, rebalance_recommendation,
                    reclaimed, terminated or rebuilt (required)
``ts``              ISO 8601; no offset means UTC (required)
``spec``            instance type (optional: else from the instance's other events or
                    the inventory)
``zone``            zone id (optional, as spec); ``region`` is derived from it
``is_spot``         true/false (optional)
``service``         the service the instance served (optional)
``detail``          free text (optional)
==================  ==================================================================

An instance's exposure runs from its first ``launched``/``ready`` to its first
``reclaimed``/``terminated`` (or the end of the log).

**Inventory CSV**: ``instance_id, spec`` (required), ``zone, is_spot, service, provider,
region`` (optional). Gives spec/zone to events that carry only an instance id. Loading an
inventory replaces the rows it changes.

**Exposure CSV**: ``spec, instance_hours`` (required), ``zone, is_spot`` (default true),
``service, provider, region, period_start, period_end`` (optional): instance-hours run,
for logs that hold only interruptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.ingest._common import read_text_table, rename_columns
from spotlab.ingest.core import Staged, register


def header_columns(path: Path, head: bytes) -> set[str]:
    """Lower-cased column names of a CSV's first line ({} when not a .csv file)."""
    if not path.name.lower().endswith((".csv", ".csv.gz", ".csv.zst")):
        return set()
    header = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").lower()
    return {c.strip().strip('"') for c in header.split(",")}


def _read(
    path: Path, mapping: Mapping[str, str] | None, constants: dict[str, str | None]
) -> pl.DataFrame:
    frame = rename_columns(read_text_table(path), mapping, path)
    for col, value in constants.items():
        if value is None:
            continue
        if col in frame.columns:
            frame = frame.with_columns(pl.col(col).fill_null(pl.lit(value)))
        else:
            frame = frame.with_columns(pl.lit(value).alias(col))
    return frame


class LifecycleCsv:
    name = "lifecycle-csv"
    sniff_rule = "CSV header with instance_id, event and ts"
    kind = "events"
    priority = 30

    def sniff(self, path: Path, head: bytes) -> bool:
        return {"instance_id", "event", "ts"} <= header_columns(path, head)

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        provider: str | None = None,
        service: str | None = None,
        **_: Any,
    ) -> Staged:
        frame = _read(path, map, {"provider": provider, "service": service})
        return Staged(kind=self.kind, batches=[frame])


class InventoryCsv:
    name = "inventory-csv"
    sniff_rule = "CSV header with instance_id and spec, without event, ts, instance_hours"
    kind = "instances"
    priority = 5  # before the events it attributes (attribution happens at query time anyway)

    def sniff(self, path: Path, head: bytes) -> bool:
        cols = header_columns(path, head)
        return {"instance_id", "spec"} <= cols and not cols & {"event", "ts", "instance_hours"}

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        provider: str | None = None,
        **_: Any,
    ) -> Staged:
        return Staged(kind=self.kind, batches=[_read(path, map, {"provider": provider})])


class ExposureCsv:
    name = "exposure-csv"
    sniff_rule = "CSV header with spec and instance_hours"
    kind = "exposure"
    priority = 30

    def sniff(self, path: Path, head: bytes) -> bool:
        return {"spec", "instance_hours"} <= header_columns(path, head)

    def read(
        self,
        path: Path,
        map: Mapping[str, str] | None = None,
        provider: str | None = None,
        **_: Any,
    ) -> Staged:
        return Staged(kind=self.kind, batches=[_read(path, map, {"provider": provider})])


register(LifecycleCsv())
register(InventoryCsv())
register(ExposureCsv())
