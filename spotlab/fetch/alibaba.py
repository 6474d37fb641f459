"""Alibaba Cloud ECS sources, through ``alibabacloud-ecs20140526``.

- ``alibaba-spot-prices``: ``DescribeSpotPriceHistory`` per spec (every zone of the region:
  no ``ZoneId``), Linux, VPC, in windows of at most 30 days (the API's limit), paged by
  ``Offset``/``NextOffset`` to the end. Pages → reader ``alibaba-spot-history``.
- ``alibaba-spot-advice``: ``DescribeSpotAdvice`` for the region (``InstanceTypes`` when
  specs are named) → reader ``alibaba-spot-advice`` → ``interruption_bands``.
- ``alibaba-prices``: ``DescribePrice`` (``ResourceType=instance``, ``PriceUnit=Hour``)
  per spec: the pay-as-you-go price → reader ``alibaba-describe-price`` → the catalog's
  on-demand price, ``price_is_estimate = false``.

The page written is the response body as received (the typed models of the SDK drop keys
they do not know and fill absent lists, which would hide a changed shape); the SDK's own
request building, signing and parsing run as for any call.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.runtime import RuntimeOptions

from spotlab.fetch.core import (
    Call,
    Context,
    Failure,
    Page,
    iso,
    newest_points,
    specs_for,
    windows,
)
from spotlab.fetch.credentials import NoCredentials, alibaba_credentials
from spotlab.store import Store

#: DescribeSpotPriceHistory answers at most 30 days per call
SPOT_HISTORY_WINDOW = timedelta(days=30)
#: without --since and with nothing stored, a fetch goes this far back
DEFAULT_LOOKBACK = timedelta(days=30)
#: milliseconds, as the SDK takes them
CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 30_000

#: error codes that say the credentials themselves were refused (not a missing permission)
_BAD_CREDENTIALS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken",
)
_DENIED = ("Forbidden", "NoPermission", "NotAuthorized", "AccessDenied")


class RawBody:
    """Keeps the JSON body of the last response as the SDK received it (mixed into an SDK
    client: ``call_api`` is the one method every typed call goes through)."""

    last_body: Any = None

    def call_api(self, params: Any, request: Any, runtime: Any) -> dict[str, Any]:
        out: dict[str, Any] = super().call_api(params, request, runtime)  # type: ignore[misc]
        self.last_body = out.get("body")
        return out


class RawEcsClient(RawBody, EcsClient):
    """The ECS client, keeping each response body as received."""


def sdk_config(ctx: Context) -> Config:
    """The SDK config: the region, credentials from the standard chain, and the test
    endpoint when one is set."""
    try:
        credential = alibaba_credentials(ctx.profile)
    except NoCredentials as exc:
        raise Failure("no-credentials", "", code=str(exc) or None) from None
    config = Config(
        credential=credential,
        region_id=ctx.region,
        connect_timeout=CONNECT_TIMEOUT_MS,
        read_timeout=READ_TIMEOUT_MS,
    )
    if ctx.endpoint is not None:
        config.endpoint = ctx.endpoint.host
        config.protocol = ctx.endpoint.scheme
    return config


def ecs_specs(store: Store, ctx: Context) -> list[str]:
    """The specs an ECS call asks about: ``--spec``, else the ``ecs.*`` specs the store knows
    (``ml.*`` specs exist only on EAS; ECS would refuse them)."""
    if ctx.specs:
        return list(ctx.specs)
    return [s for s in specs_for(store, ctx, "alibaba") if s.startswith("ecs.")]


def classify(exc: BaseException) -> Failure:
    """An exception of an Alibaba Cloud SDK call as a :class:`Failure`."""
    if isinstance(exc, CredentialException):
        return Failure("no-credentials", "")
    if isinstance(exc, AlibabaCloudException):
        code = str(exc.code or "")
        status = exc.status_code or 0
        text = _short(getattr(exc, "message", "") or "")
        if isinstance(exc, ThrottlingException) or code.startswith("Throttling") or status == 429:
            after = exc.retry_after / 1000 if isinstance(exc.retry_after, int | float) else None
            return Failure("throttled", text, code, after)
        if code.startswith(_BAD_CREDENTIALS):
            return Failure("denied", f"the credentials were refused: {text}", code)
        if status == 403 or code.startswith(_DENIED):
            return Failure("denied", text, code)
        if status >= 500 or code in ("ServiceUnavailable", "InternalError"):
            return Failure("server", text, code)
        return Failure("bad-request", text, code)
    if isinstance(exc, UnretryableException):
        inner = exc.inner_exception
        if isinstance(inner, RetryError):
            return Failure("network", _short(str(inner.message)))
        if isinstance(inner, RuntimeError) and "json" in str(inner).lower():
            return Failure("truncated", "the response body is not complete JSON")
        return Failure("bad-response", f"{type(inner).__name__}: {_short(str(inner))}")
    # the SDK's models failing on a body of another shape (a list where an object was)
    if isinstance(exc, AttributeError | TypeError | KeyError | ValueError):
        return Failure(
            "bad-response", f"the SDK could not read the response ({type(exc).__name__})"
        )
    raise exc


def _short(text: str, n: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def sdk_call(client: RawBody, fn: Any, *args: Any) -> Any:
    """Call one typed SDK method; return the raw body of its response."""
    client.last_body = None
    try:
        fn(*args)
    except Exception as exc:  # classified: every SDK failure becomes a Failure or re-raises
        raise classify(exc) from None
    if not isinstance(client.last_body, dict):
        raise Failure("bad-response", "the response body is not a JSON object")
    return client.last_body


def _expect_list(body: Any, *keys: str) -> list[Any]:
    node = body
    path = "$"
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise Failure("bad-response", f"the response lacks {path}.{key}")
        node = node[key]
        path += f".{key}"
    if not isinstance(node, list):
        raise Failure("bad-response", f"{path} is not a list")
    return node


class AlibabaSpotPrices:
    name = "alibaba-spot-prices"
    provider = "alibaba"
    format = "alibaba-spot-history"
    permission = "ecs:DescribeSpotPriceHistory"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        specs = ecs_specs(store, ctx)
        start_of = newest_points(store, "alibaba", str(ctx.region), specs)
        calls = []
        for spec in specs:
            start = ctx.since or start_of.get(spec) or ctx.now - DEFAULT_LOOKBACK
            for a, b in windows(start, ctx.now, SPOT_HISTORY_WINDOW):
                params = {
                    "RegionId": ctx.region, "InstanceType": spec, "NetworkType": "vpc",
                    "OSType": "linux", "StartTime": iso(a), "EndTime": iso(b),
                }  # fmt: skip
                calls.append(Call(f"{spec}/{iso(a)}", params, f"{spec} from {iso(a)}"))
        return calls

    def connect(self, ctx: Context) -> RawEcsClient:
        return RawEcsClient(sdk_config(ctx))

    def call(self, client: RawEcsClient, call: Call, token: Any | None) -> Any:
        p = call.params
        req = ecs_models.DescribeSpotPriceHistoryRequest(
            region_id=p["RegionId"], instance_type=p["InstanceType"],
            network_type=p["NetworkType"], ostype=p["OSType"], start_time=p["StartTime"],
            end_time=p["EndTime"], offset=token,
        )  # fmt: skip
        return sdk_call(
            client, client.describe_spot_price_history_with_options, req, RuntimeOptions()
        )

    def parse(self, body: Any) -> Page:
        items = _expect_list(body, "SpotPrices", "SpotPriceType")
        nxt = body.get("NextOffset")
        # the last page has no NextOffset (or 0); an empty page ends it too
        more = isinstance(nxt, int) and nxt > 0 and len(items) > 0
        return Page(len(items), nxt if more else None)

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {}


class AlibabaSpotAdvice:
    name = "alibaba-spot-advice"
    provider = "alibaba"
    format = "alibaba-spot-advice"
    permission = "ecs:DescribeSpotAdvice"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        params: dict[str, Any] = {"RegionId": ctx.region}
        if ctx.specs:
            params["InstanceTypes"] = sorted(ctx.specs)
        key = "all" if not ctx.specs else ",".join(sorted(ctx.specs))
        return [Call(f"advice/{key}", params, "spot advice")]

    def connect(self, ctx: Context) -> RawEcsClient:
        return RawEcsClient(sdk_config(ctx))

    def call(self, client: RawEcsClient, call: Call, token: Any | None) -> Any:
        req = ecs_models.DescribeSpotAdviceRequest(
            region_id=call.params["RegionId"], instance_types=call.params.get("InstanceTypes")
        )
        return sdk_call(client, client.describe_spot_advice_with_options, req, RuntimeOptions())

    def parse(self, body: Any) -> Page:
        zones = _expect_list(body, "AvailableSpotZones", "AvailableSpotZone")
        n = 0
        for z in zones:
            if isinstance(z, dict) and isinstance(z.get("AvailableSpotResources"), dict):
                res = z["AvailableSpotResources"].get("AvailableSpotResource")
                n += len(res) if isinstance(res, list) else 0
        return Page(n, None)

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {"observed_at": run_time(run)}


class AlibabaPrices:
    name = "alibaba-prices"
    provider = "alibaba"
    format = "alibaba-describe-price"
    permission = "ecs:DescribePrice"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        calls = []
        for spec in ecs_specs(store, ctx):
            params = {
                "RegionId": ctx.region, "ResourceType": "instance", "InstanceType": spec,
                "PriceUnit": "Hour", "InstanceNetworkType": "vpc",
            }  # fmt: skip
            calls.append(Call(f"{spec}", params, f"the price of {spec}"))
        return calls

    def connect(self, ctx: Context) -> RawEcsClient:
        return RawEcsClient(sdk_config(ctx))

    def call(self, client: RawEcsClient, call: Call, token: Any | None) -> Any:
        p = call.params
        req = ecs_models.DescribePriceRequest(
            region_id=p["RegionId"], resource_type=p["ResourceType"],
            instance_type=p["InstanceType"], price_unit=p["PriceUnit"],
            instance_network_type=p["InstanceNetworkType"],
        )  # fmt: skip
        body = sdk_call(client, client.describe_price_with_options, req, RuntimeOptions())
        # the response does not say what was priced: the page carries the request's names
        return {"RegionId": p["RegionId"], "InstanceType": p["InstanceType"],
                "PriceUnit": p["PriceUnit"], **body}  # fmt: skip

    def parse(self, body: Any) -> Page:
        info = body.get("PriceInfo") if isinstance(body, dict) else None
        price = info.get("Price") if isinstance(info, dict) else None
        if not isinstance(price, dict):
            raise Failure("bad-response", "the response lacks $.PriceInfo.Price")
        return Page(1, None)

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {}


def run_time(run: Path) -> str:
    """The fetch time of a run folder (``20251201T080000Z``) as ISO 8601."""
    stamp = run.name.split("-", 1)[0]
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
