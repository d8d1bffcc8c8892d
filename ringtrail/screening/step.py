"""The ``screen`` step of the incoming-call pipeline (DESIGN.md §2 flow 2): after the tracking
number is resolved, before the flow decides.

It never calls out to the network and never fails the call: if our database cannot be read, the
call is not screened and the caller is connected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError

from ringtrail.carriers.base import (
    CallDecision,
    Gather,
    Hangup,
    Hook,
    HookRef,
    InboundCall,
    Reject,
    Say,
)
from ringtrail.lib import clock
from ringtrail.numbers.routes import RouteSnapshot
from ringtrail.screening import config
from ringtrail.screening.rules import Action, Caller, Verdict, screen

log = logging.getLogger(__name__)

CHALLENGE_PROMPT = "Thank you for calling. To be connected, please press 1 now."
PENDING_PREFIX = "unanswered challenge: "
FAILED_PREFIX = "failed challenge: "
REASON_LENGTH = 200  # Call.spam_reason


@dataclass(frozen=True)
class Screened:
    """A call screening stopped: what the carrier is told, and how the call is stored."""

    decision: CallDecision
    routing_note: str
    spam_reason: str


def screen_call(inbound: InboundCall, route: RouteSnapshot | None) -> Screened | None:
    """None when the call may go on to the flow; else the decision that replaces the flow's."""
    if route is None or not route.routes_calls:
        return None  # the flow hangs up politely anyway
    try:
        verdict = _verdict(inbound, route)
    except DatabaseError:
        log.exception("screening skipped for call %s: database unavailable", inbound.call_id)
        return None
    if verdict.action is Action.REJECT:
        return Screened(
            CallDecision((Reject(),)),
            f"screened: rejected ({verdict.reason})"[:REASON_LENGTH],
            verdict.reason[:REASON_LENGTH],
        )
    if verdict.action is Action.CHALLENGE:
        return Screened(
            challenge_decision(inbound.call_id),
            f"screened: challenged ({verdict.reason})"[:REASON_LENGTH],
            (PENDING_PREFIX + verdict.reason)[:REASON_LENGTH],
        )
    return None


def _verdict(inbound: InboundCall, route: RouteSnapshot) -> Verdict:
    setup = config.current_config(route.account_id)
    number_id = route.tracking_number_id
    if not setup.screens(number_id):
        return Verdict(Action.ALLOW)
    policy = setup.policy_for(number_id)
    now = clock.now()  # the calls' own clock (a traffic simulation may run it ahead)
    caller = Caller(inbound.from_number, inbound.caller_name, _verstat(inbound))
    history = (
        config.recent_short_calls(route.account_id, inbound.from_number, policy, now)
        if policy.needs_history
        else []
    )
    return screen(policy, setup.candidate_rules(number_id, caller), caller, history, now)


def _verstat(inbound: InboundCall) -> str | None:
    # InboundCall has no carrier-neutral STIR/SHAKEN field yet; Twilio and SignalWire send
    # StirVerstat (Telnyx's ShakenStirAttestation/Validated would need mapping by its parser).
    return inbound.raw.get("StirVerstat")


def challenge_decision(call_id: str) -> CallDecision:
    """ "Press 1 to be connected"; silence or any other key falls through to the hang-up.

    The answer comes back to the screen hook with this call's id in the (carrier-signed) URL, and
    the hook refuses a request whose body names another call.
    """
    return CallDecision(
        (
            Gather(
                action=HookRef(Hook.SCREEN, {"call": call_id}),
                prompt=(Say(CHALLENGE_PROMPT),),
                num_digits=1,
                timeout_seconds=6,
            ),
            Hangup(),
        )
    )


def is_pending(spam_reason: str) -> bool:
    return spam_reason.startswith(PENDING_PREFIX)
