"""The config form: its fields drive build_config and lint, and Export writes the files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from spotlab import Store
from spotlab.ingest import ingest
from spotlab.widgets.config import ConfigForm, findings_html

FIX = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def form(tmp_path: Path) -> Iterator[ConfigForm]:
    with Store(":memory:") as s:
        ingest(s, [FIX / "eas_config_specs_catalog.csv", FIX / "eas_config_spot_prices.csv"])
        yield ConfigForm(s, out_dir=tmp_path / "deploy")


def test_findings_follow_the_fields(form: ConfigForm) -> None:
    form.spot_specs.value = ("ecs.gn8is.2xlarge",)
    assert "single-spot-spec" in {f.rule for f in form.last_findings}
    form.port.value = 8080
    assert "reserved-port" in {f.rule for f in form.last_findings}
    assert "reserved-port" in form.findings.value
    assert form.export() is None and "Fix the errors" in form.status.value
    form.port.value = 8000
    form.spot_specs.value = ("ecs.gn8is.2xlarge", "ecs.gn7i-c8g1.2xlarge")
    assert not [f for f in form.last_findings if f.severity == "error"]


def test_export_button_writes_clean_files(form: ConfigForm, tmp_path: Path) -> None:
    form.spot_specs.value = ("ecs.gn8is.2xlarge", "ecs.gn7i-c8g1.2xlarge")
    form.auto_min.value, form.auto_max.value = 1, 4
    result = form.export()
    assert result is not None and "Wrote" in form.status.value
    service = json.loads((tmp_path / "deploy" / "service.json").read_text())
    assert service["cloud"]["computing"]["instances"][-1] == {"type": "ecs.gn7i-c8g1.2xlarge"}
    assert json.loads((tmp_path / "deploy" / "autoscaler.json").read_text())["max"] == 4
    assert form.export() is None and "already exist" in form.status.value


def test_findings_html_escapes() -> None:
    assert "No findings" in findings_html([])
