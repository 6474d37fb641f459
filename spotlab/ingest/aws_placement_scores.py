"""AWS ``GetSpotPlacementScores`` pages → ``spot_placement_scores``.

``{"SpotPlacementScores": [{"Region": "us-east-1", "AvailabilityZoneId": "use1-az1",
"Score": 7}], "NextToken"}``; ``Score`` is 1 (unlikely) to 10 (very likely) that a spot
request for ``TargetCapacity`` instances of ``InstanceTypes`` succeeds, in the region or
(``SingleAvailabilityZone``) in the zone. The response does not echo the request: a page
carries ``InstanceTypes`` and ``TargetCapacity`` beside ``SpotPlacementScores``
(``spotlab fetch aws-placement-scores`` writes them; pass ``specs=`` and
``target_capacity=`` otherwise). ``observed_at``: the option, a date in the file name, or
the ingest time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotlab.errors import FormatError
from spotlab.ingest import _events
from spotlab.ingest._common import load_json, paged_records
from spotlab.ingest.core import Staged, register

COLUMNS = {"region": "Region", "zone": "AvailabilityZoneId", "score": "Score"}


class AwsPlacementScores:
    name = "aws-placement-scores"
    sniff_rule = 'JSON with "SpotPlacementScores" (get-spot-placement-scores)'
    kind = "placement_scores"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"SpotPlacementScores"' in head

    def read(
        self,
        path: Path,
        specs: str | None = None,
        target_capacity: str | int | None = None,
        observed_at: str | None = None,
        **_: Any,
    ) -> Staged:
        notes: list[str] = []
        when = _events.observed_at(path, observed_at, notes)

        def request(page: Any) -> dict[str, Any]:
            types = page.get("InstanceTypes") if isinstance(page, Mapping) else None
            cap = page.get("TargetCapacity") if isinstance(page, Mapping) else None
            named = specs or (
                ",".join(sorted(map(str, types))) if isinstance(types, list) else None
            )
            capacity = target_capacity if target_capacity is not None else cap
            if not named or capacity is None:
                raise FormatError(
                    "the page does not say what was scored: add the request's InstanceTypes and "
                    "TargetCapacity beside SpotPlacementScores (or pass -o specs=... -o "
                    "target_capacity=...)", path=path, expected="InstanceTypes, TargetCapacity",
                )  # fmt: skip
            return {"specs": named, "target_capacity": str(capacity)}

        frame, _pages = paged_records(
            load_json(path), path, ["SpotPlacementScores"], COLUMNS,
            {"provider": "aws", "observed_at": when}, '{"SpotPlacementScores": [...]}', request,
        )  # fmt: skip
        return Staged(kind=self.kind, batches=[frame], notes=notes)


register(AwsPlacementScores())
