"""Twilio's (and SignalWire's) Calls REST API: create an outbound call.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json`` with HTTP Basic auth (account SID and auth
token) and form parameters ``To``, ``From``, ``Url``, ``StatusCallback``, ``StatusCallbackEvent``;
201 answers the Call resource (``sid``), an error answers ``{code, message, more_info, status}``
(https://www.twilio.com/docs/voice/api/call-resource). SignalWire serves the same resource under
``/api/laml`` of the project's space URL.
"""

from __future__ import annotations

import httpx

from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.outbound import STATUS_EVENTS, OutboundCall, OutboundError, json_body, post

TWILIO_API = "https://api.twilio.com"
API_VERSION = "2010-04-01"


def calls_url(connection: CarrierConnection) -> str:
    base = connection.api_base_url.rstrip("/")
    if connection.kind == "signalwire":
        if not base:
            raise OutboundError(
                "SignalWire needs the space URL (https://SPACE.signalwire.com) as api_base_url"
            )
        if not base.endswith("/api/laml"):
            base += "/api/laml"
    return f"{base or TWILIO_API}/{API_VERSION}/Accounts/{connection.account_sid}/Calls.json"


def create_call(connection: CarrierConnection, call: OutboundCall, client: httpx.Client) -> str:
    form: dict[str, str | list[str]] = {
        "To": call.to,
        "From": call.from_,
        "Url": call.url,
        "Method": "POST",
        "StatusCallback": call.status_callback,
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": list(STATUS_EVENTS),  # repeated, as Twilio's helpers send it
        "Timeout": str(call.timeout_seconds),
    }
    response = post(
        client, calls_url(connection), data=form, auth=(connection.account_sid, connection.secret())
    )
    body = json_body(response)
    if response.status_code != 201:
        code = body.get("code", "")
        message = body.get("message") or response.reason_phrase or "no explanation"
        raise OutboundError(
            f"{connection.get_kind_display()} refused the call ({response.status_code}"
            f"{f', error {code}' if code else ''}): {message}"[:300]
        )
    sid = body.get("sid")
    if not isinstance(sid, str) or not sid:
        raise OutboundError(f"{connection.get_kind_display()} answered 201 without a call sid")
    return sid
