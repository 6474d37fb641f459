"""Issue #12, point 6: every reader declares its options; unknown options fail with a
suggestion and bad values fail naming the option, before any file is read."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

import spotlab as sl
from spotlab.ingest import READERS, TARGETS
from spotlab.ingest.core import reader_options
from spotlab.ingest.options import Option


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_reader_declares_the_options_its_read_takes(name: str) -> None:
    reader = READERS[name]
    params = inspect.signature(reader.read).parameters
    kinds = {p.kind for p in params.values()}
    assert inspect.Parameter.VAR_KEYWORD not in kinds, f"{name}.read takes **kwargs"
    assert [p for p in params if p != "path"] == [o.name for o in reader.options]
    for opt in reader_options(reader):
        assert isinstance(opt, Option) and opt.help
        if opt.default is not None:
            assert opt.parse(opt.default) == opt.default  # a default passes its own check


def test_an_unknown_option_suggests_the_right_one(cli, tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("provider,zone,spec,ts,spot_price\naws,us-east-1a,p3,2024-04-10T00:00:00Z,1\n")
    code, out, err = cli("ingest", f, "-o", "curency=USD")
    assert code == 2 and out == ""
    assert err.startswith("error: unknown option -o curency for canonical-csv. Did you mean "
                          "'currency'?; expected: options of canonical-csv: currency, map, "
                          "max_spot_over_on_demand, provider")  # fmt: skip
    code, out, _ = cli("sources", "--json")
    assert json.loads(out) == []  # nothing was loaded


def test_nothing_is_read_before_options_are_checked(cli, fixtures: Path) -> None:
    """A folder of several formats: an option one of them takes is fine; one none takes
    fails before the first file is loaded."""
    files = [fixtures / "specs_catalog.csv", fixtures / "aws_spot_prices.tsv"]
    code, _, err = cli("ingest", *files, "-o", "prodct=Windows")
    assert code == 2 and "Did you mean 'product'?" in err
    code, out, _ = cli("sources", "--json")
    assert json.loads(out) == []
    code, out, _ = cli("ingest", "--json", *files, "-o", "product=Windows")
    assert code == 0 and [r["format"] for r in json.loads(out)] == ["specs-csv", "aws-spot-tsv"]


def test_map_is_an_option_of_the_readers_that_take_it(cli, fixtures: Path) -> None:
    code, _, err = cli("ingest", fixtures / "aws_describe_spot_price_history.json",
                       "--map", "a=b")  # fmt: skip
    assert code == 2 and "unknown option --map for aws-spot-history" in err


@pytest.mark.parametrize(
    ("fixture", "option", "message"),
    [
        ("gcp_changepoints_excerpt.csv", "gpu_only=maybe",
         "option gpu_only=maybe is not valid: expected true or false"),
        ("canonical_mapped.csv", "max_spot_over_on_demand=0.5",
         "option max_spot_over_on_demand=0.5 is not valid: expected a finite number >= 1 and "
         "<= 1e+06"),
        ("canonical_mapped.csv", "max_spot_over_on_demand=nan", "expected a finite number"),
        ("eas_spot_discount_history.json", "currency=USX",
         "option currency=USX is not valid: expected an ISO 4217 code"),
        ("aws-spot-instances-p2-xlarge-us-east-1e-2020-11-23-1700-to-2020-11-24-0700.csv",
         "time_unit=sec", "option time_unit=sec is not valid: expected one of s, h."),
        ("events_parcae_p3trace.csv", "start=noon",
         "option start=noon is not valid: expected an ISO 8601 time"),
        ("events_parcae_p3trace.csv", "spec=", "option spec= is not valid: expected a non-empty"),
    ],
)  # fmt: skip
def test_option_values_are_checked_naming_the_option(
    cli, fixtures: Path, fixture: str, option: str, message: str
) -> None:
    code, _, err = cli("ingest", fixtures / fixture, "-o", option)
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_options_reach_the_reader_typed(store: sl.Store, fixtures: Path) -> None:
    (r,) = sl.ingest(store, fixtures / "gcp_changepoints_excerpt.csv", gpu_only="yes")
    assert r.options == '{"gpu_only":true}'
    assert TARGETS["prices"].options[0].name == "max_spot_over_on_demand"
