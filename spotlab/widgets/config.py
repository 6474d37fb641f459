"""A form for EAS deployment files: fields → live lint findings → export.

The form only collects inputs; :func:`spotlab.eas.facts.eas_catalog` gives the specs it
offers (the Alibaba ECS/EAS types of the service's region, never another provider's),
:func:`spotlab.eas.build_config` builds the files, :func:`spotlab.eas.lint` checks them and
:func:`spotlab.eas.export` writes them. Nothing is pre-filled that would deploy as a
placeholder: the image and the model path are the user's to enter.

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
from spotlab.eas.facts import SpecInfo
from spotlab.eas.lint import Finding, errors, lint
from spotlab.eas.model import ConfigBundle, dump
from spotlab.eas.secrets import mask_secrets
from spotlab.errors import ConfigError
from spotlab.store import Store

CHEAPEST = "(cheapest listed spec)"
IMAGE_HINT = "registry/namespace/repository:tag (your image)"
_COLOURS = {"error": "#b00020", "warning": "#9a6700", "info": "#555555"}
#: the form's width: every field and message shows in full, wrapped, never clipped
_WIDTH = "760px"
_TABLE = "width:100%;border-collapse:collapse;table-layout:auto;white-space:normal"
_CELL = "text-align:left;vertical-align:top;padding:2px 6px;overflow-wrap:anywhere"


def findings_html(findings: list[Finding]) -> str:
    """Findings as an HTML table (escaped, wrapped to the form's width), errors first."""
    if not findings:
        return "<p><b>No findings:</b> the config follows every rule spotlab checks.</p>"
    rows = "".join(
        f"<tr><td style='{_CELL};color:{_COLOURS[f.severity]}'><b>{f.severity}</b></td>"
        f"<td style='{_CELL}'><code>{html.escape(f.file)} {html.escape(f.path)}</code></td>"
        f"<td style='{_CELL}'>{html.escape(f.message)}<br><i>fix:</i> {html.escape(f.fix)}</td>"
        f"<td style='{_CELL}'><code>{f.rule}</code></td></tr>"
        for f in findings
    )
    head = "".join(
        f"<th style='{_CELL}'>{h}</th>" for h in ("severity", "where", "finding", "rule")
    )
    return f"<table style='{_TABLE}'><tr>{head}</tr>{rows}</table>"


def default_spot_specs(catalog: dict[str, SpecInfo], n: int = 2) -> list[str]:
    """The ``n`` cheapest GPU specs on demand, one per family where the catalog allows (the
    seed's advice: diversify spot across families)."""
    priced = sorted(
        (i.on_demand_price, s)
        for s, i in catalog.items()
        if i.gpu_count and i.on_demand_price is not None
    )
    picked: list[str] = []
    families: set[str] = set()
    for _, spec in priced:
        family = spec.rsplit(".", 1)[0]
        if family not in families:
            picked.append(spec)
            families.add(family)
        if len(picked) == n:
            return picked
    return picked + [s for _, s in priced if s not in picked][: n - len(picked)]


class ConfigForm(w.VBox):
    """Form widgets for a service config; findings refresh on every change.

    ``store`` supplies the catalog, market prices and advised bids (without one the
    catalog shipped with spotlab is used); ``region`` picks the catalog's region (default:
    the region with the most EAS specs); ``out_dir`` is the default export folder;
    ``image`` the user's container image (empty: the form asks for it).
    """

    def __init__(
        self,
        store: Store | None = None,
        out_dir: str | Path = "deploy",
        region: str | None = None,
        image: str = "",
    ) -> None:
        self.store = store
        region, self.catalog = facts.eas_catalog(store, region)
        style = {"description_width": "170px"}
        lay = w.Layout(width="100%")

        def text(desc: str, value: str = "", placeholder: str = "") -> w.Text:
            return w.Text(
                value=value, description=desc, placeholder=placeholder, style=style, layout=lay
            )

        def number(desc: str, value: float, hi: float, kind: type = w.BoundedIntText) -> Any:
            return kind(value=value, min=0, max=hi, description=desc, style=style, layout=lay)

        self.region = w.Dropdown(
            options=facts.eas_regions(store), value=region, description="region", style=style,
            layout=lay,
        )  # fmt: skip
        self.name = text("service name", "spot_service")
        self.image = text("image", image, placeholder=IMAGE_HINT)
        self.port = number("port", 8000, 65535)
        self.spot_specs = w.SelectMultiple(
            rows=6, description="spot specs", style=style, layout=lay
        )
        self.regular = w.Dropdown(description="regular fallback", style=style, layout=lay)
        self._offer_specs()
        self.replicas = number("replicas", 2, 1000)
        self.auto_min = number("autoscaler min", 0, 1000)
        self.auto_max = number("max (0: none)", 0, 1000)
        self.gpu = number("GPU GiB needed", 0.0, 10_000.0, w.BoundedFloatText)
        self.model_oss = text("model OSS path", placeholder="oss://your-bucket/models/ (optional)")
        self.model_gb = number("model GB", 0.0, 10_000.0, w.BoundedFloatText)
        self.cache = w.Checkbox(True, description="memory cache on spot", style=style)
        self.accelerated = w.Checkbox(False, description="_accelerated image", style=style)
        self.vpc = text("VPC id (accel.)")
        self.out_dir = text("export folder", str(out_dir))
        self.overwrite = w.Checkbox(False, description="replace existing files", style=style)
        self.export_button = w.Button(description="Export", button_style="primary")
        self.findings = w.HTML(layout=lay)
        self.preview = w.HTML(layout=lay)
        self.status = w.HTML(layout=lay)
        self.bundle: ConfigBundle | None = None
        self.last_findings: list[Finding] = []
        fields = [
            self.name, self.image, self.port, self.spot_specs, self.regular, self.replicas,
            self.auto_min, self.auto_max, self.gpu, self.model_oss, self.model_gb, self.cache,
            self.accelerated, self.vpc,
        ]  # fmt: skip
        for f in fields:
            f.observe(lambda _change: self.refresh(), names="value")
        self.region.observe(lambda _change: self._region_changed(), names="value")
        self.export_button.on_click(lambda _b: self.export())
        super().__init__(
            [
                w.VBox([self.region, *fields], layout=lay),
                w.HTML("<b>Lint</b>"),
                self.findings,
                w.VBox([self.out_dir, self.overwrite, self.export_button], layout=lay),
                self.status,
                w.HTML("<b>service.json</b> (secrets masked)"),
                self.preview,
            ],
            layout=w.Layout(width="100%", max_width=_WIDTH),
        )
        self.refresh()

    def _offer_specs(self) -> None:
        specs = sorted(s for s, i in self.catalog.items() if i.gpu_count)
        self.spot_specs.options = specs
        self.spot_specs.value = tuple(default_spot_specs(self.catalog))
        self.regular.options = [CHEAPEST, *specs]
        self.regular.value = CHEAPEST

    def _region_changed(self) -> None:
        _, self.catalog = facts.eas_catalog(self.store, self.region.value)
        self._offer_specs()
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
            "image": self.image.value.strip(),
            "port": self.port.value,
            "instances": instances,
            "replicas": self.replicas.value,
            "autoscaler": autoscaler_file(self.auto_min.value, self.auto_max.value)
            if self.auto_max.value
            else None,
            "model_oss_path": self.model_oss.value.strip() or None,
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
            "region": self.region.value,
        }

    def _problem(self, text: str) -> None:
        self.bundle, self.last_findings = None, []
        self.findings.value = f"<p style='color:#b00020'>{html.escape(text)}</p>"
        self.preview.value = ""

    def refresh(self) -> None:
        """Rebuild the config from the fields and lint it."""
        if not self.image.value.strip():
            self._problem(f"Enter the container image ({IMAGE_HINT}).")
            return
        try:
            self.bundle = build_config(
                **self.kwargs(), store=self.store, catalog=self.catalog, check=False
            )
        except ConfigError as exc:
            self._problem(str(exc))
            return
        self.last_findings = lint(
            self.bundle, self.store, self.requirements(), catalog=self.catalog
        )
        self.findings.value = findings_html(self.last_findings)
        shown = json.dumps(mask_secrets(dump(self.bundle.service)), indent=2, ensure_ascii=False)
        self.preview.value = f"<pre style='white-space:pre-wrap'>{html.escape(shown)}</pre>"

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
