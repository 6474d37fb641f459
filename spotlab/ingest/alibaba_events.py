"""Alibaba Cloud ECS system events: CloudMonitor JSON and the EventBridge CloudEvent form.

A file holds one event object, a JSON array of events, or JSON lines. Two shapes are read,
and may be mixed:

- CloudMonitor: ``{"name": "Instance:PreemptibleInstanceInterruption", "eventTime":
  "20190409T121826.922+0800", "regionId": "cn-hangzhou", "resourceId":
  "acs:ecs:cn-hangzhou:<uid>:instance/i-…", "content": {"instanceId": "i-…", "action":
  "delete"}}`` (note the compact time with a +0800 offset);
- EventBridge CloudEvent: ``{"type": "ecs:Instance:PreemptibleInstanceInterruption",
  "time": "…", "aliyunregionid": "cn-hangzhou", "data": {"instanceId": "i-…", "action":
  "delete"}}``.

``Instance:PreemptibleInstanceInterruption`` becomes ``interruption_warning`` (the notice
about 5 minutes before release; the instance is spot). ``Instance:StateChange`` with
``state`` Pending/Starting → ``launched``, Running → ``ready``, Stopped/Deleted/Released →
``terminated``. Other events are rejected with a reason (not lifecycle events).

The events carry only an instance id: spec and zone come from the instance's other events
or from an instance inventory (see :mod:`spotlab.advise.interruptions`). ``instanceType``
and ``zoneId`` are used when an event happens to carry them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spotlab.ingest._events import EVENT_COLUMNS, Flat, items_frame, last_path_part, load_items
from spotlab.ingest._events import text_of as _t
from spotlab.ingest.core import Staged, register

INTERRUPTION = "Instance:PreemptibleInstanceInterruption"
STATE_CHANGE = "Instance:StateChange"
STATES = {
    "pending": "launched",
    "starting": "launched",
    "running": "ready",
    "stopped": "terminated",
    "deleted": "terminated",
    "released": "terminated",
}


def _flatten(item: Mapping[str, Any], service: str | None) -> Flat:
    if "type" in item and "data" in item:  # EventBridge CloudEvent
        name = str(item.get("type") or "")
        name = name[4:] if name.lower().startswith("ecs:") else name
        body = item.get("data")
        ts = item.get("time")
        region = item.get("aliyunregionid") or item.get("regionId")
        resource = item.get("subject")
    else:  # CloudMonitor system event
        name = str(item.get("name") or "")
        body = item.get("content")
        ts = item.get("eventTime")
        region = item.get("regionId")
        resource = item.get("resourceId")
    if not name:
        return "no event name (CloudMonitor 'name' or CloudEvent 'type')"
    body = body if isinstance(body, Mapping) else {}
    if name == INTERRUPTION:
        event, is_spot, detail = "interruption_warning", "true", body.get("action")
    elif name == STATE_CHANGE:
        state = str(body.get("state") or "").lower()
        if state not in STATES:
            return f"not a lifecycle event spotlab keeps: {name} state {state or '(none)'}"
        event, is_spot, detail = STATES[state], None, state
    else:
        return f"not a lifecycle event spotlab keeps: {name}"
    instance = (
        body.get("instanceId")
        or body.get("resourceId")
        or last_path_part(resource)
        or last_path_part(body.get("resourceId"))
    )
    return {
        "provider": "alibaba",
        "region": _t(region),
        "zone": _t(body.get("zoneId")),
        "spec": _t(body.get("instanceType")),
        "instance_id": _t(instance),
        "service": service,
        "is_spot": is_spot,
        "event": event,
        "ts": _t(ts),
        "detail": _t(detail),
    }


class AlibabaSystemEvents:
    name = "alibaba-events"
    sniff_rule = "JSON with Instance:PreemptibleInstanceInterruption or Instance:StateChange"
    kind = "events"
    priority = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return (b"Instance:PreemptibleInstanceInterruption" in head) or (
            b"Instance:StateChange" in head and (b'"eventTime"' in head or b'"ecs:' in head)
        )

    def read(self, path: Path, service: str | None = None, **_: Any) -> Staged:
        items = load_items(path, "events")
        frame = items_frame(
            items, lambda i: _flatten(i, service), EVENT_COLUMNS, label="event item"
        )
        return Staged(kind=self.kind, batches=[frame])


register(AlibabaSystemEvents())
