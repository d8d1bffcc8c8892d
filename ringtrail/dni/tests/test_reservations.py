"""Numbers reserved ahead under load, and leases and extensions written behind (dni/reservations.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ringtrail.dni import lease_sql
from ringtrail.dni.leases import EXTEND_BEHIND_MARGIN, LeaseStore, PoolPlan, SqlLeaseStore
from ringtrail.dni.models import Lease, Pool
from ringtrail.dni.reservations import (
    RESERVE_SECONDS,
    ArrivalRate,
    Reservations,
    SqlBackend,
    reservation_size,
)
from ringtrail.dni.tests.test_leases import T0, make_pool
from ringtrail.numbers.models import NumberState, TrackingNumber
from ringtrail.testing import wired_account
from ringtrail.visits.buffer import buffer, flush_pending

SECOND = dt.timedelta(seconds=1)
HOLD = dt.timedelta(minutes=15)
# What a reservation marks a number with: past the end of any lease handed out from it.
MARKED = T0 + HOLD + SqlBackend.cover


def test_small_rates_and_small_pools_lease_one_at_a_time() -> None:
    assert reservation_size(rate=9, most=128, pool_numbers=60_000) == 0  # below MIN_RATE: not worth it
    assert reservation_size(rate=10, most=128, pool_numbers=60_000) == 10  # a second of arrivals
    assert reservation_size(rate=1_000, most=128, pool_numbers=60_000) == 128
    assert reservation_size(rate=1_000, most=0, pool_numbers=60_000) == 0
    assert reservation_size(rate=1_000, most=128, pool_numbers=39) == 0  # never 1/20 of the pool or more
    assert reservation_size(rate=1_000, most=128, pool_numbers=400) == 20


class _GivenBack:
    """A backend that only notes what is given back (no database)."""

    def __init__(self) -> None:
        self.given_back: list[int] = []

    cover = dt.timedelta(0)

    def turn(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def reserve(
        self, plan: PoolPlan, wanted: int, now: dt.datetime, mark: dt.datetime, headroom: int
    ) -> list[lease_sql.Reserved]:
        raise AssertionError("not reached")

    def write_leases(self, leases: list[dict[str, Any]]) -> None:
        raise AssertionError("not reached")

    def unreserve(self, plan: PoolPlan, numbers: list[lease_sql.Reserved], mark: dt.datetime) -> None:
        self.given_back += [number.number_id for number in numbers]


def test_a_pass_gives_back_only_the_refills_held_too_long_oldest_first() -> None:
    backend, now = _GivenBack(), [100.0]
    reservations = Reservations(backend, clock=lambda: now[0], background=False)
    plan = PoolPlan(7, 1, HOLD, SECOND, False, None, eligible=tuple(range(1, 7)))
    pool = reservations._pool(plan)
    for first, moment in ((1, 100.0), (3, 101.0), (5, 102.5)):
        numbers = [lease_sql.Reserved(first, None), lease_sql.Reserved(first + 1, None)]
        reservations._hold(pool, numbers, T0 + HOLD, moment)
    now[0] = 101.0 + RESERVE_SECONDS
    reservations._give_back(pool, stale_only=True)
    assert backend.given_back == [1, 2, 3, 4]
    assert reservations.held(7) == [5, 6]
    reservations.give_back_all()
    assert backend.given_back == [1, 2, 3, 4, 5, 6] and reservations.held(7) == []


def test_a_number_reserved_too_long_ago_is_never_handed_out_only_given_back() -> None:
    """A lease ends a hold after it is handed out; handed out more than RESERVE_SECONDS after its
    number was reserved, it could outlive the reservation's mark, which is all the SQL store writes."""
    backend, now = _GivenBack(), [100.0]
    reservations = Reservations(backend, clock=lambda: now[0], background=False)
    plan = PoolPlan(7, 1, HOLD, SECOND, False, None, eligible=tuple(range(1, 5)))
    pool = reservations._pool(plan)
    reservations._hold(pool, [lease_sql.Reserved(1, None), lease_sql.Reserved(2, None)], MARKED, 100.0)
    reservations._hold(pool, [lease_sql.Reserved(3, None), lease_sql.Reserved(4, None)], MARKED, 101.0)
    now[0] = 100.0 + RESERVE_SECONDS  # as old as may be: still handed out
    assert reservations.take(plan, 8, T0) == 1
    now[0] += 0.001  # number 2 is now older than that: none until the thread gives it back
    assert reservations.take(plan, 8, T0) is None and reservations.held(7) == [2, 3, 4]
    reservations._give_back(pool, stale_only=True)
    assert backend.given_back == [2]
    assert reservations.take(plan, 8, T0) == 3


def test_reserved_numbers_held_in_memory_leave_the_collectors_walk() -> None:
    """A busy worker holds thousands of reserved numbers for seconds: as plain tuples the cyclic
    collector stops tracking them at its first collection, so its full collections never walk them."""
    reservations = Reservations(_GivenBack(), clock=lambda: 100.0, background=False)
    plan = PoolPlan(7, 1, HOLD, SECOND, False, None, eligible=(1, 2))
    pool = reservations._pool(plan)
    before = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    reservations._hold(pool, [lease_sql.Reserved(1, None), lease_sql.Reserved(2, before)], MARKED, 100.0)
    gc.collect()
    assert not any(gc.is_tracked(held) for held in pool.held)
    assert reservations.take(plan, 8, T0) == 1 and reservations.held(7) == [2]


def test_the_arrival_rate_sees_a_burst_at_once_and_forgets_a_quiet_pool() -> None:
    rate = ArrivalRate()
    for i in range(10):
        rate.note(100.0 + i * 0.001)
    assert rate.per_second(100.01) == 100  # ten in 10 ms, counted over at least 0.1 s
    for i in range(20):
        rate.note(100.5 + i * 0.01)
    assert rate.per_second(100.9) == 33  # 30 in 0.9 s
    rate.note(101.5)  # a new window: the last one's 30 in 1.5 s carry over
    assert rate.per_second(101.6) == 20
    assert rate.per_second(104.0) == 0  # nothing for two seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def behind(settings: Any) -> Iterator[None]:
    """Writes behind allowed: a buffer that writes only when the test flushes, reservations of 8."""
    settings.DNI_RECORD_FLUSH_SECONDS = 30
    settings.DNI_LEASE_RESERVE = 8
    yield
    buffer.discard()


Setup = tuple[PoolPlan, list[TrackingNumber], Pool]


@pytest.fixture
def big_pool(transactional_db: None) -> Setup:
    pool, numbers = make_pool(wired_account(), 200)  # 200 // 20 = 10: room for 8
    return PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers)), numbers, pool


def reserving_store(clock: Clock) -> SqlLeaseStore:
    store = SqlLeaseStore()
    store.reservations = Reservations(clock=clock, background=False)
    return store


def busy(store: LeaseStore, plan: PoolPlan, visitors: int, prefix: str = "warm") -> list[int | None]:
    """New visitors arriving within one second: the rate that makes a process reserve."""
    grants = [
        store.acquire(plan, f"{prefix}{i}", f"s-{prefix}{i}", T0, new_visitor=True) for i in range(visitors)
    ]
    return [grant.tracking_number_id for grant in grants]


def mark_of(number_id: int) -> dt.datetime | None:
    return TrackingNumber.objects.get(pk=number_id).lease_ends_at


def test_under_load_new_visitors_get_reserved_numbers_and_leases_written_behind(
    behind: None, big_pool: Setup
) -> None:
    plan, numbers, pool = big_pool
    clock = Clock()
    store = reserving_store(clock)
    first = busy(store, plan, 40)  # nothing reserved yet: each lease written at once
    assert first == [n.pk for n in numbers[:40]] and Lease.objects.count() == 40
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    assert held == [n.pk for n in numbers[40:56]]  # twice the size, in the order claims take them
    assert all(mark_of(number_id) == MARKED for number_id in held)

    grant = store.acquire(plan, "v", "s", T0 + SECOND, new_visitor=True)
    assert grant.tracking_number_id == held[0] and not grant.overflow
    assert not Lease.objects.filter(visitor_id="v").exists() and store.reservations.pending() == 1
    # The next page of the visit, in this process, before the lease is written: the same number.
    assert store.acquire(plan, "v", "s", T0 + 2 * SECOND).tracking_number_id == held[0]

    assert store.reservations.write_leases() == 1
    lease = Lease.objects.get(visitor_id="v")
    assert (lease.tracking_number_id, lease.session_id) == (held[0], "s")
    assert (lease.started_at, lease.last_seen_at, lease.ends_at) == (
        T0 + SECOND,
        T0 + SECOND,
        T0 + SECOND + HOLD,
    )
    # The reservation's mark outlasts the lease, so writing it marked nothing again.
    assert lease.ends_at < MARKED and mark_of(held[0]) == MARKED
    assert [h.session_id for h in store.holders(held[0], T0 + 5 * SECOND)] == ["s"]


def test_leases_written_behind_end_before_their_numbers_mark_and_mark_nothing_again(
    behind: None, big_pool: Setup
) -> None:
    """The SQL store's reservation marks a number past the end of any lease handed out from it, so
    writing the leases is one INSERT: no number is marked a second time, and none looks free
    while a lease on it lives."""
    plan, _numbers, _pool = big_pool
    clock = Clock()
    store = reserving_store(clock)
    busy(store, plan, 40)
    store.reservations.top_up(T0)
    first = store.acquire(plan, "early", "s-early", T0, new_visitor=True).tracking_number_id
    clock.now += RESERVE_SECONDS  # the oldest age at which a reserved number is handed out
    late = T0 + dt.timedelta(seconds=RESERVE_SECONDS)
    last = store.acquire(plan, "late", "s-late", late, new_visitor=True).tracking_number_id
    database = lease_sql.driver_sql.database()
    statements: list[str] = []
    if database.vendor == "sqlite":
        database.connection.set_trace_callback(statements.append)
    try:
        assert store.reservations.write_leases() == 2
    finally:
        if database.vendor == "sqlite":
            database.connection.set_trace_callback(None)
    for number_id in (first, last):
        lease = Lease.objects.get(tracking_number_id=number_id)
        assert lease.ends_at <= MARKED and mark_of(number_id) == MARKED
    assert lease.ends_at == late + HOLD
    if database.vendor == "sqlite":
        assert [s.split()[0] for s in statements] == ["BEGIN", "INSERT", "COMMIT"], statements


def test_a_thread_of_the_process_reserves_and_ends_when_the_load_is_gone(
    behind: None, big_pool: Setup
) -> None:
    plan, _numbers, pool = big_pool
    store = SqlLeaseStore()  # its reservations run their own thread, on the real clock
    busy(store, plan, 40)
    deadline = time.monotonic() + 10
    while not store.reservations.held(pool.pk) and time.monotonic() < deadline:
        time.sleep(0.01)
    held = store.reservations.held(pool.pk)
    assert held and not Lease.objects.filter(tracking_number__in=held).exists()
    thread = store.reservations._thread
    assert thread is not None
    thread.join(timeout=10)  # a second without new visitors: leftovers back, thread gone
    assert not thread.is_alive() and store.reservations.held(pool.pk) == []
    leased = set(Lease.objects.values_list("tracking_number_id", flat=True))
    marked = set(
        TrackingNumber.objects.filter(pool=pool).exclude(lease_ends_at=None).values_list("pk", flat=True)
    )
    assert len(leased) == 40 and marked == leased


def test_another_process_never_takes_a_reserved_number(behind: None, big_pool: Setup) -> None:
    plan, _numbers, pool = big_pool
    clock = Clock()
    one, two = reserving_store(clock), reserving_store(clock)
    busy(one, plan, 40, "a")
    busy(two, plan, 40, "b")
    one.reservations.top_up(T0)
    two.reservations.top_up(T0)
    held_one, held_two = set(one.reservations.held(pool.pk)), set(two.reservations.held(pool.pk))
    assert len(held_one) == len(held_two) == 16 and not held_one & held_two
    # A third process leasing one at a time (a returning visitor's new visit, say).
    taken = SqlLeaseStore().acquire(plan, "late", "s-late", T0).tracking_number_id
    assert taken not in held_one | held_two
    handed = [
        one.acquire(plan, f"x{i}", f"sx{i}", T0, new_visitor=True).tracking_number_id for i in range(16)
    ]
    assert set(handed) == held_one
    one.reservations.write_leases()
    live = Lease.objects.filter(ends_at__gt=T0).values_list("tracking_number_id", flat=True)
    assert len(list(live)) == len(set(live))  # no number held twice


def test_a_pool_near_its_end_is_leased_one_at_a_time(behind: None, big_pool: Setup) -> None:
    plan, numbers, pool = big_pool
    clock = Clock()
    store = reserving_store(clock)
    busy(store, plan, 40)
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    assert len(held) == 16
    # Other processes take all but 20 of the free numbers: fewer than 4 x what a refill asks for.
    others = [n.pk for n in numbers[56:180]]
    TrackingNumber.objects.filter(pk__in=others).update(lease_ends_at=T0 + HOLD)
    busy(store, plan, 9, "late")  # 7 left, under the 8 to keep: a refill, which finds the pool dry
    store.reservations.top_up(T0)
    assert store.reservations.held(pool.pk) == []  # what was left went back
    assert all(mark_of(number_id) is None for number_id in held[9:])
    store.reservations.top_up(T0)
    assert store.reservations.held(pool.pk) == []  # and nothing is reserved for a while


def test_leftovers_go_back_as_they_were(behind: None, big_pool: Setup) -> None:
    plan, numbers, pool = big_pool
    released = T0 - dt.timedelta(hours=1)
    TrackingNumber.objects.filter(pk__in=[n.pk for n in numbers[40:]]).update(lease_ends_at=released)
    clock = Clock()
    store = reserving_store(clock)
    busy(store, plan, 40)
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    taken = store.acquire(plan, "v", "s", T0, new_visitor=True).tracking_number_id
    assert taken == held[0]
    clock.now += RESERVE_SECONDS + 2  # no new visitor since: the rate fell to nothing
    store.reservations.top_up(T0 + 3 * SECOND)
    assert store.reservations.held(pool.pk) == []
    assert all(mark_of(number_id) == released for number_id in held[1:])
    assert mark_of(taken) == MARKED  # handed out: still marked as reserved, past its lease's end


def test_no_reservation_inside_a_transaction_or_under_the_simulated_clock(settings: Any, db: None) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 30
    settings.DNI_LEASE_RESERVE = 8
    pool, numbers = make_pool(wired_account(), 200)
    plan = PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers))
    store = reserving_store(Clock())
    busy(store, plan, 60)  # inside the test's transaction
    store.reservations.top_up(T0)
    assert store.reservations.held(pool.pk) == [] and Lease.objects.count() == 60
    assert store.reservations.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_no_reservation_under_the_simulated_clock(behind: None, settings: Any, big_pool: Setup) -> None:
    settings.SIMULATED_CLOCK = True
    plan, _numbers, pool = big_pool
    store = reserving_store(Clock())
    busy(store, plan, 60)
    store.reservations.top_up(T0)
    assert store.reservations.held(pool.pk) == [] and Lease.objects.count() == 60


def test_a_small_pool_is_never_reserved(behind: None, transactional_db: None) -> None:
    pool, numbers = make_pool(wired_account(), 30)
    plan = PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers))
    store = reserving_store(Clock())
    grants = busy(store, plan, 31)
    store.reservations.top_up(T0)
    assert store.reservations.held(pool.pk) == [] and Lease.objects.count() == 30
    assert grants[-1] == pool.fallback_number_id  # exhausted, as without reservations


Acquire = Callable[[str, dt.datetime], int | None]


@pytest.fixture
def extension_setup(behind: None, big_pool: Setup) -> tuple[SqlLeaseStore, PoolPlan, Lease]:
    plan, _numbers, _pool = big_pool
    store = SqlLeaseStore()
    store.acquire(plan, "v", "s", T0)  # one visitor: written at once
    return store, plan, Lease.objects.get(visitor_id="v")


def test_a_page_views_extension_is_written_behind(
    extension_setup: tuple[SqlLeaseStore, PoolPlan, Lease],
) -> None:
    store, plan, lease = extension_setup
    later = T0 + dt.timedelta(seconds=40)  # past the 30 s in which a lease is left as it is
    assert store.acquire(plan, "v", "s", later).tracking_number_id == lease.tracking_number_id
    lease.refresh_from_db()
    assert lease.ends_at == T0 + HOLD and buffer.pending() == 1
    flush_pending()
    lease.refresh_from_db()
    assert (lease.last_seen_at, lease.ends_at) == (later, later + HOLD)
    assert mark_of(lease.tracking_number_id) == later + HOLD


def test_an_extension_written_behind_never_shortens_a_heartbeats(
    extension_setup: tuple[SqlLeaseStore, PoolPlan, Lease],
) -> None:
    store, plan, lease = extension_setup
    store.acquire(plan, "v", "s", T0 + dt.timedelta(seconds=40))
    store.touch(lease.account_id, "s", T0 + dt.timedelta(seconds=50))  # heartbeats write at once
    flush_pending()
    lease.refresh_from_db()
    assert lease.ends_at == T0 + dt.timedelta(seconds=50) + HOLD


def test_a_lease_about_to_end_is_extended_at_once(
    extension_setup: tuple[SqlLeaseStore, PoolPlan, Lease],
) -> None:
    store, plan, lease = extension_setup
    late = T0 + HOLD - EXTEND_BEHIND_MARGIN + SECOND  # it would end before a write behind is safe
    store.acquire(plan, "v", "s", late)
    lease.refresh_from_db()
    assert lease.ends_at == late + HOLD and buffer.pending() == 0


def test_a_pass_writes_the_leases_and_refills_in_one_turn_at_the_write_lock(
    behind: None, big_pool: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, _, pool = big_pool
    clock = Clock()
    store = reserving_store(clock)
    busy(store, plan, 40)
    store.reservations.top_up(T0)  # 16 held
    for i in range(9):  # 7 left: fewer than the size of 8
        store.acquire(plan, f"v{i}", f"s{i}", T0, new_visitor=True)
    turns: list[int] = []
    real = lease_sql.write_transaction

    @contextlib.contextmanager
    def slow_turn() -> Iterator[None]:
        turns.append(1)
        with real():
            for i in range(2):  # page views answered while the pass waited for the lock
                store.acquire(plan, f"late{i}", f"s-late{i}", T0, new_visitor=True)
            yield

    monkeypatch.setattr(lease_sql, "write_transaction", slow_turn)
    store.reservations.top_up(T0)
    assert turns == [1]
    assert Lease.objects.filter(visitor_id__startswith="v").count() == 9  # written
    # Refilled to twice the size from what it held once it had the lock (5), not before (7).
    assert len(store.reservations.held(pool.pk)) == 16


def test_a_number_drained_after_it_was_reserved_is_never_handed_out(behind: None, big_pool: Setup) -> None:
    plan, numbers, pool = big_pool
    store = reserving_store(Clock())
    busy(store, plan, 40)
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    drained = held[0]
    TrackingNumber.objects.filter(pk=drained).update(state=NumberState.DRAINING)
    # The next config the process reads no longer lists it among the pool's eligible numbers.
    changed = PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers if n.pk != drained))
    grant = store.acquire(changed, "v", "s", T0, new_visitor=True)
    assert grant.tracking_number_id == held[1]
    assert drained not in store.reservations.held(pool.pk)


def test_a_lease_this_process_made_lately_is_answered_from_memory(behind: None, big_pool: Setup) -> None:
    plan, numbers, pool = big_pool
    store = reserving_store(Clock())
    first = store.acquire(plan, "v", "s", T0, new_visitor=True).tracking_number_id
    Lease.objects.filter(visitor_id="v").delete()  # what the store holds is not asked again...
    assert store.acquire(plan, "v", "s", T0 + 20 * SECOND).tracking_number_id == first
    # ...until the lease would be extended again (``extend_after``), nor for another visit,
    assert store.acquire(plan, "v", "s", T0 + plan.extend_after).tracking_number_id != first
    Lease.objects.filter(visitor_id="w").delete()
    store.acquire(plan, "w", "s-w", T0, new_visitor=True)
    assert store.acquire(plan, "w", "s-w2", T0 + SECOND).tracking_number_id is not None
    # ...nor a number drained since.
    taken = store.acquire(plan, "x", "s-x", T0, new_visitor=True).tracking_number_id
    TrackingNumber.objects.filter(pk=taken).update(state=NumberState.DRAINING)
    changed = PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers if n.pk != taken))
    assert store.acquire(changed, "x", "s-x", T0 + SECOND).tracking_number_id != taken
