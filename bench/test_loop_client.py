"""The one-thread loop client: framing, keep-alive, close, errors, the schedule and a hung server."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest

from bench import loop_client
from bench.common import Request, RequestSource, Samples, closed_loop_loop, paced_loop
from bench.loop_client import complete_answer
from bench.raw_client import ProtocolError
from bench.test_raw_client import ANSWERS, server  # noqa: F401  (the scripted server fixture)


def test_an_answer_is_complete_only_when_all_of_it_arrived() -> None:
    plain = ANSWERS[0]
    chunked = ANSWERS[1]
    trailer = chunked[:-2] + b"X-T: 1\r\n\r\n"
    for answer, expected in ((plain, (200, b"ok\n", False)), (chunked, (201, b"<Response>", False))):
        assert complete_answer(answer) == expected
        assert all(complete_answer(answer[:cut]) is None for cut in range(len(answer)))
    assert complete_answer(trailer) == (201, b"<Response>", False)
    assert complete_answer(b"HTTP/1.1 404 No\r\nConnection: close\r\n\r\n") == (404, b"", True)
    with pytest.raises(ProtocolError):
        complete_answer(b"SSH-2.0 hello\r\n\r\n")


def test_the_closed_loop_records_every_answer_and_reconnects_after_a_close(
    server: tuple[int, list[bytes]],  # noqa: F811
) -> None:
    port, received = server
    requests = RequestSource([Request("POST", "/x", b"k=v", {"X-Sig": "s"})] * 4)
    samples = closed_loop_loop(port, requests, 1, 5.0, lambda status, _: status == 200)
    assert len(samples.latencies) == 4
    assert samples.errors == ["HTTP 201: b'<Response>'", "HTTP 404: b''"]
    assert len(received) == 4  # the fourth on a new connection, after the server's close
    assert received[0] == (
        f"POST /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Sig: s\r\nContent-Length: 3\r\n\r\nk=v".encode()
    )


def echo_server() -> tuple[socket.socket, list[float]]:
    """Answers every request at once on any number of connections; records when each arrived."""
    listener = socket.create_server(("127.0.0.1", 0))
    arrivals: list[float] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            while conn.recv(65536):
                arrivals.append(time.perf_counter())
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, arrivals


def test_paced_requests_follow_the_schedule_not_the_answers() -> None:
    listener, arrivals = echo_server()
    requests = RequestSource([Request("GET", "/")] * 1000)
    port = listener.getsockname()[1]
    samples = paced_loop(port, requests, 4, 0.5, lambda status, _: status == 200, rate=100)
    listener.close()
    assert samples.errors == []
    assert 49 <= len(samples.latencies) <= 51  # 100/s for half a second, not as fast as answered
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert sum(gaps) / len(gaps) == pytest.approx(0.01, rel=0.3)


def test_a_server_that_never_answers_fails_each_request_after_the_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    out = Samples()
    requests = RequestSource([Request("GET", "/")] * 3)
    loop_client.run("127.0.0.1", listener.getsockname()[1], requests, 1, 5.0, lambda *_: True, out, 0.2)
    listener.close()
    assert out.errors[0] == "TimeoutError: no answer"
    assert len(out.latencies) == 3
