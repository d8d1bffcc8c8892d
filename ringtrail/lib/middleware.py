"""Request guards that must run before Django parses a body."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PUBLIC_PREFIXES = ("/carriers/",)


class BodySizeLimitMiddleware:
    """Refuse oversized bodies on public endpoints with 413 instead of reading them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(PUBLIC_PREFIXES):
            limit = settings.CARRIER_MAX_BODY_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return HttpResponse("invalid Content-Length\n", status=400, content_type="text/plain")
            if length > limit:
                return HttpResponse(
                    f"request body is {length} bytes; the limit is {limit}\n",
                    status=413,
                    content_type="text/plain",
                )
        return self.get_response(request)
