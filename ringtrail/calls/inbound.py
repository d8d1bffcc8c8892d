"""Answering an incoming call: resolve → attribute → screen → decide → persist (DESIGN.md §2 flow 2).

The carrier has verified and normalised the request before it gets here, and renders the
decision afterwards. If our storage fails, the caller is still connected from the routing cache
or the configured fallback, and the request is spooled to be written later.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from ringtrail.calls import actions, flow_calls, spool
from ringtrail.carriers.base import CallbackEvent, CallDecision, EventKind, InboundCall, Renderer
from ringtrail.flows import engine
from ringtrail.numbers.routes import ConnectionSnapshot, RouteSnapshot, cached_route, current_route
from ringtrail.screening import step as screening

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Answer:
    body: str
    content_type: str


def answer_call(inbound: InboundCall, connection: ConnectionSnapshot, renderer: Renderer) -> Answer:
    try:
        route = _owned_route(current_route(inbound.to_number) if inbound.to_number else None, connection)
    except DatabaseError:
        log.exception("database unavailable while answering call %s", inbound.call_id)
        return _answer_without_database(inbound, connection, renderer)
    screened = screening.screen_call(inbound, route)
    decided = Decided(screened.decision, screened.routing_note) if screened else decide_call(inbound, route)
    answer = Answer(renderer.render(decided.decision), renderer.content_type)
    flow = decided.flow
    record = actions.InboundRecord(
        inbound,
        connection,
        route,
        answer.body,
        answer.content_type,
        decided.note,
        spam_reason=screened.spam_reason if screened else "",
        flow_version_id=flow.version_id if flow else None,
        flow_rotation=flow.rotation if flow else 0,
    )
    created = (lambda call: flow_calls.record_path(call, flow.trail, 0)) if flow else None
    try:
        stored = actions.record_inbound_call(record, created)
    except DatabaseError:
        log.exception("database failed while storing call %s", inbound.call_id)
        _spool_inbound(record)
        return answer
    spool.replay_if_due()
    return Answer(stored.response_body or answer.body, stored.response_content_type or answer.content_type)


def _owned_route(route: RouteSnapshot | None, connection: ConnectionSnapshot) -> RouteSnapshot | None:
    # A number answers only through the carrier connection it belongs to; anything else is unknown.
    if route is None or route.connection_id != connection.connection_id:
        return None
    return route


@dataclasses.dataclass(frozen=True)
class Decided:
    decision: CallDecision
    note: str = ""
    flow: flow_calls.FlowStart | None = None  # set when the call runs a call flow


def decide_call(inbound: InboundCall, route: RouteSnapshot | None) -> Decided:
    """The call's flow when its number (or source) has one, else the static forward."""
    if route is not None and route.flow_version_id and route.routes_calls:
        started = flow_calls.start(inbound, route)
        if started is not None:
            return Decided(started.decision, started.note[:200], started)
        log.warning("call %s: flow version %s not found; forwarding", inbound.call_id, route.flow_version_id)
    return Decided(*decide(inbound, route))


def decide(inbound: InboundCall, route: RouteSnapshot | None) -> tuple[CallDecision, str]:
    """The static forward (also what a call gets when the database is down, flow or not)."""
    if route is None:
        log.warning("call %s to unknown number %r", inbound.call_id, inbound.to_number)
        return engine.polite_hangup(), "unknown tracking number"
    if not route.routes_calls:
        log.warning("call %s to released number %s", inbound.call_id, route.number)
        return engine.polite_hangup(), "tracking number released"
    if not route.destination:
        log.warning("call %s to %s: no receiving number configured", inbound.call_id, route.number)
        return engine.polite_hangup(engine.NO_DESTINATION_MESSAGE), "no receiving number configured"
    plan = engine.ForwardPlan(
        tracking_number_id=route.tracking_number_id,
        destination=route.destination,
        caller_id=inbound.from_number if inbound.from_number.startswith("+") else route.number,
        whisper_text=route.whisper_text,
        record=route.record_calls,
    )
    return engine.forward(plan), ""


def _answer_without_database(
    inbound: InboundCall, connection: ConnectionSnapshot, renderer: Renderer
) -> Answer:
    route = _owned_route(cached_route(inbound.to_number), connection) if inbound.to_number else None
    if route is None and settings.FALLBACK_FORWARD_TO:
        route = _fallback_route(inbound, connection)
    decision, note = decide(inbound, route)
    answer = Answer(renderer.render(decision), renderer.content_type)
    _spool_inbound(
        actions.InboundRecord(
            inbound, connection, route, answer.body, answer.content_type, note or "database down"
        )
    )
    return answer


def _fallback_route(inbound: InboundCall, connection: ConnectionSnapshot) -> RouteSnapshot:
    return RouteSnapshot(
        account_id=connection.account_id,
        tracking_number_id=0,
        connection_id=connection.connection_id,
        number=inbound.to_number,
        state="active",
        destination=settings.FALLBACK_FORWARD_TO,
        receiving_number_id=None,
        whisper_text="",
        record_calls=False,
        source_id=None,
        source_name="",
        medium="",
    )


def continue_flow(
    connection: ConnectionSnapshot,
    params: Mapping[str, str],
    reference: Mapping[str, str],
    dial_ended: Callable[[], None] | None = None,
) -> CallDecision | None:
    """The next step of a call flow; None when the reference must be refused (forged, replayed,
    another call's or account's). ``dial_ended`` stores a dial result once the reference is known to
    be good. With the database down the caller is forwarded as a static number would be, so they are
    still connected."""
    try:
        return flow_calls.resume(connection, params, reference, dial_ended)
    except flow_calls.Refused as error:
        log.warning("refused flow reference for call %s: %s", params.get("CallSid", "")[:64], error)
        return None
    except DatabaseError:
        log.exception("database unavailable mid-flow for call %s; forwarding", params.get("CallSid", "")[:64])
    if params.get("ParentCallSid"):
        return CallDecision(())  # an answering leg: connect it without its whisper
    if params.get("DialCallStatus"):
        return engine.after_dial(params["DialCallStatus"])
    to = params.get("To", "")
    route = _owned_route(cached_route(to), connection) if to else None
    inbound = InboundCall(
        connection.kind, connection.account_sid, params.get("CallSid", ""), params.get("From", ""), to
    )
    return decide(inbound, route)[0]


def record_callback(event: CallbackEvent) -> None:
    try:
        actions.record_event(event)
    except DatabaseError:
        log.exception("database unavailable while storing %s callback for %s", event.kind, event.call_id)
        spool.spool("event", {"event": _jsonable(dataclasses.asdict(event))})
        return
    spool.replay_if_due()


def _spool_inbound(record: actions.InboundRecord) -> None:
    spool.spool("call", {"record": _jsonable(dataclasses.asdict(record))})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def replay_entry(document: dict[str, Any]) -> None:
    """Re-apply one spooled request (see ``spool.replay``)."""
    from ringtrail.calls.restore import callback_event_from_json, inbound_record_from_json

    if document["kind"] == "call":
        record = inbound_record_from_json(document["record"])
        if record.route is not None and record.route.tracking_number_id == 0:
            record = dataclasses.replace(
                record, route=None, routing_note="forwarded to fallback; database down"
            )
        actions.record_inbound_call(record)
    elif document["kind"] == "event":
        actions.record_event(callback_event_from_json(document["event"]))


__all__ = [
    "Answer",
    "Decided",
    "EventKind",
    "answer_call",
    "decide",
    "decide_call",
    "record_callback",
    "replay_entry",
]


def whisper_text(tracking_number_id: str, connection: ConnectionSnapshot) -> str:
    """What the answering party hears before being connected: the number's whisper, naming the source."""
    from ringtrail.numbers.models import TrackingNumber

    try:
        number = (
            TrackingNumber.objects.select_related("source")
            .filter(pk=int(tracking_number_id), connection_id=connection.connection_id)
            .first()
        )
    except (ValueError, DatabaseError):
        number = None
    if number is None or not number.whisper_text:
        return "Incoming call."
    source = number.source.name if number.source else "unknown source"
    return number.whisper_text.replace("{source}", source)
