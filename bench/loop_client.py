"""A load generator on one thread: every connection on one ``epoll`` loop, as wrk does.

The threaded raw client (``raw_client.py``) gives each connection a thread. At the DNI benchmark's
paced rates its 64 threads cost 0.07 - 0.09 ms of CPU per request, taken from the two CPUs the
server runs on: each answer wakes a thread, which then waits for this process's interpreter lock
before it can read the clock, so that wait was counted as the server's latency too. Here one thread
sends on free connections, waits on all of them at once, and stamps each answer as it is read.

Paced: request i is due ``i / rate`` seconds after the start and waits for a free connection if
none is; its latency counts from when it was due (no coordinated omission).
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.raw_client import HEADER_END, MAX_HEAD_BYTES, ProtocolError, encode, parse_head

if TYPE_CHECKING:
    from bench.common import Check, Request, RequestSource, Samples


@dataclass
class _Connection:
    sock: socket.socket | None = None
    buffer: bytes = b""
    started: float = 0.0  # when the request in flight was due (paced) or sent (closed loop)
    busy: bool = False


class _Run:
    def __init__(self, host: str, port: int, source: RequestSource, check: Check, out: Samples) -> None:
        self.address = (host, port)
        self.source, self.check, self.out = source, check, out
        self.selector = selectors.DefaultSelector()
        self.in_flight = 0
        self._encoded: dict[int, bytes] = {}  # the bare phase sends one shared request object

    def send(self, connection: _Connection, request: Request, started: float) -> bool:
        """Send ``request``; False if that failed (recorded), leaving the connection free."""
        connection.started, connection.busy = started, True
        self.in_flight += 1
        try:
            if connection.sock is None:
                connection.sock = socket.create_connection(self.address)
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.selector.register(connection.sock, selectors.EVENT_READ, connection)
            connection.sock.sendall(self._payload(request))  # a few hundred bytes: never blocks
        except OSError as exc:
            self.finish(connection, f"{type(exc).__name__}: {exc}", broken=True)
            return False
        return True

    def _payload(self, request: Request) -> bytes:
        payload = self._encoded.get(id(request))
        if payload is None:
            payload = self._encoded[id(request)] = encode(request, *self.address)
            if len(self._encoded) > 1:  # unique requests: keep none, they are not sent twice
                self._encoded.clear()
        return payload

    def read(self, connection: _Connection) -> bool:
        """Read what arrived; True once the answer is complete (the connection is free again)."""
        assert connection.sock is not None
        try:
            data = connection.sock.recv(65536)
            if not data:
                raise ProtocolError("connection closed by the server")
            connection.buffer += data
            answer = complete_answer(connection.buffer)
        except (OSError, ProtocolError, ValueError) as exc:
            self.finish(connection, f"{type(exc).__name__}: {exc}", broken=True)
            return True
        if answer is None:
            return False
        status, body, closing = answer
        self.finish(connection, None if self.check(status, body) else f"HTTP {status}: {body[:120]!r}")
        if closing:
            self.close(connection)
        return True

    def finish(self, connection: _Connection, error: str | None, broken: bool = False) -> None:
        self.out.record(time.perf_counter() - connection.started, error)
        self.in_flight -= 1
        connection.buffer, connection.busy = b"", False
        if broken:
            self.close(connection)

    def close(self, connection: _Connection) -> None:
        if connection.sock is not None:
            self.selector.unregister(connection.sock)
            connection.sock.close()
        connection.sock, connection.buffer = None, b""

    def time_out(self, connections: list[_Connection], due: deque[float]) -> None:
        """Nothing answered for the whole timeout: every request in flight or waiting failed."""
        for connection in connections:
            if connection.busy:
                self.finish(connection, "TimeoutError: no answer", broken=True)
        for moment in due:
            self.out.record(time.perf_counter() - moment, "TimeoutError: not sent, no connection free")
        due.clear()


def complete_answer(buffer: bytes) -> tuple[int, bytes, bool] | None:
    """(status, body, server closes) of the response at the start of ``buffer``; None if incomplete."""
    end = buffer.find(HEADER_END)
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise ProtocolError("response head too long")
        return None
    status, length, chunked, closing = parse_head(buffer[:end])
    rest = buffer[end + len(HEADER_END) :]
    body = _dechunk(rest) if chunked else (rest[:length] if len(rest) >= length else None)
    return None if body is None else (status, body, closing)


def _dechunk(data: bytes) -> bytes | None:
    parts: list[bytes] = []
    at = 0
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(data[at:line_end].split(b";")[0], 16)
        at = line_end + 2
        if size == 0:  # then trailers, if any, and an empty line
            ended = data.startswith(b"\r\n", at) or data.find(b"\r\n\r\n", at) >= 0
            return b"".join(parts) if ended else None
        if len(data) < at + size + 2:
            return None
        parts.append(data[at : at + size])
        at += size + 2


def run(
    host: str,
    port: int,
    source: RequestSource,
    concurrency: int,
    seconds: float,
    check: Check,
    out: Samples,
    timeout: float,
    rate: float | None = None,
) -> None:
    """Closed loop over ``concurrency`` connections (the next request as soon as one is free), or
    with a ``rate``, requests sent on their schedule; until ``seconds`` pass or requests run out."""
    loop = _Run(host, port, source, check, out)
    connections = [_Connection() for _ in range(concurrency)]
    free: deque[_Connection] = deque(connections)
    due: deque[float] = deque()  # paced requests whose moment has come, waiting for a connection
    start = time.perf_counter()
    deadline, scheduled, exhausted = start + seconds, 0, False
    upcoming = start if rate is not None else deadline  # the next paced request's moment
    while True:
        now = time.perf_counter()
        while rate is not None and upcoming <= now and upcoming < deadline:
            due.append(upcoming)
            scheduled += 1
            upcoming = start + scheduled / rate
        while free and not exhausted and (due if rate is not None else now < deadline):
            request = source.take()
            if request is None:
                exhausted = True
                break
            connection = free.popleft()
            if not loop.send(connection, request, due.popleft() if rate is not None else now):
                free.append(connection)
        still = bool(due) or upcoming < deadline if rate is not None else now < deadline
        scheduling = not exhausted and still
        if not loop.in_flight and not scheduling:
            break
        wait = timeout
        if rate is not None and not exhausted and upcoming < deadline:
            wait = max(0.0, min(timeout, upcoming - time.perf_counter()))
        events = loop.selector.select(wait)
        if not events and wait == timeout and loop.in_flight:
            loop.time_out(connections, due)
            free = deque(connections)
        free.extend(key.data for key, _ in events if loop.read(key.data))
    for connection in connections:
        loop.close(connection)
    loop.selector.close()
