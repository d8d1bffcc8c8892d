"""Middleware for the public machine endpoints: guards that run before Django parses a body."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, get_urlconf, resolve

PUBLIC_PREFIXES = ("/carriers/", "/dni/", "/t/")
# The DNI endpoint's bodies are a few hundred bytes; anything near this is hostile.
DNI_MAX_BODY_BYTES = 16 * 1024


class BodySizeLimitMiddleware:
    """Refuse oversized bodies on public endpoints with 413 instead of reading them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            limit = (
                DNI_MAX_BODY_BYTES if request.path.startswith("/dni/") else settings.CARRIER_MAX_BODY_BYTES
            )
            refused = body_size_refusal(request.META.get("CONTENT_LENGTH"), limit)
            if refused is not None:
                return HttpResponse(refused[1], status=refused[0], content_type="text/plain")
        return self.get_response(request)


def body_length(raw: str | None) -> int:
    """The declared body length; ValueError if it is not a number."""
    return max(int(raw or 0), 0)


def body_size_refusal(raw: str | None, limit: int) -> tuple[int, str] | None:
    """(status, message) refusing a declared body length, or None when it is acceptable."""
    try:
        length = body_length(raw)
    except ValueError:
        return 400, "invalid Content-Length\n"
    if length > limit:
        return 413, f"request body is {length} bytes; the limit is {limit}\n"
    return None


class MachineEndpointsMiddleware:
    """Send carrier webhooks straight to their view, past the middleware that serves people.

    Carriers are machines: they carry no cookies, sessions, logins or CSRF tokens, and the views
    authenticate each request by its signature. Skipping session, auth, messages and CSRF
    middleware is a measurable share of the voice webhook's budget (docs/benchmarks.md).
    Placed right after the body-size guard; exceptions still become responses through Django's
    own per-middleware exception handling.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        path = request.path_info
        match = resolve_public(path, get_urlconf()) if len(path) <= 200 else resolve(path)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response


@functools.lru_cache(maxsize=2048)
def resolve_public(path: str, urlconf: str | None) -> ResolverMatch:
    # A public path repeats on every page view or webhook of an account; walking the URL patterns
    # each time was a tenth of the DNI request.
    return resolve(path, urlconf)
