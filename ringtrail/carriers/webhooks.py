"""Carrier-agnostic webhook views: given how a dialect verifies, parses and renders, the five endpoints.

Every TwiML-like carrier answers the same way (voice → the call pipeline; status / recording → store
once, 204; dial → store once, then what happens after the dial; whisper → what the answering party
hears; screen → the caller's answer to the spam-screening challenge; callback → a call-back's legs), so
only ``verify``, the parser and the renderer differ: ``carriers/twilio/views.py`` and
``carriers/telnyx/views.py`` supply those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ringtrail.callbacks import hooks as callback_hooks
from ringtrail.calls import inbound as pipeline
from ringtrail.carriers.base import CallbackEvent, EventKind, InboundCall, Renderer
from ringtrail.carriers.twilio.parse import MalformedRequest
from ringtrail.flows import engine
from ringtrail.numbers.routes import ConnectionSnapshot
from ringtrail.screening import challenge

log = logging.getLogger(__name__)

View = Callable[[HttpRequest], HttpResponse]


@dataclass(frozen=True)
class Verified:
    connection: ConnectionSnapshot
    params: dict[str, str]


Verify = Callable[[HttpRequest], Verified | HttpResponse]


class Parser(Protocol):
    def inbound_call(self, carrier: str, params: Mapping[str, str]) -> InboundCall: ...

    def callback_event(self, carrier: str, kind: EventKind, params: Mapping[str, str]) -> CallbackEvent: ...


@dataclass(frozen=True)
class WebhookViews:
    voice: View
    status: View
    dial: View
    recording: View
    whisper: View
    screen: View
    flow: View
    callback: View

    def routes(self) -> tuple[tuple[str, View], ...]:
        return (
            ("voice", self.voice),
            ("status", self.status),
            ("dial", self.dial),
            ("recording", self.recording),
            ("whisper", self.whisper),
            ("screen", self.screen),
            ("flow", self.flow),
            ("callback", self.callback),
        )


def _bad_request(error: MalformedRequest) -> HttpResponse:
    return HttpResponse(f"{error}\n", status=400, content_type="text/plain")


def _endpoint(handle: Callable[[HttpRequest, Verified], HttpResponse], verify: Verify) -> View:
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        verified = verify(request)
        if isinstance(verified, HttpResponse):
            return verified
        try:
            return handle(request, verified)
        except MalformedRequest as error:
            return _bad_request(error)

    view.__name__ = handle.__name__
    return view


def webhook_views(verify: Verify, parser: Parser, renderer: Renderer) -> WebhookViews:
    def markup(body: str) -> HttpResponse:
        return HttpResponse(body, content_type=renderer.content_type)

    def voice(request: HttpRequest, verified: Verified) -> HttpResponse:
        call = parser.inbound_call(verified.connection.kind, verified.params)
        answer = pipeline.answer_call(call, verified.connection, renderer)
        return HttpResponse(answer.body, content_type=answer.content_type)

    def store(kind: EventKind, verified: Verified) -> None:
        pipeline.record_callback(parser.callback_event(verified.connection.kind, kind, verified.params))

    def status(request: HttpRequest, verified: Verified) -> HttpResponse:
        store(EventKind.STATUS, verified)
        return HttpResponse(status=204)

    def recording(request: HttpRequest, verified: Verified) -> HttpResponse:
        store(EventKind.RECORDING, verified)
        return HttpResponse(status=204)

    def dial(request: HttpRequest, verified: Verified) -> HttpResponse:
        store(EventKind.DIAL, verified)
        return markup(renderer.render(engine.after_dial(verified.params.get("DialCallStatus", ""))))

    def whisper(request: HttpRequest, verified: Verified) -> HttpResponse:
        text = pipeline.whisper_text(request.GET.get("tn", ""), verified.connection)
        return markup(renderer.render(engine.whisper(text)))

    def screen(request: HttpRequest, verified: Verified) -> HttpResponse:
        # The call named in our own URL must be the call in the signed body, so an answer can only
        # ever settle its own call's challenge.
        kind = verified.connection.kind
        answer = challenge.answer_signed(
            verified.connection,
            verified.params,
            request.GET.get("call", ""),
            lambda params: parser.inbound_call(kind, params),
            renderer,
        )
        if answer is None:
            return HttpResponse(
                "call reference does not match CallSid\n", status=403, content_type="text/plain"
            )
        return HttpResponse(answer.body, content_type=answer.content_type)

    def flow(request: HttpRequest, verified: Verified) -> HttpResponse:
        """A call flow continues: a menu's input or silence, a dial's result, a queue round, or the
        answering party's whisper. The reference in our URL is signed for this call and flow version."""
        params = verified.params

        def dial_ended() -> None:  # the call's outcome and talk time fold from it as usual
            store(EventKind.DIAL, verified)

        decision = pipeline.continue_flow(verified.connection, params, request.GET.dict(), dial_ended)
        if decision is None:
            return HttpResponse("flow reference refused\n", status=403, content_type="text/plain")
        return markup(renderer.render(decision))

    def callback(request: HttpRequest, verified: Verified) -> HttpResponse:
        # Every leg of a call-back (``ringtrail.callbacks``); the signed ``ref`` names request and step.
        kind = verified.connection.kind
        return callback_hooks.answer(
            request.GET.get("ref", ""),
            verified.connection,
            verified.params,
            lambda event_kind, params: parser.callback_event(kind, event_kind, params),
            renderer,
        )

    handlers = (voice, status, dial, recording, whisper, screen, flow, callback)
    return WebhookViews(*(_endpoint(handle, verify) for handle in handlers))
