"""The benchmarks' default load generator: threads over raw keep-alive sockets.

The load generator shares the machine's cores with the server it measures, so every millisecond it
spends is taken from the server. ``http.client`` parses each response's headers with the ``email``
package and costs ~0.25 ms of CPU per request; this sends each prepared request as one buffer and
reads only the status line, the framing headers (``Content-Length``, chunked, ``Connection: close``)
and the body, like wrk or hey do.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.common import Check, Pace, Request, RequestSource, Samples

HEADER_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.1 as this client understands it."""


def encode(request: Request, host: str, port: int) -> bytes:
    headers = {"Host": f"{host}:{port}", **request.headers, "Content-Length": str(len(request.body))}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{request.method} {request.path} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + request.body


class Connection:
    """One keep-alive connection; reconnects on the next request after an error or a close."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.address, self.timeout = (host, port), timeout
        self._socket: socket.socket | None = None
        self._buffer = b""

    def exchange(self, payload: bytes) -> tuple[int, bytes]:
        if self._socket is None:
            self._socket = socket.create_connection(self.address, timeout=self.timeout)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._buffer = b""
        self._socket.sendall(payload)
        head = self._read_head()
        status, length, chunked, closing = parse_head(head)
        body = self._read_chunked() if chunked else self._read_exactly(length)
        if closing:
            self.close()
        return status, body

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket, self._buffer = None, b""

    def _fill(self) -> None:
        assert self._socket is not None
        data = self._socket.recv(65536)
        if not data:
            raise ProtocolError("connection closed by the server")
        self._buffer += data

    def _read_head(self) -> bytes:
        while (end := self._buffer.find(HEADER_END)) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("response head too long")
            self._fill()
        head, self._buffer = self._buffer[:end], self._buffer[end + len(HEADER_END) :]
        return head

    def _read_exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return body

    def _read_line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            self._fill()
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _read_chunked(self) -> bytes:
        parts = []
        while size := int(self._read_line().split(b";")[0], 16):
            parts.append(self._read_exactly(size))
            self._read_exactly(2)  # the CRLF after each chunk
        while self._read_line():  # trailers, then the empty line
            pass
        return b"".join(parts)


def parse_head(head: bytes) -> tuple[int, int, bool, bool]:
    """Status, Content-Length, whether the body is chunked, whether the server closes."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status, length, chunked, closing = int(lines[0][9:12]), 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            closing = b"close" in value.lower()
    return status, length, chunked, closing


def worker(
    host: str,
    port: int,
    source: RequestSource,
    deadline: float,
    check: Check,
    out: Samples,
    timeout: float,
    pace: Pace | None = None,
) -> None:
    """Closed loop: the next request as soon as the last is answered. With a ``pace``, each request
    waits for its moment in the schedule, and its latency counts from that moment, so time spent
    waiting for a free connection is counted too (no coordinated omission)."""
    connection = Connection(host, port, timeout)
    encoded: dict[int, bytes] = {}  # requests may be one shared object (the bare phase's GET)
    while (due := pace.due() if pace else time.perf_counter()) < deadline and (
        request := source.take()
    ) is not None:
        payload = encoded.get(id(request))
        if payload is None:
            payload = encoded[id(request)] = encode(request, host, port)
            if len(encoded) > 1:  # unique requests: keep none, they are not sent twice
                encoded.clear()
        if pace is not None and (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        start = due if pace is not None else time.perf_counter()
        error: str | None
        try:
            status, body = connection.exchange(payload)
            error = None if check(status, body) else f"HTTP {status}: {body[:120]!r}"
        except (OSError, ProtocolError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            connection.close()
        out.record(time.perf_counter() - start, error)
    connection.close()
