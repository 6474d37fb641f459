"""AWS sources, through boto3.

- ``aws-spot-prices``: EC2 ``describe_spot_price_history`` (its boto3 paginator) per spec,
  ``Linux/UNIX``, from the newest stored point (else 30 days back; AWS keeps 90) →
  reader ``aws-spot-history``. Pages are written as the AWS CLI prints them (times as
  ISO 8601 text).
- ``aws-prices``: the Price List API (``pricing.get_products``, endpoint region us-east-1)
  for on-demand Linux, shared tenancy, no pre-installed software, ``capacitystatus=Used``
  → reader ``aws-price-list`` → the catalog's on-demand price (``price_is_estimate =
  false``). Without ``--spec``: the specs with stored AWS spot prices in the region.
- ``aws-placement-scores``: EC2 ``get_spot_placement_scores`` for the specs named, per zone
  (``SingleAvailabilityZone``), ``TargetCapacity`` 1 unless told → reader
  ``aws-placement-scores`` → ``spot_placement_scores``.
- ``aws-spot-advisor``: the public Spot Instance Advisor feed (S3 object
  ``spot-bid-advisor/spot-advisor-data.json``, read anonymously) → reader
  ``aws-spot-advisor`` → ``interruption_bands``. Needs no credentials.

boto3's own retries are off (one attempt per call): :mod:`spotlab.fetch.core` retries
with its bounded, injectable backoff instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions as bex
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.parsers import ResponseParserError

from spotlab.fetch.aliyun import run_time
from spotlab.fetch.core import Call, Context, Failure, Page, iso, newest_points, specs_for
from spotlab.fetch.credentials import NoCredentials, aws_session
from spotlab.store import Store

DEFAULT_LOOKBACK = timedelta(days=30)
PRICING_REGION = "us-east-1"
ADVISOR_BUCKET = "spot-bid-advisor"
ADVISOR_KEY = "spot-advisor-data.json"
PRODUCT = "Linux/UNIX"

_THROTTLED = (
    "RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException",
    "SlowDown", "RequestThrottled", "RequestThrottledException",
)  # fmt: skip
_BAD_CREDENTIALS = (
    "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "ExpiredToken", "InvalidAccessKeyId",
)  # fmt: skip
_DENIED = ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "Forbidden")


def _boto_config(ctx: Context, **extra: Any) -> BotoConfig:
    return BotoConfig(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        **extra,
    )


def client(ctx: Context, service: str, region: str, anonymous: bool = False) -> Any:
    """A boto3 client: credentials from the standard chain (none for ``anonymous``), the
    test endpoint when one is set."""
    kwargs: dict[str, Any] = {"region_name": region}
    if ctx.endpoint is not None:
        kwargs["endpoint_url"] = ctx.endpoint.url
    if anonymous:
        config = _boto_config(ctx, signature_version=UNSIGNED, s3={"addressing_style": "path"})
        return boto3.session.Session(region_name=region).client(service, config=config, **kwargs)
    try:
        session = aws_session(ctx.profile, region)
    except NoCredentials as exc:
        raise Failure("no-credentials", "", code=str(exc) or None) from None
    return session.client(service, config=_boto_config(ctx), **kwargs)


def classify(exc: BaseException) -> Failure:
    """An exception of a boto3 call as a :class:`Failure`."""
    if isinstance(exc, bex.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code") or "")
        text = " ".join(str(err.get("Message") or "").split())[:200]
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _THROTTLED or status == 429:
            return Failure("throttled", text, code)
        if code in _BAD_CREDENTIALS:
            return Failure("denied", f"the credentials were refused: {text}", code)
        if code in _DENIED or status == 403:
            return Failure("denied", text, code)
        if status >= 500:
            return Failure("server", text, code)
        return Failure("bad-request", text, code)
    if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
        return Failure("no-credentials", "")
    if isinstance(
        exc,
        bex.EndpointConnectionError
        | bex.ConnectTimeoutError
        | bex.ReadTimeoutError
        | bex.ConnectionClosedError
        | bex.ProxyConnectionError,
    ):
        return Failure("network", type(exc).__name__)
    if isinstance(exc, ResponseParserError | bex.IncompleteReadError):
        return Failure("truncated", "the response could not be parsed (cut off?)")
    raise exc


def boto_call(fn: Any, **kwargs: Any) -> dict[str, Any]:
    """One boto3 call (or a paginator's first page); the response without its metadata,
    times as ISO 8601 text (what the AWS CLI prints)."""
    try:
        out = fn(**kwargs)
    except Exception as exc:  # classified: a Failure, or re-raised unchanged
        raise classify(exc) from None
    out = {k: v for k, v in out.items() if k != "ResponseMetadata"}
    return _jsonable(out)


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


def _token(body: dict[str, Any]) -> str | None:
    t = body.get("NextToken")
    return t if isinstance(t, str) and t else None


def _items(body: Any, key: str) -> list[Any]:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise Failure("bad-response", f"the response lacks the list $.{key}")
    return items


class AwsSpotPrices:
    name = "aws-spot-prices"
    provider = "aws"
    format = "aws-spot-history"
    permission = "ec2:DescribeSpotPriceHistory"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        specs = specs_for(store, ctx, "aws")
        start_of = newest_points(store, "aws", str(ctx.region), specs)
        calls = []
        for spec in specs:
            start = ctx.since or start_of.get(spec) or ctx.now - DEFAULT_LOOKBACK
            params = {
                "InstanceTypes": [spec], "ProductDescriptions": [PRODUCT],
                "StartTime": iso(start), "EndTime": iso(ctx.now),
            }  # fmt: skip
            calls.append(Call(f"{spec}/{iso(start)}", params, f"{spec} from {iso(start)}"))
        return calls

    def connect(self, ctx: Context) -> Any:
        return client(ctx, "ec2", str(ctx.region))

    def call(self, ec2: Any, call: Call, token: Any | None) -> Any:
        pages = ec2.get_paginator("describe_spot_price_history").paginate(
            **call.params, PaginationConfig={"StartingToken": token}
        )
        return boto_call(lambda: next(iter(pages)))

    def parse(self, body: Any) -> Page:
        return Page(len(_items(body, "SpotPriceHistory")), _token(body))

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {"product": PRODUCT}


class AwsPrices:
    name = "aws-prices"
    provider = "aws"
    format = "aws-price-list"
    permission = "pricing:GetProducts"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        calls = []
        for spec in specs_for(store, ctx, "aws"):
            terms = {
                "instanceType": spec, "regionCode": ctx.region, "operatingSystem": "Linux",
                "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used",
            }  # fmt: skip
            filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()]
            params = {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1", "Filters": filters}
            calls.append(Call(spec, params, f"the on-demand price of {spec}"))
        return calls

    def connect(self, ctx: Context) -> Any:
        return client(ctx, "pricing", PRICING_REGION)

    def call(self, pricing: Any, call: Call, token: Any | None) -> Any:
        pages = pricing.get_paginator("get_products").paginate(
            **call.params, PaginationConfig={"StartingToken": token}
        )
        return boto_call(lambda: next(iter(pages)))

    def parse(self, body: Any) -> Page:
        return Page(len(_items(body, "PriceList")), _token(body))

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {}


class AwsPlacementScores:
    name = "aws-placement-scores"
    provider = "aws"
    format = "aws-placement-scores"
    permission = "ec2:GetSpotPlacementScores"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        specs = sorted(specs_for(store, ctx, "aws"))
        capacity = int(ctx.options.get("target_capacity") or 1)
        params = {
            "InstanceTypes": specs, "TargetCapacity": capacity,
            "SingleAvailabilityZone": True, "RegionNames": [ctx.region],
        }  # fmt: skip
        return [Call(f"{','.join(specs)}/{capacity}", params, "placement scores")]

    def connect(self, ctx: Context) -> Any:
        return client(ctx, "ec2", str(ctx.region))

    def call(self, ec2: Any, call: Call, token: Any | None) -> Any:
        pages = ec2.get_paginator("get_spot_placement_scores").paginate(
            **call.params, PaginationConfig={"StartingToken": token}
        )
        body = boto_call(lambda: next(iter(pages)))
        # the response does not say what was scored: the page carries the request's names
        p = call.params
        return {"InstanceTypes": p["InstanceTypes"], "TargetCapacity": p["TargetCapacity"],
                "SingleAvailabilityZone": p["SingleAvailabilityZone"], **body}  # fmt: skip

    def parse(self, body: Any) -> Page:
        return Page(len(_items(body, "SpotPlacementScores")), _token(body))

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {"observed_at": run_time(run)}


class AwsSpotAdvisor:
    name = "aws-spot-advisor"
    provider = "aws"
    format = "aws-spot-advisor"
    permission = "none (a public feed)"
    regional = False

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        return [Call("feed", {"Bucket": ADVISOR_BUCKET, "Key": ADVISOR_KEY}, "the advisor feed")]

    def connect(self, ctx: Context) -> Any:
        return client(ctx, "s3", PRICING_REGION, anonymous=True)

    def call(self, s3: Any, call: Call, token: Any | None) -> Any:
        import json

        def get() -> Any:
            return s3.get_object(**call.params)["Body"].read()

        raw = boto_call(lambda: {"Body": get()})["Body"]
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Failure("truncated", "the feed is not complete JSON") from None

    def parse(self, body: Any) -> Page:
        regions = body.get("spot_advisor") if isinstance(body, dict) else None
        if not isinstance(regions, dict) or not isinstance(body.get("ranges"), list):
            raise Failure("bad-response", "the feed lacks $.spot_advisor or $.ranges")
        n = sum(
            len(types)
            for by_os in regions.values()
            if isinstance(by_os, dict)
            for types in by_os.values()
            if isinstance(types, dict)
        )
        return Page(n, None)

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {"observed_at": run_time(run)}
