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

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from darabonba.runtime import RuntimeOptions

from spotlab.fetch.aliyun import RawBody, expect_list, run_time, sdk_call, sdk_config
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
from spotlab.store import Store

#: DescribeSpotPriceHistory answers at most 30 days per call
SPOT_HISTORY_WINDOW = timedelta(days=30)
#: without --since and with nothing stored, a fetch goes this far back
DEFAULT_LOOKBACK = timedelta(days=30)


def ecs_specs(store: Store, ctx: Context) -> list[str]:
    """The specs an ECS call asks about: ``--spec``, else the ``ecs.*`` specs the store knows
    (``ml.*`` specs exist only on EAS; ECS would refuse them)."""
    if ctx.specs:
        return list(ctx.specs)
    return [s for s in specs_for(store, ctx, "alibaba") if s.startswith("ecs.")]


class RawEcsClient(RawBody, EcsClient):
    """The ECS client, keeping each response body as received."""


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
        items = expect_list(body, "SpotPrices", "SpotPriceType")
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
        zones = expect_list(body, "AvailableSpotZones", "AvailableSpotZone")
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
