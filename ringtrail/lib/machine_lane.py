"""Machine endpoints (carrier webhooks, the DNI script and its other calls) before Django's handler.

``MachineEndpointsMiddleware`` already sends these paths straight to their view, past the
middleware that serves people; Django's handler still wrapped each one in its middleware chain,
two signals and their receivers. This WSGI front builds the same ``WSGIRequest``, calls the same
view and sends its ``HttpResponse``, without the rest. What the handler gave these views, it gives
too: the body-size guard, Django's own conversion of an exception to a response (logged the same
way), the script prefix for ``reverse``, and closing database connections that broke or outlived
``CONN_MAX_AGE``. A path that does not resolve, another method than the view's, or a simulated-clock
header goes to Django, whose answer does not change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.db import connections
from django.http import HttpResponse, HttpResponseBase
from django.urls import Resolver404, ResolverMatch, get_urlconf, set_script_prefix

from ringtrail.lib.clock import META_KEY as CLOCK_HEADER
from ringtrail.lib.driver_sql import database
from ringtrail.lib.middleware import DNI_MAX_BODY_BYTES, PUBLIC_PREFIXES, body_size_refusal, resolve_public

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class MachineLane:
    """Wraps the Django WSGI application; serves resolvable machine-endpoint requests itself."""

    def __init__(self, django: WsgiApp) -> None:
        self.django = django

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        match = match_of(environ)
        if match is None:
            return self.django(environ, start_response)
        try:
            response = respond(environ, match)
            if response.streaming:  # none of these views streams; Django's own path closes it
                return self.django_send(response, start_response)
            return send(response, start_response)
        finally:
            close_spent_connections()

    @staticmethod
    def django_send(response: HttpResponseBase, start_response: StartResponse) -> Iterable[bytes]:
        start_response(status_line(response.status_code, response.reason_phrase), headers_of(response))
        return response  # iterable, and closed by the server (which sends request_finished)


def match_of(environ: Environ) -> ResolverMatch | None:
    path = environ.get("PATH_INFO", "")
    if not path.startswith(PUBLIC_PREFIXES) or not path.isascii() or len(path) > 200:
        return None
    if CLOCK_HEADER in environ:
        return None
    try:
        return resolve_public(path, get_urlconf())
    except Resolver404:
        return None


def respond(environ: Environ, match: ResolverMatch) -> HttpResponseBase:
    set_script_prefix(get_script_name(environ))
    path = environ["PATH_INFO"]
    limit = DNI_MAX_BODY_BYTES if path.startswith("/dni/") else settings.CARRIER_MAX_BODY_BYTES
    refused = body_size_refusal(environ.get("CONTENT_LENGTH"), limit)
    if refused is not None:
        return HttpResponse(refused[1], status=refused[0], content_type="text/plain")
    request = WSGIRequest(environ)
    request.resolver_match = match
    try:
        response: HttpResponseBase = match.func(request, *match.args, **match.kwargs)
    except Exception as exc:  # Django's handler turns these into responses the same way
        response = response_for_exception(request, exc)
    return response


def send(response: HttpResponseBase, start_response: StartResponse) -> list[bytes]:
    content = response.content  # type: ignore[attr-defined]  # not streaming: checked by the caller
    start_response(status_line(response.status_code, response.reason_phrase), headers_of(response))
    return [content]


def headers_of(response: HttpResponseBase) -> list[tuple[str, str]]:
    return [
        *response.items(),
        *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
    ]


@functools.lru_cache(maxsize=64)
def status_line(code: int, phrase: str) -> str:
    return f"{code} {phrase}"


def close_spent_connections() -> None:
    """Django's end-of-request connection hygiene, without the signal: close connections that
    broke or outlived ``CONN_MAX_AGE``. A connection inside a transaction someone else opened (a
    test's) is not this request's to close."""
    if len(connections.settings) == 1:  # the default database only: no need to list them
        wrapper = database()
        if wrapper.connection is not None and not wrapper.in_atomic_block:
            wrapper.close_if_unusable_or_obsolete()
        return
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
