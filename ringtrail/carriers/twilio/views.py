"""Twilio-dialect webhooks (Twilio and SignalWire): verify → normalise → hand over → render.

Views are thin: the pipeline lives in ``ringtrail.calls.inbound``; this module knows only how
Twilio signs, names its parameters and wants its answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ringtrail.calls import inbound as pipeline
from ringtrail.carriers.base import EventKind
from ringtrail.carriers.twilio import parse, signature
from ringtrail.carriers.twilio.render import TwimlRenderer
from ringtrail.flows import engine
from ringtrail.lib.secrets_box import unseal
from ringtrail.numbers.routes import ConnectionSnapshot, cached_connection, current_connection
from ringtrail.screening import challenge

log = logging.getLogger(__name__)
renderer = TwimlRenderer()
SIGNALWIRE_HEADER = "HTTP_X_SIGNALWIRE_SIGNATURE"
TWILIO_HEADER = "HTTP_X_TWILIO_SIGNATURE"


@dataclass(frozen=True)
class Verified:
    connection: ConnectionSnapshot
    params: dict[str, str]


def _signed_url(request: HttpRequest) -> str:
    base = settings.PUBLIC_URL or f"{request.scheme}://{request.get_host()}"
    query = request.META.get("QUERY_STRING", "")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _find_connection(kind: str, account_sid: str) -> ConnectionSnapshot | None:
    try:
        return current_connection(kind, account_sid)
    except DatabaseError:
        log.exception("database unavailable; verifying %s with the cached connection", account_sid)
        return cached_connection(kind, account_sid)


def verify(request: HttpRequest) -> Verified | HttpResponse:
    """403 unless the request is signed by the connection its AccountSid names."""
    is_signalwire = SIGNALWIRE_HEADER in request.META
    provided = request.META.get(SIGNALWIRE_HEADER if is_signalwire else TWILIO_HEADER, "")
    kind = "signalwire" if is_signalwire else "twilio"
    pairs = [(key, value) for key, values in request.POST.lists() for value in values]
    account_sid = request.POST.get("AccountSid", "")
    connection = _find_connection(kind, account_sid) if provided and 0 < len(account_sid) <= 64 else None
    if connection is None or not signature.is_valid(
        unseal(connection.secret_sealed), _signed_url(request), pairs, provided
    ):
        log.warning(
            "refused unsigned or forged %s webhook to %s (AccountSid %r)",
            kind,
            request.path,
            account_sid[:64],
        )
        return HttpResponse("invalid or missing signature\n", status=403, content_type="text/plain")
    params = {key: value for key, value in pairs}
    # The recording purpose travels in our own (signed) callback URL, not in the body.
    if request.GET.get("purpose") in ("call", "voicemail"):
        params["purpose"] = request.GET["purpose"]
    return Verified(connection, params)


def _bad_request(error: parse.MalformedRequest) -> HttpResponse:
    return HttpResponse(f"{error}\n", status=400, content_type="text/plain")


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type=renderer.content_type)


@csrf_exempt
@require_POST
def voice(request: HttpRequest) -> HttpResponse:
    verified = verify(request)
    if isinstance(verified, HttpResponse):
        return verified
    try:
        call = parse.inbound_call(verified.connection.kind, verified.params)
    except parse.MalformedRequest as error:
        return _bad_request(error)
    answer = pipeline.answer_call(call, verified.connection, renderer)
    return HttpResponse(answer.body, content_type=answer.content_type)


def _callback(request: HttpRequest, kind: EventKind) -> Verified | HttpResponse:
    verified = verify(request)
    if isinstance(verified, HttpResponse):
        return verified
    try:
        event = parse.callback_event(verified.connection.kind, kind, verified.params)
    except parse.MalformedRequest as error:
        return _bad_request(error)
    pipeline.record_callback(event)
    return verified


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    outcome = _callback(request, EventKind.STATUS)
    return outcome if isinstance(outcome, HttpResponse) else HttpResponse(status=204)


@csrf_exempt
@require_POST
def recording(request: HttpRequest) -> HttpResponse:
    outcome = _callback(request, EventKind.RECORDING)
    return outcome if isinstance(outcome, HttpResponse) else HttpResponse(status=204)


@csrf_exempt
@require_POST
def dial(request: HttpRequest) -> HttpResponse:
    outcome = _callback(request, EventKind.DIAL)
    if isinstance(outcome, HttpResponse):
        return outcome
    return _twiml(renderer.render(engine.after_dial(outcome.params.get("DialCallStatus", ""))))


@csrf_exempt
@require_POST
def whisper(request: HttpRequest) -> HttpResponse:
    verified = verify(request)
    if isinstance(verified, HttpResponse):
        return verified
    text = pipeline.whisper_text(request.GET.get("tn", ""), verified.connection)
    return _twiml(renderer.render(engine.whisper(text)))


@csrf_exempt
@require_POST
def screen(request: HttpRequest) -> HttpResponse:
    """The caller's key press on the spam-screening challenge of the call named in our URL."""
    verified = verify(request)
    if isinstance(verified, HttpResponse):
        return verified
    kind = verified.connection.kind
    answer = challenge.answer_signed(
        verified.connection,
        verified.params,
        request.GET.get("call", ""),
        lambda params: parse.inbound_call(kind, params),
        renderer,
    )
    if answer is None:
        return HttpResponse("call reference does not match CallSid\n", status=403, content_type="text/plain")
    return HttpResponse(answer.body, content_type=answer.content_type)
