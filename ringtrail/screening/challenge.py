"""The caller's answer to the screening challenge ("press 1 to be connected").

The carrier posts the gathered digit to the screen hook of the call it challenged. The view has
already checked the carrier's signature and that the call id in our URL is the call in the body,
so a request can only ever settle its own call. Only a call still waiting on its challenge can
be connected this way; anything else hangs up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from django.db import DatabaseError

from ringtrail.calls.inbound import Answer, decide
from ringtrail.calls.models import Call
from ringtrail.carriers.base import CallDecision, Hangup, InboundCall, Renderer, Say
from ringtrail.numbers.routes import ConnectionSnapshot, RouteSnapshot, cached_route, current_route
from ringtrail.screening import actions
from ringtrail.screening.step import is_pending

log = logging.getLogger(__name__)
GOODBYE = CallDecision((Say("Goodbye."), Hangup()))
ParseInbound = Callable[[Mapping[str, str]], InboundCall]


def answer_signed(
    connection: ConnectionSnapshot,
    params: Mapping[str, str],
    reference: str,
    parse: ParseInbound,
    renderer: Renderer,
) -> Answer | None:
    """Answer a verified screen request; None when ``reference`` (the call named in our own URL) is
    not the call in the signed body, which the view refuses as forged."""
    call_id = params.get("CallSid", "")
    if not call_id or reference != call_id:
        log.warning("screen answer for %r carried the reference of %r", call_id[:64], reference[:64])
        return None
    return answer(connection, call_id, params.get("Digits", "").strip(), params, parse, renderer)


def answer(
    connection: ConnectionSnapshot,
    call_id: str,
    digits: str,
    params: Mapping[str, str],
    parse: ParseInbound,
    renderer: Renderer,
) -> Answer:
    try:
        decision = _settle(connection, call_id, digits, parse)
    except DatabaseError:
        log.exception("database unavailable while answering the challenge of call %s", call_id)
        decision = _without_database(connection, digits, params, parse)
    return Answer(renderer.render(decision), renderer.content_type)


def _settle(connection: ConnectionSnapshot, call_id: str, digits: str, parse: ParseInbound) -> CallDecision:
    call = (
        Call.objects.filter(
            account_id=connection.account_id, carrier=connection.kind, carrier_call_id=call_id
        )
        .order_by()
        .first()
    )
    if call is None or not call.is_spam or not is_pending(call.spam_reason):
        log.warning("screen answer for call %s, which is not waiting on a challenge", call_id)
        return GOODBYE
    if digits != "1":
        actions.fail_challenge(call, digits)
        return GOODBYE
    try:
        inbound = parse(call.raw_payload.get("voice") or {})
    except ValueError:
        log.exception("call %s has no usable stored webhook to connect it with", call_id)
        return GOODBYE
    route = _owned(current_route(inbound.to_number) if inbound.to_number else None, connection)
    actions.pass_challenge(call, route)
    decision, _ = decide(inbound, route)
    return decision


def _without_database(
    connection: ConnectionSnapshot, digits: str, params: Mapping[str, str], parse: ParseInbound
) -> CallDecision:
    # The caller did what was asked; with no way to check, connect them as the call would have been.
    if digits != "1":
        return GOODBYE
    try:
        inbound = parse(params)
    except ValueError:
        return GOODBYE
    route = _owned(cached_route(inbound.to_number) if inbound.to_number else None, connection)
    decision, _ = decide(inbound, route)
    return decision


def _owned(route: RouteSnapshot | None, connection: ConnectionSnapshot) -> RouteSnapshot | None:
    if route is None or route.connection_id != connection.connection_id:
        return None
    return route
