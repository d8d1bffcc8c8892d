"""Pool numbers a process reserves ahead under load, so that new visitors' leases are written behind.

Both lease stores do it, each through a ``Backend``: the SQL store's tables (below) or the Redis
store's keys (``leases_redis.RedisBackend``, where a lease script per visitor was the round trip).

Each new visitor's lease was a write transaction of its own, and on SQLite they all queue for the one
writer: at ~1 900 new visitors a second a lease waited about 1 ms for the write lock and held it
0.3 ms, and the lease was half the server's CPU per page view (docs/benchmarks.md). When new visitors
of one pool arrive in a process at ``MIN_RATE`` a second or more, a thread of the process keeps
``AHEAD_SECONDS`` of them reserved: free numbers of the pool taken in the order the store claims
them, each marked leased for the hold time and ``RESERVE_SECONDS`` more (``SqlBackend.cover``). A new
visitor is handed one from memory, never one reserved longer ago than that, so its lease ends before
the number's mark; the same thread writes the leases handed out every ``WRITE_SECONDS``, in the same
transaction as the next refill, and needs no second mark per number. No page view waits for the write
lock then. The visit buffer (``visits/buffer.py``), which can fall seconds behind under load, is not
used: a returning visitor whose first page another process answered finds its first touch through
its lease.

What stays true: a reserved number is marked leased in the database, so no other process takes it,
and no two visitors hold one number. What changes under load: a lease reaches the database about
``WRITE_SECONDS`` after its page view. Meanwhile a returning visitor served by this process finds it
here (``unwritten``); one served by another process gets a number of its own (calls to either match
the visitor's session). No caller dials a number that soon after seeing it. A crash loses at most
that much of such leases; their numbers come back after the hold time and the cool-down. Reserved
numbers nobody was given go back after ``RESERVE_SECONDS``, as they were. Below the rate, inside a
transaction, under the simulated clock, with the visit buffer off, near the end of a pool
(``FREE_HEADROOM``), or when the reserve runs dry, a lease is written before the answer, as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

from django.db import close_old_connections, connection

from ringtrail.dni import lease_sql
from ringtrail.lib import clock
from ringtrail.lib.bounded import Memory, put_bounded
from ringtrail.lib.process_exit import at_process_exit

if TYPE_CHECKING:
    from ringtrail.dni.leases import PoolPlan

log = logging.getLogger(__name__)
Reserved = lease_sql.Reserved
# Below this many new visitors of a pool a second in a process, one write per lease costs little.
MIN_RATE = 10
# A process keeps this much of its new visitors' arrivals reserved, refilled to twice as much once
# it holds less. Under load a refill's turn at the write lock waited up to 0.4 s behind the other
# processes' writes; with 0.2 s reserved the reserve ran dry and page views queued for the lock.
AHEAD_SECONDS = 1.0
# A process never reserves more than this share of a pool (1/20), so small pools never reserve.
POOL_SHARE = 20
# Leftovers of a reservation older than this go back to the pool: longer than a refill of twice
# ``AHEAD_SECONDS`` takes to be handed out.
RESERVE_SECONDS = 4.0
# Leases handed out from reservations are written this often (and whenever more are reserved).
WRITE_SECONDS = 0.05
# Reserve only while the pool has this many times as many free numbers as asked for: near its end a
# process gives back what it holds and leases one at a time, so the pool is shared again.
FREE_HEADROOM = 4
# A lease written behind is remembered here until written, and at most this long.
UNWRITTEN_SECONDS = 60.0
UNWRITTEN_MAX = 100_000
# Leases per write transaction.
MAX_WRITE = 2_000


class Backend(Protocol):
    """Where a store keeps what reservations do: the SQL store's tables (``SqlBackend``) or the
    Redis store's keys (``leases_redis.RedisBackend``)."""

    # How much longer than the hold a reserved number is marked leased: enough that a lease handed
    # out from it ends before the mark (``SqlBackend``), or nothing where a lease written behind
    # marks its number itself (Redis, whose lease script keeps the number's history anyway).
    cover: dt.timedelta

    def turn(self) -> AbstractContextManager[None]:
        """One pass's writes together: the SQL store's write transaction."""
        ...

    def reserve(
        self, plan: PoolPlan, wanted: int, now: dt.datetime, mark: dt.datetime, headroom: int
    ) -> list[Reserved]:
        """Up to ``wanted`` free numbers of the pool at ``now``, in the order a lease takes them,
        each marked leased until ``mark``; none unless ``headroom`` numbers are free."""
        ...

    def write_leases(self, leases: list[dict[str, Any]]) -> None:
        """Leases handed out from reserved numbers (``PoolPlan.lease_row``)."""
        ...

    def unreserve(self, plan: PoolPlan, numbers: list[Reserved], mark: dt.datetime) -> None:
        """Give back reserved numbers still marked until ``mark``, as they were before."""
        ...


class SqlBackend:
    # A lease is handed out at most RESERVE_SECONDS after its number was reserved (``take``), so
    # it ends before this mark: writing it needs no second mark of the number, a turn at SQLite's
    # write lock that cost a third of the reserving thread's statements (docs/benchmarks.md). The
    # second of slack is for the wall clock against the monotonic one that measures the age.
    cover = dt.timedelta(seconds=RESERVE_SECONDS + 1)

    def turn(self) -> AbstractContextManager[None]:
        return lease_sql.write_transaction()

    def reserve(
        self, plan: PoolPlan, wanted: int, now: dt.datetime, mark: dt.datetime, headroom: int
    ) -> list[Reserved]:
        return lease_sql.reserve_numbers(plan.pool_id, now - plan.cooldown, mark, wanted, headroom)

    def write_leases(self, leases: list[dict[str, Any]]) -> None:
        lease_sql.write_leases(leases)

    def unreserve(self, plan: PoolPlan, numbers: list[Reserved], mark: dt.datetime) -> None:
        lease_sql.unreserve_numbers(numbers, mark)


def reservation_size(rate: int, most: int, pool_numbers: int) -> int:
    """How many numbers to keep reserved at ``rate`` new visitors a second in this process; 0
    means lease one at a time (fewer than two would save nothing)."""
    if rate < MIN_RATE:
        return 0
    size = min(most, int(rate * AHEAD_SECONDS), pool_numbers // POOL_SHARE)
    return size if size >= 2 else 0


class ArrivalRate:
    """Arrivals a second: the busier of the last whole window of a second and the current one so
    far (counted over at least ``MIN_WINDOW``), so that a burst is seen within a tenth of a second."""

    MIN_WINDOW = 0.1

    def __init__(self) -> None:
        self._start = 0.0
        self._count = 0
        self._previous = 0.0

    def note(self, now: float) -> None:
        elapsed = now - self._start
        if elapsed >= 1.0:
            self._previous = self._count / elapsed if elapsed < 2.0 else 0.0
            self._start, self._count = now, 0
        self._count += 1

    def per_second(self, now: float) -> int:
        elapsed = now - self._start
        if elapsed >= 2.0:
            return 0
        current = self._count / max(elapsed, self.MIN_WINDOW)
        return int(max(current, self._previous)) if elapsed < 1.0 else int(current)


# A reserved number held in memory: (number id, its lease end before it was reserved, the mark it was
# reserved with, when: the reservations' clock). An exact tuple of plain values, which the cyclic
# collector stops tracking at its first collection; as a dataclass holding a ``Reserved`` it was two
# objects a number in every full collection's walk, ~6 000 in a busy worker (docs/benchmarks.md).
Held = tuple[int, Any, dt.datetime, float]
NUMBER: Final = 0
BEFORE: Final = 1
MARK: Final = 2
SINCE: Final = 3


@dataclass
class PoolReservation:
    plan: PoolPlan
    most: int = 0  # DNI_LEASE_RESERVE as the last new visitor found it
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: deque[Held] = field(default_factory=deque)
    rate: ArrivalRate = field(default_factory=ArrivalRate)
    dry_until: float = 0.0  # near the pool's end: nothing reserved until then

    def size(self, now: float) -> int:
        """How many to keep at the current rate: refilled to twice this when fewer are left."""
        if now < self.dry_until:
            return 0
        return reservation_size(self.rate.per_second(now), self.most, len(self.plan.eligible or ()))


# What one pass reserved for a pool: (pool, numbers, marked until, when).
Refill = tuple[PoolReservation, list[Reserved], "dt.datetime", float]


class Reservations:
    """One process's reserved numbers, per pool. Request threads only take from memory; a thread
    of their own reserves more, so no page view waits for the write lock behind another
    process's flush. Thread-safe."""

    def __init__(
        self,
        backend: Backend | None = None,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self._backend = backend or SqlBackend()
        self._clock = clock
        self._background = background
        self._pools: dict[int, PoolReservation] = {}
        self._registry = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._leases: deque[dict[str, Any]] = deque()  # handed out, not written yet (LEASE_COLUMNS)
        if background:  # the leases handed out and not yet written, and the numbers still held
            at_process_exit(self._give_back_at_exit)

    def take(self, plan: PoolPlan, most: int, now: dt.datetime) -> int | None:
        """A reserved number for a new visitor; None when none is held (lease the usual way). A
        number drained or released since it was reserved is passed over, never handed out: it stays
        marked until its mark lapses, and is not eligible by then anyway. None too while the oldest
        was reserved more than ``RESERVE_SECONDS`` ago (the thread is late giving it back): a lease
        on it could outlive its mark."""
        pool, moment = self._pool(plan), self._clock()
        eligible = eligible_set(plan.eligible) if plan.eligible is not None else None
        with pool.lock:
            pool.rate.note(moment)
            pool.plan, pool.most = plan, most
            held = _next_held(pool.held, eligible, moment - RESERVE_SECONDS)
            low = len(pool.held) < pool.size(moment)
        if low:
            self._ask_for_more()
        return None if held is None else held[NUMBER]

    def lease_behind(
        self, plan: PoolPlan, number_id: int, visitor_id: str, session_id: str, now: dt.datetime
    ) -> None:
        """Record a lease on a number ``take`` gave: remembered here until the thread writes it."""
        remember_unwritten(plan.pool_id, visitor_id, number_id, session_id)
        self._leases.append(plan.lease_row(number_id, visitor_id, session_id, now))

    def write_leases(self) -> int:
        """Write the leases handed out so far, in one transaction; on a database error they stay
        for the next pass (their numbers stay marked meanwhile)."""
        with self._taken_leases() as leases:
            if leases:
                with self._backend.turn():
                    self._backend.write_leases(leases)
            return len(leases)

    @contextlib.contextmanager
    def _taken_leases(self) -> Iterator[list[dict[str, Any]]]:
        """Up to ``MAX_WRITE`` leases handed out, for the caller's transaction to write: forgotten
        as unwritten when it commits, put back for the next pass when it fails."""
        leases = [self._leases.popleft() for _ in range(min(len(self._leases), MAX_WRITE))]
        try:
            yield leases
        except BaseException:
            self._leases.extendleft(reversed(leases))
            raise
        forget_written((lease["pool"], lease["visitor_id"], lease["session_id"]) for lease in leases)

    def pending(self) -> int:
        return len(self._leases)

    def top_up(self, now: dt.datetime) -> bool:
        """Write the leases handed out and reserve for pools running low, in one transaction, then
        give back what was held too long: one pass of the reserving thread. One turn at the write
        lock a pass, and what is running low is decided once it has the lock: under load the turn
        waits behind the other processes' writes. False when no pool holds or wants a number and
        nothing is left to write."""
        started = self._clock()  # with ``now``: a lease's age is counted from before the wait below
        for pool in list(self._pools.values()):
            self._give_back(pool, stale_only=True)
        refills: list[Refill] = []
        with self._taken_leases() as leases:
            if leases or self._wants():
                with self._backend.turn():
                    if leases:
                        self._backend.write_leases(leases)
                    wants = self._wants()
                    refills = [self._reserve(pool, plan, n, now, started) for pool, plan, n in wants]
        for refill in refills:
            self._hold(*refill)
        pools = list(self._pools.values())
        return bool(self._leases) or any(pool.size(self._clock()) > 0 or pool.held for pool in pools)

    def _wants(self) -> list[tuple[PoolReservation, PoolPlan, int]]:
        """(pool, plan, how many more) for each pool holding fewer than its size: refilled to twice it."""
        wants = []
        for pool in list(self._pools.values()):
            with pool.lock:
                size = pool.size(self._clock())
                if len(pool.held) < size:
                    wants.append((pool, pool.plan, 2 * size - len(pool.held)))
        return wants

    def give_back_all(self) -> None:
        for pool in list(self._pools.values()):
            self._give_back(pool, stale_only=False)

    def held(self, pool_id: int) -> list[int]:
        pool = self._pools.get(pool_id)
        return [] if pool is None else [held[NUMBER] for held in pool.held]

    def _pool(self, plan: PoolPlan) -> PoolReservation:
        pool = self._pools.get(plan.pool_id)
        if pool is None:
            with self._registry:
                pool = self._pools.setdefault(plan.pool_id, PoolReservation(plan))
        return pool

    def _reserve(
        self, pool: PoolReservation, plan: PoolPlan, wanted: int, now: dt.datetime, moment: float
    ) -> Refill:
        """Reserve inside the caller's transaction; ``_hold`` keeps them once it has committed.
        ``moment``: the reservations' clock at ``now``."""
        mark = now + plan.hold + self._backend.cover
        numbers = self._backend.reserve(plan, wanted, now, mark, FREE_HEADROOM * wanted)
        return pool, numbers, mark, moment

    def _hold(self, pool: PoolReservation, numbers: list[Reserved], mark: dt.datetime, moment: float) -> None:
        if not numbers:
            # Near the pool's end: what this process holds goes back, and it leases one at a time.
            with pool.lock:
                pool.dry_until = moment + RESERVE_SECONDS
            self._give_back(pool, stale_only=False)
            return
        # Built before taking the lock that every new visitor's ``take`` waits for: a refill of
        # 2 000 numbers is about a millisecond of Python, and the interpreter may switch threads
        # meanwhile, the lock still held.
        held = [(number.number_id, number.previous_end, mark, moment) for number in numbers]
        with pool.lock:
            pool.held.extend(held)

    def _give_back(self, pool: PoolReservation, *, stale_only: bool) -> None:
        oldest = self._clock() - RESERVE_SECONDS
        with pool.lock:
            if stale_only:
                # Refills append, so the oldest are on the left: a pass, every WRITE_SECONDS, looks
                # at those only. Rebuilding the whole deque (~2 s of arrivals) held the lock that
                # every new visitor's ``take`` waits for, 20 times a second.
                leftovers = []
                while pool.held and pool.held[0][SINCE] <= oldest:
                    leftovers.append(pool.held.popleft())
            else:
                leftovers, pool.held = list(pool.held), deque()
        if not leftovers:
            return
        by_mark: dict[dt.datetime, list[Reserved]] = {}
        for held in leftovers:
            by_mark.setdefault(held[MARK], []).append(Reserved(held[NUMBER], held[BEFORE]))
        try:
            with self._backend.turn():
                for mark, numbers in by_mark.items():
                    self._backend.unreserve(pool.plan, numbers, mark)
        except Exception:
            # They stay marked: back in the pool after the hold time and the cool-down.
            log.exception("could not give back %d reserved numbers", len(leftovers))

    def _ask_for_more(self) -> None:
        if not self._background:
            return
        if self._thread is None or not self._thread.is_alive():
            with self._registry:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="dni-reserve", daemon=True)
                    self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        """Top up until the load is gone, then close this thread's connection and end: the next
        busy second starts a new thread."""
        busy = True
        while busy:
            self._wake.wait(WRITE_SECONDS)  # also the tick of the writes and the stale check
            self._wake.clear()
            try:
                busy = self.top_up(clock.now())
            except Exception:  # the thread must survive anything one pass does
                log.exception("reserving pool numbers failed")
                with contextlib.suppress(Exception):
                    close_old_connections()
        with contextlib.suppress(Exception):
            connection.close()

    def _give_back_at_exit(self) -> None:
        with contextlib.suppress(Exception):  # the database may be gone at interpreter exit
            while self.write_leases():
                pass
            self.give_back_all()


def _next_held(held: deque[Held], eligible: frozenset[int] | None, oldest: float) -> Held | None:
    """The next reserved number to hand out (the oldest), passing over any no longer eligible; None
    when none is held, or the next was reserved before ``oldest`` (left for the thread to give back)."""
    while held and held[0][SINCE] >= oldest:
        number = held.popleft()
        if eligible is None or number[NUMBER] in eligible:
            return number
    return None


# A pool's eligible numbers as a set, by the tuple's id (the per-account config holds the tuple while
# it is current, so no other tuple can take that id while it is cached here).
_eligible_sets: dict[int, tuple[tuple[int, ...], frozenset[int]]] = {}


def eligible_set(eligible: tuple[int, ...]) -> frozenset[int]:
    cached = _eligible_sets.get(id(eligible))
    if cached is not None and cached[0] is eligible:
        return cached[1]
    if len(_eligible_sets) > 256:
        _eligible_sets.clear()
    numbers = frozenset(eligible)
    _eligible_sets[id(eligible)] = (eligible, numbers)
    return numbers


# Leases handed out from reservations and not written yet: (pool, visitor) →
# (number, session, when forgotten at the latest).
_unwritten: Memory[tuple[int, str], tuple[int, str, float]] = Memory()


def remember_unwritten(pool_id: int, visitor_id: str, number_id: int, session_id: str) -> None:
    unwritten = (number_id, session_id, time.monotonic() + UNWRITTEN_SECONDS)
    put_bounded(_unwritten, (pool_id, visitor_id), unwritten, UNWRITTEN_MAX)


def unwritten(pool_id: int, visitor_id: str, session_id: str) -> int | None:
    """The number of the visit's lease that this process handed out and has not written yet."""
    found = _unwritten.get((pool_id, visitor_id))
    if found is None or found[1] != session_id or found[2] < time.monotonic():
        return None
    return found[0]


def forget_written(leases: Iterable[tuple[int, str, str]]) -> None:
    """Forget written leases, given as (pool, visitor, session), unless the visitor has a later one."""
    for pool_id, visitor_id, session_id in leases:
        found = _unwritten.get((pool_id, visitor_id))
        if found is not None and found[1] == session_id:
            _unwritten.pop((pool_id, visitor_id), None)
