"""Parsing the public call-back form: strict, bounded, and explicit about what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ringtrail.dni.requests import MAX_URL, BadRequest, _json_object, _optional_id, _text, _web_url
from ringtrail.lib.phone import normalize_e164

FORM_KEYS = {"phone", "name", "consent", "visitor", "session", "page"}
MAX_NAME = 100
# Names are shown on call pages and spoken to nobody; control characters have no business in them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Invalid(BadRequest):
    """Well-formed but unacceptable (a number that is not one, no consent): 422."""


@dataclass(frozen=True)
class CallbackForm:
    phone: str  # E.164
    name: str
    visitor: str | None
    session: str | None
    page: str


def parse_form(body: bytes) -> CallbackForm:
    data = _json_object(body)
    unknown = sorted(set(data) - FORM_KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)[:200]}")
    _require_consent(data)
    return CallbackForm(
        phone=_phone(data),
        name=_CONTROL.sub("", _text(data, "name", MAX_NAME)).strip(),
        visitor=_optional_id(data, "visitor"),
        session=_optional_id(data, "session"),
        page=_web_url(_text(data, "page", MAX_URL), "page", required=True),
    )


def _require_consent(data: dict[str, Any]) -> None:
    consent = data.get("consent")
    if consent is not True:
        raise Invalid("consent: must be true — the visitor has to agree to be called back")


def _phone(data: dict[str, Any]) -> str:
    raw = data.get("phone")
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("phone: required (a phone number string)")
    if len(raw) > 40:
        raise Invalid("phone: longer than 40 characters")
    normalized = normalize_e164(raw)
    if normalized is None:
        raise Invalid(f"phone: {raw[:40]!r} is not a valid phone number")
    return normalized
