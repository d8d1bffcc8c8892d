"""The recorder process's protocol and its two sides, over a real Unix socket: a worker ships its
hits and the recorder writes them; a worker that cannot reach it writes them itself."""

from __future__ import annotations

import contextlib
import datetime as dt
import marshal
import pickle
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ringtrail.testing import wired_account
from ringtrail.visits import buffer as buffer_module
from ringtrail.visits import recorder, wire
from ringtrail.visits.buffer import VisitBuffer
from ringtrail.visits.hits import ExtensionHit, Heartbeat, Hit, PageHit, Row, as_row, from_rows
from ringtrail.visits.models import PageView, Session
from ringtrail.visits.tests.test_buffer import T0, TOUCH, hit, unpacked, until


def as_rows(hits: list[Hit]) -> list[Row]:
    return [as_row(hit) for hit in hits]


def test_hits_cross_the_wire_exactly() -> None:
    hits = [
        PageHit(7, "v_1", "s_1", "https://acme.test/?q=é", T0, dict(TOUCH), 3, 9, True, "GA1.1", "77"),
        Heartbeat(7, "s_1", T0 + dt.timedelta(microseconds=999_999)),
        ExtensionHit(41, 9, T0, T0 + dt.timedelta(minutes=15)),
    ]
    assert from_rows(wire.decode_rows(wire.encode_rows(as_rows(hits)))) == hits


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00garbage",
        pickle.dumps([("anything",)]),
        marshal.dumps([(0, 1, "v", "s")]),  # a page view with fields missing
        marshal.dumps([(9, 1)]),  # an unknown kind of hit
        marshal.dumps([(1, 1, "s", "yesterday")]),  # a time that is not microseconds
        marshal.dumps([(0, 1, "v", "s", "u", 0, "touch", None, None, False, "", "")]),
        marshal.dumps([(0, 1, "v", "s", "u", 0, {"utm": {"a": "b"}}, None, None, False, "", "")]),
        marshal.dumps(
            [(0, 1, "v", "s", "u", 0, marshal.dumps({"utm": {"a": 1}}), None, None, False, "", "")]
        ),
        marshal.dumps([(1, 1, "s", 10**20)]),  # a time past the year 9999
        marshal.dumps([(1, 1, "s", -1)]),
        marshal.dumps([[1, 1, "s", 0]]),  # a row that is not a tuple
        marshal.dumps({"rows": []}),  # not a list of rows
    ],
)
def test_a_malformed_frame_is_refused_never_run(payload: bytes) -> None:
    with pytest.raises(wire.FrameError):
        wire.decode_rows(payload)


@pytest.fixture
def socket_path(tmp_path: Path) -> str:
    return str(tmp_path / "recorder.sock")


@contextlib.contextmanager
def serving_on_a_thread(socket_path: str, held: VisitBuffer) -> Iterator[recorder.Recorder]:
    serving = recorder.Recorder(socket_path, held)
    thread = threading.Thread(target=serving.serve, daemon=True)
    thread.start()
    yield serving
    serving.stop()
    thread.join(15)


@pytest.fixture
def running(socket_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[recorder.Recorder]:
    """A recorder serving on a thread; its own buffer flushes only when asked (a sync, or stopping)."""
    from ringtrail.visits.actions import write_hits

    monkeypatch.setattr(recorder, "RECEIVE_GRACE_SECONDS", 0.2)  # the tests' links never hang up

    with serving_on_a_thread(socket_path, VisitBuffer(unpacked(write_hits), lambda: 3600)) as serving:
        yield serving


@pytest.mark.django_db(transaction=True)
def test_the_recorder_writes_what_a_worker_ships_and_sync_waits_for_it(
    running: recorder.Recorder, socket_path: str
) -> None:
    account = wired_account().account
    link = recorder.RecorderLink(socket_path)
    assert link.ship(as_rows([hit(account.pk, "v1", "s1", "https://acme.test/a", T0)]))
    assert link.ship(
        as_rows([hit(account.pk, "v1", "s1", "https://acme.test/b", T0 + dt.timedelta(seconds=5))])
    )
    assert not Session.objects.exists()  # held by the recorder until a sync (or its interval)
    assert link.sync()
    assert running.received == 2
    assert Session.objects.get(session_id="s1").page_views == 2
    assert PageView.objects.count() == 2
    assert link.sync() and running.syncs == 1  # nothing shipped since: no round trip
    assert link.ship(as_rows([hit(account.pk, "v2", "s2", "https://acme.test/c", T0)]))
    assert link.sync() and running.syncs == 2
    link.close()


@pytest.mark.django_db(transaction=True)
def test_a_worker_ships_through_its_buffer_and_flush_pending_waits_for_the_write(
    running: recorder.Recorder, socket_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What attribution relies on: after ``flush_pending`` the page views are in the database."""
    monkeypatch.setenv(recorder.SOCKET_ENV, socket_path)
    account = wired_account().account
    buffer_module.buffer.add(hit(account.pk, "v1", "s1", "https://acme.test/a", T0))  # inline: shipped
    assert running.received == 1 or not Session.objects.exists()
    buffer_module.flush_pending()
    assert Session.objects.get(session_id="s1").page_views == 1
    assert buffer_module._batching() == (buffer_module.MAX_BATCH, 0.0)  # one send, no pauses


@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_its_own_hits_while_the_recorder_is_unreachable(
    socket_path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(recorder.SOCKET_ENV, socket_path)  # nobody listens there
    account = wired_account().account
    buffer_module.buffer.add(hit(account.pk, "v1", "s1", "https://acme.test/a", T0))
    assert Session.objects.get(session_id="s1").page_views == 1
    assert "writing page views in this process" in caplog.text
    assert buffer_module.flush_pending() == 0  # the sync fails fast, it does not hang


@pytest.mark.django_db(transaction=True)
def test_a_worker_goes_back_to_the_recorder_once_it_listens_again(
    socket_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ringtrail.visits.actions import write_hits

    monkeypatch.setattr(recorder, "RETRY_SECONDS", 0.0)
    monkeypatch.setattr(recorder, "RECEIVE_GRACE_SECONDS", 0.2)  # this worker never hangs up
    account = wired_account().account
    link = recorder.RecorderLink(socket_path)
    assert not link.ship(as_rows([hit(account.pk, "v1", "s1", "https://acme.test/a", T0)]))
    serving = recorder.Recorder(socket_path, VisitBuffer(unpacked(write_hits), lambda: 3600))
    thread = threading.Thread(target=serving.serve, daemon=True)
    thread.start()
    assert link.ship(as_rows([hit(account.pk, "v1", "s1", "https://acme.test/b", T0)]))
    serving.stop()
    thread.join(15)  # stopping, it reads what was sent and writes it
    assert not thread.is_alive() and serving.received == 1
    assert Session.objects.get(session_id="s1").page_views == 1
    # Stopped: a later send fails at once, never into a socket nobody reads, and the worker writes
    # the hits itself.
    assert not link.ship(as_rows([hit(account.pk, "v1", "s1", "https://acme.test/c", T0)]))


def test_a_bad_frame_drops_that_connection_only(running: recorder.Recorder, socket_path: str) -> None:
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bad.connect(socket_path)
    bad.sendall(wire.frame(wire.HITS, b"not marshal at all"))
    assert bad.recv(1) == b""  # the recorder hung up on it
    bad.close()
    huge = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    huge.connect(socket_path)
    huge.sendall(wire.HEAD.pack(wire.MAX_FRAME_BYTES + 1, wire.HITS))
    assert huge.recv(1) == b""
    huge.close()
    assert recorder.RecorderLink(socket_path).ship([])  # and it still serves others


def test_a_second_recorder_refuses_a_socket_in_use_but_replaces_a_stale_one(
    running: recorder.Recorder, socket_path: str, tmp_path: Path
) -> None:
    with pytest.raises(OSError, match="another recorder"):
        recorder.Recorder(socket_path, VisitBuffer(lambda hits: None, lambda: 1))

    stale_path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(stale_path)
    stale.close()  # a crash leaves the file behind, nobody listening
    fresh = recorder.Recorder(stale_path, VisitBuffer(lambda hits: None, lambda: 1))
    fresh.stop()
    assert Path(stale_path).stat().st_mode & 0o077 == 0  # this user's only


def test_start_process_gives_up_on_a_path_too_long(tmp_path: Path, caplog: Any) -> None:
    assert recorder.start_process(tmp_path / ("x" * 120)) is None
    assert "too long" in caplog.text


class HeldWriter:
    """A recorder's writer that writes nothing until ``free`` is set: no CPU for it, or a slow write."""

    def __init__(self) -> None:
        self.free = threading.Event()
        self.written: list[Hit] = []

    def __call__(self, batch: list[Hit]) -> None:
        self.free.wait(30)
        self.written.extend(batch)


def test_a_recorder_behind_stops_reading_its_workers_and_drops_nothing(
    socket_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saturated server: the recorder gets no CPU to write while the workers answer. It used to
    read on and drop the oldest beyond ``MAX_PENDING``; now the workers' frames wait in their sockets."""
    monkeypatch.setattr(buffer_module, "HOLD_BACK_AT", 5)
    monkeypatch.setattr(buffer_module, "MAX_PENDING", 12)
    monkeypatch.setattr(recorder, "RECEIVE_GRACE_SECONDS", 0.2)
    writer = HeldWriter()  # no CPU to write while the workers answer
    held = VisitBuffer(unpacked(writer), lambda: 3600)
    link = recorder.RecorderLink(socket_path)
    beats = [Heartbeat(1, f"s{i}", T0) for i in range(50)]
    with serving_on_a_thread(socket_path, held) as serving:
        shipping = threading.Thread(
            target=lambda: [link.ship(as_rows(beats[i : i + 5])) for i in range(0, 50, 5)]
        )
        shipping.start()
        until(lambda: held.held_back > 0)
        assert serving.received <= 10 and held.pending() <= 5 and held.dropped == 0
        writer.free.set()
        shipping.join(10)
        until(lambda: serving.received == 50)
    assert writer.written == beats and held.dropped == 0
    link.close()


def test_a_send_the_recorder_does_not_take_fails_so_the_worker_writes_its_hits_itself(
    socket_path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recorder, "SHIP_SECONDS", 0.2)
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.bind(socket_path)
    stuck.listen(1)  # connections wait in its backlog, never read
    link = recorder.RecorderLink(socket_path)
    many = [Heartbeat(1, f"s{i}", T0) for i in range(100_000)]  # megabytes: more than a socket holds
    assert not link.ship(as_rows(many))
    assert "writing page views in this process" in caplog.text
    stuck.close()


def test_a_frame_larger_than_the_mark_is_taken_whole_once_there_is_room(
    socket_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorder waits for room once a frame, not once a hit: a worker ships up to 2 000 a frame."""
    monkeypatch.setattr(buffer_module, "HOLD_BACK_AT", 3)
    monkeypatch.setattr(buffer_module, "HOLD_BACK_SECONDS", 60.0)
    monkeypatch.setattr(recorder, "RECEIVE_GRACE_SECONDS", 0.2)
    held = VisitBuffer(lambda batch: None, lambda: 3600)
    monkeypatch.setattr(held, "_ensure_thread", lambda: None)  # nothing written: room never comes
    link = recorder.RecorderLink(socket_path)
    with serving_on_a_thread(socket_path, held) as serving:
        assert link.ship(as_rows([Heartbeat(1, f"s{i}", T0) for i in range(10)]))
        until(lambda: serving.received == 10)
        assert held.pending() == 10 and held.held_back == 0
    link.close()


@pytest.mark.django_db(transaction=True)
def test_attribution_does_not_wait_behind_a_send_the_recorder_holds_back(
    socket_path: str, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """An inbound call flushes the page views before matching them, while the caller waits; a
    send the recorder is not reading (it is behind, or stuck) holds the buffer's and the link's locks."""
    settings.DNI_RECORD_FLUSH_SECONDS = 30
    monkeypatch.setattr(buffer_module, "HOLD_BACK_AT", 10**9)
    monkeypatch.setattr(recorder, "SHIP_SECONDS", 60.0)
    monkeypatch.setenv(recorder.SOCKET_ENV, socket_path)
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.bind(socket_path)
    stuck.listen(1)  # never read: the first frame (hundreds of KB) fills the socket
    one_session = "s" * 200
    buffer_module.buffer.add_received(as_rows([Heartbeat(1, one_session, T0) for _ in range(20_000)]))
    shipping = threading.Thread(target=buffer_module.buffer.flush)
    shipping.start()
    until(lambda: buffer_module.buffer.pending() < 20_000)  # its first frame is being sent
    assert buffer_module.flush_pending(wait=0.2) == 0
    assert shipping.is_alive()  # attribution went on; the send still waits
    stuck.close()  # the send fails: the worker writes those hits itself
    shipping.join(30)
    assert not shipping.is_alive() and buffer_module.buffer.pending() == 0


def test_a_sync_that_times_out_keeps_the_link_and_the_next_one_skips_its_late_reply(
    socket_path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Breaking the link sent the worker's next page views to the database directly, ahead of
    older ones of the same visits that the recorder still held."""
    monkeypatch.setattr(recorder, "RECEIVE_GRACE_SECONDS", 0.2)
    writer = HeldWriter()  # a slow write
    held = VisitBuffer(unpacked(writer), lambda: 3600)
    monkeypatch.setattr(held, "_ensure_thread", lambda: None)  # writes only when a sync asks
    link = recorder.RecorderLink(socket_path)
    first, second = Heartbeat(1, "s1", T0), Heartbeat(1, "s2", T0)
    with serving_on_a_thread(socket_path, held):
        assert link.ship(as_rows([first]))
        assert not link.sync(timeout=0.2)  # the recorder is still writing
        writer.free.set()
        assert link.ship(as_rows([second]))  # still to the recorder
        assert link.sync(timeout=10)  # its own reply, after the late one
    assert writer.written == [first, second]
    assert "unreachable" not in caplog.text
    link.close()


def test_the_recorder_process_writes_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` tells the buffer it answers no requests (``buffer.write_alone``) and freezes what it
    has loaded, so the collector walks only the page views it holds, before it serves."""
    seen: list[tuple[bool, int]] = []
    frozen: list[int] = []
    monkeypatch.setattr(buffer_module, "_writing_alone", False)
    monkeypatch.setattr(recorder.signal, "signal", lambda *args: None)  # the test process keeps its own
    monkeypatch.setattr(recorder.gc, "freeze", lambda: frozen.append(1))  # this process stays as it is
    monkeypatch.setattr(
        recorder.Recorder,
        "serve",
        lambda self, parent: seen.append((buffer_module.writing_alone(), len(frozen))),
    )
    assert recorder.run(str(tmp_path / "r.sock"), VisitBuffer(lambda hits: None, lambda: 30.0), 0, None) == 0
    assert seen == [(True, 1)]
