"""Fixed-window rate limits: in Redis when ``REDIS_URL`` is set (shared and exact across processes),
else in the per-process ``ratelimit`` cache (each web process then allows the configured rate).

Every DNI request checks two limits, so all of a request's counters go to Redis in one round trip.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import caches

from ringtrail.lib.redis_client import Command, client_for, round_trip

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
COUNTER_TTL = WINDOW_SECONDS + 30


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
        counts = _count_in_cache(_names(hits))
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


def _names(hits: Hits) -> list[str]:
    window = int(time.time() // WINDOW_SECONDS)
    return [f"rt:rl:{scope}:{key}:{window}" for scope, key, _ in hits]


def _count_in_cache(names: list[str]) -> list[int]:
    counters = caches["ratelimit"]
    counts = []
    for name in names:
        if counters.add(name, 1, timeout=COUNTER_TTL):
            counts.append(1)
            continue
        try:
            counts.append(int(counters.incr(name)))
        except ValueError:  # expired between add and incr
            counts.append(1)
    return counts
