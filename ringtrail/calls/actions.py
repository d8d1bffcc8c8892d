"""Every write about calls: the inbound call itself and the carrier events that follow it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction

from ringtrail.calls import attribution, caller_area, lifecycle
from ringtrail.calls.models import Attribution, Call, CallEvent
from ringtrail.carriers.base import CallbackEvent, InboundCall
from ringtrail.lib import clock
from ringtrail.lib.fast_insert import Sql, build, insert_unless_conflict
from ringtrail.numbers.routes import ConnectionSnapshot, RouteSnapshot


@dataclasses.dataclass(frozen=True)
class InboundRecord:
    """Everything known about an inbound call when we answered it."""

    inbound: InboundCall
    connection: ConnectionSnapshot
    route: RouteSnapshot | None
    response_body: str
    response_content_type: str
    routing_note: str = ""
    # When we answered; a spooled call replayed later keeps its real start (and attribution) time.
    received_at: dt.datetime = dataclasses.field(default_factory=clock.now)
    # Set when screening stopped the call (screening/step.py): stored as spam, never attributed.
    spam_reason: str = ""
    # The call flow version the call runs and its round-robin turn (calls/flow_calls.py).
    flow_version_id: int | None = None
    flow_rotation: int = 0


def existing_call(carrier: str, call_id: str) -> Call | None:
    return Call.objects.filter(carrier=carrier, carrier_call_id=call_id).order_by().first()


def record_inbound_call(record: InboundRecord, created: Callable[[Call], None] | None = None) -> Call:
    """Store the call once per carrier call id; a repeat returns the stored call untouched.

    The unique constraint, not a read-before-write, decides who stored it first: one INSERT on the
    hot path, and no window in which two concurrent deliveries both create a call. ``created`` runs
    only for the delivery that stored it.
    """
    inbound = record.inbound
    call = build(Call, _call_fields(record))
    account_id, caller = record.connection.account_id, inbound.from_number
    inserted = insert_unless_conflict(
        call,
        computed={"first_call": Sql(_first_call_sql(connection.vendor), (account_id, caller))},
        returning=[Sql(_early_events_sql(connection.vendor), (inbound.carrier, inbound.call_id))],
    )
    if inserted is None:
        stored = existing_call(inbound.carrier, inbound.call_id)
        if stored is None:  # the conflict was on another constraint; let the ORM say which
            raise IntegrityError(f"call {inbound.call_id} could not be stored")
        return stored
    if created is not None:
        created(call)
    (overtaken,) = inserted
    if overtaken and _adopt_early_events(call):
        refold(call)
    return call


# The insert asks two questions in the same statement, each one a round trip (and on SQLite a turn at
# the write queue) saved on every incoming call: has this caller called the account before, and did
# callbacks overtake the call (or get spooled before it)? Table names come from the models.


@functools.cache
def _first_call_sql(vendor: str) -> str:
    table = connection.ops.quote_name(Call._meta.db_table)
    return f"NOT EXISTS (SELECT 1 FROM {table} WHERE account_id = %s AND customer_phone_number = %s)"  # noqa: S608


@functools.cache
def _early_events_sql(vendor: str) -> str:
    table = connection.ops.quote_name(CallEvent._meta.db_table)
    return f"EXISTS (SELECT 1 FROM {table} WHERE carrier = %s AND carrier_call_id = %s AND call_id IS NULL)"  # noqa: S608


def _adopt_early_events(call: Call) -> int:
    """Link callbacks that overtook the call to it; returns how many."""
    table = connection.ops.quote_name(CallEvent._meta.db_table)
    where = "carrier = %s AND carrier_call_id = %s AND call_id IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET call_id = %s WHERE {where}",  # noqa: S608
            [call.pk, call.carrier, call.carrier_call_id],
        )
        return int(cursor.rowcount)


def _call_fields(record: InboundRecord) -> dict[str, Any]:
    inbound, route = record.inbound, record.route
    area = caller_area.resolve(inbound.caller_area, inbound.from_number)
    return {
        "account_id": record.connection.account_id,
        "carrier": inbound.carrier,
        "carrier_call_id": inbound.call_id,
        "tracking_number_id": route.tracking_number_id if route else None,
        "tracking_phone_number": inbound.to_number or inbound.raw.get("To", "")[:32],
        "source_id": route.source_id if route else None,
        "source_name": route.source_name if route else "",
        "medium": route.medium if route else "",
        "receiving_number_id": route.receiving_number_id if route else None,
        "business_phone_number": route.destination if route else "",
        "customer_phone_number": inbound.from_number,
        "customer_name": inbound.caller_name,
        "customer_city": area.city,
        "customer_state": area.state,
        "customer_zip": area.zip,
        "customer_country": area.country,
        "customer_time_zone": area.time_zone,
        "caller_area_origin": area.origin,
        "start_time": record.received_at,
        **_attribution_fields(record),
        "is_spam": bool(record.spam_reason),
        "spam_reason": record.spam_reason,
        "routing_note": record.routing_note,
        "flow_version_id": record.flow_version_id,
        "flow_rotation": record.flow_rotation,
        "response_body": record.response_body,
        "response_content_type": record.response_content_type,
        "raw_payload": {"voice": dict(inbound.raw)},
    }


def _attribution_fields(record: InboundRecord) -> dict[str, Any]:
    if record.spam_reason:  # spam takes no visit session, so no campaign gets credit for it
        return attribution.Found(Attribution.NONE).call_fields()
    return attribution.attribute(
        record.route, record.connection.account_id, record.inbound.from_number, record.received_at
    ).call_fields()


def record_event(event: CallbackEvent) -> bool:
    """Store a callback once per (carrier, call, kind, sequence) and re-derive the call. True if new."""
    call = existing_call(event.carrier, event.call_id)
    try:
        with transaction.atomic():
            CallEvent.objects.create(
                carrier=event.carrier,
                carrier_call_id=event.call_id,
                call=call,
                kind=event.kind.value,
                sequence=event.sequence,
                status=event.status,
                occurred_at=event.occurred_at,
                call_duration=event.call_duration,
                dial_duration=event.dial_duration,
                recording_url=event.recording_url[:500],
                recording_purpose=event.recording_purpose,
                payload=dict(event.raw),
            )
            if call is not None:
                refold(call)
    except IntegrityError:
        return False  # a replayed or duplicated callback: already applied
    return True


def refold(call: Call) -> None:
    """Recompute the call's outcome and timings from all its events, in sequence order."""
    facts = [_facts(event) for event in CallEvent.objects.filter(call=call)]
    routed = call.tracking_number_id is not None and bool(call.business_phone_number)
    state = lifecycle.fold(facts, routed=routed, started_at=call.start_time)
    derived = dataclasses.asdict(state)
    for name, value in derived.items():
        setattr(call, name, value)
    # Only what the events decide: a spam mark or challenge answer saved meanwhile must survive.
    call.save(update_fields=[*derived, "updated_at"])


def _facts(event: CallEvent) -> lifecycle.EventFacts:
    return lifecycle.EventFacts(
        kind=event.kind,
        sequence=event.sequence,
        status=event.status,
        occurred_at=event.occurred_at,
        call_duration=event.call_duration,
        dial_duration=event.dial_duration,
        recording_url=event.recording_url,
        recording_purpose=event.recording_purpose,
    )
