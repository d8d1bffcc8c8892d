"""TeXML webhooks: verify (Ed25519) → normalise → hand over → render.

The endpoints are the carrier-agnostic ones of ``carriers.webhooks``, over the same pipeline as the Twilio
dialect's (``ringtrail.calls.inbound``); this module knows only how Telnyx signs.
"""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from ringtrail.carriers.telnyx import parse, signature
from ringtrail.carriers.telnyx.render import TexmlRenderer
from ringtrail.carriers.webhooks import Verified, webhook_views
from ringtrail.numbers.routes import ConnectionSnapshot, cached_connection, current_connection

log = logging.getLogger(__name__)
KIND = "telnyx"
SIGNATURE_META = "HTTP_TELNYX_SIGNATURE_ED25519"
TIMESTAMP_META = "HTTP_TELNYX_TIMESTAMP"
MAX_ACCOUNT_SID = 64


def _find_connection(account_sid: str) -> ConnectionSnapshot | None:
    try:
        return current_connection(KIND, account_sid)
    except DatabaseError:
        log.exception("database unavailable; verifying %s with the cached connection", account_sid)
        return cached_connection(KIND, account_sid)


def verify(request: HttpRequest) -> Verified | HttpResponse:
    """403 unless the raw body is signed, recently, by the key of the connection its AccountSid names."""
    body = request.body  # read before request.POST: the signature covers these exact bytes
    provided = request.META.get(SIGNATURE_META, "")
    timestamp = request.META.get(TIMESTAMP_META, "")
    account_sid = request.POST.get("AccountSid", "")
    known = provided and 0 < len(account_sid) <= MAX_ACCOUNT_SID
    connection = _find_connection(account_sid) if known else None
    if connection is None or not signature.is_valid(
        connection.webhook_public_key, body, provided, timestamp, now=time.time()
    ):
        log.warning(
            "refused unsigned, forged or stale telnyx webhook to %s (AccountSid %r, timestamp %r)",
            request.path,
            account_sid[:MAX_ACCOUNT_SID],
            timestamp[:20],
        )
        return HttpResponse("invalid, stale or missing signature\n", status=403, content_type="text/plain")
    params = {key: value for key, values in request.POST.lists() for value in values}
    # Our own callback URLs carry the recording purpose. Telnyx signs the body, not the URL, so this
    # query value is outside the signature (a replay inside the tolerance window could flip it).
    if request.GET.get("purpose") in ("call", "voicemail"):
        params["purpose"] = request.GET["purpose"]
    return Verified(connection, params)


views = webhook_views(verify, parse, TexmlRenderer())
voice = views.voice
status = views.status
dial = views.dial
recording = views.recording
whisper = views.whisper
screen = views.screen
