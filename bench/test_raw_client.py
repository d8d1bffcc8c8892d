"""The raw load-generator client against a scripted server: framing, keep-alive, close and errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from bench.common import Request, RequestSource, closed_loop_raw
from bench.raw_client import Connection, ProtocolError, encode

ANSWERS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n",
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<Res\r\n6;x=1\r\nponse>\r\n0\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nConnection: close\r\n\r\n",
]


@pytest.fixture
def server() -> Iterator[tuple[int, list[bytes]]]:
    """Answers each request on a connection with the next scripted answer; records what it got."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                for answer in ANSWERS:
                    data = conn.recv(65536)
                    if not data:
                        break
                    received.append(data)
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], received
    listener.close()


def test_each_framing_is_read_and_a_close_reconnects(server: tuple[int, list[bytes]]) -> None:
    port, received = server
    connection = Connection("127.0.0.1", port, timeout=5)
    payload = encode(Request("POST", "/x?a=1", b"k=v", {"X-Sig": "s"}), "127.0.0.1", port)
    assert [connection.exchange(payload) for _ in range(3)] == [
        (200, b"ok\n"),
        (201, b"<Response>"),
        (404, b""),
    ]
    assert connection.exchange(payload) == (200, b"ok\n")  # a new connection after the close
    assert received[0] == (
        f"POST /x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Sig: s\r\nContent-Length: 3\r\n\r\nk=v".encode()
    )


def test_a_server_that_hangs_up_is_an_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True).start()
    connection = Connection("127.0.0.1", listener.getsockname()[1], timeout=5)
    with pytest.raises((ProtocolError, ConnectionResetError)):  # a reset if our request was unread
        connection.exchange(b"GET / HTTP/1.1\r\n\r\n")
    listener.close()


def test_the_closed_loop_records_every_answer_and_its_check(server: tuple[int, list[bytes]]) -> None:
    port, _ = server
    requests = RequestSource([Request("GET", "/")] * 3)
    samples = closed_loop_raw(port, requests, 1, 5.0, lambda status, _: status == 200)
    assert len(samples.latencies) == 3
    assert samples.errors == ["HTTP 201: b'<Response>'", "HTTP 404: b''"]
