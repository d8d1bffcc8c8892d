"""Fixed-window rate limits in the ``ratelimit`` cache (shared with Redis; per process without it)."""

from __future__ import annotations

import logging
import time

from django.core.cache import caches

log = logging.getLogger(__name__)


def allow(scope: str, key: str, limit_per_minute: int) -> bool:
    """Count one hit; False once the key has made more than ``limit_per_minute`` hits this minute."""
    window = int(time.time() // 60)
    name = f"rt:rl:{scope}:{key}:{window}"
    counters = caches["ratelimit"]
    try:
        if counters.add(name, 1, timeout=90):
            return True
        return int(counters.incr(name)) <= limit_per_minute
    except ValueError:  # expired between add and incr
        return True
    except Exception:
        log.exception("rate-limit cache unavailable; allowing")
        return True
