"""What the library reads at run time ships inside the package (``make wheel-smoke`` installs
the built wheel and runs the CLI from it); a missing catalog is an error, never ``{}``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import spotlab as sl
from spotlab import bundled, resources
from spotlab.advise import coldstart
from spotlab.eas import facts
from spotlab.eas.lint import lint
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "spotlab" / "resources"
MISSPELLED = {
    "metadata": {"name": "x", "instance": 1},
    "cloud": {"computing": {"instances": [{"type": "ecs.gn8is-8x.32large"}]}},
}


@pytest.mark.parametrize("name", resources.NAMES)
def test_packaged_copy_is_the_bundled_sample(name: str) -> None:
    # data/ holds the sample `make load` ingests; the package holds what the library reads
    assert (PACKAGED / name).read_bytes() == (ROOT / "data" / name).read_bytes(), (
        f"spotlab/resources/{name} differs from data/{name}: copy data/{name} over it"
    )


def test_the_library_reads_the_package_not_the_repository() -> None:
    for module in (facts, coldstart):
        text = Path(module.__file__ or "").read_text()
        assert '"data"' not in text and "parents[2]" not in text, module.__name__
    with resources.resource_path(resources.SPECS_CATALOG) as path:
        assert path.parent == PACKAGED


def test_a_missing_catalog_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources.resources, "files", lambda _pkg: tmp_path)
    facts.bundled_catalog.cache_clear()
    coldstart._cached_seed_fits.cache_clear()
    try:
        with pytest.raises(resources.MissingResourceError, match=r"specs_catalog\.csv is missing"):
            lint(MISSPELLED)
        with pytest.raises(sl.SpotlabError, match=r"seed_load_times\.csv is missing"):
            sl.coldstart_saving(7.2)
        (tmp_path / resources.SPECS_CATALOG).write_text(
            "provider,region,spec,vcpu,memory_gib,gpu_model,gpu_count,gpu_memory_gib,"
            "on_demand_price,currency,price_is_estimate\n"
        )
        with pytest.raises(sl.SpotlabError, match="holds no rows"):  # not an empty catalog
            lint(MISSPELLED)
    finally:
        facts.bundled_catalog.cache_clear()
        coldstart._cached_seed_fits.cache_clear()
    with (
        pytest.raises(resources.MissingResourceError, match="not a spotlab resource"),
        resources.resource_path("../pyproject.toml"),
    ):
        pass


def test_the_packaged_catalog_catches_a_misspelled_spec() -> None:
    found = [f for f in lint(MISSPELLED) if f.rule == "unknown-spec"]
    assert "Did you mean 'ecs.gn8is-8x.32xlarge'" in found[0].message


def test_an_unknown_region_is_an_error_not_an_empty_catalog() -> None:
    with pytest.raises(sl.ConfigError, match="Did you mean 'cn-hangzhou'"):
        lint({"metadata": {"name": "x", "instance": 1}}, requirements={"region": "cn-hangzou"})


def test_what_a_wheel_ships_is_what_bundled_reads() -> None:
    import tomllib

    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    force = doc["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force == {s: f"spotlab/_bundled/{s}" for s in bundled.SHIPPED}
    for s in bundled.SHIPPED:
        assert (ROOT / s).exists(), s


def test_bundled_prefers_the_installed_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a checkout has no spotlab/_bundled: the repository's folders are read where they are
    assert bundled.bundled("notebooks") == ROOT / "notebooks"
    assert bundled.bundled("data/specs_catalog.csv").is_file()
    installed = tmp_path / "_bundled"
    monkeypatch.setattr(bundled, "PACKAGED", installed)
    assert bundled.bundled("examples/events") == ROOT / "examples" / "events"  # not there yet
    installed.mkdir()
    assert bundled.bundled("examples/events") == installed / "examples" / "events"
    with pytest.raises(bundled.NotBundledError, match="not shipped with spotlab"):
        bundled.bundled("tests/fixtures")
    with pytest.raises(bundled.NotBundledError):
        bundled.bundled("benchmarks/fleet.py")  # only the results file ships


def test_ingest_sample_loads_what_ships(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "--db", ":memory:", "ingest", "--sample")
    assert code == 0, err
    assert "specs_catalog.csv" in out and "traffic_sample.csv" in out
    code, _out, err = run_cli(monkeypatch, capsys, "--db", ":memory:", "ingest")
    assert code == 2 and "give the files or folders to load (or --sample)" in err
