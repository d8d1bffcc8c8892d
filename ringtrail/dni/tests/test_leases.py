"""The lease store contract (DESIGN.md §4): sticky, least-recently-released first, cool-down, draining
numbers never shown, fallback on exhaustion, opt-in recycling, and no number held twice at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from ringtrail.dni.leases import PoolPlan, SqlLeaseStore
from ringtrail.dni.models import Lease, Pool
from ringtrail.numbers.models import TrackingNumber
from ringtrail.sources.models import Source
from ringtrail.testing import WiredAccount, wired_account

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def make_pool(wired: WiredAccount, size: int, **options: object) -> tuple[Pool, list[TrackingNumber]]:
    source = Source.objects.create(
        account=wired.account, name="Google Ads (DNI)", medium="cpc", kind="online"
    )
    pool = Pool.objects.create(
        account=wired.account, source=source, fallback_number=wired.tracking, **options
    )
    numbers = [
        TrackingNumber.objects.create(
            account=wired.account,
            number=f"+1415555{7000 + i}",
            connection=wired.connection,
            pool=pool,
            receiving_number=wired.receiving,
            source=source,
        )
        for i in range(size)
    ]
    return pool, numbers


@pytest.fixture
def store() -> SqlLeaseStore:
    return SqlLeaseStore()


@pytest.fixture
def pool_of(db: None) -> Callable[..., tuple[PoolPlan, list[TrackingNumber], TrackingNumber]]:
    def make(size: int, **options: object) -> tuple[PoolPlan, list[TrackingNumber], TrackingNumber]:
        wired = wired_account()
        pool, numbers = make_pool(wired, size, **options)
        return PoolPlan.of(pool), numbers, wired.tracking

    return make


def test_each_visitor_gets_a_different_number_then_the_fallback(
    store: SqlLeaseStore, pool_of: Callable
) -> None:
    plan, numbers, fallback = pool_of(3)
    grants = [store.acquire(plan, f"v{i}", f"s{i}", T0) for i in range(4)]
    assert {g.tracking_number_id for g in grants[:3]} == {n.pk for n in numbers}
    assert grants[3].tracking_number_id == fallback.pk and grants[3].overflow


def test_sticky_for_the_same_visitor_while_the_lease_lives(store: SqlLeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(3)
    first = store.acquire(plan, "v1", "s1", T0)
    assert store.acquire(plan, "v1", "s1", T0 + 5 * MIN) == first
    assert store.acquire(plan, "v1", "s2", T0 + 6 * MIN).tracking_number_id == first.tracking_number_id
    assert Lease.objects.filter(session_id="s2").exists()


def test_least_recently_released_first_and_cooldown(store: SqlLeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(2, hold_minutes=15, cooldown_minutes=5)
    a = store.acquire(plan, "v1", "s1", T0).tracking_number_id
    b = store.acquire(plan, "v2", "s2", T0 + MIN).tracking_number_id
    # Both leases end (15 min hold); at +18 min only a's cool-down (ended +15) is over... b ended +16.
    assert store.acquire(plan, "v3", "s3", T0 + 18 * MIN).overflow  # both still cooling down
    assert store.acquire(plan, "v4", "s4", T0 + 20 * MIN + dt.timedelta(seconds=1)).tracking_number_id == a
    assert store.acquire(plan, "v5", "s5", T0 + 22 * MIN).tracking_number_id == b


def test_heartbeat_keeps_a_lease_alive(store: SqlLeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(1)
    store.acquire(plan, "v1", "s1", T0)
    assert store.touch(plan.account_id, "s1", T0 + 14 * MIN) == 1
    assert store.acquire(plan, "v2", "s2", T0 + 20 * MIN).overflow  # still held thanks to the heartbeat
    assert store.touch(plan.account_id, "s1", T0 + 40 * MIN) == 0  # expired: nothing to extend


def test_draining_and_released_numbers_are_never_handed_out(store: SqlLeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(3)
    TrackingNumber.objects.filter(pk=numbers[0].pk).update(state="draining")
    TrackingNumber.objects.filter(pk=numbers[1].pk).update(state="released")
    assert store.acquire(plan, "v1", "s1", T0).tracking_number_id == numbers[2].pk
    assert store.acquire(plan, "v2", "s2", T0).overflow


def test_recycling_is_opt_in_and_marks_both_leases(store: SqlLeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(1, recycle_oldest=True)
    store.acquire(plan, "v1", "s1", T0)
    grant = store.acquire(plan, "v2", "s2", T0 + MIN)
    assert grant.tracking_number_id == numbers[0].pk and grant.recycled and not grant.overflow
    assert set(Lease.objects.values_list("recycled", flat=True)) == {True}


def test_holders_at_a_moment(store: SqlLeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(1)
    store.acquire(plan, "v1", "s1", T0)
    number = numbers[0].pk
    assert [h.session_id for h in store.holders(number, T0 + 10 * MIN)] == ["s1"]
    assert store.holders(number, T0 + 16 * MIN) == []
    assert store.holders(number, T0 - MIN) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_visitors_never_share_a_number(store: SqlLeaseStore) -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        ("file:memorydb", ":memory:")
    ):
        pytest.skip("needs a file or server database for real concurrency")
    wired = wired_account()
    pool, _ = make_pool(wired, 10)
    plan = PoolPlan.of(pool)
    grants: list[int | None] = []
    errors: list[BaseException] = []

    def visitor(i: int) -> None:
        try:
            grants.append(store.acquire(plan, f"v{i}", f"s{i}", T0).tracking_number_id)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    pooled = [g for g in grants if g != wired.tracking.pk]
    assert len(pooled) == len(set(pooled)) == 10
    assert grants.count(wired.tracking.pk) == 6
