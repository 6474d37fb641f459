"""Alibaba Cloud ECS ``DescribeSpotAdvice`` responses → ``interruption_bands``.

``{"RegionId": "cn-hangzhou", "AvailableSpotZones": {"AvailableSpotZone": [{"ZoneId":
"cn-hangzhou-h", "AvailableSpotResources": {"AvailableSpotResource": [{"InstanceType":
"ecs.gn7i-c8g1.2xlarge", "InterruptionRate": 2.5, "InterruptRateDesc": "0-3%",
"AverageSpotDiscount": 18}]}}]}}`` — one response, or a JSON array of responses. The SDKs'
flattened form (lists directly under ``AvailableSpotZones`` / ``AvailableSpotResources``)
is read too.

``InterruptionRate`` is the average release rate over the last 30 days in percent
(``rate_pct``); ``InterruptRateDesc`` its band (0-3%, 3-5%, 5-10%, 10-100%);
``AverageSpotDiscount`` the average spot price as a percentage of pay-as-you-go, stored as
``savings_pct = 100 − AverageSpotDiscount``. ``observed_at``: the option, else a date in the
file name, else the ingest time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from spotlab.errors import FormatError
from spotlab.ingest import _events
from spotlab.ingest._common import load_json
from spotlab.ingest._events import text_of as _t
from spotlab.ingest.core import Staged, register

COLUMNS = (
    "provider", "region", "zone", "spec", "band_label", "band_low_pct", "band_high_pct",
    "rate_pct", "savings_pct", "observed_at",
)  # fmt: skip


def _list(obj: Any, outer: str, inner: str, jpath: str, path: Path) -> list[Any]:
    value = obj.get(outer) if isinstance(obj, Mapping) else None
    if isinstance(value, Mapping):
        value = value.get(inner)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FormatError(
            f"{jpath}.{outer}.{inner} is not a list", path=path, found=type(value).__name__
        )
    return value


def _savings(discount: Any) -> str | None:
    if isinstance(discount, int | float) and not isinstance(discount, bool):
        return repr(100.0 - float(discount))
    if isinstance(discount, str):
        try:
            return repr(100.0 - float(discount))
        except ValueError:
            return discount  # rejected by the target as unparsable
    return None


class AlibabaSpotAdvice:
    name = "alibaba-spot-advice"
    sniff_rule = 'JSON with "AvailableSpotZones" (DescribeSpotAdvice)'
    kind = "bands"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"AvailableSpotZones"' in head

    def read(self, path: Path, observed_at: str | None = None, **_: Any) -> Staged:
        doc = load_json(path)
        pages = doc if isinstance(doc, list) else [doc]
        notes: list[str] = []
        when = _events.observed_at(path, observed_at, notes)
        rows: list[dict[str, str | None]] = []
        raws: list[Any] = []
        rejects: list[str | None] = []
        for p, page in enumerate(pages):
            jpath = f"$[{p}]" if isinstance(doc, list) else "$"
            if not isinstance(page, Mapping) or "AvailableSpotZones" not in page:
                raise FormatError(
                    f"{jpath} is not a DescribeSpotAdvice response",
                    path=path,
                    expected="an object with AvailableSpotZones",
                )
            region = page.get("RegionId")
            zones = _list(page, "AvailableSpotZones", "AvailableSpotZone", jpath, path)
            for z, zone in enumerate(zones):
                zpath = f"{jpath}.AvailableSpotZones.AvailableSpotZone[{z}]"
                zone_id = zone.get("ZoneId") if isinstance(zone, Mapping) else None
                for res in _list(
                    zone, "AvailableSpotResources", "AvailableSpotResource", zpath, path
                ):
                    raws.append({"RegionId": region, "ZoneId": zone_id, "resource": res})
                    if not isinstance(res, Mapping):
                        rows.append({})
                        rejects.append(f"{zpath} resource is not an object")
                        continue
                    desc = _t(res.get("InterruptRateDesc"))
                    low, high = _events.band_bounds(desc)
                    rows.append(
                        {
                            "provider": "alibaba",
                            "region": _t(region),
                            "zone": _t(zone_id),
                            "spec": _t(res.get("InstanceType")),
                            "band_label": desc,
                            "band_low_pct": None if low is None else repr(low),
                            "band_high_pct": None if high is None else repr(high),
                            "rate_pct": _t(res.get("InterruptionRate")),
                            "savings_pct": _savings(res.get("AverageSpotDiscount")),
                            "observed_at": when,
                        }
                    )
                    rejects.append(None)
        if not rows:
            raise FormatError(
                "the response lists no spot resources", path=path,
                expected="AvailableSpotZones.AvailableSpotZone[].AvailableSpotResources",
            )  # fmt: skip
        import json

        frame = pl.DataFrame(
            {c: [r.get(c) for r in rows] for c in COLUMNS}, schema={c: pl.String for c in COLUMNS}
        ).with_columns(
            pl.Series("_row", range(1, len(rows) + 1), dtype=pl.Int64),
            pl.Series("_raw", [json.dumps(r, ensure_ascii=False) for r in raws], dtype=pl.String),
            pl.Series("_reject", rejects, dtype=pl.String),
        )
        return Staged(kind=self.kind, batches=[frame], notes=notes)


register(AlibabaSpotAdvice())
