"""One Redis client per URL and process, and a lean round trip for the hot paths.

Django's Redis cache builds a new client object on every call (a few hundred dictionary writes of
response callbacks); the DNI endpoint talks to Redis on every page view, so it keeps its own.
Clients are thread-safe (each command borrows a pooled connection).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

import hiredis
import redis
from redis.commands.core import Script

_clients: dict[str, redis.Redis] = {}
SOCKET_TIMEOUT_SECONDS = 0.5
Command = Sequence[str | bytes | int | float]


def client_for(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS)
    return client


def round_trip(client: redis.Redis, commands: Sequence[Command]) -> list[Any]:
    """Send the commands in one write and read their replies, raw (no response callbacks).

    What a non-transactional pipeline does, without its per-call bookkeeping (retry wrappers,
    command stacks, the pool's lock and observability hooks), which cost more CPU than the round
    trip itself on the DNI endpoint. Each thread keeps its own connection to the client's server.
    An error reply is returned in its place as a ``redis.ResponseError``, so the replies after it
    are still read; a broken connection raises and is reopened by the next call.
    """
    connection = _thread_connection(client)
    try:
        connection.send_packed_command([_pack(commands)], check_health=False)
        return [_reply(connection) for _ in commands]
    except BaseException:
        connection.disconnect()
        raise


def _thread_connection(client: redis.Redis) -> Any:
    local = client.__dict__.get(_THREADS)
    if local is None:
        local = client.__dict__.setdefault(_THREADS, threading.local())
        _with_thread_connections.add(client)
    connection = getattr(local, "connection", None)
    if connection is None:
        pool = client.connection_pool
        connection = local.connection = pool.connection_class(**pool.connection_kwargs)
    return connection


_THREADS = "_ringtrail_threads"
_with_thread_connections: weakref.WeakSet[redis.Redis] = weakref.WeakSet()


def _forget_thread_connections() -> None:
    # A forked child must not talk on its parent's sockets: it opens its own on first use. Dropping
    # the inherited ones closes only the child's copies (redis-py shuts a socket down only in the
    # process that opened it).
    for client in list(_with_thread_connections):
        client.__dict__.pop(_THREADS, None)
    _with_thread_connections.clear()


os.register_at_fork(after_in_child=_forget_thread_connections)


def _pack(commands: Sequence[Command]) -> bytes:
    # hiredis's stub types the argument as a 1-tuple; it takes any tuple of arguments.
    return b"".join([hiredis.pack_command(tuple(command)) for command in commands])  # type: ignore[arg-type]


def run_script(client: redis.Redis, script: Script, args: Sequence[str | bytes | int | float]) -> Any:
    """EVALSHA a registered script (no keys: ours build them) in one round trip; loads it when
    this Redis has not seen it (a restart, a flush)."""
    command = ("EVALSHA", script.sha, 0, *args)
    reply = round_trip(client, [command])[0]
    if isinstance(reply, redis.exceptions.NoScriptError):
        reply = round_trip(client, [script_load(script), command])[1]
    if isinstance(reply, redis.ResponseError):
        raise reply
    return reply


def script_load(script: Script) -> Command:
    """The command that loads ``script`` into a Redis that does not know it."""
    source = script.script
    return ("SCRIPT", "LOAD", bytes(source) if isinstance(source, memoryview) else source)


def _reply(connection: Any) -> Any:
    try:
        return connection.read_response()
    except redis.ResponseError as error:
        return error
