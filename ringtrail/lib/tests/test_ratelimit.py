"""Rate limits count per fixed minute window, in Redis when configured, else in the local cache."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import redis

from ringtrail.lib import ratelimit

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _check(scope: str) -> list[bool]:
    key = secrets.token_hex(4)
    return [ratelimit.allow_all([(scope, key, 3), (scope + "-wide", "all", 100)]) for _ in range(5)]


def test_local_counters_refuse_after_the_limit(settings: Any) -> None:
    settings.REDIS_URL = ""
    assert _check("t-local") == [True, True, True, False, False]


def test_redis_counters_refuse_after_the_limit_and_expire(settings: Any) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis is required for this test: {exc}")
    settings.REDIS_URL = REDIS_URL
    scope = f"t-{secrets.token_hex(4)}"
    assert _check(scope) == [True, True, True, False, False]
    keys = list(client.scan_iter(match=f"rt:rl:{scope}*"))
    assert keys and all(0 < client.ttl(key) <= 90 for key in keys)
    client.delete(*keys)


def test_any_limit_over_refuses(settings: Any) -> None:
    settings.REDIS_URL = ""
    key = secrets.token_hex(4)
    assert ratelimit.allow_all([("t-a", key, 1), ("t-b", key, 0)]) is False


def test_unreachable_redis_allows(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert ratelimit.allow("t-down", "k", 0) is True


def test_local_counters_start_afresh_each_window() -> None:
    counters = ratelimit.LocalCounters()
    assert counters.count(["a:7", "b:7"], 7) == [1, 1]
    assert counters.count(["a:7"], 7) == [2]
    assert counters.count(["a:8"], 8) == [1]


def test_local_counters_bound_their_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "LOCAL_KEYS", 3)
    counters = ratelimit.LocalCounters()
    for name in ("a", "b", "c", "d"):
        counters.count([name], 1)
    assert counters.count(["a"], 1) == [1]  # a flood of keys resets the table: it fails open
