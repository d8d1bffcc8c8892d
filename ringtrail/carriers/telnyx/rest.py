"""Telnyx's TeXML Calls API: create an outbound call through a TeXML application.

``POST https://api.telnyx.com/v2/texml/Accounts/{account_sid}/Calls`` with ``Authorization: Bearer
<API key>`` and a JSON body ``{ApplicationSid, To, From, Url, Method, StatusCallback,
StatusCallbackEvent}`` (https://developers.telnyx.com/api-reference/texml-rest-commands/initiate-an-outbound-call,
and the instruction-fetching guide's example with ``StatusCallback``). The connection-scoped
``POST /v2/texml/calls/{connection_id}`` documents only ``To/From/Url/Method``, so per-call status
callbacks, which call-backs need, come from the account-scoped resource. Telnyx answers the call
(flat, or under ``data``) with ``call_sid``; errors are ``{"errors": [{code, title, detail}]}``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.outbound import STATUS_EVENTS, OutboundCall, OutboundError, json_body, post

TELNYX_API = "https://api.telnyx.com/v2"


def calls_url(connection: CarrierConnection) -> str:
    base = connection.api_base_url.rstrip("/") or TELNYX_API
    return f"{base}/texml/Accounts/{connection.account_sid}/Calls"


def create_call(connection: CarrierConnection, call: OutboundCall, client: httpx.Client) -> str:
    if not call.app_id:
        raise OutboundError("Telnyx needs the TeXML application id (call-back settings: carrier_app_id)")
    payload = {
        "ApplicationSid": call.app_id,
        "To": call.to,
        "From": call.from_,
        "Url": call.url,
        "Method": "POST",
        "StatusCallback": call.status_callback,
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": " ".join(STATUS_EVENTS),
        "Timeout": call.timeout_seconds,
    }
    headers = {"Authorization": f"Bearer {connection.secret()}", "Accept": "application/json"}
    response = post(client, calls_url(connection), json=payload, headers=headers)
    body = json_body(response)
    if not 200 <= response.status_code < 300:
        raise OutboundError(
            f"Telnyx refused the call ({response.status_code}): {_error(body, response)}"[:300]
        )
    found = body.get("data") if isinstance(body.get("data"), dict) else body
    # The account-scoped resource's documented example answers only {from, to, status}: without a
    # call_sid the call-back's first webhook binds the call id instead.
    return _call_sid(found) if isinstance(found, dict) else ""


def _call_sid(body: dict[str, Any]) -> str:
    for key in ("call_sid", "sid", "CallSid"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _error(body: dict[str, object], response: httpx.Response) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        parts = [str(first.get(key)) for key in ("code", "title", "detail") if first.get(key)]
        return " — ".join(parts) or "no explanation"
    return response.reason_phrase or "no explanation"
