"""Both lease stores under load as a web process runs them: request threads taking reserved numbers
while the process's own thread reserves and writes leases behind. No number is ever held twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import connection

from ringtrail.dni.leases import LeaseStore, PoolPlan, SqlLeaseStore
from ringtrail.dni.leases_redis import RedisLeaseStore
from ringtrail.dni.tests.test_leases import REDIS_URL, _redis_store, make_pool
from ringtrail.lib import clock
from ringtrail.testing import wired_account

THREADS, VISITORS = 4, 60


@pytest.fixture(params=["sql", "redis"])
def store(request: pytest.FixtureRequest, settings: Any, transactional_db: None) -> Iterator[LeaseStore]:
    settings.DNI_RECORD_FLUSH_SECONDS = 30  # writes may go behind: reservations are on
    settings.DNI_LEASE_RESERVE = 16
    if request.param == "redis":
        yield from _redis_store()
        return
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        ("file:memorydb", ":memory:")
    ):
        pytest.skip("needs a file or server database for real concurrency")
    yield SqlLeaseStore()


def test_request_threads_and_the_reserving_thread_never_hand_out_a_number_twice(store: LeaseStore) -> None:
    pool, numbers = make_pool(wired_account(), 400)  # 400 // 20: up to 16 reserved (32 after a refill)
    plan = PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers))
    now = clock.now()  # the reserving thread marks numbers on the real clock
    granted: list[int | None] = []
    errors: list[BaseException] = []

    def visitors(thread: int) -> None:
        try:
            for i in range(VISITORS):
                grant = store.acquire(plan, f"t{thread}v{i}", f"t{thread}s{i}", now, new_visitor=True)
                granted.append(None if grant.overflow else grant.tracking_number_id)
                time.sleep(0.001)  # ~1 000 a second across threads: well above the reserving rate
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=visitors, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reservations = store.reservations  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while reservations.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert errors == [] and reservations.pending() == 0
    reserving_thread = reservations._thread
    assert reserving_thread is not None  # the load did make the process reserve
    reserving_thread.join(timeout=30)  # load gone: leftovers given back, thread ended

    assert None not in granted and len(granted) == THREADS * VISITORS
    assert len(set(granted)) == len(granted)  # every visitor its own number
    later = clock.now()
    for number_id in set(granted):
        assert number_id is not None
        assert len(store.holders(number_id, later)) == 1  # and its lease written, once
    if isinstance(store, RedisLeaseStore):
        client = redis.Redis.from_url(REDIS_URL)
        ends = client.zcount(f"{store.prefix}p:{pool.pk}:ends", f"({later.timestamp()!r}", "+inf")
        assert ends == len(granted)  # nothing left marked as reserved
