"""Rate-limit hits and commands sent to Redis behind the page views (lib/redis_behind.py), on a real Redis."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from ringtrail.lib.redis_behind import IDLE_SECONDS, Behind

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def name(client: redis.Redis) -> Iterator[str]:
    """A counter of this test's own, deleted afterwards."""
    key = f"rt-test:behind:{uuid.uuid4().hex}"
    yield key
    client.delete(key, f"{key}:first")


def test_within_a_process_the_count_is_exact_before_any_flush(client: redis.Redis, name: str) -> None:
    behind = Behind(client, background=False)
    assert [behind.gate([(name, 3)], 90) for _ in range(4)] == [True, True, True, False]
    assert client.get(name) is None  # nothing sent yet
    assert behind.flush() == 1
    assert int(client.get(name) or 0) == 4 and 0 < client.ttl(name) <= 90


def test_processes_share_the_counters_one_flush_late(client: redis.Redis, name: str) -> None:
    one, two = Behind(client, background=False), Behind(client, background=False)
    assert one.gate([(name, 3)], 90) and one.gate([(name, 3)], 90)
    one.flush()  # Redis: 2
    assert two.gate([(name, 3)], 90) and two.gate([(name, 3)], 90)  # two has not heard of one's yet
    two.flush()  # Redis: 4, and two knows it
    assert not two.gate([(name, 3)], 90)
    assert one.gate([(name, 3)], 90)  # one knew 2 at its last flush: a flush late
    one.flush()
    assert not one.gate([(name, 3)], 90)
    one.flush()
    two.flush()
    assert int(client.get(name) or 0) == 7  # every hit counted, limited or not


def test_a_gate_over_its_limit_still_sends_its_command(client: redis.Redis, name: str) -> None:
    behind = Behind(client, background=False)
    assert not behind.gate([(name, 0)], 90, ("SET", f"{name}:first", 7, "EX", 60))
    behind.send(("INCRBY", name, 10))
    assert behind.pending() == 3  # one counter, two commands
    assert behind.flush() == 3
    assert client.get(f"{name}:first") == b"7" and int(client.get(name) or 0) == 11
    assert behind.pending() == 0 and behind.flush() == 0


def test_redis_down_drops_the_flush_and_lets_page_views_through(caplog: pytest.LogCaptureFixture) -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    behind = Behind(dead, background=False)
    assert behind.gate([("rt-test:behind:dead", 1)], 90, ("SET", "rt-test:behind:dead:first", 1))
    with caplog.at_level(logging.ERROR, logger="ringtrail.lib.redis_behind"):
        assert behind.flush() == 0
        behind.gate([("rt-test:behind:dead", 1)], 90)
        behind.flush()
    assert behind.pending() == 0
    assert len([r for r in caplog.records if "Redis unavailable" in r.getMessage()]) == 1  # not every 50 ms


def test_a_thread_flushes_and_ends_when_idle(client: redis.Redis, name: str) -> None:
    behind = Behind(client)
    behind.gate([(name, 100)], 90, ("SET", f"{name}:first", 1, "EX", 60))
    deadline = time.monotonic() + 10
    while client.get(f"{name}:first") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert int(client.get(name) or 0) == 1
    deadline = time.monotonic() + IDLE_SECONDS + 10
    while behind._flusher and time.monotonic() < deadline:
        time.sleep(0.05)
    assert behind._flusher == 0
    behind.send(("INCRBY", name, 1))  # a new thread for new work
    deadline = time.monotonic() + 10
    while int(client.get(name) or 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert int(client.get(name) or 0) == 2


def test_a_script_redis_does_not_know_is_loaded_and_run(client: redis.Redis, name: str) -> None:
    # A script text no Redis has seen, as after a restart or SCRIPT FLUSH: EVALSHA answers NOSCRIPT.
    script = client.register_script(f"-- {name}\nredis.call('SET', ARGV[1], ARGV[2]) return 1")
    assert client.script_exists(script.sha) == [False]
    behind = Behind(client, background=False)
    behind.send_script(script, [name, 5])
    behind.send(("INCRBY", f"{name}:first", 1))  # what follows it in the flush still runs once
    assert behind.flush() == 2
    assert client.get(name) == b"5" and client.get(f"{name}:first") == b"1"
    assert client.script_exists(script.sha) == [True]
    behind.send_script(script, [name, 6])  # known now: one round trip
    behind.flush()
    assert client.get(name) == b"6"
