"""A form for EAS deployment files: fields → live lint findings → export.

The form only collects inputs; :func:`spotlab.eas.build_config` builds the files,
:func:`spotlab.eas.lint` checks them and :func:`spotlab.eas.export` writes them.

>>> form = ConfigForm(store)  # doctest: +SKIP
>>> form  # displays the form in a notebook  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import ipywidgets as w

from spotlab.eas import facts
from spotlab.eas.export import ExportResult, autoscaler_file, build_config, export
from spotlab.eas.lint import Finding, errors, lint
from spotlab.eas.model import ConfigBundle, dump
from spotlab.eas.secrets import mask_secrets
from spotlab.errors import ConfigError
from spotlab.store import Store

CHEAPEST = "(cheapest listed spec)"
_COLOURS = {"error": "#b00020", "warning": "#9a6700", "info": "#555555"}


def findings_html(findings: list[Finding]) -> str:
    """Findings as an HTML table (escaped), errors first."""
    if not findings:
        return "<p><b>No findings:</b> the config follows every rule spotlab checks.</p>"
    rows = "".join(
        f"<tr><td style='color:{_COLOURS[f.severity]}'><b>{f.severity}</b></td>"
        f"<td><code>{html.escape(f.file)} {html.escape(f.path)}</code></td>"
        f"<td>{html.escape(f.message)}<br><i>fix:</i> {html.escape(f.fix)}</td>"
        f"<td><code>{f.rule}</code></td></tr>"
        for f in findings
    )
    head = "<tr><th>severity</th><th>where</th><th>finding</th><th>rule</th></tr>"
    return f"<table>{head}{rows}</table>"


class ConfigForm(w.VBox):
    """Form widgets for a service config; findings refresh on every change.

    ``store`` supplies the catalog, market prices and advised bids (without one the
    bundled catalog is used); ``out_dir`` is the default export folder.
    """

    def __init__(self, store: Store | None = None, out_dir: str | Path = "deploy") -> None:
        self.store = store
        self.catalog = facts.store_specs(store) if store is not None else {}
        self.catalog = self.catalog or facts.bundled_specs()
        specs = sorted(s for s, i in self.catalog.items() if i.gpu_count)
        first = specs[:2]
        style = {"description_width": "150px"}
        lay = w.Layout(width="520px")

        def text(desc: str, value: str) -> w.Text:
            return w.Text(value=value, description=desc, style=style, layout=lay)

        self.name = text("service name", "spot_service")
        self.image = text("image", "registry.example.com/ns/app:1.0")

        def number(desc: str, value: float, hi: float, kind: type = w.BoundedIntText) -> Any:
            return kind(value=value, min=0, max=hi, description=desc, style=style)

        self.port = number("port", 8000, 65535)
        self.spot_specs = w.SelectMultiple(
            options=specs, value=tuple(first), rows=6, description="spot specs", style=style,
            layout=lay,
        )  # fmt: skip
        self.regular = w.Dropdown(
            options=[CHEAPEST, *specs], value=CHEAPEST, description="regular fallback",
            style=style, layout=lay,
        )  # fmt: skip
        self.replicas = number("replicas", 2, 1000)
        self.auto_min = number("autoscaler min", 0, 1000)
        self.auto_max = number("max (0: none)", 0, 1000)
        self.gpu = number("GPU GiB needed", 0.0, 10_000.0, w.BoundedFloatText)
        self.model_oss = text("model OSS path", "")
        self.model_gb = number("model GB", 0.0, 10_000.0, w.BoundedFloatText)
        self.cache = w.Checkbox(True, description="memory cache on spot")
        self.accelerated = w.Checkbox(False, description="_accelerated image")
        self.vpc = text("VPC id (accel.)", "")
        self.out_dir = text("export folder", str(out_dir))
        self.overwrite = w.Checkbox(False, description="overwrite")
        self.export_button = w.Button(description="Export", button_style="primary")
        self.findings = w.HTML()
        self.preview = w.HTML()
        self.status = w.HTML()
        self.bundle: ConfigBundle | None = None
        self.last_findings: list[Finding] = []
        fields = [
            self.name, self.image, self.port, self.spot_specs, self.regular, self.replicas,
            self.auto_min, self.auto_max, self.gpu, self.model_oss, self.model_gb, self.cache,
            self.accelerated, self.vpc,
        ]  # fmt: skip
        for f in fields:
            f.observe(lambda _change: self.refresh(), names="value")
        self.export_button.on_click(lambda _b: self.export())
        super().__init__(
            [
                w.HBox([w.VBox(fields), w.VBox([w.HTML("<b>Lint</b>"), self.findings])]),
                w.HBox([self.out_dir, self.overwrite, self.export_button]),
                self.status,
                w.HTML("<b>service.json</b> (secrets masked)"),
                self.preview,
            ]
        )
        self.refresh()

    def kwargs(self) -> dict[str, Any]:
        """The form as :func:`build_config` keyword arguments."""
        instances: list[dict[str, Any]] = [
            {"type": s, "spot_price_limit": None} for s in self.spot_specs.value
        ]
        if self.regular.value != CHEAPEST:
            instances.append({"type": self.regular.value})
        out: dict[str, Any] = {
            "name": self.name.value,
            "image": self.image.value,
            "port": self.port.value,
            "instances": instances,
            "replicas": self.replicas.value,
            "autoscaler": autoscaler_file(self.auto_min.value, self.auto_max.value)
            if self.auto_max.value
            else None,
            "model_oss_path": self.model_oss.value or None,
            "model_size_gb": self.model_gb.value or None,
            "memory_cache": self.cache.value,
            "accelerated": self.accelerated.value,
            "networking": {"vpc_id": self.vpc.value} if self.vpc.value else None,
            "requirements": self.requirements(),
        }
        return out

    def requirements(self) -> dict[str, Any]:
        return {
            "gpu_memory_gib": self.gpu.value or None,
            "model_size_gb": self.model_gb.value or None,
        }

    def refresh(self) -> None:
        """Rebuild the config from the fields and lint it."""
        try:
            self.bundle = build_config(
                **self.kwargs(), store=self.store, catalog=self.catalog, check=False
            )
        except ConfigError as exc:
            self.bundle, self.last_findings = None, []
            self.findings.value = f"<p style='color:#b00020'>{html.escape(str(exc))}</p>"
            self.preview.value = ""
            return
        self.last_findings = lint(
            self.bundle, self.store, self.requirements(), catalog=self.catalog
        )
        self.findings.value = findings_html(self.last_findings)
        shown = json.dumps(mask_secrets(dump(self.bundle.service)), indent=2, ensure_ascii=False)
        self.preview.value = f"<pre>{html.escape(shown)}</pre>"

    def export(self) -> ExportResult | None:
        """Write the files (Export button); the outcome is shown under the form."""
        if self.bundle is None or errors(self.last_findings):
            self.status.value = "<p style='color:#b00020'>Fix the errors before exporting.</p>"
            return None
        try:
            result = export(
                self.bundle, self.out_dir.value, self.overwrite.value, store=self.store,
                requirements=self.requirements(), catalog=self.catalog,
            )  # fmt: skip
        except ConfigError as exc:
            self.status.value = f"<p style='color:#b00020'>{html.escape(str(exc))}</p>"
            return None
        names = ", ".join(html.escape(str(p)) for p in result.paths)
        self.status.value = f"<p>Wrote {names}.</p>"
        return result
