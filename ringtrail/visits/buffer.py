"""The DNI record step, buffered (DESIGN.md §2 flow 1: no synchronous per-hit ORM writes).

A page view or heartbeat is appended to this process's buffer in microseconds, as a row of plain values
that the cyclic collector leaves alone (``hits.py``); a background thread
writes the buffer every ``DNI_RECORD_FLUSH_SECONDS`` with bulk statements (``visits.actions.write_hits``),
in transactions of ``DNI_RECORD_BATCH`` hits with ``DNI_RECORD_BATCH_PAUSE_SECONDS`` between them.
Building a batch's rows holds the interpreter lock; written as one 2 000-hit transaction, a flush
made each page view the process answered meanwhile wait for it in 5 ms slices (p99 14 ms in process
against 5.6 ms in small batches: docs/benchmarks.md). Within a transaction the rows are built
``DNI_RECORD_SLICE`` page views at a time (``visits.actions.write_hits``), the lock let go between.
A write that fails keeps its hits for the next attempt. Under ``ringtrail serve`` the web workers do
not write at all: each ships its hits to the server's recorder process (``visits/recorder.py``),
which writes them with this same buffer, so that no worker's request threads wait behind a write.
Elsewhere (tests, commands) each process writes its own. The buffer is write-behind, not state:
what a crash can lose is at most one interval of page views, and under load the extensions of live
leases handed to it (``dni/leases.py``).

Behind is not down. When the writer is healthy but slower than the page views coming in (the server
saturated: the recorder, at a lower priority, gets a CPU only when a worker leaves one), the buffer
holds back its callers once ``HOLD_BACK_AT`` hits wait: a page view waits for room (at most
``HOLD_BACK_SECONDS``), and the recorder stops reading its workers' sockets, so that their sends and
then their page views wait. Answers slow down to what the writer keeps up with; no page view is
dropped. Only while writes fail (the database is down) does the buffer keep taking hits without
waiting, and beyond ``MAX_PENDING`` drop the oldest, counted and logged. Before, a 10 s burst of
closed-loop load left the recorder 100 000 hits behind and it dropped 11 000 page views
(docs/benchmarks.md).

``DNI_RECORD_FLUSH_SECONDS = 0`` writes every hit inline (the test suite's default, for
deterministic assertions; the buffered path has its own tests and runs under the real server).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from ringtrail.lib.hot_settings import setting
from ringtrail.lib.process_exit import at_process_exit
from ringtrail.visits.hits import Hit, Row, as_row, from_rows

log = logging.getLogger(__name__)
# Beyond this many waiting hits (a database outage), the oldest are dropped and counted.
MAX_PENDING = 100_000
# With this many waiting and the writer keeping up with nothing else, callers are held back: about a
# second of page views at a saturated server's rate, a few MB.
HOLD_BACK_AT = 10_000
# ...a page view at most this long (a stuck writer must not stop answers), polling for room this often.
HOLD_BACK_SECONDS = 1.0
HOLD_BACK_POLL_SECONDS = 0.002
# ``flush_pending`` (attribution, before matching a call) waits at most this long for a flush under way.
FLUSH_WAIT_SECONDS = 1.0
# Hits per transaction: keeps every bulk statement well under the databases' parameter limits.
MAX_BATCH = 2_000


# Writes a batch of buffered rows (``hits.from_rows`` gives their hits back).
Writer = Callable[[list[Row]], None]


class VisitBuffer:
    def __init__(self, writer: Writer, interval: Callable[[], float]) -> None:
        self._writer = writer
        self._interval = interval
        self._pending: deque[Row] = deque()  # rows, which the cyclic collector does not walk (hits.py)
        self._lock = threading.Lock()  # one flush at a time; appends need no lock (deque is atomic)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False  # the last write raised a database error
        self.dropped = 0
        self.held_back = 0  # callers that waited for room

    def add(self, hit: Hit) -> None:
        if self._interval() <= 0:
            self._writer([as_row(hit)])
            return
        if len(self._pending) >= HOLD_BACK_AT:
            self.wait_for_room(HOLD_BACK_SECONDS)
        self._keep(as_row(hit))
        self._ensure_thread()

    def add_received(self, rows: list[Row]) -> None:
        """Take rows another process shipped: the caller waited for room once for all of them."""
        if self._interval() <= 0:
            self._writer(rows)
            return
        for row in rows:
            self._keep(row)
        self._ensure_thread()

    def _keep(self, row: Row) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._pending.popleft()
            self.dropped += 1
            if self.dropped % 10_000 == 1:
                log.warning("visit buffer full, writes failing: %d oldest hits dropped so far", self.dropped)
        self._pending.append(row)

    def behind(self) -> bool:
        """Too much waiting while the writer works: callers should wait for room."""
        return len(self._pending) >= HOLD_BACK_AT and not self._failing

    def wait_for_room(self, timeout: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Wait while ``behind``, at most ``timeout`` seconds or until ``stop()``. Never inside a
        transaction: it may hold SQLite's write lock, which the writer needs."""
        if not self.behind() or connection.in_atomic_block:
            return
        self.held_back += 1
        self._wake.set()  # write now rather than at the end of the interval
        deadline = time.monotonic() + timeout
        while self.behind() and time.monotonic() < deadline and not stop():
            time.sleep(HOLD_BACK_POLL_SECONDS)

    def flush(self, batch_size: int = MAX_BATCH, pause: float = 0.0, wait: float = -1) -> int:
        """Write what is pending now, ``batch_size`` hits per transaction with ``pause`` seconds
        between transactions; on a database error the hits stay for the next flush. Hits added
        meanwhile wait for the next flush: chasing them, a paced flush wrote tiny transactions.
        ``wait``: how long to wait for a flush in progress (-1: as long as it takes); 0 written
        past it."""
        if not self._lock.acquire(timeout=wait):
            return 0
        try:
            return self._flush_held(batch_size, pause)
        finally:
            self._lock.release()

    def _flush_held(self, batch_size: int, pause: float) -> int:
        written, batch_size = 0, max(1, min(batch_size, MAX_BATCH))
        due = len(self._pending)
        while written < due and self._pending:
            if written and pause > 0:
                time.sleep(pause)  # lets this process's request threads have the interpreter
            size = min(len(self._pending), batch_size, due - written)
            batch = [self._pending.popleft() for _ in range(size)]
            try:
                self._writer(batch)
            except DatabaseError:
                self._failing = True
                log.exception("could not write %d visit hits; keeping them for the next flush", len(batch))
                self._pending.extendleft(reversed(batch))
                break
            self._failing = False
            written += len(batch)
        return written

    def pending(self) -> int:
        return len(self._pending)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="visit-buffer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        # Wake often and compare with the interval, so a changed setting applies at once.
        last = time.monotonic()
        while True:
            self._wake.wait(0.1)
            self._wake.clear()
            interval = self._interval()
            if interval > 0 and time.monotonic() - last < interval and not self.behind():
                continue
            last = time.monotonic()
            try:
                self.flush(*_batching())
            except Exception:  # the thread must survive anything one batch does
                log.exception("visit buffer flush failed")
            finally:
                with contextlib.suppress(Exception):
                    close_old_connections()
            if interval <= 0:
                return  # writes are inline now; nothing will be buffered for this thread

    def discard(self) -> int:
        """Forget what is pending (tests: hits of a test whose database is gone)."""
        with self._lock:
            count = len(self._pending)
            self._pending.clear()
            return count


def _write(rows: list[Row]) -> None:
    """Ship the rows to the recorder process when the server started one (``visits/recorder.py``),
    else write their hits here."""
    from ringtrail.visits import recorder  # here: both import this module
    from ringtrail.visits.actions import write_hits  # here: actions imports models at module level

    link = recorder.link()
    if link is None or not link.ship(rows):
        write_hits(from_rows(rows))


def _flush_interval() -> float:
    return float(setting("DNI_RECORD_FLUSH_SECONDS", 0.5))


# True in the recorder process (``recorder.run``): no request threads share its interpreter.
_writing_alone = False


def write_alone() -> None:
    """This process writes for others and answers no requests: its flushes take the recorder's
    settings (``DNI_RECORDER_BATCH``, ``…_PAUSE_SECONDS``, ``DNI_RECORDER_SLICE``). With a worker's
    (200 hits a transaction, 3 ms between), which only gave request threads the interpreter, it
    fell behind a closed loop of new visitors and held the workers back, and a quarter of the host's
    two CPUs stood idle meanwhile (docs/benchmarks.md)."""
    global _writing_alone
    _writing_alone = True


def writing_alone() -> bool:
    return _writing_alone


def write_shape() -> tuple[int, float, int]:
    """How this process writes its own hits: (hits a transaction, seconds between transactions,
    page views a slice of a transaction's rows, 0 for all at once); the recorder's settings in the
    recorder (``write_alone``), a web process's elsewhere."""
    if _writing_alone:
        return (
            int(getattr(settings, "DNI_RECORDER_BATCH", MAX_BATCH)),
            float(getattr(settings, "DNI_RECORDER_BATCH_PAUSE_SECONDS", 0.0)),
            int(getattr(settings, "DNI_RECORDER_SLICE", 25)),
        )
    return (
        int(getattr(settings, "DNI_RECORD_BATCH", 200)),
        float(getattr(settings, "DNI_RECORD_BATCH_PAUSE_SECONDS", 0.003)),
        int(getattr(settings, "DNI_RECORD_SLICE", 25)),
    )


def _batching() -> tuple[int, float]:
    """The background flush's transaction size and the pause between its transactions; shipping to
    the recorder is a send, not a transaction, so the whole buffer goes in one."""
    from ringtrail.visits import recorder

    if recorder.link() is not None:
        return MAX_BATCH, 0.0
    size, pause, _ = write_shape()
    return size, pause


buffer = VisitBuffer(_write, _flush_interval)


def flush_pending(wait: float = FLUSH_WAIT_SECONDS) -> int:
    """Write what this process holds, and when it ships to the recorder, wait until the recorder has
    written it (and whatever other processes shipped before). A flush already under way, a send the
    recorder holds back (``HOLD_BACK_AT``), is waited for at most ``wait`` seconds (-1: as long as
    it takes): attribution runs while a caller waits, and a visit that recent is rarely the caller's."""
    from ringtrail.visits import recorder

    written = buffer.flush(wait=wait)
    link = recorder.link()
    if link is not None:
        link.sync(recorder.SYNC_SECONDS if wait < 0 else min(wait, recorder.SYNC_SECONDS))
    return written


def wait_until_written(timeout: float = 5.0) -> bool:
    """For tests and the traffic simulator: wait until this process's buffer is empty."""
    deadline = time.monotonic() + timeout
    flush_pending()
    while buffer.pending() and time.monotonic() < deadline:
        flush_pending()
    return buffer.pending() == 0


def _flush_at_exit() -> None:
    # The database (or logging) may already be gone at interpreter exit; nothing left to tell.
    with contextlib.suppress(Exception):
        flush_pending(wait=-1)


at_process_exit(_flush_at_exit)
