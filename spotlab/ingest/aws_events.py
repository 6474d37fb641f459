"""AWS EventBridge EC2 events: spot interruption warnings, rebalance recommendations, states.

A file holds one event, a JSON array of events, or JSON lines (as an EventBridge archive
or a CloudWatch Logs export gives them). ``detail-type``:

- ``EC2 Spot Instance Interruption Warning`` → ``interruption_warning`` (the 2-minute
  notice; ``detail.instance-action`` terminate/stop/hibernate is kept as ``detail``);
- ``EC2 Instance Rebalance Recommendation`` → ``rebalance_recommendation`` (often 10–20
  minutes earlier);
- ``EC2 Instance State-change Notification``: ``pending`` → ``launched``, ``running`` →
  ``ready``, ``shutting-down``/``terminated``/``stopped`` → ``terminated``.

Other events are rejected with a reason. The events carry an instance id, not its type or
zone: those come from the instance's other events or an instance inventory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotlab.ingest._events import EVENT_COLUMNS, Flat, items_frame, last_path_part, load_items
from spotlab.ingest._events import text_of as _t
from spotlab.ingest.core import Staged, register

WARNING = "EC2 Spot Instance Interruption Warning"
REBALANCE = "EC2 Instance Rebalance Recommendation"
STATE_CHANGE = "EC2 Instance State-change Notification"
STATES = {
    "pending": "launched",
    "running": "ready",
    "shutting-down": "terminated",
    "terminated": "terminated",
    "stopped": "terminated",
}


def _flatten(item: Mapping[str, Any], service: str | None) -> Flat:
    kind = item.get("detail-type")
    detail = item.get("detail")
    detail = detail if isinstance(detail, Mapping) else {}
    if kind == WARNING:
        event, is_spot, note = "interruption_warning", "true", detail.get("instance-action")
    elif kind == REBALANCE:
        event, is_spot, note = "rebalance_recommendation", "true", None
    elif kind == STATE_CHANGE:
        state = str(detail.get("state") or "").lower()
        if state not in STATES:
            return f"not a lifecycle event spotlab keeps: {kind} state {state or '(none)'}"
        event, is_spot, note = STATES[state], None, state
    else:
        return f"not a lifecycle event spotlab keeps: detail-type {kind!r}"
    resources = item.get("resources")
    first = resources[0] if isinstance(resources, list) and resources else None
    return {
        "provider": "aws",
        "region": _t(item.get("region")),
        "zone": None,
        "spec": None,
        "instance_id": _t(detail.get("instance-id") or last_path_part(first)),
        "service": service,
        "is_spot": is_spot,
        "event": event,
        "ts": _t(item.get("time")),
        "detail": _t(note),
    }


class AwsEc2Events:
    name = "aws-events"
    sniff_rule = 'JSON with "detail-type" and aws.ec2 (EventBridge EC2 events)'
    kind = "events"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return b'"detail-type"' in head and b"aws.ec2" in head

    def read(self, path: Path, service: str | None = None, **_: Any) -> Staged:
        items = load_items(path, "events")
        frame = items_frame(
            items, lambda i: _flatten(i, service), EVENT_COLUMNS, label="event item"
        )
        return Staged(kind=self.kind, batches=[frame])


register(AwsEc2Events())
