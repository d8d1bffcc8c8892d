"""The Redis store's numbers reserved ahead under load and leases written behind (``RedisBackend``),
as the SQL store's are (test_reservations.py): same rules, kept in Redis's keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.test import Client

from ringtrail.dni import leases
from ringtrail.dni.leases import PoolPlan, forget_recent_grants
from ringtrail.dni.leases_redis import RedisBackend, RedisLeaseStore
from ringtrail.dni.models import Pool
from ringtrail.dni.reservations import RESERVE_SECONDS, Reservations
from ringtrail.dni.tests.support import TARGET, make_site, post, visit
from ringtrail.dni.tests.test_leases import REDIS_URL, T0, _redis_store, make_pool
from ringtrail.dni.tests.test_one_round_trip import _fresh_ip
from ringtrail.dni.tests.test_reservations import Clock, busy
from ringtrail.lib import clock
from ringtrail.lib.redis_behind import Behind
from ringtrail.numbers.models import NumberState, TrackingNumber
from ringtrail.testing import wired_account
from ringtrail.visits.buffer import buffer

SECOND = dt.timedelta(seconds=1)
HOLD = dt.timedelta(minutes=15)
Setup = tuple[PoolPlan, list[TrackingNumber], Pool]


@pytest.fixture
def behind(settings: Any) -> None:
    """Writes behind allowed, reservations of 8."""
    settings.DNI_RECORD_FLUSH_SECONDS = 30
    settings.DNI_LEASE_RESERVE = 8


@pytest.fixture
def big_pool(transactional_db: None) -> Setup:
    pool, numbers = make_pool(wired_account(), 200)  # 200 // 20 = 10: room for 8
    return PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers)), numbers, pool


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    for store in _redis_store():
        assert isinstance(store, RedisLeaseStore)
        yield store.prefix


def reserving_store(client: redis.Redis, prefix: str, clock: Clock) -> RedisLeaseStore:
    """A store of one process, on the test's clock, whose reservations run only when told."""
    store = RedisLeaseStore(client, prefix)
    store.reservations = Reservations(RedisBackend(store, client), clock=clock, background=False)
    return store


def ends_of(client: redis.Redis, prefix: str, pool: Pool, number_id: int) -> float | None:
    return client.zscore(f"{prefix}p:{pool.pk}:ends", number_id)


def test_under_load_new_visitors_get_reserved_numbers_and_leases_written_behind(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str
) -> None:
    plan, numbers, pool = big_pool
    store = reserving_store(client, prefix, Clock())
    first = busy(store, plan, 40)  # nothing reserved yet: each lease written at once
    assert first == [n.pk for n in numbers[:40]]
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    assert held == [n.pk for n in numbers[40:56]]  # twice the size, in the order leases take them
    assert all(ends_of(client, prefix, pool, n) == (T0 + HOLD).timestamp() for n in held)
    assert store.acquire(plan, "late", "s-late", T0).tracking_number_id == numbers[56].pk  # not reserved

    grant = store.acquire(plan, "v", "s", T0 + SECOND, new_visitor=True)
    assert grant.tracking_number_id == held[0] and not grant.overflow
    assert store.holders(held[0], T0 + 2 * SECOND) == [] and store.reservations.pending() == 1
    # The next page of the visit, in this process, before the lease is written: the same number.
    assert store.acquire(plan, "v", "s", T0 + 2 * SECOND).tracking_number_id == held[0]

    assert store.reservations.write_leases() == 1
    assert [(h.session_id, h.visitor_id) for h in store.holders(held[0], T0 + 5 * SECOND)] == [("s", "v")]
    assert ends_of(client, prefix, pool, held[0]) == (T0 + SECOND + HOLD).timestamp()
    # Written as the script writes a lease: sticky in any process, kept alive by heartbeats.
    other = RedisLeaseStore(client, prefix)
    assert other.acquire(plan, "v", "s", T0 + 3 * SECOND).tracking_number_id == held[0]
    assert other.touch(plan.account_id, "s", T0 + 4 * SECOND) == 1


def test_another_process_never_takes_a_reserved_number(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str
) -> None:
    plan, _numbers, pool = big_pool
    ticks = Clock()
    one, two = reserving_store(client, prefix, ticks), reserving_store(client, prefix, ticks)
    busy(one, plan, 40, "a")
    busy(two, plan, 40, "b")
    one.reservations.top_up(T0)
    two.reservations.top_up(T0)
    held_one, held_two = set(one.reservations.held(pool.pk)), set(two.reservations.held(pool.pk))
    assert len(held_one) == len(held_two) == 16 and not held_one & held_two
    taken = RedisLeaseStore(client, prefix).acquire(plan, "late", "s-late", T0).tracking_number_id
    assert taken not in held_one | held_two
    handed = [
        one.acquire(plan, f"x{i}", f"sx{i}", T0, new_visitor=True).tracking_number_id for i in range(16)
    ]
    assert set(handed) == held_one
    one.reservations.write_leases()
    live = [h for n in held_one | held_two | {taken} for h in one.holders(n, T0 + SECOND)]
    assert len(live) == 17  # the 16 handed out and the late one: each number held once


def test_a_pool_rebuilt_meanwhile_keeps_reserved_numbers_out(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str
) -> None:
    plan, numbers, pool = big_pool
    store = reserving_store(client, prefix, Clock())
    busy(store, plan, 40)
    store.reservations.top_up(T0)
    held = set(store.reservations.held(pool.pk))
    # A number drained: a new eligible set, so the next acquisition rebuilds the availability set.
    TrackingNumber.objects.filter(pk=numbers[199].pk).update(state=NumberState.DRAINING)
    changed = PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers[:199]))
    other = RedisLeaseStore(client, prefix)
    taken = {other.acquire(changed, f"o{i}", f"so{i}", T0).tracking_number_id for i in range(20)}
    assert not taken & held


def test_leftovers_go_back_as_they_were(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str
) -> None:
    plan, _numbers, pool = big_pool
    ticks = Clock()
    store = reserving_store(client, prefix, ticks)
    busy(store, plan, 40)  # these 40 have leases (ending at T0 + HOLD); the rest never had one
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    taken = store.acquire(plan, "v", "s", T0, new_visitor=True).tracking_number_id
    ticks.now += RESERVE_SECONDS + 2  # no new visitor since: the rate fell to nothing
    store.reservations.top_up(T0 + 3 * SECOND)
    assert store.reservations.held(pool.pk) == []
    assert all(ends_of(client, prefix, pool, n) is None for n in held[1:])  # never leased, as before
    assert ends_of(client, prefix, pool, taken) == (T0 + HOLD).timestamp()  # handed out: still marked
    # Back in the pool in their old order: the next visitors get them first.
    later = RedisLeaseStore(client, prefix)
    assert later.acquire(plan, "n", "s-n", T0 + 4 * SECOND).tracking_number_id == held[1]


def test_a_pool_near_its_end_is_leased_one_at_a_time(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str
) -> None:
    plan, _numbers, pool = big_pool
    store = reserving_store(client, prefix, Clock())
    busy(store, plan, 40)
    store.reservations.top_up(T0)
    held = store.reservations.held(pool.pk)
    other = RedisLeaseStore(client, prefix)
    for i in range(124):  # other processes take all but 20 free numbers: under 4 x a refill
        other.acquire(plan, f"o{i}", f"so{i}", T0)
    busy(store, plan, 9, "late")  # 7 left, under the 8 to keep: a refill, which finds the pool dry
    store.reservations.top_up(T0)
    assert store.reservations.held(pool.pk) == []  # what was left went back
    assert all(ends_of(client, prefix, pool, n) is None for n in held[9:])


def test_under_load_a_new_visitors_page_view_costs_no_round_trip(
    behind: None,
    settings: Any,
    transactional_db: None,
    client: redis.Redis,
    prefix: str,
    sends: Callable[[], int],
) -> None:
    site = make_site()
    more = [
        TrackingNumber(
            account=site.wired.account,
            number=f"+1212555{i:04d}",
            connection=site.wired.connection,
            pool=site.pool,
            source=site.paid,
            receiving_number=site.wired.receiving,
        )
        for i in range(198)
    ]
    TrackingNumber.objects.bulk_create(more)
    settings.REDIS_URL, settings.DNI_LEASE_STORE = REDIS_URL, "redis"
    store = RedisLeaseStore(client, prefix)
    store.reservations = Reservations(RedisBackend(store, client), background=False)
    store.behind = Behind(client, background=False)
    leases._stores[("redis", REDIS_URL)] = store
    web = Client(REMOTE_ADDR=_fresh_ip())
    try:
        for _ in range(40):  # a burst of new visitors: the process starts reserving
            post(web, site, visit())
        store.reservations.top_up(clock.now())
        held = store.reservations.held(site.pool.pk)
        assert len(held) == 16
        before = sends()
        answer = post(web, site, visit()).json()
        assert sends() == before  # no round trip: number, rate limits and first touch all behind
        number = TrackingNumber.objects.get(pk=held[0]).number
        assert answer["swaps"][TARGET]["number"] == number
        store.behind.flush()
        store.reservations.write_leases()
        holders = store.holders(held[0], clock.now())
        assert [h.session_id for h in holders] == [answer["session"]]
        first = client.get(f"rt:first-source:{site.wired.account.pk}:{answer['visitor']}")
        assert first is not None and int(first) == site.paid.pk
    finally:
        leases._stores.pop(("redis", REDIS_URL), None)
        buffer.discard()


def test_a_lease_this_process_made_or_extended_lately_costs_no_round_trip(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str, sends: Callable[[], int]
) -> None:
    plan, _numbers, pool = big_pool
    store = RedisLeaseStore(client, prefix)
    store.behind = Behind(client, background=False)
    first = store.acquire(plan, "v", "s", T0).tracking_number_id  # the lease script: a new lease
    assert first is not None
    before = sends()
    assert store.acquire(plan, "v", "s", T0 + 20 * SECOND).tracking_number_id == first
    assert sends() == before and store.behind.pending() == 0
    # Past ``extend_after``: answered from memory, the extension sent behind, once.
    extended = T0 + plan.extend_after + SECOND
    assert store.acquire(plan, "v", "s", extended).tracking_number_id == first
    assert store.acquire(plan, "v", "s", extended + 20 * SECOND).tracking_number_id == first
    assert sends() == before and store.behind.pending() == 1
    assert ends_of(client, prefix, pool, first) == (T0 + HOLD).timestamp()
    store.behind.flush()
    assert ends_of(client, prefix, pool, first) == (extended + HOLD).timestamp()
    before = sends()  # ends_of and the flush sent too
    # Half the hold after the store last answered for the lease: the script again, which extends it.
    late = T0 + HOLD / 2 + SECOND
    assert store.acquire(plan, "v", "s", late).tracking_number_id == first
    assert sends() == before + 1 and store.behind.pending() == 0
    assert ends_of(client, prefix, pool, first) == (late + HOLD).timestamp()
    # Another process: it asks once, and learns from the script's answer when the lease was extended.
    other = RedisLeaseStore(client, prefix)
    forget_recent_grants()
    before = sends()
    assert other.acquire(plan, "v", "s", late + 25 * SECOND).tracking_number_id == first
    assert other.acquire(plan, "v", "s", late + 26 * SECOND).tracking_number_id == first
    assert sends() == before + 1


def test_a_remembered_lease_is_not_extended_behind_for_another_session_or_a_drained_number(
    behind: None, big_pool: Setup, client: redis.Redis, prefix: str, sends: Callable[[], int]
) -> None:
    plan, _numbers, _pool = big_pool
    store = RedisLeaseStore(client, prefix)
    store.behind = Behind(client, background=False)
    first = store.acquire(plan, "v", "s", T0).tracking_number_id
    later = T0 + plan.extend_after + SECOND
    before = sends()
    # A new visit of the visitor: the script ends the old lease and keeps the number for the new one.
    assert store.acquire(plan, "v", "s2", later).tracking_number_id == first
    assert sends() == before + 1 and store.behind.pending() == 0
    drained = dataclasses.replace(plan, eligible=tuple(n for n in plan.eligible or () if n != first))
    moved = store.acquire(drained, "v", "s2", later + plan.extend_after + SECOND).tracking_number_id
    assert moved != first and store.behind.pending() == 0  # the script's choice, not the memory's
