"""The time the hot paths act on: the real clock, or a simulation's compressed timeline.

The traffic simulator replays hours of visits and calls in seconds. It cannot move the server's
clock, so a server started with ``RINGTRAIL_SIMULATED_CLOCK=true`` (never in production; `ringtrail
demo` turns it on for its own server) honours an ``X-Ringtrail-Clock-Offset: <seconds>`` header: DNI
sessions, heartbeats, leases and incoming calls of that request happen at now + offset. Without the
setting the header is ignored, so nobody on the internet can backdate a call or a lease.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

HEADER = "X-Ringtrail-Clock-Offset"
APPLIED_HEADER = "X-Ringtrail-Clock"
META_KEY = "HTTP_X_RINGTRAIL_CLOCK_OFFSET"
# A simulated timeline longer than this is a mistake, not a scenario.
MAX_OFFSET_SECONDS = 7 * 24 * 3600

_offset: contextvars.ContextVar[float] = contextvars.ContextVar("ringtrail_clock_offset", default=0.0)


def now() -> dt.datetime:
    offset = _offset.get()
    current = timezone.now()
    return current + dt.timedelta(seconds=offset) if offset else current


def parse_offset(raw: str) -> float | None:
    try:
        offset = float(raw)
    except ValueError:
        return None
    if offset != offset or abs(offset) > MAX_OFFSET_SECONDS:  # NaN or absurd
        return None
    return offset


class SimulatedClockMiddleware:
    """Applies the simulator's clock offset to one request, when the setting allows it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get(META_KEY)
        if raw is None or not getattr(settings, "SIMULATED_CLOCK", False):
            return self.get_response(request)
        offset = parse_offset(raw)
        if offset is None:
            return HttpResponse(f"{HEADER} must be a number of seconds within ±7 days\n", status=400)
        token = _offset.set(offset)
        try:
            response = self.get_response(request)
        finally:
            _offset.reset(token)
        response[APPLIED_HEADER] = "simulated"  # so the simulator can tell it was honoured
        return response
