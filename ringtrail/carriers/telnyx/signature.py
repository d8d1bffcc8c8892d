"""Telnyx webhook signatures: Ed25519 over ``f"{timestamp}|{raw body}"``.

Telnyx sends ``telnyx-signature-ed25519`` (base64 of a 64-byte signature) and ``telnyx-timestamp``
(unix seconds) and signs the timestamp, a literal ``|`` and the raw request body with the account's
key; the base64 public key is shown in Mission Control (Keys & Credentials → Public Key). Confirmed
against Telnyx's own Python SDK, ``src/telnyx/lib/webhook_verification.py`` (team-telnyx/telnyx-python:
``signed_payload = f"{timestamp_header}|{payload}"``, 300 s tolerance in both directions) and the TeXML
callback reference (developers.telnyx.com/api-reference/callbacks/texml-call-initiated: "Ed25519
signature of timestamp|payload"). Unlike Twilio's HMAC the URL is not signed, only the body.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
# The replay defence: a captured request is worthless after this many seconds (either direction,
# so a clock running ahead cannot pre-sign requests). Telnyx's SDKs use the same five minutes.
TIMESTAMP_TOLERANCE_SECONDS = 300
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
_MAX_TIMESTAMP_DIGITS = 12


def _strict_b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def public_key_from_base64(text: str) -> Ed25519PublicKey | None:
    """The Ed25519 public key in ``text`` (base64 of 32 raw bytes), or None if it is not one."""
    raw = _strict_b64(text)
    if raw is None or len(raw) != PUBLIC_KEY_BYTES:
        return None
    return Ed25519PublicKey.from_public_bytes(raw)


def signed_message(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode("ascii") + b"|" + body


def timestamp_is_fresh(timestamp: str, now: float, tolerance: int = TIMESTAMP_TOLERANCE_SECONDS) -> bool:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        return False
    return abs(now - int(timestamp)) <= tolerance


def signature_matches(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """Ed25519 verification of ``message``; any malformed key or signature is simply a mismatch."""
    key = public_key_from_base64(public_key_b64)
    signature = _strict_b64(signature_b64)
    if key is None or signature is None or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def is_valid(
    public_key_b64: str,
    body: bytes,
    signature_b64: str,
    timestamp: str,
    now: float,
    tolerance: int = TIMESTAMP_TOLERANCE_SECONDS,
) -> bool:
    if not public_key_b64 or not signature_b64 or not timestamp_is_fresh(timestamp, now, tolerance):
        return False
    return signature_matches(public_key_b64, signed_message(timestamp, body), signature_b64)


def sign(private_seed_b64: str, body: bytes, timestamp: str) -> str:
    """What Telnyx does with its private key; used by tests (the simulator signs on its own)."""
    seed = base64.b64decode(private_seed_b64, validate=True)
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return base64.b64encode(key.sign(signed_message(timestamp, body))).decode()
