"""Parsing the public DNI requests: strict, bounded, and explicit about what is wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_BODY_BYTES = 16 * 1024
MAX_URL = 2048
MAX_TARGETS = 20
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
GA_PATTERN = re.compile(r"^[0-9.]{1,64}$")
SESSION_KEYS = {"visitor", "session", "url", "referrer", "targets", "ga_client_id", "ga_session_id"}


class BadRequest(ValueError):
    """The message is shown to the caller as is: it names the field and the problem."""


@dataclass(frozen=True)
class SessionRequest:
    visitor: str | None
    session: str | None
    url: str
    referrer: str
    targets: tuple[str, ...]
    ga_client_id: str
    ga_session_id: str


@dataclass(frozen=True)
class TouchRequest:
    visitor: str | None
    session: str


def _json_object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest("body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _optional_id(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise BadRequest(f"{key}: must be 8-64 characters of A-Z a-z 0-9 _ -")
    return value


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise BadRequest(f"{key}: must be a string")
    if len(value) > limit:
        raise BadRequest(f"{key}: longer than {limit} characters")
    return value


def _web_url(value: str, key: str, required: bool) -> str:
    if not value and not required:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise BadRequest(f"{key}: not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{key}: must be an http(s) URL")
    return value


def _ga(data: dict[str, Any], key: str) -> str:
    value = _text(data, key, 64)
    if value and not GA_PATTERN.match(value):
        raise BadRequest(f"{key}: must be digits and dots")
    return value


def parse_session(body: bytes) -> SessionRequest:
    data = _json_object(body)
    unknown = sorted(set(data) - SESSION_KEYS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)[:200]}")
    targets = data.get("targets") or []
    if not isinstance(targets, list) or len(targets) > MAX_TARGETS:
        raise BadRequest(f"targets: must be a list of at most {MAX_TARGETS} phone numbers")
    if not all(isinstance(t, str) and 0 < len(t) <= 32 for t in targets):
        raise BadRequest("targets: each must be a phone number string")
    return SessionRequest(
        visitor=_optional_id(data, "visitor"),
        session=_optional_id(data, "session"),
        url=_web_url(_text(data, "url", MAX_URL), "url", required=True),
        referrer=_web_url(_text(data, "referrer", MAX_URL), "referrer", required=False),
        targets=tuple(targets),
        ga_client_id=_ga(data, "ga_client_id"),
        ga_session_id=_ga(data, "ga_session_id"),
    )


def parse_touch(body: bytes) -> TouchRequest:
    data = _json_object(body)
    unknown = sorted(set(data) - {"visitor", "session"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)[:200]}")
    session = _optional_id(data, "session")
    if session is None:
        raise BadRequest("session: required")
    return TouchRequest(_optional_id(data, "visitor"), session)
