"""Fixed-window rate limits: in Redis when ``REDIS_URL`` is set (shared and exact across processes),
else in the per-process ``ratelimit`` cache (each web process then allows the configured rate).

Every DNI request checks two limits, so all of a request's counters go to Redis in one round trip.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import caches

from ringtrail.lib.redis_client import client_for

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60


def allow(scope: str, key: str, limit_per_minute: int) -> bool:
    """Count one hit; False once the key has made more than ``limit_per_minute`` hits this minute."""
    return allow_all([(scope, key, limit_per_minute)])


def allow_all(hits: Sequence[tuple[str, str, int]]) -> bool:
    """Count one hit on each (scope, key, limit); True only if every key is within its limit."""
    window = int(time.time() // WINDOW_SECONDS)
    names = [f"rt:rl:{scope}:{key}:{window}" for scope, key, _ in hits]
    try:
        url = getattr(settings, "REDIS_URL", "")
        counts = _count_in_redis(url, names) if url else _count_in_cache(names)
    except Exception:
        log.exception("rate-limit counters unavailable; allowing")
        return True
    return all(count <= limit for count, (_, _, limit) in zip(counts, hits, strict=True))


def _count_in_redis(url: str, names: list[str]) -> list[int]:
    pipe = client_for(url).pipeline(transaction=False)
    for name in names:
        pipe.incr(name)
        pipe.expire(name, WINDOW_SECONDS + 30)
    replies = pipe.execute()
    return [int(count) for count in replies[0::2]]


def _count_in_cache(names: list[str]) -> list[int]:
    counters = caches["ratelimit"]
    counts = []
    for name in names:
        if counters.add(name, 1, timeout=WINDOW_SECONDS + 30):
            counts.append(1)
            continue
        try:
            counts.append(int(counters.incr(name)))
        except ValueError:  # expired between add and incr
            counts.append(1)
    return counts
