"""The lease store contract (DESIGN.md §4): sticky, least-recently-released first, cool-down, draining
numbers never shown, fallback on exhaustion, opt-in recycling, and no number held twice at once.

Every test runs against both stores: SQL and Redis (a real server; set RINGTRAIL_SKIP_REDIS=1 to skip)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.db import connection

from ringtrail.dni import lease_sql
from ringtrail.dni.leases import Gate, LeaseStore, PoolPlan, SqlLeaseStore, lease_store
from ringtrail.dni.leases_redis import HISTORY_TRIM_SECONDS, RedisBackend, RedisLeaseStore
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


REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sql", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[LeaseStore]:
    if request.param == "sql":
        yield SqlLeaseStore()
        return
    yield from _redis_store()


def _redis_store() -> Iterator[LeaseStore]:
    """A store under a key prefix of its own, whose keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("RINGTRAIL_SKIP_REDIS") == "1":
            pytest.skip(f"Redis unreachable at {REDIS_URL} and RINGTRAIL_SKIP_REDIS=1")
        pytest.fail(f"Redis unreachable at {REDIS_URL} ({exc}); start it or set RINGTRAIL_SKIP_REDIS=1")
    prefix = f"rt-test:{uuid.uuid4().hex}:"
    try:
        yield RedisLeaseStore(client, prefix)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


def sessions_holding(store: LeaseStore, number_id: int, at: dt.datetime) -> list[tuple[str, bool]]:
    return [(h.session_id, h.recycled) for h in store.holders(number_id, at)]


@pytest.fixture
def pool_of(db: None) -> Callable[..., tuple[PoolPlan, list[TrackingNumber], TrackingNumber]]:
    def make(size: int, **options: object) -> tuple[PoolPlan, list[TrackingNumber], TrackingNumber]:
        wired = wired_account()
        pool, numbers = make_pool(wired, size, **options)
        return PoolPlan.of(pool), numbers, wired.tracking

    return make


def test_each_visitor_gets_a_different_number_then_the_fallback(store: LeaseStore, pool_of: Callable) -> None:
    plan, numbers, fallback = pool_of(3)
    grants = [store.acquire(plan, f"v{i}", f"s{i}", T0) for i in range(4)]
    assert {g.tracking_number_id for g in grants[:3]} == {n.pk for n in numbers}
    assert grants[3].tracking_number_id == fallback.pk and grants[3].overflow


def test_sticky_for_the_same_visitor_while_the_lease_lives(store: LeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(3)
    first = store.acquire(plan, "v1", "s1", T0)
    assert store.acquire(plan, "v1", "s1", T0 + 5 * MIN) == first
    assert store.acquire(plan, "v1", "s2", T0 + 6 * MIN).tracking_number_id == first.tracking_number_id
    if isinstance(store, SqlLeaseStore):
        assert Lease.objects.filter(session_id="s2").exists()
    # The new session has its own lease: it, not the first one, holds the number from then on.
    number = first.tracking_number_id
    assert number is not None
    assert sessions_holding(store, number, T0 + 5 * MIN) == [("s1", False)]
    assert sessions_holding(store, number, T0 + 7 * MIN) == [("s2", False)]


def test_a_page_view_soon_after_the_last_extension_leaves_the_lease_as_it_is(
    store: LeaseStore, pool_of: Callable
) -> None:
    plan, numbers, _ = pool_of(1)
    plan = dataclasses.replace(plan, extend_after=dt.timedelta(seconds=30))
    number, seconds = numbers[0].pk, dt.timedelta(seconds=1)
    assert store.acquire(plan, "v1", "s1", T0).tracking_number_id == number
    assert store.acquire(plan, "v1", "s1", T0 + 20 * seconds).tracking_number_id == number  # not extended
    assert sessions_holding(store, number, T0 + plan.hold + 10 * seconds) == []
    assert store.acquire(plan, "v1", "s1", T0 + 40 * seconds).tracking_number_id == number  # extended
    assert sessions_holding(store, number, T0 + plan.hold + 30 * seconds) == [("s1", False)]
    # A new visit of the same visitor gets its own lease however soon it comes.
    assert store.acquire(plan, "v1", "s2", T0 + 45 * seconds).tracking_number_id == number
    assert sessions_holding(store, number, T0 + plan.hold + 42 * seconds) == [("s2", False)]


def test_least_recently_released_first_and_cooldown(store: LeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(2, hold_minutes=15, cooldown_minutes=5)
    a = store.acquire(plan, "v1", "s1", T0).tracking_number_id
    b = store.acquire(plan, "v2", "s2", T0 + MIN).tracking_number_id
    # Both leases end (15 min hold); at +18 min only a's cool-down (ended +15) is over... b ended +16.
    assert store.acquire(plan, "v3", "s3", T0 + 18 * MIN).overflow  # both still cooling down
    assert store.acquire(plan, "v4", "s4", T0 + 20 * MIN + dt.timedelta(seconds=1)).tracking_number_id == a
    assert store.acquire(plan, "v5", "s5", T0 + 22 * MIN).tracking_number_id == b


def test_heartbeat_keeps_a_lease_alive(store: LeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(1)
    store.acquire(plan, "v1", "s1", T0)
    assert store.touch(plan.account_id, "s1", T0 + 14 * MIN) == 1
    assert store.acquire(plan, "v2", "s2", T0 + 20 * MIN).overflow  # still held thanks to the heartbeat
    assert store.touch(plan.account_id, "s1", T0 + 40 * MIN) == 0  # expired: nothing to extend


def test_draining_and_released_numbers_are_never_handed_out(store: LeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(3)
    TrackingNumber.objects.filter(pk=numbers[0].pk).update(state="draining")
    TrackingNumber.objects.filter(pk=numbers[1].pk).update(state="released")
    assert store.acquire(plan, "v1", "s1", T0).tracking_number_id == numbers[2].pk
    assert store.acquire(plan, "v2", "s2", T0).overflow


def test_recycling_is_opt_in_and_marks_both_leases(store: LeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(1, recycle_oldest=True)
    store.acquire(plan, "v1", "s1", T0)
    grant = store.acquire(plan, "v2", "s2", T0 + MIN)
    assert grant.tracking_number_id == numbers[0].pk and grant.recycled and not grant.overflow
    if isinstance(store, SqlLeaseStore):
        assert set(Lease.objects.values_list("recycled", flat=True)) == {True}
    assert sessions_holding(store, numbers[0].pk, T0 + dt.timedelta(seconds=30)) == [("s1", True)]
    assert sessions_holding(store, numbers[0].pk, T0 + 2 * MIN) == [("s2", True)]


def test_holders_at_a_moment(store: LeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(1)
    store.acquire(plan, "v1", "s1", T0)
    number = numbers[0].pk
    assert [h.session_id for h in store.holders(number, T0 + 10 * MIN)] == ["s1"]
    assert store.holders(number, T0 + 16 * MIN) == []
    assert store.holders(number, T0 - MIN) == []


def test_recent_holders_for_late_callers(store: LeaseStore, pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(1, cooldown_minutes=0)
    number = numbers[0].pk
    store.acquire(plan, "v1", "s1", T0)  # holds until +15
    store.acquire(plan, "v2", "s2", T0 + 20 * MIN)  # holds until +35
    assert store.recent_holders(number, T0 + 10 * MIN, 3) == []  # s1 is still holding then
    assert store.recent_holders(number, T0 + 30 * MIN, 3) == ["s1"]
    assert store.recent_holders(number, T0 + 3 * 60 * MIN, 3) == ["s2", "s1"]
    assert store.recent_holders(number, T0 + 3 * 60 * MIN, 1) == ["s2"]


def test_live_count(store: LeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(3)
    store.acquire(plan, "v1", "s1", T0)
    store.acquire(plan, "v2", "s2", T0 + 5 * MIN)
    assert store.live_count(plan.pool_id, T0 + 6 * MIN) == 2
    assert store.live_count(plan.pool_id, T0 + 17 * MIN) == 1
    assert store.live_count(plan.pool_id, T0 + 60 * MIN) == 0


def test_which_pool_a_visitor_holds_a_live_lease_in(store: LeaseStore, pool_of: Callable) -> None:
    plan, _, _ = pool_of(2)
    other = 10**6  # a pool the visitor never touched, and which does not exist
    store.acquire(plan, "v1", "s1", T0)
    assert store.visitor_pool("v1", [other, plan.pool_id], T0 + 5 * MIN) == plan.pool_id
    assert store.visitor_pool("v1", [other], T0 + 5 * MIN) is None
    assert store.visitor_pool("v2", [plan.pool_id], T0 + 5 * MIN) is None
    assert store.visitor_pool("v1", [plan.pool_id], T0 + 16 * MIN) is None  # the 15 min hold is over
    assert store.visitor_pool("v1", [], T0) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_visitors_never_share_a_number(store: LeaseStore) -> None:
    if (
        isinstance(store, SqlLeaseStore)
        and connection.vendor == "sqlite"
        and connection.settings_dict["NAME"].startswith(("file:memorydb", ":memory:"))
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


def test_redis_keys_expire_but_outlive_the_lease(pool_of: Callable) -> None:
    plan, _, _ = pool_of(2)
    for redis_store in _redis_store():
        assert isinstance(redis_store, RedisLeaseStore)
        redis_store.acquire(plan, "v1", "s1", T0)
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{redis_store.prefix}*"))
        ttls = {key: client.ttl(key) for key in keys if not key.endswith(b"lease:seq")}
        assert ttls and all(ttl >= 15 * 60 for ttl in ttls.values()), ttls
        client.close()


def test_redis_keys_of_a_kept_lease_keep_a_ttl(pool_of: Callable) -> None:
    """Heartbeats and next page views lengthen what they must, and never leave a key without a TTL."""
    plan, _, _ = pool_of(2)
    for redis_store in _redis_store():
        assert isinstance(redis_store, RedisLeaseStore)
        redis_store.acquire(plan, "v1", "s1", T0)
        client = redis.Redis.from_url(REDIS_URL)
        lease_key = next(k for k in client.scan_iter(match=f"{redis_store.prefix}lease:[0-9]*"))
        client.expire(lease_key, 60)  # as if its TTL had nearly run out
        assert redis_store.touch(plan.account_id, "s1", T0 + 10 * MIN) == 1
        assert client.ttl(lease_key) >= 15 * 60
        client.expire(lease_key, 60)
        assert redis_store.acquire(plan, "v1", "s1", T0 + 12 * MIN).tracking_number_id is not None
        keys = list(client.scan_iter(match=f"{redis_store.prefix}*"))
        ttls = {key: client.ttl(key) for key in keys if not key.endswith(b"lease:seq")}
        assert ttls[lease_key] >= 15 * 60 and all(ttl >= 15 * 60 for ttl in ttls.values()), ttls
        client.close()


def test_redis_history_older_than_the_trim_is_dropped(pool_of: Callable) -> None:
    """A number's history is trimmed on one lease in sixteen, by the lease script and by leases
    written in a batch alike: it never grows with every lease past the trim window."""
    plan, numbers, _ = pool_of(1)
    month = dt.timedelta(seconds=HISTORY_TRIM_SECONDS) + MIN
    for redis_store in _redis_store():
        assert isinstance(redis_store, RedisLeaseStore)
        client = redis.Redis.from_url(REDIS_URL)
        hist = f"{redis_store.prefix}n:{numbers[0].pk}:hist"
        for i in range(40):
            grant = redis_store.acquire(plan, f"v{i}", f"s{i}", T0 + i * month)
            assert grant.tracking_number_id == numbers[0].pk
        assert client.zcard(hist) <= 16
        batch_start = T0 + 40 * month
        leases = [plan.lease_row(numbers[0].pk, f"w{i}", f"t{i}", batch_start + i * month) for i in range(40)]
        RedisBackend(redis_store, client).write_leases(leases)
        assert client.zcard(hist) <= 16
        last = batch_start + 39 * month
        assert [h.session_id for h in redis_store.holders(numbers[0].pk, last + MIN)] == ["t39"]
        assert redis_store.recent_holders(numbers[0].pk, last + plan.hold + MIN, 1) == ["t39"]
        client.close()


def test_a_gated_acquisition_counts_limits_and_remembers_in_the_same_script(pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(3)
    for store in _redis_store():
        assert isinstance(store, RedisLeaseStore)
        client = redis.Redis.from_url(REDIS_URL)
        ip, first = f"{store.prefix}rl:ip", f"{store.prefix}first:v1"
        gate = Gate(((ip, 2),), 90, ("SET", first, 7, "EX", 600))
        granted = store.acquire_gated(plan, "v1", "s1", T0, gate)
        assert granted is not None and granted.tracking_number_id in {n.pk for n in numbers}
        assert client.get(first) == b"7" and 0 < client.ttl(ip) <= 90
        assert store.acquire_gated(plan, "v2", "s2", T0, Gate(((ip, 2),), 90)) is not None
        assert store.acquire_gated(plan, "v3", "s3", T0, Gate(((ip, 2),), 90)) is None  # third hit: limited
        assert store.live_count(plan.pool_id, T0 + MIN) == 2  # and no lease for it
        assert int(client.get(ip) or 0) == 3
        client.close()


def test_a_gated_retry_after_a_pool_change_counts_once(pool_of: Callable) -> None:
    plan, numbers, _ = pool_of(3)
    for store in _redis_store():
        assert isinstance(store, RedisLeaseStore)
        client = redis.Redis.from_url(REDIS_URL)
        ip = f"{store.prefix}rl:ip"
        store.acquire(plan, "v0", "s0", T0)
        # One number leaves the pool: the availability set's version no longer matches.
        changed = PoolPlan.of(Pool.objects.get(pk=plan.pool_id), eligible=tuple(n.pk for n in numbers[:2]))
        granted = store.acquire_gated(changed, "v1", "s1", T0, Gate(((ip, 5),), 90))
        assert granted is not None and granted.tracking_number_id in {n.pk for n in numbers[:2]}
        assert int(client.get(ip) or 0) == 1
        client.close()


def test_lease_store_follows_the_setting(settings: Any) -> None:
    settings.DNI_LEASE_STORE = "sql"
    assert isinstance(lease_store(), SqlLeaseStore)
    assert lease_store() is lease_store()
    settings.DNI_LEASE_STORE, settings.REDIS_URL = "redis", REDIS_URL
    assert isinstance(lease_store(), RedisLeaseStore)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query plans")
def test_acquisition_statements_probe_indexes_not_scan_the_pool(db: None) -> None:
    # An exhausted pool made the free-number query walk the pool's whole index on every new
    # visitor, and the sticky query picked the (pool, ends) index over the visitor's own.
    statements = lease_sql._statements("sqlite")
    now = connection.ops.adapt_datetimefield_value(T0)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN QUERY PLAN " + statements["free"].replace("%s", "?"), [1, "active", 1, now, "active"]
        )
        free_plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute(
            "EXPLAIN QUERY PLAN " + statements["sticky"].replace("%s", "?"),
            [now, now, 1, "v", now, 1, "active"],
        )
        sticky_plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute(
            "EXPLAIN QUERY PLAN " + statements["claim"].replace("%s", "?"),
            [now, 1, "active", 1, now, "active"],
        )
        claim_plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        reserve_plans = []
        for name, params in (
            ("reserve_fresh", [1, "active", 8]),
            ("reserve_cooled", [1, now, "active", 8]),
            ("count_fresh", [1, "active", 8]),
            ("count_cooled", [1, now, "active", 8]),
        ):
            cursor.execute("EXPLAIN QUERY PLAN " + statements[name].replace("%s", "?"), params)
            reserve_plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
    for reserve_plan in reserve_plans:
        assert "SCAN numbers_trackingnumber" not in reserve_plan and "INDEX number_pool_" in reserve_plan, (
            reserve_plan
        )
    assert "lease_ends_at=?" in free_plan and "lease_ends_at<?" in free_plan, free_plan
    assert "SCAN numbers_trackingnumber" not in free_plan
    assert "SCAN numbers_trackingnumber" not in claim_plan and "lease_ends_at<?" in claim_plan, claim_plan
    assert "lease_pool_visitor_ends (pool_id=? AND visitor_id=? AND ends_at>?)" in sticky_plan, sticky_plan


@pytest.mark.django_db(transaction=True)
def test_a_failed_acquisition_in_autocommit_rolls_its_claim_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Web requests run in autocommit, where the SQL store begins and ends its transaction on the
    # driver's connection itself: a failure after the claim must not leave the number marked.
    wired = wired_account()
    pool, numbers = make_pool(wired, 1)
    plan, store = PoolPlan.of(pool), SqlLeaseStore()

    def broken_insert(lease: dict[str, Any]) -> None:
        raise RuntimeError("insert failed")

    with monkeypatch.context() as patched:
        patched.setattr(lease_sql, "insert_lease", broken_insert)
        with pytest.raises(RuntimeError):
            store.acquire(plan, "v0", "s0", T0)
    assert connection.get_autocommit() and not connection.in_atomic_block
    numbers[0].refresh_from_db()
    assert numbers[0].lease_ends_at is None and not Lease.objects.exists()
    assert store.acquire(plan, "v1", "s1", T0).tracking_number_id == numbers[0].pk
    assert Lease.objects.get().session_id == "s1"


@pytest.mark.django_db(transaction=True)
def test_a_failed_next_visit_in_autocommit_rolls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # Web requests run in autocommit, where the SQL store begins and ends its transaction on the
    # driver's connection itself: a failure part way must leave no write behind.
    wired = wired_account()
    pool, numbers = make_pool(wired, 1)
    plan, store = PoolPlan.of(pool), SqlLeaseStore()
    assert store.acquire(plan, "v0", "s0", T0).tracking_number_id == numbers[0].pk

    def broken_insert(lease: dict[str, Any]) -> None:
        raise RuntimeError("insert failed")

    with monkeypatch.context() as patched:
        patched.setattr(lease_sql, "insert_lease", broken_insert)
        with pytest.raises(RuntimeError):  # the visitor's next visit: the old lease is ended first
            store.acquire(plan, "v0", "s1", T0 + MIN)
    assert connection.get_autocommit() and not connection.in_atomic_block
    assert Lease.objects.get().ends_at == T0 + plan.hold  # not ended: rolled back
    assert store.acquire(plan, "v0", "s1", T0 + MIN).tracking_number_id == numbers[0].pk
    assert sorted(Lease.objects.values_list("session_id", "ends_at")) == [
        ("s0", T0 + MIN),
        ("s1", T0 + MIN + plan.hold),
    ]


def test_a_new_visitor_is_not_looked_up(pool_of: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, numbers, fallback = pool_of(2)

    def no_lookup(*args: object) -> None:
        raise AssertionError("a new visitor's id was made for this request: it holds no lease")

    monkeypatch.setattr(lease_sql, "sticky_lease", no_lookup)
    store = SqlLeaseStore()
    granted = [store.acquire(plan, f"v{i}", f"s{i}", T0, new_visitor=True) for i in range(3)]
    assert [g.tracking_number_id for g in granted] == [numbers[0].pk, numbers[1].pk, fallback.pk]
    assert granted[2].overflow
    numbers[0].refresh_from_db()
    assert numbers[0].lease_ends_at == T0 + plan.hold
    recycling = PoolPlan.of(Pool.objects.get(pk=plan.pool_id), eligible=None)
    recycling = dataclasses.replace(recycling, recycle_oldest=True)
    again = store.acquire(recycling, "v3", "s3", T0 + MIN, new_visitor=True)
    assert again.recycled and again.tracking_number_id == numbers[0].pk
