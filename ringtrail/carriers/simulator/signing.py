"""Request signing exactly as Twilio (and SignalWire's compatibility API) sign their webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

CarrierName = Literal["twilio", "signalwire"]

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNALWIRE_SIGNATURE_HEADER = "X-SignalWire-Signature"


@dataclass(frozen=True)
class Credentials:
    """What the carrier signs with: Twilio's auth token or SignalWire's signing key."""

    kind: CarrierName
    account_sid: str
    secret: str

    def __post_init__(self) -> None:
        if self.kind not in ("twilio", "signalwire"):
            raise ValueError(f"unknown carrier kind {self.kind!r}; expected 'twilio' or 'signalwire'")

    def __repr__(self) -> str:
        # Keep the secret out of tracebacks and logs.
        return f"Credentials(kind={self.kind!r}, account_sid={self.account_sid!r}, secret='***')"


def compute_signature(secret: str, url: str, params: Mapping[str, str]) -> str:
    """base64(HMAC-SHA1(secret, url + concatenated sorted key/value pairs))."""
    message = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_headers(credentials: Credentials, url: str, params: Mapping[str, str]) -> dict[str, str]:
    signature = compute_signature(credentials.secret, url, params)
    headers = {TWILIO_SIGNATURE_HEADER: signature}
    if credentials.kind == "signalwire":
        # SignalWire sends both headers so Twilio-compatible validators keep working.
        headers[SIGNALWIRE_SIGNATURE_HEADER] = signature
    return headers
