"""The carrier side of a call-back: every leg's webhook, after the dialect verified its signature.

``carriers/webhooks.py`` serves this at ``/carriers/<kind>/callback?ref=…`` for every carrier. The
signed reference names the request and the step; the request must belong to the connection's account
and its call must be the call in the (signed) body, so a leg can only ever move its own request on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.http import HttpResponse

from ringtrail.callbacks import actions, decide, ref
from ringtrail.callbacks.models import DEFAULT_WHISPER, CallbackRequest
from ringtrail.callbacks.states import Status
from ringtrail.calls.inbound import record_callback
from ringtrail.carriers.base import CallbackEvent, CallDecision, EventKind, Hangup, Hook, HookRef, Renderer
from ringtrail.numbers.routes import ConnectionSnapshot

EventParser = Callable[[EventKind, Mapping[str, str]], CallbackEvent]


def answer(
    reference: str,
    connection: ConnectionSnapshot,
    params: Mapping[str, str],
    parse_event: EventParser,
    renderer: Renderer,
) -> HttpResponse:
    found = ref.unsign(reference)
    if found is None:
        return _forbidden("call-back reference is missing or forged")
    request_id, step = found
    request = (
        CallbackRequest.objects.select_related("visit_session", "tracking_number")
        .filter(pk=request_id, account_id=connection.account_id)
        .first()
    )
    if request is None or not actions.bind_call(request, params.get("CallSid", "")):
        return _forbidden("call-back reference does not match this call")
    if step == "status":
        record_callback(parse_event(EventKind.STATUS, params))
        _business_status(request, params.get("CallStatus", ""))
        return HttpResponse(status=204)
    if step == "dial":
        record_callback(parse_event(EventKind.DIAL, params))
        return _markup(renderer, _visitor_dialled(request, params))
    if step == "answer":
        return _markup(renderer, _business_pressed(request, params.get("Digits", "")))
    return _markup(renderer, _business_answered(request, connection.kind, params))


def _business_answered(request: CallbackRequest, kind: str, params: Mapping[str, str]) -> CallDecision:
    if request.status != Status.CALLING_BUSINESS:
        return CallDecision((Hangup(),))  # over already (or a replay): never whisper twice
    actions.start_call(request, kind, params)
    config = actions.settings_of(request.account_id)
    template = config.whisper_template if config else DEFAULT_WHISPER
    leg = decide.BusinessLeg(
        whisper=decide.whisper_text(template, request.page),
        answer=decide.callback_hook(ref.sign(request.pk, "answer")),
    )
    return decide.business_answered(leg)


def _business_pressed(request: CallbackRequest, digits: str) -> CallDecision:
    target = decide.status_after_key(digits)
    moved = actions.move(request, [Status.CALLING_BUSINESS], target)
    if target == Status.DECLINED:
        if moved:
            actions.note_declined(request)
        return decide.business_pressed(digits, _visitor_leg(request))
    if not moved and request.status != Status.CALLING_VISITOR:
        return CallDecision((Hangup(),))
    return decide.business_pressed(digits, _visitor_leg(request))


def _visitor_leg(request: CallbackRequest) -> decide.VisitorLeg:
    tracking = request.tracking_number
    record = bool(tracking and tracking.record_calls)
    return decide.VisitorLeg(
        visitor=request.phone,
        caller_id=tracking.number if tracking else "",
        dial_result=decide.callback_hook(ref.sign(request.pk, "dial")),
        record=record,
        recording_callback=HookRef(Hook.RECORDING, {"purpose": "call"}) if record else None,
    )


def _visitor_dialled(request: CallbackRequest, params: Mapping[str, str]) -> CallDecision:
    dial_status = params.get("DialCallStatus", "")
    target = decide.status_after_dial(dial_status, params.get("DialBridged", ""))
    actions.move(request, [Status.CALLING_VISITOR], target)
    return decide.after_visitor_dial(dial_status)


def _business_status(request: CallbackRequest, call_status: str) -> None:
    target = decide.status_after_call_status(call_status, request.status)
    if target is not None and actions.move(request, [request.status], target) and target == Status.DECLINED:
        actions.note_declined(request)


def _markup(renderer: Renderer, decision: CallDecision) -> HttpResponse:
    return HttpResponse(renderer.render(decision), content_type=renderer.content_type)


def _forbidden(reason: str) -> HttpResponse:
    return HttpResponse(f"{reason}\n", status=403, content_type="text/plain")
