"""One Redis client per URL and process, for the hot paths.

Django's Redis cache builds a new client object on every call (a few hundred dictionary writes of
response callbacks); the DNI endpoint talks to Redis on every page view, so it keeps its own.
Clients are thread-safe (each command borrows a pooled connection).
"""

from __future__ import annotations

import redis

_clients: dict[str, redis.Redis] = {}
SOCKET_TIMEOUT_SECONDS = 0.5


def client_for(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS)
    return client
