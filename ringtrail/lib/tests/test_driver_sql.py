"""Hand-written reads on the driver's connection: the rows Django would give, and on PostgreSQL
values bound by the server rather than quoted into the statement's text in Python, and the
statement prepared once it runs often (``DB_PREPARE_THRESHOLD``)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from ringtrail.lib import driver_sql
from ringtrail.lib.fast_insert import adapt_datetime, sql_name
from ringtrail.testing import wired_account
from ringtrail.visits.models import Visitor

pytestmark = pytest.mark.django_db

SEEN = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)


def visitor_query() -> str:
    table = sql_name(Visitor)
    account, visitor, seen = (sql_name(Visitor, name) for name in ("account", "visitor_id", "first_seen_at"))
    return f"SELECT {visitor}, {seen} FROM {table} WHERE {account} = %s AND {seen} >= %s ORDER BY {visitor}"  # noqa: S608


def test_reads_give_the_rows_and_types_django_gives() -> None:
    account = wired_account().account
    for name in ("v-a", "v-b"):
        Visitor.objects.create(account=account, visitor_id=name, first_seen_at=SEEN)
    since = adapt_datetime(driver_sql.database(), SEEN - dt.timedelta(days=1))
    rows = driver_sql.fetch_all(driver_sql.database(), visitor_query(), [account.pk, since])
    assert [row[0] for row in rows] == ["v-a", "v-b"]
    one = driver_sql.fetch_one(driver_sql.database(), visitor_query(), [account.pk, since])
    assert one is not None and one[0] == "v-a"
    if connection.vendor == "postgresql":
        assert one[1] == SEEN  # an aware datetime, as Django reads it
    assert driver_sql.fetch_one(driver_sql.database(), visitor_query(), [account.pk + 1, since]) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_on_postgresql_a_hot_read_is_bound_by_the_server_and_prepared() -> None:
    account = wired_account().account
    database = driver_sql.database()
    since = adapt_datetime(database, SEEN - dt.timedelta(days=1))
    for _ in range(6):  # DB_PREPARE_THRESHOLD: prepared from the fifth run on
        driver_sql.fetch_all(database, visitor_query(), [account.pk, since])
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    # Server-side binding: one statement holding $1 and $2, not the values quoted into its text.
    assert sum("first_seen_at" in text and "$1" in text for text in prepared) == 1, prepared


def test_the_default_database_is_this_threads_wrapper() -> None:
    from django.db import connections

    assert driver_sql.database() is connections["default"]
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(driver_sql.database()))
    worker.start()
    worker.join()
    assert seen[0] is not driver_sql.database()  # Django gives each thread its own connection


@pytest.mark.django_db(transaction=True)
def test_outside_transactions_agrees_with_django_and_opens_nothing() -> None:
    connection.close()
    assert driver_sql.outside_transactions()
    assert connection.connection is None  # asking did not connect
    with transaction.atomic():
        assert not driver_sql.outside_transactions()
    django_says = not connection.in_atomic_block and connection.get_autocommit()
    assert driver_sql.outside_transactions() == django_says
    transaction.set_autocommit(False)
    try:
        assert not driver_sql.outside_transactions()
    finally:
        transaction.set_autocommit(True)
