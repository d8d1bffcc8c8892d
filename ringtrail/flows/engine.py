"""Decide what happens to a call, as a carrier-neutral ``CallDecision``.

``decide`` runs a call flow (IVR menus, schedules, geo branches, forwards, queues, voicemail …) one hop
at a time; ``forward`` is the static forward of a tracking number without a flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    DialTarget,
    Hangup,
    Hook,
    HookRef,
    Record,
    Say,
)
from ringtrail.flows.context import CallContext, FlowOutcome, Position, StepInput
from ringtrail.flows.interpreter import BROKEN_FLOW_MESSAGE, Broken, HookParams, Run
from ringtrail.flows.position import plain_params
from ringtrail.flows.schema import FlowDocument

RECORDING_NOTICE = "This call may be recorded for quality and training purposes."
VOICEMAIL_PROMPT = "Sorry, nobody is available to take your call. Please leave a message after the tone."
UNKNOWN_NUMBER_MESSAGE = "We're sorry, this number is not in service. Goodbye."
NO_DESTINATION_MESSAGE = (
    "We're sorry, we cannot connect your call right now. Please try again later. Goodbye."
)
DIAL_TIMEOUT_SECONDS = 25

# Dial results after which the caller is offered voicemail.
UNANSWERED_DIAL_STATUSES = frozenset({"no-answer", "busy", "failed", "canceled"})


@dataclass(frozen=True)
class ForwardPlan:
    """What a tracking number says about routing, reduced to what the engine needs."""

    tracking_number_id: int
    destination: str  # E.164 or sip: URI; "" when none is configured
    caller_id: str
    whisper_text: str = ""
    record: bool = False


def forward(plan: ForwardPlan) -> CallDecision:
    if not plan.destination:
        return polite_hangup(NO_DESTINATION_MESSAGE)
    whisper = HookRef(Hook.WHISPER, {"tn": str(plan.tracking_number_id)}) if plan.whisper_text else None
    dial = Dial(
        targets=(DialTarget(plan.destination, whisper=whisper),),
        caller_id=plan.caller_id,
        answer_on_bridge=True,
        timeout_seconds=DIAL_TIMEOUT_SECONDS,
        record=plan.record,
        action=HookRef(Hook.DIAL, {"tn": str(plan.tracking_number_id)}),
        recording_callback=HookRef(Hook.RECORDING, {"purpose": "call"}) if plan.record else None,
    )
    notice = (Say(RECORDING_NOTICE),) if plan.record else ()
    return CallDecision((*notice, dial))


def after_dial(dial_status: str) -> CallDecision:
    """Nobody picked up: offer voicemail. Otherwise the conversation is over."""
    if dial_status not in UNANSWERED_DIAL_STATUSES:
        return CallDecision((Hangup(),))
    voicemail_hook = HookRef(Hook.RECORDING, {"purpose": "voicemail"})
    return CallDecision(
        (
            Say(VOICEMAIL_PROMPT),
            Record(action=voicemail_hook, recording_callback=voicemail_hook, max_length_seconds=120),
            Hangup(),
        )
    )


def whisper(text: str) -> CallDecision:
    return CallDecision((Say(text),))


def polite_hangup(message: str = UNKNOWN_NUMBER_MESSAGE) -> CallDecision:
    return CallDecision((Say(message), Hangup()))


def decide(
    flow: FlowDocument,
    context: CallContext,
    position: Position | None = None,
    step_input: StepInput | None = None,
    hook_params: HookParams = plain_params,
) -> FlowOutcome:
    """The next decision of a call in ``flow``: from the start when ``position`` is None, else from
    the position a carrier callback named, with what the caller did there.

    Pure and total: no database, no clock (``context.now``), no exception for a position that no longer
    fits the flow (edited mid-call, forged) — that is a polite hang-up with ``error`` set.
    ``hook_params`` turns each position the decision points back to into hook params (the wiring
    layer passes ``position.signer(...)``).
    """
    run = Run(flow, context, 0 if position is None else position.hop, hook_params)
    try:
        if position is None:
            run.walk(flow.start)
        else:
            run.resume(position, step_input or StepInput())
    except Broken as error:
        return FlowOutcome(polite_hangup(BROKEN_FLOW_MESSAGE), (), None, error=str(error))
    return run.outcome()
