"""The SQL lease store's hot statements, written by hand.

Every new visitor runs them inside one write transaction, which SQLite serialises across processes:
compiled through the ORM they cost ~3 ms of Python per visitor, most of it while holding the write
lock. Table and column names come from the models; values are always bound parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import connection

from ringtrail.dni.models import Lease, Pool
from ringtrail.lib.fast_insert import sql_name as _name
from ringtrail.numbers.models import NumberState, TrackingNumber


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
    return {
        # PostgreSQL: recyclers of one pool (which take a live lease's number) queue on its row.
        # SQLite: the write transaction (BEGIN IMMEDIATE) already serialises them.
        "lock_pool": f"SELECT 1 FROM {pool} WHERE id = %s FOR UPDATE" if vendor == "postgresql" else "",  # noqa: S608
        "sticky": (
            f"SELECT l.id, l.{l_number}, l.{session}, l.{recycled} FROM {lease} l"  # noqa: S608
            f" JOIN {number} n ON n.id = l.{l_number}"
            f" WHERE l.{l_pool} = %s AND l.{visitor} = %s AND l.{l_ends} > %s"
            f" AND n.{n_pool} = %s AND n.{n_state} = %s ORDER BY l.{l_ends} DESC LIMIT 1"
        ),
        # Never-leased numbers first (in id order), then the one released longest ago. Two bounded
        # index probes: "IS NULL OR <= t" in one WHERE scanned the pool's whole index whenever no
        # number was free, so an exhausted pool cost every new visitor a scan of the pool.
        "free": (
            f"SELECT id FROM (SELECT id, 0 AS k FROM (SELECT id FROM {number}"  # noqa: S608
            f" WHERE {n_pool} = %s AND {n_ends} IS NULL AND {n_state} = %s ORDER BY id LIMIT 1) fresh"
            f" UNION ALL SELECT id, 1 AS k FROM (SELECT id FROM {number}"
            f" WHERE {n_pool} = %s AND {n_ends} <= %s AND {n_state} = %s"
            f" ORDER BY {n_ends}, id LIMIT 1) cooled) free ORDER BY k LIMIT 1"
        ),
        # Claiming sets the number's lease end in the statement that picks it. On PostgreSQL the
        # pick skips rows other transactions hold, so concurrent visitors of one pool take
        # different numbers without queueing on the pool; never-leased numbers are tried first.
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
    }


def _at(moment: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _run(name: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(_statements(connection.vendor)[name], params)
        return cursor.fetchone() if cursor.description else None


def lock_pool(pool_id: int) -> None:
    if _statements(connection.vendor)["lock_pool"]:
        _run("lock_pool", [pool_id])


def sticky_lease(pool_id: int, visitor_id: str, now: dt.datetime) -> tuple[int, int, str, bool] | None:
    """The visitor's live lease on an active number of the pool: id, number, session, recycled."""
    row = _run("sticky", [pool_id, visitor_id, _at(now), pool_id, NumberState.ACTIVE.value])
    return None if row is None else (int(row[0]), int(row[1]), str(row[2]), bool(row[3]))


def free_number(pool_id: int, cooled_since: dt.datetime) -> int | None:
    """The active number whose last lease ended longest ago, never-leased numbers first."""
    active = NumberState.ACTIVE.value
    row = _run("free", [pool_id, active, pool_id, _at(cooled_since), active])
    return None if row is None else int(row[0])


def claim_free_number(pool_id: int, cooled_since: dt.datetime, ends: dt.datetime) -> int | None:
    """Take the number ``free_number`` would answer, marking it leased until ``ends``; None when
    none is free. Only PostgreSQL runs acquisitions of one pool side by side; SQLite's write
    transaction is serial, so there the pick and the mark are two plain statements."""
    if connection.vendor != "postgresql":
        number_id = free_number(pool_id, cooled_since)
        if number_id is not None:
            mark_number(number_id, ends)
        return number_id
    active = NumberState.ACTIVE.value
    row = _run("claim_fresh", [_at(ends), pool_id, active])
    if row is None:
        row = _run("claim_cooled", [_at(ends), pool_id, _at(cooled_since), active])
    return None if row is None else int(row[0])


def end_lease(lease_id: int, at: dt.datetime) -> None:
    _run("end_lease", [_at(at), lease_id])


def extend_lease(lease_id: int, seen: dt.datetime, ends: dt.datetime) -> None:
    _run("extend_lease", [_at(seen), _at(ends), lease_id])


def mark_number(number_id: int, ends: dt.datetime) -> None:
    _run("mark_number", [_at(ends), number_id])
