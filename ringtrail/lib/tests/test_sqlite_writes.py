"""The SQLite write queue orders writers across threads and processes; checkpoints run off the request."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from ringtrail.lib import sqlite_writes

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write queue")


def wal_database(path: Path, rows: int = 200) -> sqlite3.Connection:
    """A WAL database with un-checkpointed frames, and its open connection: closing the last
    connection would checkpoint it."""
    database = sqlite3.connect(path)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA wal_autocheckpoint=0")
    with database:
        database.execute("CREATE TABLE t (v TEXT)")
        database.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * rows)
    return database


def uncheckpointed(path: Path) -> bool:
    """Whether the rows are still only in the WAL: a checkpoint copies their pages into the file."""
    return path.stat().st_size < 50_000


@sqlite_only
@pytest.mark.django_db
def test_the_test_database_leaves_checkpoints_to_the_background_thread() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 0


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_held_gate_makes_another_thread_wait() -> None:
    order: list[str] = []
    entered = threading.Event()

    def second_writer() -> None:
        entered.set()
        with sqlite_writes.write_gate():
            order.append("second")

    with sqlite_writes.write_gate():
        thread = threading.Thread(target=second_writer)
        thread.start()
        entered.wait(5)
        time.sleep(0.05)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_held_gate_excludes_other_processes() -> None:
    gate = f"{sqlite_writes.database_file(connection)}-writegate"
    probe = (
        "import fcntl, sys\n"
        f"f = open({gate!r}, 'a')\n"
        "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(7)\n"
    )
    with sqlite_writes.write_gate():
        held = subprocess.run([sys.executable, "-c", probe], timeout=30).returncode
    free = subprocess.run([sys.executable, "-c", probe], timeout=30).returncode
    assert (held, free) == (7, 0)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_gate_never_waits() -> None:
    # The connection may already hold SQLite's write lock there; queueing then could deadlock.
    released = threading.Event()
    holding = threading.Event()

    def holder() -> None:
        with sqlite_writes.write_gate():
            holding.set()
            released.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(5)
    try:
        with transaction.atomic(), sqlite_writes.write_gate():
            passed = True
    finally:
        released.set()
        thread.join(5)
    assert passed


def test_a_checkpoint_moves_every_wal_frame_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    with contextlib.closing(wal_database(path)):
        assert uncheckpointed(path)
        assert sqlite_writes.checkpoint(str(path)) is True
        assert not uncheckpointed(path)


def test_a_missing_database_stops_the_checkpointer_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "gone.sqlite3"
    assert sqlite_writes.checkpoint(str(path)) is False
    assert not path.exists()


def test_the_background_thread_checkpoints_until_the_database_goes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    database = wal_database(path)
    assert uncheckpointed(path)
    sqlite_writes.ensure_checkpointer(str(path), 0.01)
    thread = sqlite_writes._checkpointers[(os.getpid(), str(path))]
    deadline = time.monotonic() + 10
    while uncheckpointed(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not uncheckpointed(path)
    database.close()
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    thread.join(10)
    assert not thread.is_alive(), "the checkpointer outlived its database"


def test_a_process_about_to_fork_workers_stops_its_checkpointers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writes, "_stopped_in", None)  # restored for the tests after this one
    path = tmp_path / "db.sqlite3"
    with contextlib.closing(wal_database(path)):
        sqlite_writes.ensure_checkpointer(str(path), 0.01)
        thread = sqlite_writes._checkpointers[(os.getpid(), str(path))]
        sqlite_writes.stop_checkpointers()
        assert not thread.is_alive()
        sqlite_writes.ensure_checkpointer(str(path), 0.01)
        assert sqlite_writes._checkpointers[(os.getpid(), str(path))] is thread  # none started again


def test_past_the_size_limit_the_wal_is_rewound_while_writers_wait(tmp_path: Path, settings: Any) -> None:
    settings.SQLITE_WAL_LIMIT_MB = 0
    path = tmp_path / "db.sqlite3"
    database = wal_database(path)
    wal = Path(f"{path}-wal")
    size = wal.stat().st_size
    assert sqlite_writes.checkpoint(str(path)) is True
    assert not uncheckpointed(path)
    with database:  # as many rows again: they overwrite the rewound WAL instead of growing it
        database.executemany("INSERT INTO t VALUES (?)", [("y" * 500,)] * 200)
    assert wal.stat().st_size <= size
    database.close()
