"""Fixed-window rate limits: in Redis when ``REDIS_URL`` is set (shared and exact across processes),
else counted in this process (each web process then allows the configured rate).

Every DNI request checks two limits, so all of a request's counters go to Redis in one round trip;
where its writes may go behind, the DNI endpoint counts them in the process and adds them to the
same Redis counters every 50 ms instead (``lib/redis_behind.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from ringtrail.lib.redis_client import Command, client_for, round_trip

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
COUNTER_TTL = WINDOW_SECONDS + 30
# Distinct keys counted in one window in this process before its counters start again (fail open):
# a bound on memory under a flood of addresses.
LOCAL_KEYS = 200_000


def allow(scope: str, key: str, limit_per_minute: int) -> bool:
    """Count one hit; False once the key has made more than ``limit_per_minute`` hits this minute."""
    return allow_all([(scope, key, limit_per_minute)])


Hits = Sequence[tuple[str, str, int]]


def allow_all(hits: Hits) -> bool:
    """Count one hit on each (scope, key, limit); True only if every key is within its limit."""
    try:
        url = getattr(settings, "REDIS_URL", "")
        if url:
            return allowed(round_trip(client_for(url), commands(hits)), hits)
        window = _window()
        counts = _local.count(_names(hits, window), window)
    except Exception:
        log.exception("rate-limit counters unavailable; allowing")
        return True
    return _within(counts, hits)


def commands(hits: Hits) -> list[Command]:
    """The hits' counters as Redis commands, so that a caller can send other commands in the same
    round trip (``redis_client.round_trip``); ``allowed`` reads the first ``replies_for(hits)`` replies."""
    commands: list[Command] = []
    for name in _names(hits):
        commands += [("INCR", name), ("EXPIRE", name, COUNTER_TTL)]
    return commands


def counters(hits: Hits) -> tuple[tuple[str, int], ...]:
    """The hits' (counter, limit) pairs, for a Redis script that counts them itself; each counter
    is kept ``COUNTER_TTL`` seconds, as ``commands`` keeps it."""
    return tuple((name, limit) for name, (_, _, limit) in zip(_names(hits), hits, strict=True))


def replies_for(hits: Hits) -> int:
    return 2 * len(hits)


def allowed(replies: Sequence[Any], hits: Hits) -> bool:
    return _within([int(count) for count in replies[0 : replies_for(hits) : 2]], hits)


def _within(counts: Sequence[int], hits: Hits) -> bool:
    return all(count <= limit for count, (_, _, limit) in zip(counts, hits, strict=True))


def _window() -> int:
    return int(time.time() // WINDOW_SECONDS)


def _names(hits: Hits, window: int | None = None) -> list[str]:
    window = _window() if window is None else window
    return [f"rt:rl:{scope}:{key}:{window}" for scope, key, _ in hits]


class LocalCounters:
    """This process's counters for the current window. Names carry their window, so a new window
    starts from an empty table. Django's local-memory cache did this at 13 µs a counter (pickling,
    key checks) on every DNI request, and culled counters past 300 keys."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._window = -1

    def count(self, names: list[str], window: int) -> list[int]:
        with self._lock:
            if window != self._window or len(self._counts) > LOCAL_KEYS:
                self._counts.clear()
                self._window = window
            counts = []
            for name in names:
                count = self._counts[name] = self._counts.get(name, 0) + 1
                counts.append(count)
            return counts

    def forget(self) -> None:
        with self._lock:
            self._counts.clear()


_local = LocalCounters()


def forget_local_counts() -> None:
    """Start this process's counters afresh (tests)."""
    _local.forget()
