"""Signed references to a call-back request in the carrier hook's URL.

The carrier brings the reference back on every leg; it names the request and the step, signed with
a key derived from ``SECRET_KEY``. Twilio signs the whole URL, but Telnyx signs only the body, so the
reference's own signature is what stops a forged or edited query from reaching another request or
another step.
"""

from __future__ import annotations

from django.core import signing

SALT = "ringtrail.callbacks.ref"
STEPS = frozenset({"start", "answer", "dial", "status"})
MAX_REF = 200


def sign(request_id: int, step: str) -> str:
    if step not in STEPS:
        raise ValueError(f"unknown call-back step {step!r}")
    return signing.Signer(salt=SALT).sign(f"{request_id}.{step}")


def unsign(value: str) -> tuple[int, str] | None:
    """(request id, step), or None for anything not signed by us."""
    if not value or len(value) > MAX_REF:
        return None
    try:
        plain = signing.Signer(salt=SALT).unsign(value)
    except signing.BadSignature:
        return None
    number, _, step = plain.partition(".")
    if not number.isdigit() or step not in STEPS:
        return None
    return int(number), step
