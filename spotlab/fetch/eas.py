"""PAI-EAS sources, through ``alibabacloud-eas20210701`` (endpoint ``pai-eas.<region>``).

- ``eas-spot-discounts``: ``DescribeSpotDiscountHistory`` per spec (``IsProtect=true``:
  the default 1-hour protection) → reader ``eas-spot-discount`` → ``spot_prices``
  (discounts; the price comes from the catalog's on-demand price, and follows it when
  ``alibaba-prices`` or a catalog replaces it later). The API takes no start time: each fetch
  reads the history the API keeps, and points already stored count as duplicates.
- ``eas-specs``: ``DescribeMachineSpec`` → reader ``eas-machine-spec`` → ``spec_stock``
  (stock status, lowest spot discounts) and the GPU specs' hardware merged into ``specs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alibabacloud_eas20210701 import models as eas_models
from alibabacloud_eas20210701.client import Client as EasClient
from alibabacloud_tea_util.models import RuntimeOptions

from spotlab.fetch.aliyun import RawBody, run_time, sdk_call, sdk_config
from spotlab.fetch.core import Call, Context, Failure, Page, specs_for
from spotlab.store import Store


class RawEasClient(RawBody, EasClient):
    """The EAS client, keeping each response body as received."""


class EasSpotDiscounts:
    name = "eas-spot-discounts"
    provider = "alibaba"
    format = "eas-spot-discount"
    permission = "eas:DescribeSpotDiscountHistory"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        return [
            Call(spec, {"InstanceType": spec, "IsProtect": True}, f"the discounts of {spec}")
            for spec in specs_for(store, ctx, "alibaba")
        ]

    def connect(self, ctx: Context) -> RawEasClient:
        return RawEasClient(sdk_config(ctx))

    def call(self, client: RawEasClient, call: Call, token: Any | None) -> Any:
        req = eas_models.DescribeSpotDiscountHistoryRequest(
            instance_type=call.params["InstanceType"], is_protect=call.params["IsProtect"]
        )
        return sdk_call(
            client, client.describe_spot_discount_history_with_options, req, {}, RuntimeOptions()
        )

    def parse(self, body: Any) -> Page:
        items = body.get("SpotDiscounts") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Failure("bad-response", "the response lacks the list $.SpotDiscounts")
        return Page(len(items), None)

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {}


class EasSpecs:
    name = "eas-specs"
    provider = "alibaba"
    format = "eas-machine-spec"
    permission = "eas:DescribeMachineSpec"
    regional = True

    def plan(self, store: Store, ctx: Context) -> list[Call]:
        return [Call("machine-spec", {"RegionId": ctx.region}, "the EAS spec list")]

    def connect(self, ctx: Context) -> RawEasClient:
        return RawEasClient(sdk_config(ctx))

    def call(self, client: RawEasClient, call: Call, token: Any | None) -> Any:
        req = eas_models.DescribeMachineSpecRequest()
        body = sdk_call(
            client, client.describe_machine_spec_with_options, req, {}, RuntimeOptions()
        )
        # the response does not name its region (the endpoint does): the page carries it
        return {"RegionId": call.params["RegionId"], **body}

    def parse(self, body: Any) -> Page:
        items = body.get("InstanceMetas") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Failure("bad-response", "the response lacks the list $.InstanceMetas")
        return Page(len(items), None)

    def ingest_options(self, call: Call, run: Path) -> dict[str, Any]:
        return {"observed_at": run_time(run)}
