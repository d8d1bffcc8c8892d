"""Writes about visits: the visitor's first touch, the session's touch, its page views."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from ringtrail.accounts.models import Account
from ringtrail.dni import lease_sql
from ringtrail.dni.requests import SessionRequest
from ringtrail.lib import driver_sql
from ringtrail.lib.bounded import Memory, put_bounded
from ringtrail.lib.fast_insert import adapt_datetime, rows_statement, sql_name
from ringtrail.lib.redis_client import Command, client_for
from ringtrail.lib.sqlite_writes import write_gate
from ringtrail.sources.classify import Visit, default_channel
from ringtrail.sources.models import Source
from ringtrail.visits.buffer import buffer, write_shape
from ringtrail.visits.hits import ExtensionHit, Heartbeat, Hit, PageHit
from ringtrail.visits.models import PageView, Session, Visitor

log = logging.getLogger(__name__)
# A bulk statement whose ``{values}`` stands for its rows, and the rows (lib/driver_sql.execute_values).
Statement = tuple[str, Sequence[Sequence[Any]]]
# The latest first-touch sources this process saw, each with the moment it expires (oldest evicted).
# Without Redis, the only copy until the buffer is written; with Redis, what spares a returning
# visitor served by the same process the round trip that reads it.
LOCAL_FIRST_SOURCES = 100_000
# Between the slices of a batch's rows: long enough for a request thread waiting for the
# interpreter lock to take it (a zero sleep lets go of it and usually takes it straight back).
SLICE_PAUSE_SECONDS = 0.0005
_recent_first_sources: Memory[str, tuple[int, float]] = Memory()
# Visitors whose rows this process wrote, oldest first: a later page view's visitor row (INSERT …
# ON CONFLICT DO NOTHING) would change nothing, and building it was a third of the recorder's work
# for a returning page view (docs/benchmarks.md). Minutes of new visitors; a visitor row is only
# ever removed with its account or long after its last visit, by retention.
WRITTEN_VISITORS = 200_000
_written_visitors: Memory[tuple[int, str], None] = Memory()


def touch_of(visit: Visit, source: Source | None, request: SessionRequest) -> dict[str, Any]:
    name, medium = (source.name, source.medium) if source else default_channel(visit)
    return {
        "landing_url": visit.landing_url,
        "referrer": visit.referrer,
        "utm": dict(visit.utm),
        "click_ids": dict(visit.click_ids),
        "source_id": source.pk if source else None,
        "source_name": name,
        "medium": medium,
        "ga_client_id": request.ga_client_id,
        "ga_session_id": request.ga_session_id,
    }


def first_touch_of_session(session: Session) -> dict[str, Any]:
    """A recorded session's touch in the shape ``touch_of`` gives a visitor's first touch."""
    return {
        "landing_url": session.landing_url,
        "referrer": session.referrer,
        "utm": dict(session.utm),
        "click_ids": dict(session.click_ids),
        "source_id": session.source_id,
        "source_name": session.source_name,
        "medium": session.medium,
        "ga_client_id": session.ga_client_id,
        "ga_session_id": session.ga_session_id,
    }


def record_visit(
    account: Account,
    visitor_id: str,
    session_id: str,
    request: SessionRequest,
    visit: Visit,
    source: Source | None,
    number_id: int | None,
    overflow: bool,
    now: dt.datetime,
) -> None:
    """The pipeline's record step: hand the page view to the write-behind buffer."""
    buffer.add(
        PageHit(
            account_id=account.pk,
            visitor_id=visitor_id,
            session_id=session_id,
            url=request.url,
            at=now,
            touch=touch_of(visit, source, request),
            source_id=source.pk if source else None,
            tracking_number_id=number_id,
            overflow=overflow,
            ga_client_id=request.ga_client_id,
            ga_session_id=request.ga_session_id,
        )
    )


def write_hits(hits: list[Hit]) -> None:
    """Write a batch of buffered hits in one transaction, one statement per table.

    Every row is built before the write lock is taken: under load, building them inside it waited
    for the interpreter lock while every other writer of the database waited for this one.
    """
    pages = [hit for hit in hits if isinstance(hit, PageHit)]
    beats = [hit for hit in hits if isinstance(hit, Heartbeat)]
    extensions = [
        (e.lease_id, e.tracking_number_id, e.at, e.ends_at) for e in hits if isinstance(e, ExtensionHit)
    ]
    statements: list[Statement] = []
    if extensions:
        statements += lease_sql.extension_statements(extensions)
    if pages:
        statements += _page_statements(pages)
    with write_gate(), transaction.atomic():
        for sql, rows in statements:
            driver_sql.execute_values(connection, sql, rows)
        if pages:
            visitors = [(hit.account_id, hit.visitor_id) for hit in pages]
            transaction.on_commit(functools.partial(_remember_written, visitors))
        for (account_id, session_id), at in _latest(beats).items():
            Session.objects.filter(account_id=account_id, session_id=session_id, last_seen_at__lt=at).update(
                last_seen_at=at
            )


def _page_statements(pages: list[PageHit]) -> list[Statement]:
    """The visitors', sessions' and page views' statements, one per table, their rows built
    ``DNI_RECORD_SLICE`` page views at a time (``_slices``), the interpreter lock let go between."""
    merged: list[tuple[str, list[Sequence[Any]]]] = []
    for index, sessions in enumerate(_slices(_grouped_by_session(pages))):
        if index:
            _pause(SLICE_PAUSE_SECONDS)
        part = [hit for group in sessions for hit in group]
        built = [_visitor_rows(part), _session_rows(sessions), _page_view_rows(part)]
        if not merged:
            merged = [(sql, []) for sql, _ in built]
        for (_, rows), (_, more) in zip(merged, built, strict=True):
            rows.extend(more)
    return [(sql, rows) for sql, rows in merged]


def _grouped_by_session(pages: list[PageHit]) -> list[list[PageHit]]:
    """Each session's page views together, sessions in the order they first appear (so a visitor's
    first page view stays first)."""
    groups: dict[tuple[int, str], list[PageHit]] = {}
    for hit in pages:
        groups.setdefault((hit.account_id, hit.session_id), []).append(hit)
    return list(groups.values())


def _slices(sessions: list[list[PageHit]]) -> Iterator[list[list[PageHit]]]:
    """Whole sessions, about ``DNI_RECORD_SLICE`` page views a slice. Building a 200-hit batch's
    rows in one go held the interpreter lock 20 - 45 ms on a slow host, and every page view the
    process answered meanwhile waited; a slice's rows take a few ms. A session is never split: its
    row must appear once in the statement that merges it (PostgreSQL refuses to update one row twice
    in a statement). The statements stay one per table: as one per slice, each a round trip to
    PostgreSQL, they cost 10 % of returning page views' throughput there. The recorder process slices
    by ``DNI_RECORDER_SLICE`` (``buffer.write_shape``)."""
    size = write_shape()[2] or sys.maxsize
    part: list[list[PageHit]] = []
    count = 0
    for group in sessions:
        part.append(group)
        count += len(group)
        if count >= size:
            yield part
            part, count = [], 0
    if part:
        yield part


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _latest(beats: list[Heartbeat]) -> dict[tuple[int, str], dt.datetime]:
    latest: dict[tuple[int, str], dt.datetime] = {}
    for beat in beats:
        key = (beat.account_id, beat.session_id)
        latest[key] = max(beat.at, latest.get(key, beat.at))
    return latest


def _visitor_rows(pages: list[PageHit]) -> Statement:
    first: dict[tuple[int, str], PageHit] = {}
    for hit in pages:
        key = (hit.account_id, hit.visitor_id)
        if key not in _written_visitors:
            first.setdefault(key, hit)
    visitors = [
        {
            "account_id": hit.account_id,
            "visitor_id": hit.visitor_id,
            "first_seen_at": hit.at,
            "first_source_id": hit.source_id,
            "first_touch": hit.touch,
        }
        for hit in first.values()
    ]
    return rows_statement(Visitor, visitors)  # a returning visitor's first touch stays


def _session_rows(sessions: list[list[PageHit]]) -> Statement:
    """Create the new sessions, each given as its page views; a session already stored (by an
    earlier batch, or another process) keeps its touch and gets these page views added, in the
    same statement."""
    rows = [_session_row(group) for group in sessions]
    return rows_statement(Session, rows, conflict=_merge_into_stored_session(connection.vendor))


@functools.cache
def _merge_into_stored_session(vendor: str) -> str:
    table = sql_name(Session)
    account, session, seen, views, number = (
        sql_name(Session, name)
        for name in ("account", "session_id", "last_seen_at", "page_views", "tracking_number")
    )
    latest = "MAX" if vendor == "sqlite" else "GREATEST"
    return (
        f"({account}, {session}) DO UPDATE SET {seen} = {latest}({table}.{seen}, EXCLUDED.{seen}), "
        f"{views} = {table}.{views} + EXCLUDED.{views}, "
        f"{number} = COALESCE(EXCLUDED.{number}, {table}.{number})"
    )


def _page_view_rows(pages: list[PageHit]) -> Statement:
    """One page view per hit, joined to its session by the session's key: no read of session ids."""
    session_table, view_table = sql_name(Session), sql_name(PageView)
    account, session = sql_name(Session, "account"), sql_name(Session, "session_id")
    columns = ", ".join(sql_name(PageView, name) for name in ("session", "url", "viewed_at"))
    sql = (
        f"WITH v(url, at, account, session) AS (VALUES {{values}}) "  # noqa: S608
        f"INSERT INTO {view_table} ({columns}) SELECT s.id, v.url, v.at FROM v "
        f"JOIN {session_table} s ON s.{account} = v.account AND s.{session} = v.session"
    )
    database = driver_sql.database()
    return sql, [(hit.url, adapt_datetime(database, hit.at), hit.account_id, hit.session_id) for hit in pages]


def _session_row(group: list[PageHit]) -> dict[str, Any]:
    first = group[0]
    touch = first.touch
    number_id = next((h.tracking_number_id for h in reversed(group) if h.tracking_number_id), None)
    return {
        "account_id": first.account_id,
        "visitor_id": first.visitor_id,
        "session_id": first.session_id,
        "started_at": first.at,
        "last_seen_at": max(h.at for h in group),
        "source_id": first.source_id,
        "source_name": touch["source_name"],
        "medium": touch["medium"],
        "landing_url": touch["landing_url"],
        "referrer": touch["referrer"],
        "utm": touch["utm"],
        "click_ids": touch["click_ids"],
        "ga_client_id": first.ga_client_id,
        "ga_session_id": first.ga_session_id,
        "tracking_number_id": number_id,
        "overflow": first.overflow,
        "page_views": len(group),
    }


def remember_first_source(account: Account, visitor_id: str, source: Source | None) -> None:
    """Keep a new visitor's first-touch source where the next page view finds it at once: the
    visitor row itself is written behind (visits/buffer.py), possibly by another process.

    With Redis every process sees it. Without Redis it stays in this process (Django's file cache
    lists its whole directory on every write, so it cannot hold an entry per visitor); a next page
    view served by another process inside the flush interval then reads the database, and may not
    find the visitor yet.
    """
    key, value = _first_source_key(account.pk, visitor_id), source.pk if source else 0
    remember_here(account, visitor_id, value)
    if not settings.REDIS_URL:
        return
    try:
        client_for(settings.REDIS_URL).set(key, value, ex=account.cookie_window_days * 86400)
    except Exception:
        log.exception("Redis unavailable; the visitor's first touch will be read from the database")


def remember_here(account: Account, visitor_id: str, source_id: int) -> None:
    """Keep a first-touch source (0: none) in this process for the cookie window."""
    key = _first_source_key(account.pk, visitor_id)
    until = time.time() + account.cookie_window_days * 86400
    put_bounded(_recent_first_sources, key, (source_id, until), LOCAL_FIRST_SOURCES)


def first_source_here(account: Account, visitor_id: str) -> int | NotLookedUp:
    """The first-touch source (0: none) this process remembers for the visitor, if it does."""
    return _local_first_source(_first_source_key(account.pk, visitor_id))


def _local_first_source(key: str) -> int | NotLookedUp:
    found = _recent_first_sources.get(key)
    if found is None or found[1] < time.time():
        return NOT_LOOKED_UP
    return found[0]


def remember_first_source_command(account: Account, visitor_id: str, source: Source | None) -> Command:
    """``remember_first_source`` with Redis, as a command to send with others in one round trip."""
    key, value = _first_source_key(account.pk, visitor_id), source.pk if source else 0
    return ("SET", key, value, "EX", account.cookie_window_days * 86400)


def first_source_key(account: Account, visitor_id: str) -> str:
    """Where Redis remembers the visitor's first-touch source (``remember_first_source_command``)."""
    return _first_source_key(account.pk, visitor_id)


def first_source_lookup_command(account: Account, visitor_id: str) -> Command:
    """The Redis read of ``first_source_id``; pass its reply back as ``cached``."""
    return ("GET", _first_source_key(account.pk, visitor_id))


class NotLookedUp(enum.Enum):
    NOT_LOOKED_UP = 0


NOT_LOOKED_UP = NotLookedUp.NOT_LOOKED_UP


def first_source_id(
    account: Account,
    visitor_id: str,
    since: dt.datetime,
    cached: int | NotLookedUp | None = NOT_LOOKED_UP,
) -> int | None:
    """The visitor's first-touch source within the cookie window, if it had one.

    ``cached`` is what a lookup already made found (``first_source_lookup_command``; None when it
    found nothing, 0 for "no source"); otherwise this process's memory or Redis is asked. When the
    cache has nothing, the database answers.
    """
    if cached is NOT_LOOKED_UP:
        cached = _cached_first_source(_first_source_key(account.pk, visitor_id))
    if cached is not None:
        return int(cached) or None
    # Hand-written: compiled by the ORM this one-row read cost half of such a page view's CPU.
    database = driver_sql.database()
    params = [account.pk, visitor_id, adapt_datetime(database, since)]
    row = driver_sql.fetch_one(database, _first_source_query(), params)
    return None if row is None or row[0] is None else int(row[0])


@functools.cache
def _first_source_query() -> str:
    account, visitor, seen, source = (
        sql_name(Visitor, name) for name in ("account", "visitor_id", "first_seen_at", "first_source")
    )
    return (
        f"SELECT {source} FROM {sql_name(Visitor)}"  # noqa: S608
        f" WHERE {account} = %s AND {visitor} = %s AND {seen} >= %s"
    )


def _cached_first_source(key: str) -> int | None:
    try:
        if settings.REDIS_URL:
            reply = client_for(settings.REDIS_URL).get(key)
            return reply if reply is None else int(reply)
        local = _local_first_source(key)
        return None if local is NOT_LOOKED_UP else local
    except Exception:
        return None


def _remember_written(visitors: list[tuple[int, str]]) -> None:
    for key in visitors:
        put_bounded(_written_visitors, key, None, WRITTEN_VISITORS)


def forget_written_visitors() -> None:
    _written_visitors.clear()


def forget_local_first_sources() -> None:
    _recent_first_sources.clear()


def _first_source_key(account_id: int, visitor_id: str) -> str:
    return f"rt:first-source:{account_id}:{visitor_id}"


def touch_session(account: Account, session_id: str, now: dt.datetime) -> None:
    buffer.add(Heartbeat(account.pk, session_id, now))
