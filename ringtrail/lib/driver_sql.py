"""Hand-written statements of the DNI hot paths, run on the DB-API connection.

Through Django's cursor (its wrappers, the ``%s`` → ``?`` rewrite on SQLite) a statement costs more
Python than SQLite spends running it, and an ORM query compiles anew every time (~0.5 ms for a
one-row lookup). These run the statement on the driver's connection under ``wrap_database_errors``,
so errors are still Django's and a broken connection is still closed after the request. Callers
build their SQL once, from model metadata (``fast_insert.sql_name``), with ``%s`` placeholders, and
always bind values as parameters.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper


class _ThisThread(threading.local):
    default: BaseDatabaseWrapper | None = None


_this_thread = _ThisThread()


def database(alias: str = DEFAULT_DB_ALIAS) -> BaseDatabaseWrapper:
    """``connections[alias]``. The default alias's wrapper is kept per thread: Django's lookup goes
    through ``asgiref``'s context-aware local on every access (~2 µs, several times a page view),
    and a thread's wrapper is made once and then lives as long as the thread (closing a connection
    keeps its wrapper)."""
    if alias != DEFAULT_DB_ALIAS:
        return connections[alias]
    wrapper = _this_thread.default
    if wrapper is None:
        wrapper = _this_thread.default = connections[alias]
    return wrapper


def outside_transactions() -> bool:
    """Whether this thread's default connection is in autocommit, outside any atomic block: Django's
    ``not connection.in_atomic_block and connection.get_autocommit()``, without opening a connection
    to ask (an unopened one opens in its configured ``AUTOCOMMIT`` mode)."""
    wrapper = database()
    if wrapper.in_atomic_block:
        return False
    return bool(wrapper.autocommit if wrapper.connection is not None else wrapper.settings_dict["AUTOCOMMIT"])


@functools.cache
def for_driver(vendor: str, sql: str) -> str:
    """``sql`` in the driver's placeholder style: sqlite3 takes ``?``, psycopg ``%s``."""
    return sql.replace("%s", "?") if vendor == "sqlite" else sql


def fetch_one(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """Run ``sql`` (``%s`` placeholders); its first row, or None (none, or not a query)."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _run(connection, sql, params)
        return cursor.fetchone() if cursor.description else None


def fetch_all(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run the query ``sql`` (``%s`` placeholders); all its rows."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return list(_run(connection, sql, params).fetchall())


def _run(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> Any:
    if connection.vendor != "postgresql":
        return connection.connection.execute(for_driver(connection.vendor, sql), params)
    # Server-side binding: Django's client-side binding cursor quotes every value into the text in
    # Python (a returning visitor's page view, two such reads: 0.275 ms of CPU in process, 0.258 ms
    # bound by the server, three alternating runs). Prepared once it has run ``DB_PREPARE_THRESHOLD``
    # times on the connection (settings.py), so PostgreSQL stops planning it anew.
    import psycopg

    return psycopg.Cursor(connection.connection).execute(sql, params)


def execute_many(connection: BaseDatabaseWrapper, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run the statement ``sql`` (``%s`` placeholders) once per row of parameters."""
    if not rows:
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(for_driver(connection.vendor, sql), rows)
        finally:
            cursor.close()


# Bound parameters per statement: SQLite allows 32 766, PostgreSQL 65 535.
MAX_PARAMS = 30_000


def execute_values(connection: BaseDatabaseWrapper, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``sql``, whose ``{values}`` stands for a ``VALUES`` list, with a row for each tuple of
    ``rows``: in as few statements as the parameter limit allows.

    Not ``executemany``: the sqlite3 module lets go of the interpreter lock around every row's
    step, so under load each row waits for it again while the statement holds the database's
    write lock. 250 rows took 0.7 ms alone, 2.7 s beside two busy threads; as one statement, 50 ms.
    """
    if not rows:
        return
    width = len(rows[0])
    row = "(" + ", ".join(["?" if connection.vendor == "sqlite" else "%s"] * width) + ")"
    per_statement = max(1, MAX_PARAMS // width)
    connection.ensure_connection()
    with connection.wrap_database_errors:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            statement = for_driver(connection.vendor, sql).format(values=", ".join([row] * len(chunk)))
            connection.connection.execute(statement, [value for values in chunk for value in values])
