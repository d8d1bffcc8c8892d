"""SQLite under a multi-process web server: hot writes queue instead of sleeping, checkpoints run aside.

Two stalls dominated the voice webhook's tail on SQLite (py-spy, 32 callers, 2 workers, 2 threads each):

* **Busy sleeps.** A writer that finds the database locked sleeps in SQLite's busy handler for 1, 2, 5,
  10, 15 … ms, however briefly the lock is held. :func:`write_gate` makes hot single-statement writes
  wait on a thread lock and an ``flock`` instead, which wake the next writer the moment the last one
  is done. It only orders writers that use it; SQLite's own locking still guarantees correctness.
* **Checkpoints on the request path.** With the default ``wal_autocheckpoint`` the commit that crosses
  1 000 WAL pages copies them into the database and ``fdatasync``s it, inside somebody's request. When
  ``SQLITE_CHECKPOINT_SECONDS`` > 0, every connection turns automatic checkpoints off and a daemon
  thread per process and database runs ``PRAGMA wal_checkpoint(PASSIVE)`` on that interval, which never
  waits for readers or writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

log = logging.getLogger(__name__)

_registry_lock = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}
# flock belongs to an open file description, so each process must open its own (never inherit one).
_gate_files: dict[tuple[int, str], int] = {}
_checkpointers: dict[tuple[int, str], threading.Thread] = {}
# A process that forks web workers stops its checkpointers first (``stop_checkpointers``).
_stopped_in: int | None = None


def database_file(connection: BaseDatabaseWrapper) -> str | None:
    """The file behind a SQLite connection, or None for another vendor or an in-memory database."""
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or "mode=memory" in name:
        return None
    return os.path.abspath(name)


@contextlib.contextmanager
def write_gate(using: str = "default") -> Iterator[None]:
    """Hold the SQLite write queue around one autocommit write; a no-op elsewhere.

    Inside a transaction the connection may already hold SQLite's write lock, and waiting on the gate
    while holding it could stall a gated writer for the whole busy timeout, so there it does nothing.
    """
    connection = connections[using]
    path = database_file(connection)
    if path is None or connection.in_atomic_block:
        yield
        return
    with _gate(path):
        yield


@contextlib.contextmanager
def _gate(path: str) -> Iterator[None]:
    with _thread_lock(path):
        descriptor = _gate_descriptor(path)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _thread_lock(path: str) -> threading.Lock:
    with _registry_lock:
        return _thread_locks.setdefault(path, threading.Lock())


def _gate_descriptor(path: str) -> int:
    key = (os.getpid(), path)
    with _registry_lock:
        if key not in _gate_files:
            _gate_files[key] = os.open(f"{path}-writegate", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return _gate_files[key]


def wal_limit_bytes() -> int:
    return int(getattr(settings, "SQLITE_WAL_LIMIT_MB", 256)) * 1024 * 1024


def checkpoint_interval() -> float:
    return float(getattr(settings, "SQLITE_CHECKPOINT_SECONDS", 0.0))


def configure_connection(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: move WAL checkpoints of this database to a background thread."""
    path = database_file(connection)
    interval = checkpoint_interval()
    if path is None or interval <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    ensure_checkpointer(path, interval)


def ensure_checkpointer(path: str, interval: float) -> None:
    key = (os.getpid(), path)
    with _registry_lock:
        if _stopped_in == os.getpid():
            return
        thread = _checkpointers.get(key)
        if thread is not None and thread.is_alive():
            return
        thread = threading.Thread(
            target=_checkpoint_forever, args=(path, interval), name="sqlite-checkpoint", daemon=True
        )
        _checkpointers[key] = thread
        thread.start()


def stop_checkpointers() -> None:
    """End this process's checkpoint threads, and start none here again: call it before forking
    web workers. A thread inside SQLite when the process forks leaves SQLite's mutex locked in the
    child for good (a demo worker hung in ``sqlite3.connect``). The workers start their own."""
    global _stopped_in
    pid = os.getpid()
    with _registry_lock:
        _stopped_in = pid
        threads = [thread for (owner, _), thread in _checkpointers.items() if owner == pid]
    for thread in threads:
        thread.join()


def _checkpoint_forever(path: str, interval: float) -> None:
    while True:
        time.sleep(interval)
        if _stopped_in == os.getpid():
            return
        if not checkpoint(path):
            return  # the database is gone (a test database torn down); a new connection restarts us


def _wal_size(path: str) -> int:
    try:
        return os.path.getsize(f"{path}-wal")
    except OSError:
        return 0


def checkpoint(path: str) -> bool:
    """Copy the WAL into the database; False if the database file no longer exists.

    The WAL rewinds only once a checkpoint has caught up with every commit. Under a steady write load
    a passive checkpoint never does, so the WAL grows by every commit (47 KB per voice webhook). Past
    ``SQLITE_WAL_LIMIT_MB`` a RESTART pass, holding the write queue, copies the frames committed
    during the passive passes and makes the next commit start the WAL from its beginning: a stall of
    about 10 ms for the queued writers, only under sustained load (every 5 000 webhooks at most).
    """
    uri = f"file:{urllib.parse.quote(path)}?mode=rw"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as database:
            database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            if _wal_size(path) > wal_limit_bytes():
                # A second pass copies what was committed during the first, so that what is left
                # for the pass that holds up writers is only a few milliseconds' worth.
                database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                with _gate(path):
                    database.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
    except sqlite3.OperationalError as error:
        if not os.path.exists(path):
            return False
        log.warning("WAL checkpoint of %s failed: %s", path, error)
    return True
