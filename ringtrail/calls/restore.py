"""Rebuild spooled requests from their JSON form."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ringtrail.calls.actions import InboundRecord
from ringtrail.carriers.base import CallbackEvent, CallerArea, EventKind, InboundCall
from ringtrail.numbers.routes import ConnectionSnapshot, RouteSnapshot


def inbound_record_from_json(data: dict[str, Any]) -> InboundRecord:
    inbound = dict(data["inbound"])
    area = inbound.pop("caller_area", None)
    route = data.get("route")
    return InboundRecord(
        inbound=InboundCall(**inbound, caller_area=CallerArea(**area) if area else None),
        connection=ConnectionSnapshot(**data["connection"]),
        route=RouteSnapshot(**route) if route else None,
        response_body=data["response_body"],
        response_content_type=data["response_content_type"],
        routing_note=data.get("routing_note", ""),
        spam_reason=data.get("spam_reason", ""),
        flow_version_id=data.get("flow_version_id"),
        flow_rotation=data.get("flow_rotation", 0),
        received_at=dt.datetime.fromisoformat(data["received_at"])
        if data.get("received_at")
        else dt.datetime.now(dt.UTC),
    )


def callback_event_from_json(data: dict[str, Any]) -> CallbackEvent:
    fields = dict(data)
    fields["kind"] = EventKind(fields["kind"])
    if fields.get("occurred_at"):
        fields["occurred_at"] = dt.datetime.fromisoformat(fields["occurred_at"])
    return CallbackEvent(**fields)
