"""spotlab.domain: one home per domain fact, and its three renderings agree."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotlab import domain
from spotlab.errors import AnalysisError

PACKAGE = Path(domain.__file__).resolve().parent

ZONES = {
    "cn-hangzhou-h": "cn-hangzhou",
    "cn-shanghai-l": "cn-shanghai",
    "us-east-1a": "us-east-1",
    "eu-west-3c": "eu-west-3",
    "us-central1-a": "us-central1",
    "us-central1": "us-central1",  # GCP prices per region: zone = region
    "use1-az4": "use1-az4",  # an AWS AZ id is not a zone name: left as it is
    "": "",
}
SPECS = {
    "ecs.gn7i-c8g1.2xlarge": "ecs.gn7i",
    "ml.gu7i.c8m30.1-gu30": "ml.gu7i",
    "ecs.gn8is-8x.32xlarge": "ecs.gn8is",
    "p3.2xlarge": "p3",
    "g4dn.xlarge": "g4dn",
    "a2-highgpu-1g": "a2-highgpu",
    "a3-megagpu-8g": "a3-megagpu",
    "g2-standard-4": "g2-standard",
}


def _sql(fn: str, values: list[str]) -> list[str]:
    con = duckdb.connect()
    frame = pl.DataFrame({"v": values})  # noqa: F841 (read by the query below)
    rendered = getattr(domain, fn)("v")
    return [r[0] for r in con.execute(f"SELECT {rendered} FROM frame").fetchall()]


def _expr(fn: str, values: list[str]) -> list[str]:
    frame = pl.DataFrame({"v": values})
    return frame.select(getattr(domain, fn)(pl.col("v")))["v"].to_list()


@pytest.mark.parametrize(("zone", "region"), ZONES.items())
def test_region_of_zone_examples(zone: str, region: str) -> None:
    assert domain.region_of_zone(zone) == region
    assert _sql("region_of_zone_sql", [zone]) == [region]
    assert _expr("region_of_zone_expr", [zone]) == [region]


@pytest.mark.parametrize(("spec", "family"), SPECS.items())
def test_family_of_spec_examples(spec: str, family: str) -> None:
    assert domain.family_of_spec(spec) == family
    assert _sql("family_of_spec_sql", [spec]) == [family]
    assert _expr("family_of_spec_expr", [spec]) == [family]


NAME = st.text(alphabet="abcegilmnpsuxz0123456789-.", min_size=0, max_size=24)


@settings(deadline=None)
@given(st.lists(NAME, min_size=1, max_size=30))
def test_three_renderings_agree(names: list[str]) -> None:
    assert _sql("region_of_zone_sql", names) == [domain.region_of_zone(n) for n in names]
    assert _expr("region_of_zone_expr", names) == [domain.region_of_zone(n) for n in names]
    assert _sql("family_of_spec_sql", names) == [domain.family_of_spec(n) for n in names]
    assert _expr("family_of_spec_expr", names) == [domain.family_of_spec(n) for n in names]


@settings(deadline=None)
@given(st.floats(min_value=1e-4, max_value=1e4, allow_nan=False))
def test_bid_rounds_up_to_the_next_tick(value: float) -> None:
    bid = domain.round_bid_up(value)
    tick = domain.price_tick(value)
    assert bid >= value - 1e-7 * tick  # never below the level it came from
    assert bid - value < tick * (1 + 1e-6)  # and the least such step
    steps = bid / tick
    assert abs(steps - round(steps)) < 1e-6
    expr = pl.DataFrame({"v": [value]}).select(domain.round_bid_up_expr(pl.col("v"), pl.lit(tick)))[
        "v"
    ][0]
    assert expr == pytest.approx(bid, abs=1e-9)


def test_bid_rounding_examples() -> None:
    # the README's t3a.medium case: 0.0425 must not print as 0.042 (below the market)
    assert domain.round_bid_up(0.0425) == 0.043
    assert domain.round_bid_up(2.88) == 2.88
    assert domain.round_bid_up(6.851) == 6.86
    assert domain.round_bid_up(1.0) == 1.0
    assert domain.round_bid_up(0.9991) == 1.0
    with pytest.raises(AnalysisError, match="finite"):
        domain.round_bid_up(math.inf)
    with pytest.raises(AnalysisError, match="tick"):
        domain.round_bid_up(1.0, 0.0)


def test_month_and_leads() -> None:
    assert domain.HOURS_PER_MONTH == 365 * 24 / 12
    assert domain.DAYS_PER_MONTH * 24 == domain.HOURS_PER_MONTH
    assert domain.warning_lead_seconds("Alibaba") == 300.0
    assert domain.warning_lead_seconds("aws") == 120.0
    with pytest.raises(AnalysisError, match="Did you mean 'alibaba'"):
        domain.warning_lead_seconds("alibab")
    assert domain.rule20_bid(14.4) == pytest.approx(2.88)


# A domain fact written as a literal outside spotlab/domain.py is a second home for it.
MONTH_LITERALS = {730, 720, 30.4, 30.42, 30.44}


def _second_homes(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if node.value in MONTH_LITERALS:
                out.append((node.lineno, "a month: use domain.HOURS_PER_MONTH / DAYS_PER_MONTH"))
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if "alibaba" in keys and any(
                isinstance(v, ast.Constant) and v.value in (300, 300.0) for v in node.values
            ):
                out.append((node.lineno, "reclaim warnings: use domain.WARNING_LEAD_SECONDS"))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name) and re.search(r"(RULE|BID)_FRACTION|HOURS_PER", t.id):
                    out.append((node.lineno, f"{t.id}: import it from spotlab.domain"))
    return out


def test_no_second_home_for_a_domain_fact() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {why}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "domain.py"
        for line, why in _second_homes(ast.parse(path.read_text()))
    ]
    assert not found, "\n".join(found)


def test_the_second_home_check_can_fail() -> None:
    code = "H = 730.0\nLEADS = {'alibaba': 300.0}\nSEED_BID_FRACTION = 0.2\n"
    assert sorted(line for line, _ in _second_homes(ast.parse(code))) == [1, 2, 3]
