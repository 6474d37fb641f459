"""PAI-EAS ``DescribeSpotDiscountHistory`` responses: spot discounts, not prices.

``GET /api/v2/public/spot_discount?InstanceType=…`` answers
``{"SpotDiscounts": [{"InstanceType", "ZoneId", "SpotDiscount": "0.1", "Timestamp"}]}``.
``SpotDiscount`` is a multiplier of the pay-as-you-go price, given as a string. One
response, a JSON array of responses, or JSON lines of responses are read.

The discount is stored as is; the spot price (discount × on-demand), the on-demand price and
the currency are filled in from the specs catalog when it knows the spec in that region
(a folder's catalogs always load first); a catalog loaded or re-priced later re-prices them
(:func:`spotlab.ingest.targets.reprice_from_catalog`). Pass ``currency=`` when no
catalog row gives one: a row with neither is rejected, with a reason that says so.
"""

from __future__ import annotations

from pathlib import Path

from spotlab.errors import wrap_errors
from spotlab.ingest._common import load_json, paged_records
from spotlab.ingest.core import Staged, register
from spotlab.ingest.options import Option

COLUMNS = {
    "zone": "ZoneId",
    "spec": "InstanceType",
    "ts": "Timestamp",
    "discount": "SpotDiscount",
}


class EasSpotDiscountHistory:
    name = "eas-spot-discount"
    sniff_rule = 'JSON with "SpotDiscounts" (EAS spot discount history)'
    kind = "prices"
    priority = 20
    options = (
        Option("currency", "currency", "the currency, for specs the catalog does not price"),
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"SpotDiscounts"' in head

    def read(self, path: Path, currency: str | None = None) -> Staged:
        with wrap_errors("reading EAS spot discount history", path=path):
            return self._read(path, currency)

    def _read(self, path: Path, currency: str | None) -> Staged:
        frame, _pages = paged_records(
            load_json(path), path, ["SpotDiscounts"], COLUMNS,
            {"provider": "alibaba", "currency": currency}, '[{"SpotDiscounts": …}]',
        )  # fmt: skip
        return Staged(kind=self.kind, batches=[frame])


register(EasSpotDiscountHistory())
