"""The SQL lease store's hot statements, written by hand and run on the driver's connection.

Every new visitor runs them inside one write transaction, which SQLite serialises across processes:
compiled through the ORM they cost ~3 ms of Python per visitor, most of it while holding the write
lock. Through Django's cursor and ``transaction.atomic`` they still cost twice what the database did,
so they run on the DB-API connection (``lib/driver_sql.py``), in a transaction begun and ended by
hand when Django is in autocommit (every web request). Table and column names come from the models;
values are always bound parameters.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ringtrail.dni.models import Lease, Pool
from ringtrail.lib import driver_sql
from ringtrail.lib.fast_insert import adapt_datetime
from ringtrail.lib.fast_insert import sql_name as _name
from ringtrail.lib.sqlite_writes import write_gate
from ringtrail.numbers.models import NumberState, TrackingNumber

LEASE_COLUMNS = (
    "account",
    "pool",
    "tracking_number",
    "visitor_id",
    "session_id",
    "started_at",
    "last_seen_at",
    "ends_at",
    "recycled",
)


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    lease, number, pool = _name(Lease), _name(TrackingNumber), _name(Pool)
    l_pool, l_number, l_ends = _name(Lease, "pool"), _name(Lease, "tracking_number"), _name(Lease, "ends_at")
    n_pool, n_state, n_ends = (_name(TrackingNumber, f) for f in ("pool", "state", "lease_ends_at"))
    visitor, session, recycled = (
        _name(Lease, "visitor_id"),
        _name(Lease, "session_id"),
        _name(Lease, "recycled"),
    )
    seen = _name(Lease, "last_seen_at")
    skip_locked = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    # Never-leased numbers first (in id order), then the one released longest ago. Two bounded
    # index probes: "IS NULL OR <= t" in one WHERE scanned the pool's whole index whenever no
    # number was free, so an exhausted pool cost every new visitor a scan of the pool.
    free = (
        f"SELECT id FROM (SELECT id, 0 AS k FROM (SELECT id FROM {number}"  # noqa: S608
        f" WHERE {n_pool} = %s AND {n_ends} IS NULL AND {n_state} = %s ORDER BY id LIMIT 1) fresh"
        f" UNION ALL SELECT id, 1 AS k FROM (SELECT id FROM {number}"
        f" WHERE {n_pool} = %s AND {n_ends} <= %s AND {n_state} = %s"
        f" ORDER BY {n_ends}, id LIMIT 1) cooled) free ORDER BY k LIMIT 1"
    )
    columns = ", ".join(_name(Lease, column) for column in LEASE_COLUMNS)
    return {
        # PostgreSQL: recyclers of one pool (which take a live lease's number) queue on its row.
        # SQLite: the write transaction (BEGIN IMMEDIATE) already serialises them.
        "lock_pool": f"SELECT 1 FROM {pool} WHERE id = %s FOR UPDATE" if vendor == "postgresql" else "",  # noqa: S608
        # The last columns: whether the lease was extended lately (its end is at or after the first
        # bound), and whether it outlives a write behind (its end is at or after the second).
        "sticky": (
            f"SELECT l.id, l.{l_number}, l.{session}, l.{recycled}, l.{l_ends} >= %s, l.{l_ends} >= %s"  # noqa: S608
            f" FROM {lease} l"
            f" JOIN {number} n ON n.id = l.{l_number}"
            f" WHERE l.{l_pool} = %s AND l.{visitor} = %s AND l.{l_ends} > %s"
            f" AND n.{n_pool} = %s AND n.{n_state} = %s ORDER BY l.{l_ends} DESC LIMIT 1"
        ),
        "free": free,
        # Claiming sets the number's lease end in the statement that picks it. SQLite's write
        # transaction is serial, so one statement picks and marks.
        "claim": f"UPDATE {number} SET {n_ends} = %s WHERE id = ({free}) RETURNING id",  # noqa: S608
        # On PostgreSQL the pick skips rows other transactions hold, so concurrent visitors of one
        # pool take different numbers without queueing on the pool; never-leased numbers are tried
        # first.
        "claim_fresh": (
            f"UPDATE {number} SET {n_ends} = %s WHERE id = (SELECT id FROM {number}"  # noqa: S608
            f" WHERE {n_pool} = %s AND {n_ends} IS NULL AND {n_state} = %s ORDER BY id LIMIT 1"
            f" FOR UPDATE SKIP LOCKED) RETURNING id"
        ),
        "claim_cooled": (
            f"UPDATE {number} SET {n_ends} = %s WHERE id = (SELECT id FROM {number}"  # noqa: S608
            f" WHERE {n_pool} = %s AND {n_ends} <= %s AND {n_state} = %s ORDER BY {n_ends}, id LIMIT 1"
            f" FOR UPDATE SKIP LOCKED) RETURNING id"
        ),
        "end_lease": f"UPDATE {lease} SET {l_ends} = %s WHERE id = %s",  # noqa: S608
        "extend_lease": f"UPDATE {lease} SET {seen} = %s, {l_ends} = %s WHERE id = %s",  # noqa: S608
        "mark_number": f"UPDATE {number} SET {n_ends} = %s WHERE id = %s",  # noqa: S608
        # Extensions written behind, (id, seen, ends) of a VALUES list: never shortening a lease
        # that a heartbeat extended meanwhile.
        "extend_values": (
            f"WITH v(id, seen, ends) AS (VALUES {{values}}) UPDATE {lease} SET {seen} = v.seen,"  # noqa: S608
            f" {l_ends} = v.ends FROM v WHERE {lease}.id = v.id AND {lease}.{l_ends} < v.ends"
        ),
        # Reservations (dni/reservations.py): a few free numbers at once, in the claim's order.
        "reserve_fresh": (
            f"SELECT id, {n_ends} FROM {number} WHERE {n_pool} = %s AND {n_ends} IS NULL"  # noqa: S608
            f" AND {n_state} = %s ORDER BY id LIMIT %s{skip_locked}"
        ),
        "reserve_cooled": (
            f"SELECT id, {n_ends} FROM {number} WHERE {n_pool} = %s AND {n_ends} <= %s"  # noqa: S608
            f" AND {n_state} = %s ORDER BY {n_ends}, id LIMIT %s{skip_locked}"
        ),
        # How many free numbers there are, up to a bound, without locking them (PostgreSQL: locking
        # the whole bound made a concurrent claim skip every free number near a pool's end).
        "count_fresh": (
            f"SELECT count(*) FROM (SELECT 1 FROM {number} WHERE {n_pool} = %s AND {n_ends} IS NULL"  # noqa: S608
            f" AND {n_state} = %s LIMIT %s) free"
        ),
        "count_cooled": (
            f"SELECT count(*) FROM (SELECT 1 FROM {number} WHERE {n_pool} = %s AND {n_ends} <= %s"  # noqa: S608
            f" AND {n_state} = %s LIMIT %s) free"
        ),
        # A reserved number nobody was given goes back as it was, unless something marked it since.
        "unreserve": f"UPDATE {number} SET {n_ends} = %s WHERE id = %s AND {n_ends} = %s",  # noqa: S608
        # Numbers marked leased until (id, ends) of a VALUES list, never moving a mark back: a lease
        # written behind ends after its number's reservation mark.
        "mark_values": (
            f"WITH v(id, ends) AS (VALUES {{values}}) UPDATE {number} SET {n_ends} = v.ends FROM v"  # noqa: S608
            f" WHERE {number}.id = v.id AND ({number}.{n_ends} IS NULL OR {number}.{n_ends} < v.ends)"
        ),
        "insert_leases": f"INSERT INTO {lease} ({columns}) VALUES {{values}}",  # noqa: S608
    }


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """One acquisition's write transaction, queued on SQLite's write gate.

    In autocommit (a web request) it is begun and ended on the driver's connection: ``BEGIN
    IMMEDIATE`` on SQLite takes the write lock up front, as Django's transactions do here. Inside a
    caller's transaction (tests, management code) it is a Django savepoint.
    """
    database = driver_sql.database()
    if database.in_atomic_block or not database.get_autocommit():
        with write_gate(), transaction.atomic():
            yield
        return
    with write_gate(), database.wrap_database_errors:
        driver = database.connection
        driver.execute("BEGIN IMMEDIATE" if database.vendor == "sqlite" else "BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: the error below is the news
                driver.execute("ROLLBACK")
            raise
        driver.execute("COMMIT")


def _run(database: BaseDatabaseWrapper, name: str, params: list[Any]) -> tuple[Any, ...] | None:
    return driver_sql.fetch_one(database, _statements(database.vendor)[name], params)


def lock_pool(pool_id: int) -> None:
    database = driver_sql.database()
    if _statements(database.vendor)["lock_pool"]:
        _run(database, "lock_pool", [pool_id])


@dataclass(frozen=True)
class StickyLease:
    lease_id: int
    number_id: int
    session_id: str
    recycled: bool
    extended_lately: bool  # it ends at or after the ``lately`` bound given
    outlives: bool  # it ends at or after the ``outlives`` bound given


def sticky_lease(
    pool_id: int, visitor_id: str, now: dt.datetime, lately: dt.datetime, outlives: dt.datetime
) -> StickyLease | None:
    """The visitor's live lease on an active number of the pool."""
    database = driver_sql.database()
    active = NumberState.ACTIVE.value
    bound, at = adapt_datetime(database, lately), adapt_datetime(database, now)
    params = [bound, adapt_datetime(database, outlives), pool_id, visitor_id, at, pool_id, active]
    row = _run(database, "sticky", params)
    if row is None:
        return None
    return StickyLease(int(row[0]), int(row[1]), str(row[2]), bool(row[3]), bool(row[4]), bool(row[5]))


def claim_free_number(pool_id: int, cooled_since: dt.datetime, ends: dt.datetime) -> int | None:
    """Take the active number whose last lease ended longest ago (never-leased numbers first),
    marking it leased until ``ends``; None when none is free."""
    database = driver_sql.database()
    active = NumberState.ACTIVE.value
    until, cooled = adapt_datetime(database, ends), adapt_datetime(database, cooled_since)
    if database.vendor != "postgresql":
        row = _run(database, "claim", [until, pool_id, active, pool_id, cooled, active])
        return None if row is None else int(row[0])
    row = _run(database, "claim_fresh", [until, pool_id, active])
    if row is None:
        row = _run(database, "claim_cooled", [until, pool_id, cooled, active])
    return None if row is None else int(row[0])


def insert_lease(lease: dict[str, Any]) -> None:
    """A lease row, from values keyed by ``LEASE_COLUMNS`` (foreign keys by id)."""
    database = driver_sql.database()
    driver_sql.execute_values(
        database, _statements(database.vendor)["insert_leases"], [_lease_params(database, lease)]
    )


def _lease_params(database: BaseDatabaseWrapper, lease: dict[str, Any]) -> list[Any]:
    values = (lease[column] for column in LEASE_COLUMNS)
    return [adapt_datetime(database, v) if isinstance(v, dt.datetime) else v for v in values]


def end_lease(lease_id: int, at: dt.datetime) -> None:
    database = driver_sql.database()
    _run(database, "end_lease", [adapt_datetime(database, at), lease_id])


def extend_lease(lease_id: int, seen: dt.datetime, ends: dt.datetime) -> None:
    database = driver_sql.database()
    _run(database, "extend_lease", [adapt_datetime(database, seen), adapt_datetime(database, ends), lease_id])


def mark_number(number_id: int, ends: dt.datetime) -> None:
    database = driver_sql.database()
    _run(database, "mark_number", [adapt_datetime(database, ends), number_id])


@dataclass(frozen=True)
class Reserved:
    number_id: int
    previous_end: Any  # the number's lease end before it was reserved, as the driver gave it


def reserve_numbers(
    pool_id: int, cooled_since: dt.datetime, mark: dt.datetime, limit: int, headroom: int
) -> list[Reserved]:
    """Up to ``limit`` free numbers of the pool, in the order ``claim_free_number`` takes them,
    each marked leased until ``mark``; none unless ``headroom`` numbers are free. Run inside
    ``write_transaction``."""
    database = driver_sql.database()
    statements, active = _statements(database.vendor), NumberState.ACTIVE.value
    cooled = adapt_datetime(database, cooled_since)
    if _free_numbers(database, pool_id, cooled, headroom) < headroom:
        return []
    rows = driver_sql.fetch_all(database, statements["reserve_fresh"], [pool_id, active, limit])
    if len(rows) < limit:
        params = [pool_id, cooled, active, limit - len(rows)]
        rows += driver_sql.fetch_all(database, statements["reserve_cooled"], params)
    until = adapt_datetime(database, mark)
    driver_sql.execute_values(database, statements["mark_values"], [(row[0], until) for row in rows])
    return [Reserved(int(row[0]), row[1]) for row in rows]


def _free_numbers(database: BaseDatabaseWrapper, pool_id: int, cooled: Any, bound: int) -> int:
    """How many of the pool's numbers are free, counted up to ``bound``."""
    active = NumberState.ACTIVE.value
    fresh = _run(database, "count_fresh", [pool_id, active, bound])
    free = int(fresh[0]) if fresh else 0
    if free < bound:
        cooled_count = _run(database, "count_cooled", [pool_id, cooled, active, bound - free])
        free += int(cooled_count[0]) if cooled_count else 0
    return free


def unreserve_numbers(numbers: list[Reserved], mark: dt.datetime) -> None:
    """Give back reserved numbers nobody was given, with the lease end each had before."""
    database = driver_sql.database()
    until = adapt_datetime(database, mark)
    rows = [(_as_bound(database, number.previous_end), number.number_id, until) for number in numbers]
    driver_sql.execute_many(database, _statements(database.vendor)["unreserve"], rows)


def _as_bound(database: BaseDatabaseWrapper, value: Any) -> Any:
    """A value read back from the driver, bound as Django would write it (naive means UTC)."""
    if not isinstance(value, dt.datetime):
        return value
    return adapt_datetime(database, value if value.tzinfo else value.replace(tzinfo=dt.UTC))


def write_leases(leases: list[dict[str, Any]]) -> None:
    """Leases handed out from reserved numbers, keyed by ``LEASE_COLUMNS``. Each number stays
    marked as its reservation marked it, past the lease's end (``reservations.SqlBackend.cover``).
    Run inside ``write_transaction``."""
    database = driver_sql.database()
    rows = [_lease_params(database, lease) for lease in leases]
    driver_sql.execute_values(database, _statements(database.vendor)["insert_leases"], rows)


def extension_statements(
    extensions: list[tuple[int, int, dt.datetime, dt.datetime]],
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Extensions written behind, as (lease, number, seen, ends): the statements and rows for
    ``driver_sql.execute_values``, run in the visit buffer's transaction (visits/actions.py)."""
    database = driver_sql.database()
    statements, at = _statements(database.vendor), functools.partial(adapt_datetime, database)
    # An UPDATE … FROM takes any one of several rows for a lease: keep each lease's latest.
    latest: dict[int, tuple[int, int, dt.datetime, dt.datetime]] = {}
    for extension in extensions:
        if extension[0] not in latest or latest[extension[0]][3] < extension[3]:
            latest[extension[0]] = extension
    leases = [(lease_id, at(seen), at(ends)) for lease_id, _, seen, ends in latest.values()]
    marks = [(number_id, at(ends)) for _, number_id, _, ends in latest.values()]
    return [(statements["extend_values"], leases), (statements["mark_values"], marks)]
