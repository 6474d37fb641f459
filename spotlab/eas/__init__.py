"""EAS deployment files: typed models, a linter for the spot best practices, and export.

>>> import spotlab as sl
>>> findings = sl.lint("service.json")  # doctest: +SKIP
>>> bundle = sl.build_config("demo", "registry/ns/app:1", instances=[...])  # doctest: +SKIP
>>> sl.export_config(bundle, "deploy/")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spotlab.eas.export import ExportResult, build_config, config_from_store, export
from spotlab.eas.lint import RULES, Finding, errors, findings_frame, format_findings, lint
from spotlab.eas.model import (
    AutoscalerConfig,
    ConfigBundle,
    CronScaleConfig,
    ServiceConfig,
    dump,
    dumps,
    json_schema,
    load,
    load_bundle,
)
from spotlab.eas.secrets import mask_secrets


def load_config(source: str | Path | dict[str, Any]) -> Any:
    """A deployment folder → :class:`ConfigBundle`; a file or dict → the model it is."""
    if isinstance(source, str | Path) and Path(source).is_dir():
        return load_bundle(source)
    return load(source)


__all__ = [
    "RULES",
    "AutoscalerConfig",
    "ConfigBundle",
    "CronScaleConfig",
    "ExportResult",
    "Finding",
    "ServiceConfig",
    "build_config",
    "config_from_store",
    "dump",
    "dumps",
    "errors",
    "export",
    "findings_frame",
    "format_findings",
    "json_schema",
    "lint",
    "load",
    "load_bundle",
    "load_config",
    "mask_secrets",
]
