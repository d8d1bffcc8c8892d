"""The recorder: one process beside the web workers that writes the page views they buffer.

Writing a batch of page views is Python work: building rows, binding them, and SQLite's statement
(about 0.17 ms of CPU a page view on a slow host). In a web worker it holds the interpreter lock, and
every page view the worker answers meanwhile waits; slicing the work (``DNI_RECORD_SLICE``) only
shortened the waits. With the writes put off altogether, paced new visitors' p99 fell from 25 - 70 ms
to 8 - 17 ms (docs/benchmarks.md). So ``ringtrail serve`` starts this process, at a lower priority
(``DNI_RECORDER_NICE``) so that the kernel hands a CPU to a worker that has a request first, and each
worker's buffer ships its hits here over a Unix socket instead of writing them (``wire.py``: a
``marshal`` of the rows it holds, microseconds a hit). The recorder keeps them in a ``VisitBuffer`` of its
own and writes them as a worker did, but in transactions of up to 2 000 hits back to back
(``buffer.write_alone``, ``DNI_RECORDER_BATCH``): no request thread waits for its interpreter.

What stays true: no hit is lost while either side lives. A worker that cannot reach the recorder
(not started, gone, the socket refused) writes its hits itself, as before, and tries the recorder
again a second later. ``flush_pending`` (attribution, before matching a call) ships what the worker
holds and waits until the recorder has written everything it received before. A crash of the recorder
loses what it held, at most one flush interval of page views, as a crash of a worker does.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from ringtrail.visits import wire
from ringtrail.visits.buffer import MAX_BATCH, VisitBuffer, write_alone
from ringtrail.visits.hits import Row

log = logging.getLogger(__name__)
# Set by ``ringtrail serve`` for its workers once the recorder listens: where to ship hits.
SOCKET_ENV = "RINGTRAIL_RECORDER_SOCKET"
# After a failed connection or send, a worker writes its hits itself for this long before trying again.
RETRY_SECONDS = 1.0
# How long ``flush_pending`` waits for the recorder to write; past it, attribution goes on without
# (it runs while a call is being answered; a visit seconds old is rarely the one calling).
SYNC_SECONDS = 1.0
# A Unix socket's path must fit in ``sockaddr_un``.
MAX_SOCKET_PATH = 107
# A worker's send waits for the recorder at most this long (it waits while the recorder is behind,
# ``buffer.HOLD_BACK_AT``); past it the recorder is taken for stuck, and the worker writes its hits.
SHIP_SECONDS = 15.0
# The recorder, behind, stops reading a worker's frames for at most this long each.
HOLD_WORKERS_SECONDS = 5.0
BEHIND_LOG_SECONDS = 60.0
# Told to stop, the recorder goes on reading what workers still send (they ship what they hold as
# they exit) until they close their connections, for at most this long.
RECEIVE_GRACE_SECONDS = 10.0


class RecorderLink:
    """A worker's connection to the recorder, shared by its threads; made again after a fork."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._pid = 0
        self._retry_at = 0.0
        self._shipped = 0  # frames shipped, and how many of them the recorder said were written
        self._synced = 0
        self._unanswered = 0  # syncs sent whose replies have not been read (they came too late)
        self._received = bytearray()  # what was read of the recorder's replies, whole frames or not

    def ship(self, rows: list[Row]) -> bool:
        """Hand the hits of ``rows`` to the recorder; False when it cannot be reached (write them
        yourself)."""
        payload = wire.frame(wire.HITS, wire.encode_rows(rows))
        with self._lock:
            sock = self._connected()
            if sock is None:
                return False
            try:
                sock.sendall(payload)
            except OSError as exc:
                self._broken(exc)
                return False
            self._shipped += 1
            return True

    def sync(self, timeout: float = SYNC_SECONDS) -> bool:
        """Wait until the recorder has written every hit this link shipped; False if it could not
        say so in ``timeout`` seconds. Nothing shipped since the last sync: no round trip (every
        inbound call asks). A send under way, which the recorder may hold back while it is behind,
        counts against ``timeout`` too."""
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            return self._sync_held(timeout)
        finally:
            self._lock.release()

    def _sync_held(self, timeout: float) -> bool:
        """A sync that times out keeps the connection: its reply is read, and skipped, by the next
        one. Breaking it sent the worker's next second of page views to the database directly,
        ahead of older ones of the same visits that the recorder still held."""
        if self._shipped == self._synced and self._sock is not None and self._pid == os.getpid():
            return True
        sock = self._connected()
        if sock is None:
            return False
        deadline = time.monotonic() + timeout
        try:
            if not select.select([], [sock], [], timeout)[1]:
                return False  # the recorder reads nothing now: not even the request fits
            sock.sendall(wire.frame(wire.SYNC))
            self._unanswered += 1
            written = self._latest_reply(sock, deadline)
        except TimeoutError:
            return False
        except (OSError, wire.FrameError) as exc:
            self._broken(exc)
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(SHIP_SECONDS)
        if written:
            self._synced = self._shipped
        return written

    def _latest_reply(self, sock: socket.socket, deadline: float) -> bool:
        """Read replies until the one to the latest sync (``TimeoutError`` at ``deadline``): did
        the recorder write everything it had?"""
        while True:
            while len(self._received) >= wire.HEAD.size:
                length, kind = wire.HEAD.unpack_from(self._received)
                if len(self._received) < wire.HEAD.size + length:
                    break
                reply = bytes(self._received[wire.HEAD.size : wire.HEAD.size + length])
                del self._received[: wire.HEAD.size + length]
                if kind != wire.SYNCED:
                    raise wire.FrameError(f"unexpected reply kind {kind}")
                self._unanswered -= 1
                if not self._unanswered:
                    return reply == b"1"
            sock.settimeout(max(0.0, deadline - time.monotonic()) or 1e-6)
            chunk = sock.recv(4096)
            if not chunk:
                raise wire.FrameError("connection closed mid-reply")
            self._received += chunk

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
            self._sock = None
            self._forget_replies()

    def _forget_replies(self) -> None:
        """A new connection owes no replies of the last one."""
        self._unanswered, self._received = 0, bytearray()

    def _connected(self) -> socket.socket | None:
        if self._pid != os.getpid():  # a forked worker must not share its parent's connection
            self._sock, self._pid, self._retry_at = None, os.getpid(), 0.0
            self._shipped = self._synced = 0
            self._forget_replies()
        if self._sock is not None:
            return self._sock
        if time.monotonic() < self._retry_at:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(SHIP_SECONDS)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            self._broken(exc)
            return None
        self._sock = sock
        return sock

    def _broken(self, exc: BaseException) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._forget_replies()
        self._retry_at = time.monotonic() + RETRY_SECONDS
        log.warning("recorder at %s unreachable (%s); writing page views in this process", self.path, exc)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise wire.FrameError("connection closed mid-frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


_link: RecorderLink | None = None
_link_lock = threading.Lock()


def link() -> RecorderLink | None:
    """This process's link to the recorder, when ``ringtrail serve`` started one for it."""
    global _link
    path = os.environ.get(SOCKET_ENV, "")
    if not path:
        return None
    if _link is None or _link.path != path:
        with _link_lock:
            if _link is None or _link.path != path:
                _link = RecorderLink(path)
    return _link


# --- the recorder's side ------------------------------------------------------------------------------


class Recorder:
    """Accepts workers' connections on ``path`` and writes what they ship through ``buffer``."""

    def __init__(self, path: str, buffer: VisitBuffer) -> None:
        self.path = path
        self.buffer = buffer
        self.received = 0
        self.syncs = 0
        self._listener = _listen(path)
        self._stopping = threading.Event()
        self._receivers: list[tuple[threading.Thread, socket.socket]] = []
        self._said_behind_at = -BEHIND_LOG_SECONDS

    def serve(self, parent: int | None = None) -> None:
        """Accept until ``stop`` (or until ``parent``, the server, is gone), then write what is held."""
        self._listener.settimeout(0.5)
        while not self._stopping.is_set():
            if parent is not None and os.getppid() != parent:
                log.warning("the server is gone; the recorder writes what it holds and stops")
                break
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                raise
            self._start_receiving(conn)
        self._close_listener()
        self._finish_receiving()
        while self.buffer.pending() and self.buffer.flush(MAX_BATCH):
            pass

    def stop(self, *_: object) -> None:
        self._stopping.set()

    def _start_receiving(self, conn: socket.socket) -> None:
        receiver = threading.Thread(target=self._receive, args=(conn,), name="recorder-conn", daemon=True)
        receiver.start()
        self._receivers = [pair for pair in self._receivers if pair[0].is_alive()] + [(receiver, conn)]

    def _finish_receiving(self) -> None:
        """Read until the workers close their connections (they ship what they hold as they exit),
        at most ``RECEIVE_GRACE_SECONDS``; then refuse what a worker still sends (its send fails at
        once, and it writes those hits itself) and read what had arrived."""
        deadline = time.monotonic() + RECEIVE_GRACE_SECONDS
        for receiver, _ in self._receivers:
            receiver.join(max(0.0, deadline - time.monotonic()))
        for receiver, conn in self._receivers:
            if receiver.is_alive():
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RD)
                receiver.join(RECEIVE_GRACE_SECONDS)

    def _close_listener(self) -> None:
        """No new connection can find the socket once its name is gone; those already made but not
        accepted may carry hits, so they are taken before the listener closes."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self._listener.setblocking(False)
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                break
            conn.setblocking(True)
            self._start_receiving(conn)
        self._listener.close()

    def _receive(self, conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    head = conn.recv(wire.HEAD.size, socket.MSG_WAITALL)
                    if not head:
                        return
                    self._handle(conn, head)
            except (OSError, wire.FrameError) as exc:
                log.warning("recorder: dropped a worker's connection: %s", exc)
            except Exception:  # the recorder must outlive anything one connection sends
                log.exception("recorder: dropped a worker's connection")

    def _handle(self, conn: socket.socket, head: bytes) -> None:
        if len(head) < wire.HEAD.size:
            raise wire.FrameError("connection closed mid-head")
        length, kind = wire.HEAD.unpack(head)
        if length > wire.MAX_FRAME_BYTES:
            raise wire.FrameError(f"frame of {length} bytes")
        payload = _read_exactly(conn, length) if length else b""
        if kind == wire.HITS:
            rows = wire.decode_rows(payload)
            self._hold_back_while_behind()
            self.buffer.add_received(rows)
            self.received += len(rows)
        elif kind == wire.SYNC:
            self.syncs += 1
            due = self.buffer.pending()
            written = self.buffer.flush(MAX_BATCH)
            conn.sendall(wire.frame(wire.SYNCED, b"1" if written >= due else b"0"))
        else:
            raise wire.FrameError(f"unknown frame kind {kind}")

    def _hold_back_while_behind(self) -> None:
        """Read no more of this worker's frames while the writing is behind (``buffer.behind``): its
        sends wait, then its page views, instead of the recorder holding ever more, and dropping."""
        if not self.buffer.behind():
            return
        if time.monotonic() - self._said_behind_at > BEHIND_LOG_SECONDS:
            self._said_behind_at = time.monotonic()
            log.info("recorder behind, %d hits waiting: workers held back", self.buffer.pending())
        self.buffer.wait_for_room(HOLD_WORKERS_SECONDS, self._stopping.is_set)


def _listen(path: str) -> socket.socket:
    """Listen on ``path``, readable by this user only; a stale socket left by a crash is replaced,
    a live one (another recorder) is not."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise OSError(f"recorder socket path longer than {MAX_SOCKET_PATH} bytes: {path}")
    if Path(path).exists():
        if _listening(path):
            raise OSError(f"another recorder listens on {path}")
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(64)
    return listener


def run(path: str, buffer: VisitBuffer, nice: int, parent: int | None) -> int:
    """The recorder process's life: lower its priority, serve until told to stop; hits received."""
    if nice:
        os.nice(nice)
    write_alone()
    recorder = Recorder(path, buffer)
    # What is loaded by now (Django, the apps, what writes: its memory of visitors written, up to
    # 200 000, ``lib/bounded.py``) lives as long as the process: frozen, the collector's full
    # collections walk only what a write has in hand, as the web workers' do (``ringtrail/wsgi.py``).
    from ringtrail.visits import actions  # noqa: F401 (loaded before the freeze)

    gc.freeze()

    def stop(signum: int, frame: FrameType | None) -> None:
        recorder.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("recorder listening on %s (nice %d)", path, os.nice(0))
    recorder.serve(parent)
    log.info(
        "recorder stopped: %d hits received, %d not written, %d dropped while writes failed",
        recorder.received,
        buffer.pending(),
        buffer.dropped,
    )
    return recorder.received


# --- started by ``ringtrail serve`` -------------------------------------------------------------------


def default_socket_path() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "recorder.sock"


def start_process(path: Path, timeout: float = 60.0) -> subprocess.Popen[bytes] | None:
    """Start ``ringtrail recorder`` on ``path`` and wait until it listens; then this process's
    children (the web workers) ship to it. None, with a warning, when it cannot: the workers then
    write their own page views."""
    if len(os.fsencode(str(path))) > MAX_SOCKET_PATH:
        log.warning("recorder socket path too long (%s); workers write their own page views", path)
        return None
    env = {key: value for key, value in os.environ.items() if key != SOCKET_ENV}
    command = [sys.executable, "-m", "ringtrail", "recorder", "--socket", str(path)]
    process = subprocess.Popen([*command, "--parent", str(os.getpid())], env=env)  # noqa: S603
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if _listening(str(path)):
            os.environ[SOCKET_ENV] = str(path)
            return process
        time.sleep(0.1)
    log.warning("the recorder did not start; workers write their own page views")
    stop_process(process)
    return None


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 30.0) -> None:
    """Tell the recorder to write what it holds and stop (after the workers shipped theirs)."""
    os.environ.pop(SOCKET_ENV, None)
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _listening(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True
