"""Lease stores: who holds which pool number, and when (DESIGN.md §4, DNI allocator).

One contract, several stores (SQL here; Redis in ``leases_redis``), chosen by ``DNI_LEASE_STORE``.
Rules every store follows:
- sticky: a visitor whose lease still lives keeps its number, and the lease is extended;
- new leases take the number whose last lease ended longest ago and whose cool-down is over,
  so a number shown to one visitor is not shown to the next one straight away;
- a number is held by at most one live lease (atomic under concurrency);
- draining or released numbers are never handed out;
- exhausted: the pool's fallback number, flagged overflow — or, when the pool opts in, the number
  held longest is recycled and its leases marked so later matches are called ambiguous.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ringtrail.dni import lease_sql, reservations
from ringtrail.dni.models import Lease, Pool
from ringtrail.dni.reservations import Reservations
from ringtrail.lib import driver_sql
from ringtrail.lib.bounded import Memory, put_bounded
from ringtrail.lib.hot_settings import setting
from ringtrail.numbers.models import NumberState
from ringtrail.visits.buffer import buffer
from ringtrail.visits.hits import ExtensionHit

# A page view's extension of a lease that still runs this long is written behind, by the visit
# buffer: far longer than a flush interval, so the lease cannot end before its extension is written.
EXTEND_BEHIND_MARGIN = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class PoolPlan:
    pool_id: int
    account_id: int
    hold: dt.timedelta
    cooldown: dt.timedelta
    recycle_oldest: bool
    fallback_number_id: int | None
    # The pool's numbers that may be handed out, when the caller already knows them (the cached
    # per-account config); None means "read them from the database". The SQL store always reads.
    eligible: tuple[int, ...] | None = None
    # A page view of the same visit leaves its lease as it is when the lease still ends at least
    # hold - extend_after from now (it was extended less than extend_after ago).
    extend_after: dt.timedelta = dt.timedelta(0)

    @classmethod
    def of(cls, pool: Pool, eligible: tuple[int, ...] | None = None) -> PoolPlan:
        return cls(
            pool.pk,
            pool.account_id,
            dt.timedelta(minutes=pool.hold_minutes),
            dt.timedelta(minutes=pool.cooldown_minutes),
            pool.recycle_oldest,
            pool.fallback_number_id,
            eligible,
            dt.timedelta(seconds=float(getattr(settings, "DNI_LEASE_EXTEND_AFTER_SECONDS", 0.0))),
        )

    def lease_row(
        self, number_id: int, visitor_id: str, session_id: str, now: dt.datetime, recycled: bool = False
    ) -> dict[str, Any]:
        """A new lease on one of the pool's numbers, keyed by ``lease_sql.LEASE_COLUMNS``."""
        return {
            "account": self.account_id,
            "pool": self.pool_id,
            "tracking_number": number_id,
            "visitor_id": visitor_id,
            "session_id": session_id,
            "started_at": now,
            "last_seen_at": now,
            "ends_at": now + self.hold,
            "recycled": recycled,
        }

    def extended_lately(self, now: dt.datetime) -> dt.datetime:
        """A lease of this pool ending at or after this was extended less than ``extend_after`` ago."""
        return now + self.hold - self.extend_after


@dataclass(frozen=True)
class Grant:
    tracking_number_id: int | None
    overflow: bool = False
    recycled: bool = False


@dataclass(frozen=True)
class Gate:
    """What a store that shares a server with the rate limits can do in the lease's round trip:
    count these (counter, limit) hits, each kept ``counter_ttl`` seconds, and run ``command``."""

    counters: tuple[tuple[str, int], ...]
    counter_ttl: int
    command: tuple[str | bytes | int | float, ...] = ()


@dataclass(frozen=True)
class Holder:
    session_id: str
    visitor_id: str
    recycled: bool


class LeaseStore(Protocol):
    def acquire(
        self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime, *, new_visitor: bool = False
    ) -> Grant:
        """The visitor's number in the pool. ``new_visitor``: the visitor id was made for this
        request, so it holds no lease yet and a store may skip looking for one."""
        ...

    def touch(self, account_id: int, session_id: str, now: dt.datetime) -> int: ...

    def holders(self, tracking_number_id: int, at: dt.datetime) -> list[Holder]: ...

    def recent_holders(self, tracking_number_id: int, before: dt.datetime, limit: int) -> list[str]:
        """Sessions whose leases on the number had ended by ``before``, latest first (late callers)."""
        ...

    def live_count(self, pool_id: int, now: dt.datetime) -> int: ...

    def visitor_pool(self, visitor_id: str, pool_ids: Sequence[int], now: dt.datetime) -> int | None:
        """The pool, among ``pool_ids``, in which the visitor holds a live lease (the latest-ending
        one if several): what a returning visitor's first touch was, before it is written down."""
        ...


class SqlLeaseStore:
    """Leases as rows; one transaction per acquisition. A number is claimed by the statement that
    picks it (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so acquisitions in one pool run side by
    side; SQLite's write transactions are serial anyway). Recycling, which takes a live lease's
    number, still holds the pool's row lock. Under load, new visitors are leased numbers this
    process reserved ahead, their leases written by a thread of the process (``reservations.py``),
    and page views' extensions of live leases are written by the visit buffer."""

    def __init__(self) -> None:
        self.reservations = Reservations()

    def acquire(
        self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime, *, new_visitor: bool = False
    ) -> Grant:
        if new_visitor:
            kept = take_reserved(self.reservations, plan, visitor_id, session_id, now)
        else:
            # Another page view of the visit: nothing to write now, so no turn at the write lock,
            # when its lease is not written yet, was extended lately, or may be extended behind.
            kept = (
                unwritten_grant(plan, visitor_id, session_id)
                or recent_grant(plan, visitor_id, session_id, now)
                or self._kept_as_it_is(plan, visitor_id, session_id, now)
            )
        if kept is not None:
            return kept
        granted = self._acquire_now(plan, visitor_id, session_id, now, new_visitor)
        remember_recent(plan, visitor_id, session_id, granted, now.timestamp())
        return granted

    def _acquire_now(
        self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime, new_visitor: bool
    ) -> Grant:
        """The acquisition in one write transaction: the visitor's lease found again under the write
        lock and extended, or a new one on a free (else recycled) number, else the fallback."""
        # SQLite serialises the transaction anyway; the gate makes concurrent ones queue, not sleep.
        with lease_sql.write_transaction():
            # Read again under the write lock: the read above may predate another process's write.
            kept = None if new_visitor else self._sticky(plan, visitor_id, session_id, now)
            if kept is not None:
                return kept
            number_id = lease_sql.claim_free_number(plan.pool_id, now - plan.cooldown, now + plan.hold)
            if number_id is not None:
                self._lease(plan, number_id, visitor_id, session_id, now, recycled=False, mark=False)
                return Grant(number_id)
            if plan.recycle_oldest:
                # Taking a live lease's number: one recycler per pool at a time (PostgreSQL).
                lease_sql.lock_pool(plan.pool_id)
                recycled = self._recycle(plan, visitor_id, session_id, now)
                if recycled is not None:
                    return recycled
        return Grant(plan.fallback_number_id, overflow=True)

    def touch(self, account_id: int, session_id: str, now: dt.datetime) -> int:
        live = Lease.objects.filter(
            account_id=account_id, session_id=session_id, ends_at__gt=now
        ).select_related("pool")
        for lease in live:
            lease.last_seen_at = now
            lease.ends_at = now + dt.timedelta(minutes=lease.pool.hold_minutes)
            lease.save(update_fields=["last_seen_at", "ends_at"])
            lease_sql.mark_number(lease.tracking_number_id, lease.ends_at)
        return len(live)

    def holders(self, tracking_number_id: int, at: dt.datetime) -> list[Holder]:
        leases = Lease.objects.filter(
            tracking_number_id=tracking_number_id, started_at__lte=at, ends_at__gt=at
        ).order_by("started_at")
        return [Holder(lease.session_id, lease.visitor_id, lease.recycled) for lease in leases]

    def recent_holders(self, tracking_number_id: int, before: dt.datetime, limit: int) -> list[str]:
        leases = Lease.objects.filter(tracking_number_id=tracking_number_id, ends_at__lte=before).order_by(
            "-ends_at"
        )
        return list(leases.values_list("session_id", flat=True)[:limit])

    def live_count(self, pool_id: int, now: dt.datetime) -> int:
        return Lease.objects.filter(pool_id=pool_id, ends_at__gt=now).count()

    def visitor_pool(self, visitor_id: str, pool_ids: Sequence[int], now: dt.datetime) -> int | None:
        live = Lease.objects.filter(pool_id__in=pool_ids, visitor_id=visitor_id, ends_at__gt=now)
        return live.order_by("-ends_at").values_list("pool_id", flat=True).first()

    @staticmethod
    def _kept_as_it_is(plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime) -> Grant | None:
        """The grant of another page view of the visit that needs no write now: its lease was
        extended lately, or the extension can be written behind (the lease outlives the write)."""
        found = lease_sql.sticky_lease(
            plan.pool_id, visitor_id, now, plan.extended_lately(now), now + EXTEND_BEHIND_MARGIN
        )
        if found is None or found.session_id != session_id:
            return None
        if not found.extended_lately:
            if not (found.outlives and writes_behind()):
                return None
            buffer.add(ExtensionHit(found.lease_id, found.number_id, now, now + plan.hold))
            grant = Grant(found.number_id, recycled=found.recycled)
            remember_recent(plan, visitor_id, session_id, grant, now.timestamp())
            return grant
        return Grant(found.number_id, recycled=found.recycled)

    def _sticky(self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime) -> Grant | None:
        found = lease_sql.sticky_lease(plan.pool_id, visitor_id, now, plan.extended_lately(now), now)
        if found is None:
            return None
        if found.session_id != session_id:
            # Same visitor, new visit: the number stays, the new session gets its own lease history.
            lease_sql.end_lease(found.lease_id, now)
            self._lease(plan, found.number_id, visitor_id, session_id, now, recycled=found.recycled)
        elif not found.extended_lately:
            lease_sql.extend_lease(found.lease_id, now, now + plan.hold)
            lease_sql.mark_number(found.number_id, now + plan.hold)
        return Grant(found.number_id, recycled=found.recycled)

    def _recycle(self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime) -> Grant | None:
        oldest = (
            Lease.objects.filter(
                pool_id=plan.pool_id, ends_at__gt=now, tracking_number__state=NumberState.ACTIVE
            )
            .order_by("last_seen_at", "pk")
            .first()
        )
        if oldest is None:
            return None
        Lease.objects.filter(pk=oldest.pk).update(ends_at=now, recycled=True)
        self._lease(plan, oldest.tracking_number_id, visitor_id, session_id, now, recycled=True)
        return Grant(oldest.tracking_number_id, recycled=True)

    @staticmethod
    def _lease(
        plan: PoolPlan,
        number_id: int,
        visitor_id: str,
        session_id: str,
        now: dt.datetime,
        recycled: bool,
        mark: bool = True,
    ) -> None:
        lease_sql.insert_lease(plan.lease_row(number_id, visitor_id, session_id, now, recycled))
        if mark:  # a claimed number is marked already
            lease_sql.mark_number(number_id, now + plan.hold)


def take_reserved(
    reserved: Reservations, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime
) -> Grant | None:
    """A new visitor's number from the process's reservations, its lease written behind; None
    when none is held or the pool is not reserved for (lease the usual way)."""
    most = reserving(plan)
    number_id = reserved.take(plan, most, now) if most else None
    if number_id is None:
        return None
    reserved.lease_behind(plan, number_id, visitor_id, session_id, now)
    grant = Grant(number_id)
    remember_recent(plan, visitor_id, session_id, grant, now.timestamp())
    return grant


def unwritten_grant(plan: PoolPlan, visitor_id: str, session_id: str) -> Grant | None:
    """The number of the visit's lease that this process handed out and has not written yet."""
    number_id = reservations.unwritten(plan.pool_id, visitor_id, session_id)
    return None if number_id is None else Grant(number_id)


# Leases this process created or extended, by (pool, visitor): (number, session, recycled, known,
# sent), times in epoch seconds. ``known``: when the store last created or extended the lease as far
# as this process learnt, so it lives until at least ``known`` + hold unless something ends it
# early. ``sent``: when this process last extended it, or sent its extension behind. Another page
# view of the visit within ``extend_after`` of ``sent`` leaves the lease as it is in any store, so
# this process answers it without asking the store.
_recent: Memory[tuple[int, str], tuple[int, str, bool, float, float]] = Memory()
RECENT_MAX = 100_000
# Past ``extend_after``, a store that can send the extension behind (``ExtendBehind``) still answers
# from memory while less than this share of the hold has passed since ``known``: the lease outlives
# that by the rest of its hold even if every extension sent behind were lost.
TRUSTED_SHARE_OF_HOLD = 0.5
# Sends the extension of the session's live leases (as a heartbeat does) with a later write.
ExtendBehind = Callable[[PoolPlan, str, dt.datetime], None]


def remember_recent(plan: PoolPlan, visitor_id: str, session_id: str, grant: Grant, extended: float) -> None:
    """Note a grant whose lease was created or extended at ``extended`` (epoch seconds); only
    ``recent_grant`` asks whether writes may go behind, so an acquisition asks once, not twice."""
    if grant.tracking_number_id is None or grant.overflow:
        return
    remembered = (grant.tracking_number_id, session_id, grant.recycled, extended, extended)
    put_bounded(_recent, (plan.pool_id, visitor_id), remembered, RECENT_MAX)


def recent_grant(
    plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime, extend: ExtendBehind | None = None
) -> Grant | None:
    """Another page view of a visit whose lease this process created or extended less than
    ``extend_after`` ago: the store would leave it as it is, so its number without asking. Later,
    with ``extend``, while the lease surely lives (``TRUSTED_SHARE_OF_HOLD``): its number, the
    extension sent behind. Not for a pool that recycles (a recycled lease ends early), nor for a
    number no longer eligible, nor where writes may not go behind (tests, transactions, the
    simulated clock)."""
    found = _recent.get((plan.pool_id, visitor_id))
    if found is None or found[1] != session_id or plan.recycle_oldest:
        return None
    number_id, _, recycled, known, sent = found
    at = now.timestamp()
    lately = 0 <= at - sent < plan.extend_after.total_seconds()
    if not lately and (extend is None or not _surely_lives(plan, known, at)):
        return None
    if plan.eligible is not None and number_id not in reservations.eligible_set(plan.eligible):
        return None
    if not writes_behind():
        return None
    if not lately and extend is not None:
        extend(plan, session_id, now)
        _recent[(plan.pool_id, visitor_id)] = (number_id, session_id, recycled, known, at)
    return Grant(number_id, recycled=recycled)


def _surely_lives(plan: PoolPlan, known: float, at: float) -> bool:
    return 0 <= at - known < plan.hold.total_seconds() * TRUSTED_SHARE_OF_HOLD


def forget_recent_grants() -> None:
    """Start afresh (tests: pool ids repeat across test databases)."""
    _recent.clear()


def reserving(plan: PoolPlan) -> int:
    """How many numbers a process may reserve for the pool (``DNI_LEASE_RESERVE``), 0 where every
    new lease must be written before the answer."""
    most = int(setting("DNI_LEASE_RESERVE", 0))
    return most if most > 0 and plan.eligible and writes_behind() else 0


def writes_behind() -> bool:
    """Whether a lease or its extension may be written after the answer: not inside a
    transaction, not with the visit buffer off, and not under the simulated clock (its calls follow
    page views by less than a flush interval)."""
    if setting("SIMULATED_CLOCK", False):
        return False
    if float(setting("DNI_RECORD_FLUSH_SECONDS", 0.0)) <= 0:
        return False
    return driver_sql.outside_transactions()


_stores: dict[tuple[str, str], LeaseStore] = {}


def lease_store() -> LeaseStore:
    """The store chosen by ``DNI_LEASE_STORE``, one per process (the Redis client is thread-safe)."""
    kind = setting("DNI_LEASE_STORE", "sql")
    url = setting("REDIS_URL", "") or ""
    store = _stores.get((kind, url))
    if store is None:
        store = _stores[(kind, url)] = _build(kind, url)
    return store


def _build(kind: str, url: str) -> LeaseStore:
    if kind == "sql":
        return SqlLeaseStore()
    if kind == "redis" and url:
        from ringtrail.dni.leases_redis import RedisLeaseStore  # here: it imports this module

        return RedisLeaseStore.from_url(url)
    raise ImproperlyConfigured(f"DNI_LEASE_STORE={kind!r} needs 'sql', or 'redis' with REDIS_URL set")
