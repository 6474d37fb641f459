"""AWS spot price history as boto3/pandas CSV and as AWS CLI text: sniffed, every row
accounted for, products kept apart as the JSON and TSV readers keep them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spotlab as sl
from spotlab.ingest import sniff_format
from tests.conftest import accounted, ingest_counts, reject_reasons

AWS = Path(__file__).resolve().parent / "fixtures" / "aws"


@pytest.mark.parametrize(
    ("name", "fmt", "counts"),
    [
        # index column; rows 4 (Windows) and 6 (RHEL) are other products; the VPC form is Linux
        ("describe_spot_price_history_boto3_pandas.csv", "aws-spot-csv", (5, 3, 0, 2)),
        # no index column; one SUSE row
        ("describe_spot_price_history_boto3_pandas_noindex.csv", "aws-spot-csv", (3, 2, 0, 1)),
        # a line with an AZ id (7 fields), a Windows line, a line without its time; NEXTTOKEN
        ("describe_spot_price_history_cli.txt", "aws-spot-text", (4, 2, 0, 2)),
    ],
)
def test_exports_sniffed_and_accounted(
    store: sl.Store, name: str, fmt: str, counts: tuple[int, int, int, int]
) -> None:
    path = AWS / name
    assert sniff_format(path).name == fmt
    r = sl.ingest(store, path)[0]
    assert (r.format, ingest_counts(r)) == (fmt, counts) and accounted(r)


def test_products_stay_apart_with_a_reason_saying_how_to_load_them(store: sl.Store) -> None:
    r = sl.ingest(store, AWS / "describe_spot_price_history_boto3_pandas.csv")[0]
    reasons = reject_reasons(store, r.source_id)
    assert sorted(reasons) == [4, 6]
    assert reasons[4].startswith("product 'Windows' not loaded")
    assert "product='Windows'" in reasons[4] and "--db" in reasons[4]
    assert "Red Hat Enterprise Linux" in reasons[6]
    rows = store.query(
        "SELECT zone, ts::VARCHAR AS ts, spot_price, currency FROM spot_prices ORDER BY zone, ts"
    ).rows()
    assert rows == [
        ("us-east-1a", "2024-05-01 10:00:00+00", 0.44, "USD"),
        ("us-east-1a", "2024-05-01 12:00:00+00", 0.4512, "USD"),
        ("us-east-1b", "2024-05-01 11:30:00+00", 0.462, "USD"),
    ]
    assert set(store.query("SELECT region FROM spot_prices")["region"]) == {"us-east-1"}


def test_another_product_loads_on_its_own(store: sl.Store) -> None:
    r = sl.ingest(store, AWS / "describe_spot_price_history_boto3_pandas.csv", product="Windows")
    assert ingest_counts(r[0]) == (5, 1, 0, 4)
    assert store.query("SELECT spot_price FROM spot_prices")["spot_price"].to_list() == [0.94]


def test_cli_text_lines_and_notes(store: sl.Store) -> None:
    r = sl.ingest(store, AWS / "describe_spot_price_history_cli.txt")[0]
    assert r.notes == ["line 5 is a NEXTTOKEN: AWS has more pages that are not in this file"]
    reasons = reject_reasons(store, r.source_id)
    assert reasons[3].startswith("product 'Windows' not loaded")
    assert reasons[4].startswith("expected SPOTPRICEHISTORY and 5 tab-separated fields")
    zones = store.query("SELECT zone FROM spot_prices ORDER BY zone")["zone"].to_list()
    assert zones == ["us-east-1a", "us-east-1b"]  # the AZ name, as the JSON of the call


def test_cli_text_other_lines_are_rejects(tmp_path: Path, store: sl.Store) -> None:
    path = tmp_path / "out.txt"
    path.write_text(
        "SPOTPRICEHISTORY\tus-west-2a\tp3.2xlarge\tLinux/UNIX\t0.9180\t2024-05-02T00:00:00.000Z\n"
        "\nRESERVATIONS\t123\n"
    )
    r = sl.ingest(store, path)[0]
    assert ingest_counts(r) == (2, 1, 0, 1)
    assert reject_reasons(store)[3] == "not a SPOTPRICEHISTORY line (starts with 'RESERVATIONS')"


_PRODUCTS = st.sampled_from(["Linux/UNIX", "Linux/UNIX (Amazon VPC)", "Windows", "SUSE Linux"])
_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["us-east-1a", "us-east-1b", "eu-west-1c"]),
        st.sampled_from(["g5.xlarge", "p3.2xlarge"]),
        _PRODUCTS,
        st.integers(1, 10**6),
        st.integers(0, 10**6),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_ROWS, index=st.booleans())
def test_csv_and_text_agree_and_account_for_every_row(
    tmp_path: Path, rows: list[tuple[str, str, str, int, int]], index: bool
) -> None:
    """The same rows as CSV and as CLI text load the same prices; Linux rows (one per key)
    load or are duplicates, the others are rejects: read = loaded + duplicate + rejected."""
    csv, txt = tmp_path / "h.csv", tmp_path / "h.txt"
    head = (
        "," if index else ""
    ) + "AvailabilityZone,InstanceType,ProductDescription,SpotPrice,Timestamp"
    lines, text = [head], []
    for i, (zone, spec, product, price, minute) in enumerate(rows):
        day, hour, mins = 1 + minute // 1440 % 28, minute // 60 % 24, minute % 60
        t_csv = f"2024-01-{day:02d} {hour:02d}:{mins:02d}:00+00:00"
        t_txt = t_csv.replace(" ", "T").replace("+00:00", ".000Z")
        lines.append(
            (f"{i}," if index else "") + f"{zone},{spec},{product},{price / 10**4:.4f},{t_csv}"
        )
        text.append(f"SPOTPRICEHISTORY\t{zone}\t{spec}\t{product}\t{price / 10**4:.6f}\t{t_txt}")
    csv.write_text("\n".join(lines) + "\n")
    txt.write_text("\n".join(text) + "\n")
    results = []
    for path in (csv, txt):
        store = sl.Store(":memory:")
        r = sl.ingest(store, path)[0]
        assert accounted(r)
        results.append(
            (
                ingest_counts(r),
                store.query(
                    "SELECT zone, spec, ts, spot_price FROM spot_prices ORDER BY ALL"
                ).rows(),
            )
        )
        store.close()
    assert results[0] == results[1]
    linux = [r for r in rows if r[2].startswith("Linux")]
    assert results[0][0][3] == len(rows) - len(linux)
