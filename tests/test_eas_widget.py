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
        f = ConfigForm(s, out_dir=tmp_path / "deploy")
        f.image.value = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/ns/app:1.0"
        yield f


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
    form.overwrite.value = True  # the user confirms
    assert form.export() is not None


def test_no_placeholder_image_is_built(tmp_path: Path) -> None:
    with Store(":memory:") as s:
        ingest(s, FIX / "eas_config_specs_catalog.csv")
        form = ConfigForm(s, out_dir=tmp_path / "deploy")
        assert form.image.value == "" and form.bundle is None
        assert "Enter the container image" in form.findings.value
        assert form.export() is None and not (tmp_path / "deploy").exists()
        form.image.value = "not a valid image ref!!"
        assert "image-invalid" in {f.rule for f in form.last_findings}


def test_defaults_come_from_the_eas_catalog_of_the_region(tmp_path: Path) -> None:
    with Store(":memory:") as s:
        # a store that also holds GCP machine types (USD): the form must not offer them
        ingest(s, [FIX / "gcp_changepoints_excerpt.csv", FIX / "eas_config_specs_catalog.csv",
                   FIX / "eas_config_spot_prices.csv"])  # fmt: skip
        form = ConfigForm(s, out_dir=tmp_path / "deploy")
        form.image.value = "myacr-registry-vpc.cn-hangzhou.cr.aliyuncs.com/ns/app:1.0"
        assert form.region.value == "cn-hangzhou" and form.region.options == ("cn-hangzhou",)
        offered = set(form.spot_specs.options)
        assert offered and all(spec.startswith(("ecs.", "ml.")) for spec in offered)
        assert {"a2-highgpu-1g", "g2-standard-4"}.isdisjoint(offered)
        # the two cheapest GPU specs on demand, of two families (fixture prices, CNY/h)
        assert form.spot_specs.value == ("ml.gu7i.c8m30.1-gu30", "ecs.gn7i-c8g1.2xlarge")
        assert {i.currency for i in form.catalog.values()} == {"CNY"}
        assert not errors_of(form)


def errors_of(form: ConfigForm) -> list[str]:
    return [f.rule for f in form.last_findings if f.severity == "error"]


def test_fields_and_findings_are_not_clipped(form: ConfigForm) -> None:
    form.port.value = 8080
    html = form.findings.value
    assert "overflow-wrap:anywhere" in html and "white-space:normal" in html
    for field in (form.name, form.image, form.spot_specs, form.regular, form.findings):
        assert field.layout.width == "100%"
    assert form.layout.max_width == "760px"


def test_findings_html_escapes() -> None:
    assert "No findings" in findings_html([])
