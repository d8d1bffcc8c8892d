"""Twilio request signatures (also SignalWire's LaML signatures, same algorithm).

signature = base64(HMAC-SHA1(token, url + concat(sorted(key + value)))); Twilio may have signed the URL
with or without an explicit default port, so both spellings are tried.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def compute_signature(secret: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    payload = url + "".join(key + value for key, value in sorted(params))
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_spellings(url: str) -> list[str]:
    """The URL as given, plus the same URL with its default port added or removed."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None and default is not None:
        other = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}"))
    elif parts.port is not None and parts.port == default:
        other = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    else:
        return [url]
    return [url, other]


def is_valid(secret: str, url: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    if not secret or not signature:
        return False
    items = list(params)
    return any(
        hmac.compare_digest(compute_signature(secret, candidate, items), signature)
        for candidate in url_spellings(url)
    )
