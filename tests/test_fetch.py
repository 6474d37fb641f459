"""spotlab fetch: the real SDKs against a local replay server (spotlab/replay).

The server runs in a thread of the test process on 127.0.0.1 (ephemeral port) and replays
responses constructed from the documented shapes (spotlab/replay/responses/README.md); every
test points the SDKs at it explicitly and checks that the server saw the requests.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import spotlab as sl
from spotlab.errors import FetchError, SpotlabError
from spotlab.fetch import Retry
from spotlab.replay import SCENARIOS, ReplayServer
from tests.conftest import BUNDLED

ALI_ID = "LTAI-test-access-key-id"
ALI_SECRET = "ali-TEST-SECRET-must-never-appear-0f3c"
AWS_ID = "AKIATESTACCESSKEYID0"
AWS_SECRET = "aws-TEST-SECRET-must-never-appear-9b1d"
SPEC = "ecs.gn8is.2xlarge"
REGION = "cn-hangzhou"


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials through the standard chains only; nothing else can answer (no
    profile files, no instance metadata service)."""
    from alibabacloud_credentials.utils import auth_util

    # the Alibaba chain reads its environment when imported: set what it read
    monkeypatch.setattr(auth_util, "environment_access_key_id", ALI_ID)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", ALI_SECRET)
    monkeypatch.setattr(auth_util, "environment_security_token", None)
    monkeypatch.setattr(auth_util, "environment_ecs_metadata_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_cli_profile_disabled", "true")
    monkeypatch.setattr(auth_util, "environment_credentials_file", str(tmp_path / "none.ini"))
    for k in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_PROFILE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("SPOTLAB_FETCH_ENDPOINT", raising=False)


@pytest.fixture
def replay(creds: None) -> Iterator[Callable[[str], ReplayServer]]:
    servers: list[ReplayServer] = []

    def start(scenario: str) -> ReplayServer:
        server = ReplayServer(SCENARIOS[scenario]()).__enter__()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.__exit__(None, None, None)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sl.Store]:
    store = sl.Store(tmp_path / "my.duckdb")
    sl.ingest(store, BUNDLED / "specs_catalog.csv")
    yield store
    store.close()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def run(
    store: sl.Store, server: ReplayServer, source: str = "alibaba-spot-prices", **kw: Any
) -> sl.FetchResult:
    kw.setdefault("region", REGION if not source.startswith("aws") else "us-east-1")
    kw.setdefault("sleep", Sleeps())
    return sl.fetch(store, source, endpoint=server.url, **kw)


def state(store: sl.Store) -> tuple[int, ...]:
    """Row counts of the tables a fetch writes: equal before and after a failed fetch."""
    tables = (
        "sources",
        "rejects",
        "spot_prices",
        "specs",
        "interruption_bands",
        "spec_stock",
        "spot_placement_scores",
    )
    return tuple(int(store.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in tables)


def prices(store: sl.Store) -> list[tuple[Any, ...]]:
    return store.query(
        "SELECT zone, spot_price, on_demand_price, currency FROM spot_prices ORDER BY zone, ts"
    ).rows()


# -- Alibaba spot prices: paging, raw pages, incremental, nothing new ----------------------


def test_spot_prices_page_to_the_end_through_the_sdk(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba")
    result = run(db, server, specs=[SPEC])
    calls = server.calls("alibaba:DescribeSpotPriceHistory")
    assert [c["params"].get("Offset") for c in calls] == [None, "3"]
    p = calls[0]["params"]
    assert (p["RegionId"], p["InstanceType"], p["NetworkType"], p["OSType"]) == (
        REGION,
        SPEC,
        "vpc",
        "linux",
    )
    assert "ZoneId" not in p  # every zone of the region
    # signed by the SDK with the key the chain found (the secret itself never travels)
    assert ALI_ID in calls[0]["headers"]["Authorization"]
    s = result.summary()
    assert (s["pages_fetched"], s["rows_read"], s["rows_loaded"], s["rows_rejected"]) == (
        2,
        5,
        5,
        0,
    )
    assert prices(db) == [
        ("cn-hangzhou-j", 1.87, 14.4, "CNY"),
        ("cn-hangzhou-j", 2.16, 14.4, "CNY"),
        ("cn-hangzhou-k", 1.44, 14.4, "CNY"),
        ("cn-hangzhou-k", 1.73, 14.4, "CNY"),
        ("cn-hangzhou-k", 1.58, 14.4, "CNY"),
    ]
    # pages in the raw dir, beside the database, in the reader's format
    runs = list((Path(db.path).with_name("my.raw") / "alibaba-spot-prices" / REGION).glob("*/*"))
    assert len(runs) == 1
    pages = sorted(p.name for p in runs[0].iterdir())
    assert pages == ["complete", "ingested", "page-0001.json", "page-0002.json", "request.json"]
    again = sl.ingest(sl.Store(":memory:"), runs[0] / "page-0001.json")[0]
    assert (again.format, again.rows_loaded) == ("alibaba-spot-history", 3)
    rows = db.query(
        "SELECT rows_read, rows_loaded, rows_duplicate, rows_rejected FROM sources "
        "WHERE format = 'alibaba-spot-history'"
    ).rows()
    assert rows == [(3, 3, 0, 0), (2, 2, 0, 0)]


def test_refetch_loads_nothing_new_and_starts_at_the_newest_point(
    db: sl.Store, replay: Any
) -> None:
    server = replay("alibaba")
    run(db, server, specs=[SPEC])
    before = state(db)
    second = run(db, server, specs=[SPEC]).summary()
    assert (second["rows_loaded"], second["pages_already_loaded"]) == (0, 2)
    assert state(db) == before
    # incremental: from the oldest of the zones' newest points (zone j's, 8 days back)
    newest = db.query(
        "SELECT min(t) AS t FROM (SELECT max(ts) AS t FROM spot_prices GROUP BY zone)"
    )["t"][0]
    start = server.calls("alibaba:DescribeSpotPriceHistory")[2]["params"]["StartTime"]
    assert start == newest.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_since_sets_the_start_and_long_spans_are_cut_into_30_day_windows(
    db: sl.Store, replay: Any
) -> None:
    server = replay("alibaba")
    result = run(db, server, specs=[SPEC], since="45d")
    starts = [
        c["params"]["StartTime"]
        for c in server.calls("alibaba:DescribeSpotPriceHistory")
        if "Offset" not in c["params"]
    ]
    assert result.calls == 2 and len(starts) == 2
    # the replay answers the second window with the same pages: already loaded, nothing new
    assert (result.rows_loaded, result.summary()["pages_already_loaded"]) == (5, 2)


# -- failures: one error line, database unchanged, pages kept ------------------------------


def test_throttled_then_success_backs_off_and_loads(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba-throttled-twice")
    sleeps = Sleeps()
    result = run(db, server, specs=[SPEC], sleep=sleeps)
    assert sleeps == [1.0, 2.0]  # exponential, injectable
    assert result.rows_loaded == 5
    assert len(server.calls("alibaba:DescribeSpotPriceHistory")) == 4


def test_throttled_for_good_is_one_error_after_bounded_retries(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba-throttled")
    before, sleeps = state(db), Sleeps()
    with pytest.raises(FetchError) as err:
        run(db, server, specs=[SPEC], sleep=sleeps, retry=Retry(attempts=4, base_seconds=0.5))
    e = err.value
    assert (e.reason, e.source, e.region) == ("throttled", "alibaba-spot-prices", REGION)
    text = str(e)
    assert text.startswith("alibaba-spot-prices (cn-hangzhou): throttled (Throttling.User)")
    assert "after 4 attempts" in text and "run the same command again" in text
    assert "the database is unchanged" in text and "\n" not in text
    assert sleeps == [0.5, 1.0, 2.0]
    assert state(db) == before


def test_denied_names_the_permission_and_is_not_retried(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba-denied")
    before = state(db)
    with pytest.raises(FetchError) as err:
        run(db, server, specs=[SPEC])
    assert err.value.reason == "denied"
    assert "access denied (Forbidden.RAM)" in str(err.value)
    assert "grant the RAM user or role the permission ecs:DescribeSpotPriceHistory" in str(
        err.value
    )
    assert len(server.calls("alibaba:DescribeSpotPriceHistory")) == 1
    assert state(db) == before


def test_a_page_failing_midway_keeps_the_pages_and_a_rerun_resumes(
    db: sl.Store, replay: Any
) -> None:
    failing = replay("alibaba-midway")
    before = state(db)
    with pytest.raises(FetchError) as err:
        run(db, failing, specs=[SPEC], retry=Retry(attempts=2))
    assert err.value.reason == "server"
    assert "on page 2" in str(err.value) and "1 page(s) fetched so far are kept" in str(err.value)
    assert state(db) == before
    good = replay("alibaba")
    result = run(db, good, specs=[SPEC])
    assert (result.pages_reused, result.pages_fetched, result.rows_loaded) == (1, 1, 5)
    # the rerun asked only for the missing page, with the first run's own window
    calls = good.calls("alibaba:DescribeSpotPriceHistory")
    assert [c["params"].get("Offset") for c in calls] == ["3"]
    first = failing.calls("alibaba:DescribeSpotPriceHistory")[0]["params"]
    assert calls[0]["params"]["EndTime"] == first["EndTime"]


def test_truncated_body_is_retried_then_an_error_and_not_kept(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba-truncated")
    before = state(db)
    with pytest.raises(FetchError) as err:
        run(db, server, specs=[SPEC], retry=Retry(attempts=2))
    assert err.value.reason == "truncated"
    assert "unreadable response" in str(err.value)
    assert len(server.calls("alibaba:DescribeSpotPriceHistory")) == 2
    assert state(db) == before
    raw = Path(db.path).with_name("my.raw")
    assert not list(raw.rglob("page-*.json")) and not list(raw.rglob("*.tmp"))


def test_unexpected_shape_is_an_error_naming_the_json_path(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba-shape")
    before = state(db)
    with pytest.raises(FetchError) as err:
        run(db, server, specs=[SPEC])
    assert err.value.reason == "bad-response"
    assert "SpotPrices" in str(err.value)
    assert state(db) == before


def test_network_down_is_retried_then_an_error(db: sl.Store, creds: None) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(FetchError) as err:
        sl.fetch(
            db,
            "alibaba-spot-prices",
            region=REGION,
            specs=[SPEC],
            endpoint=f"http://127.0.0.1:{port}",
            sleep=sleeps,
            retry=Retry(attempts=3),
        )
    assert err.value.reason == "network" and len(sleeps) == 2
    assert "check the network" in str(err.value)


def test_no_credentials_is_said_before_any_request(
    db: sl.Store, replay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alibabacloud_credentials.utils import auth_util

    monkeypatch.setattr(auth_util, "environment_access_key_id", None)
    monkeypatch.setattr(auth_util, "environment_access_key_secret", None)
    server = replay("alibaba")
    with pytest.raises(FetchError) as err:
        run(db, server, specs=[SPEC])
    assert err.value.reason == "no-credentials"
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in str(err.value) and "--profile" in str(err.value)
    assert server.requests == []


def test_an_unknown_profile_is_no_credentials(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba")
    with pytest.raises(FetchError) as err:
        run(db, server, specs=[SPEC], profile="no-such-profile")
    assert err.value.reason == "no-credentials" and server.requests == []


def test_bad_arguments_fail_loud(db: sl.Store, creds: None) -> None:
    with pytest.raises(SpotlabError, match="Did you mean 'alibaba-spot-prices'"):
        sl.fetch(db, "alibaba-spot-price", region=REGION)
    with pytest.raises(FetchError, match="--region is required"):
        sl.fetch(db, "alibaba-spot-prices")
    with pytest.raises(SpotlabError, match="plain http is allowed only to this machine"):
        sl.fetch(db, "alibaba-spot-prices", region=REGION, endpoint="http://10.0.0.1:80")
    with pytest.raises(SpotlabError, match="--since"):
        sl.fetch(
            db,
            "alibaba-spot-prices",
            region=REGION,
            since="yesterday",
            endpoint="http://127.0.0.1:9",
        )


# -- the other Alibaba and EAS sources ------------------------------------------------------


def test_alibaba_prices_replace_estimates_and_keep_the_hardware(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba")
    q = (
        "SELECT on_demand_price, currency, price_is_estimate, vcpu, gpu_model, gpu_count "
        "FROM specs WHERE spec = ?"
    )
    assert db.query(q, ["ecs.gn8is.4xlarge"]).rows() == [(17.28, "CNY", True, 16, "L20", 1)]
    # an EAS discount is priced with the catalog's estimate, 0.1 × 17.28 ...
    run(db, server, "eas-spot-discounts", specs=["ecs.gn8is.4xlarge"])
    spot = "SELECT spot_price, discount, on_demand_price, catalog_filled FROM spot_prices "
    spot += "WHERE spec = 'ecs.gn8is.4xlarge'"
    assert db.query(spot).rows() == [(pytest.approx(1.728), 0.1, 17.28, "spot_price")]
    result = run(db, server, "alibaba-prices", specs=[SPEC, "ecs.gn8is.4xlarge"])
    # ... and re-priced with the quote, 0.1 × 18.78, when the quote replaces the estimate
    assert db.query(spot).rows() == [(pytest.approx(1.878), 0.1, 18.78, "spot_price")]
    assert any("re-priced 1 stored spot price rows" in n for r in result.results for n in r.notes)
    # gn8is.2xlarge already held the seed's 14.40: a duplicate; the estimate is replaced
    assert (result.rows_read, result.rows_loaded, result.rows_duplicate) == (2, 1, 1)
    assert db.query(q, ["ecs.gn8is.4xlarge"]).rows() == [(18.78, "CNY", False, 16, "L20", 1)]
    source = db.query(
        "SELECT s.format FROM specs c JOIN sources s USING (source_id) WHERE c.spec = ?",
        ["ecs.gn8is.4xlarge"],
    )["format"].to_list()
    assert source == ["alibaba-describe-price"]
    sent = server.calls("alibaba:DescribePrice")[1]["params"]
    assert (sent["ResourceType"], sent["PriceUnit"], sent["InstanceType"]) == (
        "instance",
        "Hour",
        "ecs.gn8is.4xlarge",
    )


def test_spot_advice_eas_discounts_and_specs(db: sl.Store, replay: Any) -> None:
    server = replay("alibaba")
    advice = run(db, server, "alibaba-spot-advice")
    assert advice.rows_loaded == 2
    bands = db.query(
        "SELECT zone, band_label, rate_pct, savings_pct FROM interruption_bands ORDER BY zone"
    ).rows()
    assert bands == [("cn-hangzhou-j", "3-5%", 4.0, 86.0), ("cn-hangzhou-k", "0-3%", 2.5, 88.0)]
    discounts = run(db, server, "eas-spot-discounts", specs=["ml.gu7i.c8m30.1-gu30"])
    assert discounts.rows_loaded == 2
    sent = server.calls("alibaba:DescribeSpotDiscountHistory")[0]["params"]
    assert sent == {
        "InstanceType": "ml.gu7i.c8m30.1-gu30",
        "IsProtect": "True",
    }  # as the SDK sends it
    # the price is the catalog's on-demand price times the discount
    got = db.query(
        "SELECT spot_price, discount FROM spot_prices WHERE spec = ? ORDER BY ts",
        ["ml.gu7i.c8m30.1-gu30"],
    ).rows()
    assert got == [(pytest.approx(0.8), 0.1), (pytest.approx(0.96), 0.12)]
    specs = run(db, server, "eas-specs")
    assert (specs.rows_read, specs.rows_loaded) == (3, 3)
    stock = db.query(
        "SELECT spec, stock_status, is_available, min_spot_discount FROM spec_stock ORDER BY spec"
    ).rows()
    assert stock[0] == ("ecs.g7.2xlarge", "NoStock", True, None)
    assert stock[1] == ("ecs.gn8is.2xlarge", "ClosedWithStock", True, 0.1)


# -- AWS ------------------------------------------------------------------------------------


def test_aws_sources(db: sl.Store, replay: Any) -> None:
    server = replay("aws")
    spot = run(db, server, "aws-spot-prices", specs=["g5.xlarge"])
    assert (spot.pages_fetched, spot.rows_loaded) == (2, 3)
    sent = [c["params"] for c in server.calls("ec2:DescribeSpotPriceHistory")]
    assert sent[0]["InstanceType.1"] == "g5.xlarge"
    assert sent[0]["ProductDescription.1"] == "Linux/UNIX" and "NextToken" not in sent[0]
    assert sent[1]["NextToken"] == "page-2-REPLAYSAMPLE"
    assert AWS_ID in server.calls("ec2:DescribeSpotPriceHistory")[0]["headers"]["Authorization"]
    page = next(Path(spot.raw_dir).rglob("page-0001.json"))
    assert json.loads(page.read_text())["SpotPriceHistory"][0]["Timestamp"].endswith(".000Z")
    # no --spec: the specs with stored AWS prices in the region
    prices_ = run(db, server, "aws-prices")
    assert prices_.rows_loaded == 1
    row = db.query(
        "SELECT on_demand_price, currency, price_is_estimate, vcpu, memory_gib, "
        "gpu_count FROM specs WHERE provider = 'aws'"
    ).rows()
    assert row == [(1.006, "USD", False, 4, 16.0, 1)]
    target = server.calls("pricing:GetProducts")[0]["headers"]["X-Amz-Target"]
    assert target == "AWSPriceListService.GetProducts"
    scores = run(db, server, "aws-placement-scores", specs=["g5.xlarge"])
    assert scores.rows_loaded == 2
    got = db.query(
        "SELECT zone, specs, target_capacity, score FROM spot_placement_scores ORDER BY zone"
    ).rows()
    assert got == [("use1-az1", "g5.xlarge", 1, 9), ("use1-az2", "g5.xlarge", 1, 6)]
    advisor = run(db, server, "aws-spot-advisor", region=None)
    assert advisor.rows_loaded == 2
    feed = server.calls("s3:GetObject")[0]
    assert "Authorization" not in feed["headers"]  # the public feed is read anonymously


def test_aws_throttled_and_denied(db: sl.Store, replay: Any) -> None:
    before = state(db)
    with pytest.raises(FetchError) as err:
        run(db, replay("aws-throttled"), "aws-spot-prices", specs=["g5.xlarge"])
    assert err.value.reason == "throttled" and "RequestLimitExceeded" in str(err.value)
    with pytest.raises(FetchError) as err:
        run(db, replay("aws-denied"), "aws-spot-prices", specs=["g5.xlarge"])
    assert "grant the IAM user or role the permission ec2:DescribeSpotPriceHistory" in str(
        err.value
    )
    assert state(db) == before


# -- the CLI, and no secret anywhere --------------------------------------------------------


def test_cli_fetch_says_what_a_quote_repriced(replay: Any, cli: Any) -> None:
    assert cli("ingest", BUNDLED / "specs_catalog.csv")[0] == 0
    server = replay("alibaba")
    common = ("--region", REGION, "--spec", "ecs.gn8is.4xlarge", "--endpoint", server.url)
    assert cli("fetch", "eas-spot-discounts", *common)[0] == 0
    code, out, _err = cli("fetch", "alibaba-prices", *common)
    assert code == 0
    assert "note: re-priced 1 stored spot price rows from this catalog's on-demand prices" in out


def test_cli_fetch_and_secrets_never_leak(
    replay: Any, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs: list[str] = []
    code, out, err = cli("ingest", BUNDLED / "specs_catalog.csv")
    assert code == 0
    server = replay("alibaba")
    args = (
        "fetch",
        "alibaba-spot-prices",
        "--region",
        REGION,
        "--spec",
        SPEC,
        "--endpoint",
        server.url,
    )
    code, out, err = cli(*args)
    assert code == 0 and "alibaba-spot-prices" in out and "pages under" in out
    outputs += [out, err]
    code, out, err = cli(*args, "--json")
    assert code == 0 and json.loads(out)["rows_duplicate"] == 0
    outputs += [out, err]
    for scenario, source in (
        ("alibaba-denied", "alibaba-spot-prices"),
        ("aws-denied", "aws-spot-prices"),
        ("aws", "aws-prices"),
    ):
        s = replay(scenario)
        region = "us-east-1" if source.startswith("aws") else REGION
        code, out, err = cli(
            "fetch",
            source,
            "--region",
            region,
            "--spec",
            "g5.xlarge" if source.startswith("aws") else SPEC,
            "--endpoint",
            s.url,
        )
        outputs += [out, err]
        if scenario != "aws":
            assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    # exceptions, with their whole chain
    for scenario in ("alibaba-denied", "alibaba-truncated"):
        with pytest.raises(FetchError) as caught:
            sl.fetch(
                sl.Store(tmp_path / "x.duckdb"),
                "alibaba-spot-prices",
                region=REGION,
                specs=[SPEC],
                endpoint=replay(scenario).url,
                retry=Retry(attempts=1),
            )
        e: BaseException | None = caught.value
        while e is not None:
            outputs += [str(e), repr(e), repr(vars(e))]
            e = e.__cause__ or e.__context__
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in files) and any(
        p.name == "request.json" for p in files
    )
    blobs = [p.read_bytes() for p in files] + [o.encode() for o in outputs]
    for secret in (ALI_SECRET, AWS_SECRET):
        assert not any(secret.encode() in b for b in blobs), secret


def test_nested_transactions_join_the_outer_one() -> None:
    store = sl.Store(":memory:")
    insert = "INSERT INTO traffic VALUES ('svc', now(), 1, 1)"
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction() as con:
            con.execute(insert)
        raise RuntimeError("undo both")
    assert store.query("SELECT count(*) AS n FROM traffic")["n"][0] == 0
    with store.transaction(), store.transaction() as con:
        con.execute(insert)
    assert store.query("SELECT count(*) AS n FROM traffic")["n"][0] == 1
