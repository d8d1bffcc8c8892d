"""With the rate limits and the leases in one Redis, a new visitor's gate and lease are one round
trip; what the two-step path guarantees still holds: floods get the fallback, first touches stick."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.test import Client

from ringtrail.dni import leases
from ringtrail.dni.leases_redis import RedisLeaseStore
from ringtrail.dni.leases_redis_lua import RETURNING
from ringtrail.dni.session import drop_counts
from ringtrail.dni.tests.support import BROWSER, TARGET, Site, make_site, post, visit
from ringtrail.lib import clock, redis_client
from ringtrail.lib.redis_behind import Behind, behind_for
from ringtrail.testing_wsgi import FRONTS, front_client
from ringtrail.visits.actions import forget_local_first_sources
from ringtrail.visits.buffer import buffer

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    return front_client(request.param)


@pytest.fixture
def redis_store(settings: Any) -> Iterator[RedisLeaseStore]:
    """Rate limits, first touches and leases in the same Redis; leases under a prefix of their own
    (pool ids repeat across test databases)."""
    settings.REDIS_URL, settings.DNI_LEASE_STORE = REDIS_URL, "redis"
    settings.DNI_RECORD_FLUSH_SECONDS = 30  # nothing reaches the database during the test
    client = redis.Redis.from_url(REDIS_URL)
    store = RedisLeaseStore(client, f"rt-test:{uuid.uuid4().hex}:")
    leases._stores[("redis", REDIS_URL)] = store
    try:
        yield store
    finally:
        leases._stores.pop(("redis", REDIS_URL), None)
        keys = list(client.scan_iter(match=f"{store.prefix}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def count_round_trips(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    sent: list[int] = []
    real = redis_client.round_trip

    def counted(client: redis.Redis, commands: Any) -> list[Any]:
        sent.append(len(commands))
        return real(client, commands)

    monkeypatch.setattr(redis_client, "round_trip", counted)
    monkeypatch.setattr("ringtrail.dni.session.round_trip", counted)
    return lambda: len(sent)


def test_a_new_visitor_costs_one_round_trip(
    site: Site, redis_store: RedisLeaseStore, count_round_trips: Callable[[], int]
) -> None:
    client = Client(REMOTE_ADDR=_fresh_ip())
    post(client, site, visit())  # loads the script into Redis
    before = count_round_trips()
    answer = post(client, site, visit()).json()
    assert count_round_trips() - before == 1
    assert answer["swaps"][TARGET]["number"] in {n.number for n in site.numbers}


def test_a_returning_visitor_this_process_remembers_costs_one_round_trip(
    site: Site, redis_store: RedisLeaseStore, count_round_trips: Callable[[], int]
) -> None:
    client = Client(REMOTE_ADDR=_fresh_ip())
    first = post(client, site, visit()).json()
    before = count_round_trips()
    inner = {"visitor": first["visitor"], "session": first["session"]}
    second = post(client, site, visit("https://acme.test/pricing", referrer="https://acme.test/", **inner))
    assert count_round_trips() - before == 1
    assert second.json()["swaps"] == first["swaps"]


def test_the_first_touch_sticks_from_redis(site: Site, redis_store: RedisLeaseStore) -> None:
    client = Client(REMOTE_ADDR=_fresh_ip())
    first = post(client, site, visit()).json()
    forget_local_first_sources()
    redis_store.visitor_pool = lambda *args: None  # type: ignore[method-assign]  # not the lease fallback
    inner = {"visitor": first["visitor"], "session": first["session"]}
    second = post(client, site, visit("https://acme.test/pricing", referrer="https://acme.test/", **inner))
    assert second.json()["swaps"] == first["swaps"]


def test_a_flood_gets_the_fallback_and_takes_no_number(
    site: Site, redis_store: RedisLeaseStore, settings: Any
) -> None:
    settings.DNI_RATE_PER_IP_PER_MINUTE = 1
    client = Client(REMOTE_ADDR=_fresh_ip())
    before = drop_counts(site.wired.account)
    answers = [post(client, site, visit()) for _ in range(3)]
    assert all(answer.status_code == 200 for answer in answers)
    numbers = [answer.json()["swaps"][TARGET]["number"] for answer in answers]
    assert numbers[0] in {n.number for n in site.numbers}
    assert numbers[1:] == [site.wired.tracking.number] * 2
    assert redis_store.live_count(site.pool.pk, clock.now()) == 1
    after = drop_counts(site.wired.account)
    assert after["rate_limited"] - before["rate_limited"] == 2


def test_redis_down_answers_the_fallback(site: Site, settings: Any) -> None:
    dead = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.REDIS_URL, settings.DNI_LEASE_STORE = dead, "redis"
    answer = post(Client(), site, visit())
    assert (
        answer.status_code == 200 and answer.json()["swaps"][TARGET]["number"] == site.wired.tracking.number
    )


@pytest.mark.parametrize("flush_seconds", [0, 30], ids=["written-at-once", "written-behind"])
def test_redis_down_answers_a_returning_visitor_the_fallback(
    transactional_db: None, settings: Any, flush_seconds: int
) -> None:
    """Neither Redis nor the database knows the visitor's first touch: the page still gets the
    fallback number of this visit's source, never an error."""
    site = make_site()
    settings.REDIS_URL, settings.DNI_LEASE_STORE = "redis://127.0.0.1:9/0", "redis"
    settings.DNI_RECORD_FLUSH_SECONDS = flush_seconds
    try:
        web = Client()
        answer = post(web, site, visit(visitor="v_unknown", session="s_unknown"))
        assert answer.status_code == 200
        assert answer.json()["swaps"][TARGET]["number"] == site.wired.tracking.number
        beat = post(web, site, {"visitor": "v_unknown", "session": "s_unknown"}, path="touch")
        assert beat.status_code == 204
        amp = web.get(
            f"/dni/v1/{site.key}/amp",
            {"client": "amp-x", "url": "https://acme.test/amp?gclid=1"},
            HTTP_USER_AGENT=BROWSER,
        )
        assert amp.status_code == 200 and set(amp.json()) == {"phoneNumber", "formattedPhoneNumber"}
    finally:
        buffer.discard()


def _fresh_ip() -> str:
    # Rate-limit counters live for a minute in the shared Redis: each test counts from zero.
    return "10." + ".".join(str(secrets.randbelow(250)) for _ in range(3))


def test_with_the_sql_store_and_writes_behind_only_a_returning_visitors_first_touch_is_a_round_trip(
    transactional_db: None, settings: Any, sends: Callable[[], int]
) -> None:
    """Leases in the database, rate limits and first touches in Redis: where writes may go behind,
    the hits and a new visitor's first touch are sent behind; a returning visitor's first touch,
    when this process does not remember it, is the one round trip left."""
    site = make_site()
    settings.REDIS_URL, settings.DNI_LEASE_STORE = REDIS_URL, "sql"
    settings.DNI_RECORD_FLUSH_SECONDS = 30
    settings.DNI_RATE_PER_IP_PER_MINUTE = 2
    web = Client(REMOTE_ADDR=_fresh_ip())
    _away_from_a_window_edge()
    try:
        before = sends()
        first = post(web, site, visit()).json()
        assert sends() == before
        assert first["swaps"][TARGET]["number"] in {n.number for n in site.numbers}
        behind_for(REDIS_URL).flush()
        key = f"rt:first-source:{site.wired.account.pk}:{first['visitor']}"
        remembered = redis.Redis.from_url(REDIS_URL).get(key)
        assert remembered is not None and int(remembered) == site.paid.pk

        forget_local_first_sources()  # as if another process answered the first page
        inner = {"visitor": first["visitor"], "session": first["session"]}
        before = sends()
        second = post(web, site, visit("https://acme.test/pricing", referrer="https://acme.test/", **inner))
        assert sends() == before + 1 and second.json()["swaps"] == first["swaps"]
        # The third page view in a minute from this address, with a number free in the pool: limited.
        third = post(web, site, visit()).json()
        assert third["swaps"][TARGET]["number"] == site.wired.tracking.number
    finally:
        buffer.discard()


def test_with_the_redis_store_and_writes_behind_no_script_counts_a_hit(
    transactional_db: None, settings: Any, redis_store: RedisLeaseStore, sends: Callable[[], int]
) -> None:
    site = make_site()
    settings.DNI_RATE_PER_IP_PER_MINUTE = 2
    redis_store.behind = Behind(redis.Redis.from_url(REDIS_URL), background=False)  # flushed when told
    web = Client(REMOTE_ADDR=_fresh_ip())
    _away_from_a_window_edge()
    try:
        first = post(web, site, visit()).json()
        inner = {"visitor": first["visitor"], "session": first["session"]}
        before = sends()
        second = post(web, site, visit("https://acme.test/pricing", referrer="https://acme.test/", **inner))
        # Its lease made here seconds ago, its first touch remembered here: no round trip at all.
        assert sends() == before and second.json()["swaps"] == first["swaps"]
        third = post(web, site, visit("https://acme.test/about", referrer="https://acme.test/", **inner))
        assert third.json()["swaps"][TARGET]["number"] == site.wired.tracking.number  # limited
        counter = f"rt:rl:dni-key:{site.key}:{int(time.time() // 60)}"
        assert redis.Redis.from_url(REDIS_URL).get(counter) is None  # no hit counted by a script
        redis_store.behind.flush()
        assert int(redis.Redis.from_url(REDIS_URL).get(counter) or 0) == 3
    finally:
        buffer.discard()


def test_a_returning_visitor_another_process_answered_costs_one_round_trip(
    transactional_db: None, settings: Any, redis_store: RedisLeaseStore, sends: Callable[[], int]
) -> None:
    """Another worker answered the visit's last page view: the first touch and the lease are read
    in one round trip, and a lease extended lately needs no script; a new visit still gets one."""
    site = make_site()
    redis_store.behind = Behind(redis.Redis.from_url(REDIS_URL), background=False)  # flushed when told
    redis.Redis.from_url(REDIS_URL).script_load(RETURNING)  # not a round trip of the page view's
    web = Client(REMOTE_ADDR=_fresh_ip())
    try:
        first = post(web, site, visit()).json()
        redis_store.behind.flush()  # the first touch, sent behind, reaches Redis
        _as_if_another_process_answers()
        inner = {"visitor": first["visitor"], "session": first["session"]}
        before = sends()
        second = post(web, site, visit("https://acme.test/pricing", referrer="https://acme.test/", **inner))
        assert sends() == before + 1 and second.json()["swaps"] == first["swaps"]
        # The process now remembers both: the next page view costs nothing.
        before = sends()
        post(web, site, visit("https://acme.test/about", referrer="https://acme.test/", **inner))
        assert sends() == before
        # A new visit of the visitor, on a direct visit: the read, then the lease script, which keeps
        # the number for the new session; the source is still the first touch's.
        _as_if_another_process_answers()
        before = sends()
        third = post(web, site, visit("https://acme.test/", referrer="", visitor=first["visitor"])).json()
        assert sends() == before + 2 and third["swaps"] == first["swaps"]
        assert third["session"] != first["session"]
        number = next(n for n in site.numbers if n.number == first["swaps"][TARGET]["number"])
        assert [h.session_id for h in redis_store.holders(number.pk, clock.now())] == [third["session"]]
    finally:
        buffer.discard()


def _as_if_another_process_answers() -> None:
    forget_local_first_sources()
    leases.forget_recent_grants()


def _away_from_a_window_edge() -> None:
    """Rate-limit counters are per minute: a test that counts to a limit starts well inside one."""
    into = time.time() % 60
    if into > 58:
        time.sleep(60.5 - into)
