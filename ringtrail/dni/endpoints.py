"""The session and heartbeat endpoints, independent of how the request arrived.

Both front ends call these: the Django views (``views.py``), and the WSGI front that answers these
two paths before Django's handler (``edge.py``). A ``Call`` holds the few things the endpoints
read from a request; a ``Reply`` is what they answer, CORS headers included, so the two front
ends cannot drift apart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ringtrail.accounts.models import Account
from ringtrail.dni import session as pipeline
from ringtrail.dni.config import AccountConfig, config_for
from ringtrail.dni.leases import lease_store
from ringtrail.dni.requests import BadRequest, parse_session, parse_touch
from ringtrail.lib import clock
from ringtrail.visits import actions as visit_actions

log = logging.getLogger(__name__)

Parsed = TypeVar("Parsed")
JSON = "application/json"
Headers = tuple[tuple[str, str], ...]
# On every reply of either front end (Django's SecurityMiddleware does not run for these paths).
ALWAYS: Headers = (("X-Content-Type-Options", "nosniff"),)


@dataclass(frozen=True)
class Call:
    method: str
    public_key: str
    body: bytes
    origin: str
    user_agent: str
    ip: str


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: Headers = ()


def json_reply(status: int, data: dict[str, Any], headers: Headers = ()) -> Reply:
    # Plain json.dumps: Django's JSON encoder handles types these bodies never hold.
    return Reply(status, json.dumps(data).encode(), JSON, headers)


def cors_headers(origin: str, account: Account) -> Headers:
    return (
        ("Access-Control-Allow-Origin", origin if origin and account.allowed_origins.strip() else "*"),
        ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
        ("Access-Control-Allow-Headers", "Content-Type"),
        ("Access-Control-Max-Age", "600"),
        ("Vary", "Origin"),
    )


def refusal(origin: str, account: Account | None) -> Reply | None:
    """Unknown key → 404; an origin the account does not allow → 403 (neither carries CORS)."""
    if account is None:
        return json_reply(404, {"error": "unknown public key"})
    if origin and not account.origin_allowed(origin):
        return json_reply(403, {"error": f"origin {origin[:100]} is not allowed for this account"})
    return None


def admitted(call: Call) -> AccountConfig | Reply:
    """The account's DNI config, or the reply that ends the call here (refusal, CORS preflight)."""
    config = config_for(call.public_key)
    refused = refusal(call.origin, config.account if config else None)
    if refused is not None or config is None:
        return refused or Reply(404)
    if call.method == "OPTIONS":
        return Reply(204, headers=cors_headers(call.origin, config.account))
    return config


@dataclass(frozen=True)
class Admitted(Generic[Parsed]):
    config: AccountConfig
    cors: Headers
    request: Parsed


def admitted_body(call: Call, parse: Callable[[bytes], Parsed]) -> Admitted[Parsed] | Reply:
    """``admitted``, then the body parsed; a body that does not parse is a 400 naming the problem."""
    config = admitted(call)
    if isinstance(config, Reply):
        return config
    cors = cors_headers(call.origin, config.account)
    try:
        return Admitted(config, cors, parse(call.body))
    except BadRequest as error:
        return json_reply(400, {"error": str(error)}, cors)


def session_reply(call: Call) -> Reply:
    accepted = admitted_body(call, parse_session)
    if isinstance(accepted, Reply):
        return accepted
    caller = pipeline.Caller(ip=call.ip, user_agent=call.user_agent)
    outcome = pipeline.handle(accepted.config, accepted.request, caller)
    body = {
        "visitor": outcome.visitor,
        "session": outcome.session,
        "swaps": outcome.swaps,
        "ttl": outcome.ttl,
    }
    return json_reply(200, body, accepted.cors)


def touch_reply(call: Call) -> Reply:
    accepted = admitted_body(call, parse_touch)
    if isinstance(accepted, Reply):
        return accepted
    now, account = clock.now(), accepted.config.account
    try:
        lease_store().touch(account.pk, accepted.request.session, now)
    except Exception:
        # A beacon's answer reaches no one: the visit's heartbeat is still recorded, and the lease
        # lives out its hold unless a later heartbeat or page view extends it.
        log.exception("lease store unavailable: session %s's leases not extended", accepted.request.session)
    visit_actions.touch_session(account, accepted.request.session, now)
    return Reply(204, headers=accepted.cors)
