"""Running a call flow across a call's webhooks: build the engine's context, sign its references,
refuse forged or replayed ones, and record the path the caller took (issue 4, points 1 to 3 and 7).

The engine (``flows.engine.decide``) is pure; this module is its only door to the database. A call
runs on the flow version that was current when it started (stored on the call), and every reference
the carrier brings back must be signed for this call and that version, and newer than the last hop
served — so a forged or replayed request can neither jump a caller into another branch nor into
another account's flow.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ringtrail.calls import caller_area
from ringtrail.calls.models import Call, CallEvent, Outcome
from ringtrail.carriers.base import CallDecision, CallerArea, Hangup, InboundCall
from ringtrail.flows import engine, loading, position
from ringtrail.flows.context import CallContext, EventKind, FlowOutcome, Position, StepEvent, StepInput
from ringtrail.flows.interpreter import HookParams
from ringtrail.flows.schema import FlowDocument
from ringtrail.lib import clock
from ringtrail.lib.redis_client import client_for
from ringtrail.numbers.routes import ConnectionSnapshot, RouteSnapshot

log = logging.getLogger(__name__)
FLOW_EVENT = "flow"
# Flow events of one hop are numbered hop * HOP_STRIDE + i; answering legs use the upper half.
HOP_STRIDE = 1000
CALLER_HUNG_UP = "caller hung up"
HOP_FIELDS = (
    "account_id", "carrier", "carrier_call_id", "flow_version_id", "flow_hop", "flow_rotation",
    "customer_phone_number", "customer_name", "customer_city", "customer_state", "customer_zip",
    "customer_country", "customer_time_zone", "caller_area_origin", "tracking_phone_number", "source_name",
)  # fmt: skip
ANSWERED_DIAL = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class FlowStart:
    """The first decision of a call that runs a flow, and what the call must remember."""

    decision: CallDecision
    version_id: int
    rotation: int
    trail: tuple[StepEvent, ...]
    note: str = ""


class Refused(Exception):
    """A flow reference this call must not act on (forged, another call's, replayed, unknown call)."""


def start(inbound: InboundCall, route: RouteSnapshot) -> FlowStart | None:
    """The flow's first decision for a new call; None when the route's flow cannot be loaded."""
    version_id = route.flow_version_id
    document = loading.version_document(version_id, route.account_id) if version_id else None
    if version_id is None or document is None:
        return None
    rotation = _rotation(version_id, document)
    context = _context(
        document,
        account_id=route.account_id,
        call_id=inbound.call_id,
        caller=inbound.from_number,
        caller_name=inbound.caller_name,
        area=caller_area.resolve(inbound.caller_area, inbound.from_number),
        tracking_number=route.number,
        source_name=route.source_name,
        rotation=rotation,
    )
    outcome = engine.decide(
        document, context, hook_params=_signer(route.account_id, inbound.call_id, version_id)
    )
    return FlowStart(outcome.decision, version_id, rotation, outcome.trail, outcome.error)


def record_path(call: Call, trail: tuple[StepEvent, ...], hop: int) -> None:
    """Write a hop's steps as the call's flow events (the first hop's, as the call is stored)."""
    if hop == 0 and call.receiving_number_id is not None:
        # The route's static receiving number is not where a flow sends the call: nobody was reached
        # yet. The answering number is set when a dial of the flow is answered.
        Call.objects.filter(pk=call.pk).update(receiving_number=None)
        call.receiving_number_id = None
    _write_trail(call, trail, hop, clock.now(), leg_call_id="")


def resume(
    connection: ConnectionSnapshot,
    params: Mapping[str, str],
    reference: Mapping[str, str],
    dial_ended: Callable[[], None] | None = None,
) -> CallDecision:
    """The next decision of a call whose carrier came back to a flow hook; raises ``Refused``."""
    call, found = _verified_call(connection, params, reference)
    document = loading.version_document(found.version_id, connection.account_id)
    if document is None:
        raise Refused("the call's flow version is gone")
    here = found.position
    if not here.is_leg and not _advance(call, here.hop):
        raise Refused(f"flow reference for hop {here.hop} was already served")
    if dial_ended is not None and params.get("DialCallStatus") and not here.is_leg:
        dial_ended()
    if _caller_gone(params, here):
        # The caller hung up while the forward or queue was ringing: nothing left to decide, and
        # the path must say where they gave up rather than walk on to voicemail.
        step = document.steps.get(here.step)
        gone = StepEvent(here.step, step.type if step else "", EventKind.STAY, CALLER_HUNG_UP)
        _write_trail(call, (gone,), here.hop, clock.now(), leg_call_id="")
        return CallDecision((Hangup(),))
    context = _context(
        document,
        account_id=call.account_id,
        call_id=call.carrier_call_id,
        caller=call.customer_phone_number,
        caller_name=call.customer_name,
        area=_stored_area(call),
        tracking_number=call.tracking_phone_number,
        source_name=call.source_name,
        rotation=call.flow_rotation,
    )
    signer = _signer(call.account_id, call.carrier_call_id, found.version_id)
    outcome = engine.decide(document, context, here, step_input(params), signer)
    if outcome.error:
        log.warning("flow of call %s gave up: %s", call.carrier_call_id, outcome.error)
    _after(call, outcome, here, params)
    return outcome.decision


def _caller_gone(params: Mapping[str, str], here: Position) -> bool:
    """A dial that ended unanswered because the caller's own leg is over (CallStatus completed)."""
    dial_status = params.get("DialCallStatus", "")
    return (
        not here.is_leg
        and bool(dial_status)
        and dial_status not in ANSWERED_DIAL
        and params.get("CallStatus") == "completed"
    )


def step_input(params: Mapping[str, str]) -> StepInput:
    """What the caller (or the dial) did, from the carrier's Twilio-named parameters."""
    return StepInput(
        digits=params.get("Digits", "")[:32],
        speech=params.get("SpeechResult", "")[:500],
        dial_status=params.get("DialCallStatus", "")[:32],
        answered_by=params.get("To", "")[:64] if params.get("ParentCallSid") else "",
    )


def _verified_call(
    connection: ConnectionSnapshot, params: Mapping[str, str], reference: Mapping[str, str]
) -> tuple[Call, position.FlowReference]:
    # An answering party's leg (whisper, accept) is a child call: its reference names the parent.
    parent = params.get("ParentCallSid", "")
    call_id = parent or params.get("CallSid", "")
    # (carrier, carrier_call_id) is the unique index; only what a hop reads is loaded.
    call = (
        Call.objects.filter(
            carrier=connection.kind, carrier_call_id=call_id[:64], account_id=connection.account_id
        )
        .exclude(flow_version=None)
        .only(*HOP_FIELDS)
        .order_by()
        .first()
    )
    if call is None:
        raise Refused(f"no call {call_id[:64]!r} running a flow in this account")
    try:
        found = position.verify(
            reference, _key(), account_id=call.account_id, call_id=call_id, version_id=call.flow_version_id
        )
    except position.ReferenceRefused as error:
        raise Refused(str(error)) from error
    if bool(parent) != found.position.is_leg:
        raise Refused("a caller's reference on an answering leg, or the reverse")
    return call, found


def _advance(call: Call, hop: int) -> bool:
    """Claim the hop atomically: a replay (or a racing duplicate) of a served hop claims nothing."""
    return bool(Call.objects.filter(pk=call.pk, flow_hop__lt=hop).update(flow_hop=hop))


def _after(call: Call, outcome: FlowOutcome, here: Position, params: Mapping[str, str]) -> None:
    trail = outcome.trail if here.is_leg else _with_answerer(call, outcome.trail, here.hop)
    answered = next(
        (e.receiving_number for e in trail if e.receiving_number and e.outcome == "answered"), None
    )
    if answered is not None and not here.is_leg:
        address = loading.account_facts(call.account_id).receiving.get(answered, "")
        Call.objects.filter(pk=call.pk).update(receiving_number_id=answered, business_phone_number=address)
    leg = params.get("CallSid", "") if here.is_leg else ""
    _write_trail(call, trail, here.hop, clock.now(), leg_call_id=leg)


def _with_answerer(call: Call, trail: tuple[StepEvent, ...], hop: int) -> tuple[StepEvent, ...]:
    """Name who answered a dial of several targets, which the carrier's dial result does not say:
    the leg that accepted its whisper, or the only leg that heard one (a simultaneous dial without a
    whisper gets a silent one for this), during the same hop."""
    index = next(
        (i for i, e in enumerate(trail) if e.outcome == "answered" and e.receiving_number is None), None
    )
    if index is None:
        return trail
    found = _answering_leg(call, trail[index].step, hop)
    if found is None:
        return trail
    return (*trail[:index], dataclasses.replace(trail[index], receiving_number=found), *trail[index + 1 :])


def _answering_leg(call: Call, step: str, hop: int) -> int | None:
    # A leg's whisper carries the dial's hop; its accept gather, handed out by the whisper, the next.
    legs = [
        payload
        for payload in CallEvent.objects.filter(call=call, kind=FLOW_EVENT, payload__hop__in=[hop, hop + 1])
        .order_by("received_at", "id")
        .values_list("payload", flat=True)
        if payload.get("leg") and payload.get("step") == step and payload.get("receiving_number")
    ]
    accepted = [leg["receiving_number"] for leg in legs if leg.get("outcome") == "accepted"]
    if accepted:
        return int(accepted[0])
    heard = {leg["receiving_number"] for leg in legs if leg.get("outcome") in ("whisper", "picked up")}
    return int(heard.pop()) if len(heard) == 1 else None


def _write_trail(
    call: Call, trail: tuple[StepEvent, ...], hop: int, at: dt.datetime, leg_call_id: str
) -> None:
    if not trail:
        return
    base = hop * HOP_STRIDE + (HOP_STRIDE // 2 + zlib.crc32(leg_call_id.encode()) % 400 if leg_call_id else 0)
    events = [
        CallEvent(
            carrier=call.carrier,
            carrier_call_id=call.carrier_call_id,
            call=call,
            kind=FLOW_EVENT,
            sequence=base + i,
            status=event.kind.value,
            occurred_at=at,
            payload=_event_payload(event, hop, leg_call_id),
        )
        for i, event in enumerate(trail)
    ]
    CallEvent.objects.bulk_create(events, ignore_conflicts=True)  # one statement, atomic by itself


def _event_payload(event: StepEvent, hop: int, leg_call_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "step": event.step,
        "type": event.step_type,
        "event": event.kind.value,
        "outcome": event.outcome,
        "hop": hop,
    }
    if event.receiving_number is not None:
        payload["receiving_number"] = event.receiving_number
    if leg_call_id:
        payload["leg"] = leg_call_id
    return payload


def _context(
    document: FlowDocument,
    *,
    account_id: int,
    call_id: str,
    caller: str,
    caller_name: str,
    area: CallerArea,
    tracking_number: str,
    source_name: str,
    rotation: int,
) -> CallContext:
    facts = loading.account_facts(account_id)
    return CallContext(
        call_id=call_id,
        caller_number=caller,
        now=clock.now(),
        caller_area=area,
        caller_name=caller_name,
        account_time_zone=facts.time_zone,
        tracking_number=tracking_number,
        source_name=source_name,
        receiving_numbers=facts.receiving,
        last_answered_by=_last_answered_by(account_id, caller) if loading.has_sticky(document) else None,
        rotation=rotation,
    )


def _last_answered_by(account_id: int, caller: str) -> int | None:
    found = (
        Call.objects.filter(account_id=account_id, customer_phone_number=caller, outcome=Outcome.ANSWERED)
        .exclude(receiving_number=None)
        .order_by("-start_time")
        .values_list("receiving_number_id", flat=True)
        .first()
    )
    return found


def _rotation(version_id: int, document: FlowDocument) -> int:
    """Whose turn it is in a round robin: a per-flow counter, in Redis when there is one (shared by
    every process), else per process (each process then rotates through the targets on its own)."""
    if not loading.has_round_robin(document):
        return 0
    if not settings.REDIS_URL:
        return next(_local_turns.setdefault(version_id, itertools.count()))
    try:
        return int(client_for(settings.REDIS_URL).incr(f"rt:flow-turn:{version_id}")) - 1
    except Exception:
        log.exception("round-robin counter unavailable; taking this process's turn")
        return next(_local_turns.setdefault(version_id, itertools.count()))


_local_turns: dict[int, itertools.count[int]] = {}


def forget_local_turns() -> None:
    _local_turns.clear()


def _stored_area(call: Call) -> CallerArea:
    return CallerArea(
        city=call.customer_city,
        state=call.customer_state,
        zip=call.customer_zip,
        country=call.customer_country,
        time_zone=call.customer_time_zone,
        origin=call.caller_area_origin,
    )


def _signer(account_id: int, call_id: str, version_id: int) -> HookParams:
    return position.signer(_key(), account_id, call_id, version_id)


def _key() -> bytes:
    return position.derive_key(settings.SECRET_KEY)
