"""The Redis lease store: the same contract as ``SqlLeaseStore`` (see ``leases.py``), kept in Redis.

Pool configuration (which numbers are active in a pool, the fallback number) stays in the database;
Redis holds only lease state, changed by the Lua scripts of ``leases_redis_lua.py``. Under load, new
visitors are leased numbers this process reserved ahead and their leases written behind, as in the
SQL store (``reservations.py``, ``RedisBackend``), and their rate-limit hits and first touches are
sent behind too (``lib/redis_behind.py``): no round trip to Redis on their page views. A later
page view of a visit this process leased or extended is answered from its memory of the lease for
up to half the hold, its extension sent behind (``leases.recent_grant``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import redis

from ringtrail.dni.leases import (
    Gate,
    Grant,
    Holder,
    PoolPlan,
    recent_grant,
    remember_recent,
    take_reserved,
    unwritten_grant,
    writes_behind,
)
from ringtrail.dni.leases_redis_lua import (
    ACQUIRE,
    GATED_ACQUIRE,
    HOLDERS,
    RECENT,
    RESERVE,
    RETURNING,
    SYNC,
    TOUCH,
    UNRESERVE,
    WRITE_LEASES,
)
from ringtrail.dni.reservations import Reservations, Reserved
from ringtrail.lib.redis_behind import Behind, behind_for
from ringtrail.lib.redis_client import run_script
from ringtrail.numbers.models import NumberState, TrackingNumber

DEFAULT_PREFIX = "rt:dni:"
# Lease history answers "who held this number then?" for calls arriving up to a week after a visit.
RETENTION_SECONDS = 7 * 24 * 3600
# History entries are trimmed by start; generous so that a very long-lived lease is not dropped.
HISTORY_TRIM_SECONDS = 30 * 24 * 3600


class RedisLeaseStore:
    """Lease state in Redis, decided atomically by Lua scripts registered once per store."""

    def __init__(
        self, client: redis.Redis, prefix: str = DEFAULT_PREFIX, behind: Behind | None = None
    ) -> None:
        self.prefix = prefix
        self._acquire = client.register_script(ACQUIRE)
        self._gated_acquire = client.register_script(GATED_ACQUIRE)
        self._sync = client.register_script(SYNC)
        self._touch = client.register_script(TOUCH)
        self._holders = client.register_script(HOLDERS)
        self._recent = client.register_script(RECENT)
        self._returning = client.register_script(RETURNING)
        self._client = client
        self.reservations = Reservations(RedisBackend(self, client))
        self.behind = behind or Behind(client)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisLeaseStore:
        return cls(redis.Redis.from_url(url), prefix, behind_for(url))

    def acquire(
        self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime, *, new_visitor: bool = False
    ) -> Grant:
        if new_visitor:
            kept = take_reserved(self.reservations, plan, visitor_id, session_id, now)
        else:
            kept = unwritten_grant(plan, visitor_id, session_id) or recent_grant(
                plan, visitor_id, session_id, now, self._extend_behind
            )
        if kept is not None:
            return kept
        args, eligible, version = self._acquire_args(plan, visitor_id, session_id, now)
        reply = run_script(self._client, self._acquire, args)
        return self._granted(plan, reply, args, eligible, version, (visitor_id, session_id))

    def first_touch_and_lease(
        self, first_touch_key: str, pools_by_source: Mapping[int, int], visitor_id: str
    ) -> tuple[int | None, VisitorLease | None]:
        """A returning visitor's first-touch source as remembered at ``first_touch_key`` (None:
        not remembered; 0: no source), and the visitor's latest lease in that source's pool, in one
        read-only round trip: asked one after the other, they were two."""
        args: list[str | int] = [self.prefix, first_touch_key, visitor_id]
        for source_id, pool_id in pools_by_source.items():
            args += [source_id, pool_id]
        reply = run_script(self._client, self._returning, args)
        if not reply:
            return None, None
        first = int(reply[0])
        if len(reply) < 6:
            return first, None
        pool, number, session, ends, recycled = reply[1:6]
        lease = VisitorLease(int(pool), int(number), session.decode(), float(ends), bool(int(recycled or 0)))
        return first, lease

    def _extend_behind(self, plan: PoolPlan, session_id: str, now: dt.datetime) -> None:
        """A page view's extension of its visit's leases, as a heartbeat's, with the next flush."""
        self.behind.send_script(self._touch, self._touch_args(plan.account_id, session_id, now))

    def acquire_gated(
        self,
        plan: PoolPlan,
        visitor_id: str,
        session_id: str,
        now: dt.datetime,
        gate: Gate,
        *,
        new_visitor: bool = False,
    ) -> Grant | None:
        """``acquire``, after counting the gate's rate-limit hits and running its command (remember
        the first touch) in the same script: one round trip instead of two. None, and no lease,
        when a counter is over its limit. Where writes may go behind (``writes_behind``), the gate
        is sent behind instead (``Behind``) and the lease script needs no gate: a new visitor given
        a reserved number, or another page view of a visit whose lease is not written yet, then
        costs no round trip at all."""
        if writes_behind():
            if not self.behind.gate(gate.counters, gate.counter_ttl, gate.command):
                return None
            return self.acquire(plan, visitor_id, session_id, now, new_visitor=new_visitor)
        args, eligible, version = self._acquire_args(plan, visitor_id, session_id, now)
        gated: list[str | bytes | int | float] = [*args, gate.counter_ttl, len(gate.counters)]
        for name, limit in gate.counters:
            gated += [name, limit]
        gated += gate.command
        reply = run_script(self._client, self._gated_acquire, gated)
        if reply and int(reply[0]) == -2:
            return None
        return self._granted(plan, reply, args, eligible, version)

    def _acquire_args(
        self, plan: PoolPlan, visitor_id: str, session_id: str, now: dt.datetime
    ) -> tuple[list[str | int], tuple[int, ...], str]:
        eligible, version = _availability(plan)
        cooldown = plan.cooldown.total_seconds()
        times = (now.timestamp(), plan.hold.total_seconds(), cooldown)
        args: list[str | int] = [self.prefix, plan.pool_id, visitor_id, session_id, plan.account_id]
        args += [repr(t) for t in times]
        args += [int(plan.recycle_oldest), RETENTION_SECONDS, HISTORY_TRIM_SECONDS, version]
        args.append(repr(plan.extend_after.total_seconds()))
        return args, eligible, version

    def _granted(
        self,
        plan: PoolPlan,
        reply: Any,
        args: list[str | int],
        eligible: tuple[int, ...],
        version: str,
        visit: tuple[str, str] | None = None,
    ) -> Grant:
        """The script's answer as a grant; for a ``visit`` (visitor, session), remembered with the
        moment its lease was created or extended (``remember_recent``)."""
        if reply and int(reply[0]) == -1:
            # The pool's numbers or cool-down changed since the availability set was built. The
            # retry is ungated: a gated script counts its hits before it checks the version.
            self.sync(plan, eligible, version)
            reply = run_script(self._client, self._acquire, args)
        if not reply or int(reply[0]) == -1:
            return Grant(plan.fallback_number_id, overflow=True)
        grant = Grant(int(reply[0]), recycled=bool(reply[1]))
        if visit is not None and len(reply) > 2:  # the lease's end: made or extended at end - hold
            remember_recent(plan, *visit, grant, float(reply[2]) - plan.hold.total_seconds())
        return grant

    def sync(self, plan: PoolPlan, eligible: tuple[int, ...], version: str) -> None:
        """Rebuild the pool's availability set for its eligible numbers and cool-down."""
        cooldown = repr(plan.cooldown.total_seconds())
        self._sync(args=[self.prefix, plan.pool_id, version, cooldown, RETENTION_SECONDS, *eligible])

    def touch(self, account_id: int, session_id: str, now: dt.datetime) -> int:
        return int(run_script(self._client, self._touch, self._touch_args(account_id, session_id, now)))

    def _touch_args(self, account_id: int, session_id: str, now: dt.datetime) -> list[str | int]:
        return [self.prefix, account_id, session_id, repr(now.timestamp()), RETENTION_SECONDS]

    def holders(self, tracking_number_id: int, at: dt.datetime) -> list[Holder]:
        rows = self._holders(args=[self.prefix, tracking_number_id, repr(at.timestamp())])
        return [
            Holder(session.decode(), visitor.decode(), bool(recycled)) for session, visitor, recycled in rows
        ]

    def recent_holders(self, tracking_number_id: int, before: dt.datetime, limit: int) -> list[str]:
        rows = self._recent(args=[self.prefix, tracking_number_id, repr(before.timestamp()), limit])
        return [session.decode() for session in rows]

    def live_count(self, pool_id: int, now: dt.datetime) -> int:
        # p:{pool}:ends scores each number by its latest lease end: live leases end after now
        # (and numbers a process holds reserved, a second or two of its new visitors).
        return int(self._client.zcount(f"{self.prefix}p:{pool_id}:ends", f"({now.timestamp()!r}", "+inf"))

    def visitor_pool(self, visitor_id: str, pool_ids: Sequence[int], now: dt.datetime) -> int | None:
        pools = list(pool_ids)
        if not pools:
            return None
        latest = self._client.mget([f"{self.prefix}p:{pool}:v:{visitor_id}" for pool in pools])
        held = [(pool, lease) for pool, lease in zip(pools, latest, strict=True) if lease is not None]
        if not held:
            return None
        pipe = self._client.pipeline(transaction=False)
        for _, lease in held:
            pipe.hget(f"{self.prefix}lease:{int(lease)}", "end")
        ends = [(float(end), pool) for (pool, _), end in zip(held, pipe.execute(), strict=True) if end]
        live = [(end, pool) for end, pool in ends if end > now.timestamp()]
        return max(live)[1] if live else None


@dataclass(frozen=True)
class VisitorLease:
    """A visitor's latest lease in a pool, as Redis held it: it may have ended."""

    pool_id: int
    number_id: int
    session_id: str
    ends: float  # epoch seconds
    recycled: bool


class RedisBackend:
    """Reservations (``reservations.Backend``) kept in the Redis store's keys: each call is one
    script, atomic on its own, so a pass needs no transaction around them."""

    # A reservation marks its numbers for the hold time only: the lease script marks each number
    # again with its lease's end, as it records the number's history.
    cover = dt.timedelta(0)

    def __init__(self, store: RedisLeaseStore, client: redis.Redis) -> None:
        self._store = store
        self._reserve = client.register_script(RESERVE)
        self._unreserve = client.register_script(UNRESERVE)
        self._write = client.register_script(WRITE_LEASES)
        self._cooldowns: dict[int, str] = {}  # pool → cool-down, for the leases of its reservations

    def turn(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def reserve(
        self, plan: PoolPlan, wanted: int, now: dt.datetime, mark: dt.datetime, headroom: int
    ) -> list[Reserved]:
        eligible, version = _availability(plan)
        cooldown = plan.cooldown.total_seconds()
        self._cooldowns[plan.pool_id] = repr(cooldown)
        times = [repr(t) for t in (now.timestamp(), mark.timestamp(), cooldown)]
        args: list[str | int] = [self._store.prefix, plan.pool_id, version, *times, wanted, headroom]
        reply = self._reserve(args=args)
        if reply == -1:
            self._store.sync(plan, eligible, version)
            reply = self._reserve(args=args)
        if not isinstance(reply, list):
            return []
        pairs = zip(reply[0::2], reply[1::2], strict=True)
        return [Reserved(int(number), float(before) if before else None) for number, before in pairs]

    def write_leases(self, leases: list[dict[str, Any]]) -> None:
        args: list[str | int] = [self._store.prefix, RETENTION_SECONDS, HISTORY_TRIM_SECONDS]
        for lease in leases:
            args += [lease["pool"], lease["tracking_number"], lease["visitor_id"], lease["session_id"]]
            args += [lease["account"], *(repr(lease[at].timestamp()) for at in ("started_at", "ends_at"))]
            args += [self._cooldowns.get(lease["pool"], "0.0"), int(lease["recycled"])]
        self._write(args=args)

    def unreserve(self, plan: PoolPlan, numbers: list[Reserved], mark: dt.datetime) -> None:
        args: list[str | int] = [self._store.prefix, plan.pool_id, repr(mark.timestamp())]
        args.append(repr(plan.cooldown.total_seconds()))
        for number in numbers:
            args += [number.number_id, "" if number.previous_end is None else repr(number.previous_end)]
        self._unreserve(args=args)


def _availability(plan: PoolPlan) -> tuple[tuple[int, ...], str]:
    """The pool's eligible numbers and the version of the availability set they make."""
    eligible = plan.eligible if plan.eligible is not None else _eligible(plan.pool_id)
    return eligible, _version(eligible, plan.cooldown.total_seconds())


def _eligible(pool_id: int) -> tuple[int, ...]:
    """The pool's numbers that may be handed out, read fresh so draining takes effect at once."""
    numbers = TrackingNumber.objects.filter(pool_id=pool_id, state=NumberState.ACTIVE).order_by("pk")
    return tuple(numbers.values_list("pk", flat=True))


# By the eligible tuple's id: hashing a pool's few thousand numbers on every page view cost a tenth
# of the request. Each entry holds its tuple, so no other tuple can take that id while it is cached.
_versions: dict[int, tuple[tuple[int, ...], float, str]] = {}


def _version(eligible: tuple[int, ...], cooldown: float) -> str:
    """A short digest of what the availability set must hold; memoised, the config rarely changes."""
    cached = _versions.get(id(eligible))
    if cached is not None and cached[0] is eligible and cached[1] == cooldown:
        return cached[2]
    if len(_versions) > 256:
        _versions.clear()
    digest = hashlib.blake2b(",".join(map(str, eligible)).encode(), digest_size=12).hexdigest()
    version = f"{cooldown!r}:{digest}"
    _versions[id(eligible)] = (eligible, cooldown, version)
    return version
