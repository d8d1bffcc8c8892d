"""Request signing exactly as Twilio (and SignalWire's compatibility API) sign their webhooks, and as
Telnyx signs TeXML webhooks: Ed25519 over ``f"{unix seconds}|{raw body}"`` in the headers
``telnyx-signature-ed25519`` / ``telnyx-timestamp`` (Telnyx's Python SDK,
``src/telnyx/lib/webhook_verification.py``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CarrierName = Literal["twilio", "signalwire", "telnyx"]
KINDS = ("twilio", "signalwire", "telnyx")

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNALWIRE_SIGNATURE_HEADER = "X-SignalWire-Signature"
TELNYX_SIGNATURE_HEADER = "telnyx-signature-ed25519"
TELNYX_TIMESTAMP_HEADER = "telnyx-timestamp"


@dataclass(frozen=True)
class Credentials:
    """What the carrier signs with: Twilio's auth token, SignalWire's signing key, or for Telnyx the
    base64 32-byte seed of the Ed25519 private key whose public half the connection holds."""

    kind: CarrierName
    account_sid: str
    secret: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown carrier kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "telnyx":
            telnyx_private_key(self.secret)  # fail at construction, not on the first request

    def __repr__(self) -> str:
        # Keep the secret out of tracebacks and logs.
        return f"Credentials(kind={self.kind!r}, account_sid={self.account_sid!r}, secret='***')"


def compute_signature(secret: str, url: str, params: Mapping[str, str]) -> str:
    """base64(HMAC-SHA1(secret, url + concatenated sorted key/value pairs))."""
    message = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def telnyx_private_key(seed_b64: str) -> Ed25519PrivateKey:
    try:
        seed = base64.b64decode(seed_b64, validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise ValueError("a telnyx secret is the base64 32-byte seed of an Ed25519 private key")
    return Ed25519PrivateKey.from_private_bytes(seed)


def telnyx_headers(seed_b64: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Telnyx's two headers for ``body``; ``timestamp`` defaults to now (servers refuse stale ones)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = telnyx_private_key(seed_b64).sign(stamp.encode() + b"|" + body)
    return {TELNYX_SIGNATURE_HEADER: base64.b64encode(signature).decode(), TELNYX_TIMESTAMP_HEADER: stamp}


def signature_headers(
    credentials: Credentials, url: str, params: Mapping[str, str], body: bytes = b""
) -> dict[str, str]:
    """The headers that sign a POST of ``params`` to ``url``; Telnyx signs the encoded ``body`` instead."""
    if credentials.kind == "telnyx":
        return telnyx_headers(credentials.secret, body)
    signature = compute_signature(credentials.secret, url, params)
    headers = {TWILIO_SIGNATURE_HEADER: signature}
    if credentials.kind == "signalwire":
        # SignalWire sends both headers so Twilio-compatible validators keep working.
        headers[SIGNALWIRE_SIGNATURE_HEADER] = signature
    return headers
