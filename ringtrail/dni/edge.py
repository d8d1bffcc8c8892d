"""The WSGI front of the DNI session and heartbeat endpoints (DESIGN.md §2 flow 1).

Every page view of every customer's site calls the session endpoint. Django's request handling
around it (building a ``WSGIRequest``, two signals, the middleware chain, an ``HttpResponse``) cost
as much server CPU as the endpoint's own work, so these two paths are answered here, before
Django's handler, by ``endpoints.py``: the same code the Django views run. Everything else goes on
(to ``lib/machine_lane.py``, then Django), including any request this front would treat differently
from Django: another method, a path that is not plain ASCII, a simulated-clock header.

What Django's handling gave these paths, this front gives too: the body-size guard (413, or 400 for
a bad ``Content-Length``), ``nosniff``, a logged 500 for an unexpected error, and closing database
connections that broke or outlived ``CONN_MAX_AGE`` once the request is done.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Callable, Iterable

from ringtrail.dni import endpoints
from ringtrail.dni.endpoints import Call, Reply
from ringtrail.lib.clock import META_KEY as CLOCK_HEADER
from ringtrail.lib.machine_lane import Environ, StartResponse, WsgiApp, close_spent_connections, status_line
from ringtrail.lib.middleware import DNI_MAX_BODY_BYTES, body_length, body_size_refusal

# Django's own logger for failed requests, so an error here is reported like one behind Django.
log = logging.getLogger("django.request")

PREFIX = "/dni/v1/"
ROUTES: dict[str, Callable[[Call], Reply]] = {
    "session": endpoints.session_reply,
    "touch": endpoints.touch_reply,
}
METHODS = ("POST", "OPTIONS")


class DniEdge:
    """Wraps the Django WSGI application; answers the DNI session and heartbeat paths itself."""

    def __init__(self, django: WsgiApp) -> None:
        self.django = django

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        route = route_of(environ)
        if route is None:
            return self.django(environ, start_response)
        try:
            reply = answer(environ, *route)
        finally:
            close_spent_connections()
        return send(reply, start_response)


def route_of(environ: Environ) -> tuple[Callable[[Call], Reply], str] | None:
    """The endpoint and public key of a request this front answers; None hands it to Django."""
    path = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") not in METHODS or not path.startswith(PREFIX):
        return None
    key, _, action = path[len(PREFIX) :].partition("/")
    handler = ROUTES.get(action)
    if handler is None or not key or not path.isascii() or CLOCK_HEADER in environ:
        return None
    return handler, key


def answer(environ: Environ, handler: Callable[[Call], Reply], public_key: str) -> Reply:
    raw_length = environ.get("CONTENT_LENGTH")
    refused = body_size_refusal(raw_length, DNI_MAX_BODY_BYTES)
    if refused is not None:
        return Reply(refused[0], refused[1].encode(), "text/plain")
    method, length = environ["REQUEST_METHOD"], body_length(raw_length)
    call = Call(
        method=method,
        public_key=public_key,
        body=environ["wsgi.input"].read(length) if method == "POST" and length else b"",
        origin=environ.get("HTTP_ORIGIN", ""),
        user_agent=environ.get("HTTP_USER_AGENT", ""),
        ip=environ.get("REMOTE_ADDR", ""),
    )
    try:
        return handler(call)
    except Exception:
        log.exception("Internal Server Error: %s", environ.get("PATH_INFO"), extra={"status_code": 500})
        return endpoints.json_reply(500, {"error": "internal error"})


def send(reply: Reply, start_response: StartResponse) -> list[bytes]:
    headers = [("Content-Type", reply.content_type)] if reply.content_type else []
    headers += reply.headers
    if reply.status != 204:  # a 204 carries no Content-Length (RFC 9110 §8.6)
        headers.append(("Content-Length", str(len(reply.body))))
    headers += endpoints.ALWAYS
    start_response(status_line(reply.status, http.HTTPStatus(reply.status).phrase), headers)
    return [reply.body]
