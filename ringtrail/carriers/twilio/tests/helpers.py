"""Signed Twilio-dialect requests through Django's test client."""

from __future__ import annotations

from typing import Any

from django.test import Client

from ringtrail.carriers.twilio.signature import compute_signature
from ringtrail.testing import WiredAccount

BASE = "http://testserver"


def signed_post(client: Client, wired: WiredAccount, path: str, params: dict[str, str], **extra: Any) -> Any:
    signature = compute_signature(wired.auth_token, BASE + path, params.items())
    header = (
        "HTTP_X_SIGNALWIRE_SIGNATURE" if wired.connection.kind == "signalwire" else "HTTP_X_TWILIO_SIGNATURE"
    )
    return client.post(path, params, **{header: signature}, **extra)


def voice_params(wired: WiredAccount, call_sid: str = "CA" + "1" * 32, **overrides: str) -> dict[str, str]:
    params = {
        "CallSid": call_sid,
        "AccountSid": wired.connection.account_sid,
        "From": "+12125550143",
        "To": wired.tracking.number,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    params.update(overrides)
    return params


def callback_params(wired: WiredAccount, call_sid: str = "CA" + "1" * 32, **fields: str) -> dict[str, str]:
    return {"CallSid": call_sid, "AccountSid": wired.connection.account_sid, **fields}
