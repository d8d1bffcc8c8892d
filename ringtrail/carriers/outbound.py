"""The carrier seam for placing calls: one function, whatever carrier the connection belongs to.

Callers pass absolute URLs (the carrier fetches them from the internet) and get back the carrier's
call id, or an ``OutboundError`` whose message is the carrier's own explanation. Nothing here
retries: a call-back placed twice rings the business twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ringtrail.carriers.models import CarrierConnection

TIMEOUT_SECONDS = 10.0
# Both legs' progress: ringing and answered tell the call page it is live, completed ends it.
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")


class OutboundError(Exception):
    """The call was not placed; the message says why (the carrier's words where it gave any)."""


@dataclass(frozen=True)
class OutboundCall:
    to: str
    from_: str
    url: str
    status_callback: str
    # Telnyx: the TeXML application the call is placed through; unused for Twilio-dialect carriers.
    app_id: str = ""
    timeout_seconds: int = 30


def place_call(
    connection: CarrierConnection,
    *,
    to: str,
    from_: str,
    url: str,
    status_callback: str,
    app_id: str = "",
    client: httpx.Client | None = None,
) -> str:
    """Ask the connection's carrier to call ``to`` from ``from_`` and run ``url``.

    Returns the carrier's call id, or "" when the carrier did not name it (the call's first webhook
    then tells it).
    """
    call = OutboundCall(to=to, from_=from_, url=url, status_callback=status_callback, app_id=app_id)
    # Imported here so each dialect's REST module stays independent of the others.
    from ringtrail.carriers.telnyx import rest as telnyx_rest
    from ringtrail.carriers.twilio import rest as twilio_rest

    if connection.kind in ("twilio", "signalwire"):
        send = twilio_rest.create_call
    elif connection.kind == "telnyx":
        send = telnyx_rest.create_call
    else:
        raise OutboundError(f"carrier {connection.kind!r} cannot place calls")
    if client is not None:
        return send(connection, call, client)
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as own:
        return send(connection, call, own)


def post(client: httpx.Client, url: str, **kwargs: object) -> httpx.Response:
    """POST, turning transport failures into an ``OutboundError`` that names the host."""
    try:
        return client.post(url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        host = httpx.URL(url).host
        raise OutboundError(f"could not reach {host}: {type(exc).__name__}: {exc}"[:300]) from exc


def json_body(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
