"""The lean Redis round trip against a real Redis: replies in order, errors in place, scripts
loaded on demand, a broken connection replaced."""

from __future__ import annotations

import os
import secrets
import threading

import pytest
import redis

from ringtrail.lib.redis_client import round_trip, run_script

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


@pytest.fixture
def key() -> str:
    return f"rt:test:{secrets.token_hex(6)}"


def test_replies_come_back_raw_and_in_order(client: redis.Redis, key: str) -> None:
    replies = round_trip(
        client, [("SET", key, 41, "EX", 60), ("INCR", key), ("GET", key), ("GET", key + "x")]
    )
    assert replies == [b"OK", 42, b"42", None]


def test_an_error_reply_takes_its_place_and_the_rest_are_still_read(client: redis.Redis, key: str) -> None:
    replies = round_trip(client, [("SET", key, "text", "EX", 60), ("INCR", key), ("GET", key)])
    assert isinstance(replies[1], redis.ResponseError)
    assert replies[0] == b"OK" and replies[2] == b"text"
    assert round_trip(client, [("PING",)]) == [b"PONG"]  # the connection is still in step


def test_a_script_is_loaded_when_redis_does_not_know_it(client: redis.Redis, key: str) -> None:
    # A script text of its own: never seen by this Redis, as after a restart (SCRIPT FLUSH would
    # empty the cache of every client of this server).
    script = client.register_script(f"return redis.call('INCRBY', ARGV[1], ARGV[2]) -- {key}")
    assert client.script_exists(script.sha) == [False]
    assert run_script(client, script, [key, 5]) == 5
    assert client.script_exists(script.sha) == [True]
    assert run_script(client, script, [key, 2]) == 7
    client.delete(key)


def test_a_script_error_is_raised(client: redis.Redis) -> None:
    script = client.register_script("return redis.error_reply('no such pool')")
    with pytest.raises(redis.ResponseError, match="no such pool"):
        run_script(client, script, [])


def test_a_broken_connection_raises_and_the_next_call_reconnects(client: redis.Redis, key: str) -> None:
    round_trip(client, [("PING",)])
    name = f"victim-{key}"
    round_trip(client, [("CLIENT", "SETNAME", name)])
    victims = [c["id"] for c in client.client_list() if c.get("name") == name]
    client.client_kill_filter(_id=victims[0])
    with pytest.raises(redis.ConnectionError):
        round_trip(client, [("PING",)])
    assert round_trip(client, [("PING",)]) == [b"PONG"]


def test_each_thread_uses_its_own_connection(client: redis.Redis, key: str) -> None:
    ids: list[int] = []

    def work() -> None:
        ids.append(round_trip(client, [("CLIENT", "ID")])[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 3


def test_a_forked_child_opens_its_own_connection(client: redis.Redis) -> None:
    parent = round_trip(client, [("CLIENT", "ID")])[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its connection's id, then leave without pytest's teardown
        try:
            os.write(write, str(round_trip(client, [("CLIENT", "ID")])[0]).encode())
        finally:
            os._exit(0)
    os.close(write)
    child = int(os.read(read, 64) or b"0")
    os.waitpid(pid, 0)
    assert child and child != parent
    assert round_trip(client, [("CLIENT", "ID")]) == [parent]  # the parent's connection still works
