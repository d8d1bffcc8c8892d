"""Twilio-dialect webhooks (Twilio and SignalWire): verify → normalise → hand over → render.

Views are thin: the pipeline lives in ``ringtrail.calls.inbound``; this module knows only how
Twilio signs, names its parameters and wants its answers.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from ringtrail.carriers.twilio import parse, signature
from ringtrail.carriers.twilio.render import TwimlRenderer
from ringtrail.carriers.webhooks import Verified, webhook_views
from ringtrail.lib.secrets_box import unseal
from ringtrail.numbers.routes import ConnectionSnapshot, cached_connection, current_connection

log = logging.getLogger(__name__)
renderer = TwimlRenderer()
SIGNALWIRE_HEADER = "HTTP_X_SIGNALWIRE_SIGNATURE"
TWILIO_HEADER = "HTTP_X_TWILIO_SIGNATURE"


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


# The endpoints themselves are carrier-agnostic (``carriers/webhooks.py``); Twilio supplies how it
# verifies, parses and renders.
views = webhook_views(verify, parse, renderer)
