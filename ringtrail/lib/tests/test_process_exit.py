"""Exit work runs in multiprocessing children too (Granian's workers), which end with ``os._exit``."""

from __future__ import annotations

import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from ringtrail.dni.reservations import Reservations
from ringtrail.lib import process_exit, redis_behind
from ringtrail.lib.process_exit import at_process_exit, run_exit_callbacks

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
FORK = multiprocessing.get_context("fork")


@pytest.fixture(autouse=True)
def own_callbacks() -> Iterator[None]:
    """This test's callbacks only, and the suite's back afterwards."""
    saved, ran = list(process_exit._callbacks), set(process_exit._ran_in)
    process_exit._callbacks.clear()
    yield
    process_exit._callbacks[:] = saved
    process_exit._ran_in.clear()
    process_exit._ran_in.update(ran)


def _appender(path: Path, text: str) -> Callable[[], None]:
    def append() -> None:
        with path.open("a") as out:
            out.write(text)

    return append


def _in_child(target: Callable[[], None]) -> None:
    child = FORK.Process(target=target)
    child.start()
    child.join(30)
    assert child.exitcode == 0


def test_a_child_runs_what_its_parent_registered_and_what_it_registered_itself(tmp_path: Path) -> None:
    log = tmp_path / "exit.log"
    at_process_exit(_appender(log, "parent's;"))
    _in_child(lambda: at_process_exit(_appender(log, "child's;")))
    assert log.read_text() == "parent's;child's;"  # in the child, in the order registered


def test_callbacks_run_once_per_process_and_one_that_fails_does_not_stop_the_others(tmp_path: Path) -> None:
    log = tmp_path / "exit.log"

    def fail() -> None:
        raise RuntimeError("the database is gone")

    at_process_exit(fail)
    at_process_exit(_appender(log, "ran;"))
    at_process_exit(fail)  # registered once
    process_exit._ran_in.discard(os.getpid())
    run_exit_callbacks()
    run_exit_callbacks()
    assert log.read_text() == "ran;"


def test_rate_limit_hits_held_by_a_worker_reach_redis_when_it_ends() -> None:
    """A Granian worker's last 50 ms of hits and first touches were lost on every stop."""
    client = redis.Redis.from_url(REDIS_URL)
    counter = f"rt-test:exit:{uuid.uuid4().hex}"

    def worker() -> None:
        redis_behind.FLUSH_SECONDS = 60.0  # nothing is sent on the interval: only at exit
        behind = redis_behind.Behind(redis.Redis.from_url(REDIS_URL))
        assert behind.gate([(counter, 100)], 90, ("SET", f"{counter}:first", 7, "EX", 90))

    try:
        _in_child(worker)
        assert int(client.get(counter) or 0) == 1
        assert client.get(f"{counter}:first") == b"7"
    finally:
        client.delete(counter, f"{counter}:first")
        client.close()


def test_reservations_that_run_in_the_background_hand_back_what_they_hold_at_exit() -> None:
    background, foreground = Reservations(), Reservations(background=False)
    assert background._give_back_at_exit in process_exit._callbacks
    assert foreground._give_back_at_exit not in process_exit._callbacks
