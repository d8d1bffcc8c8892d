"""An INSERT … ON CONFLICT DO NOTHING whose SQL is built once per model and database.

The ORM compiles every ``create()`` from scratch, which is most of the cost of the voice webhook's one
write. This prepares the statement once and binds values the way Django's own insert compiler does
(``field.pre_save`` then ``field.get_db_prep_save``), so field conversions (JSON, datetimes) are
Django's. A conflict on any unique constraint inserts nothing and returns None instead of raising,
so no savepoint is needed either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.fields import AutoFieldMixin
from django.db.models.signals import post_init, pre_init

from ringtrail.lib import driver_sql
from ringtrail.lib.sqlite_writes import write_gate

M = TypeVar("M", bound=models.Model)


@dataclasses.dataclass(frozen=True)
class Sql:
    """A SQL expression with ``%s`` placeholders, and the values bound to them."""

    text: str
    params: tuple[Any, ...] = ()


@functools.cache
def _statement(
    model: type[models.Model],
    alias: str,
    vendor: str,
    computed: frozenset[tuple[str, str]] = frozenset(),
    returning: tuple[str, ...] | None = (),
    conflict: str = "DO NOTHING",
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """The statement and its bound fields; ``returning`` None returns nothing (for executemany)."""
    connection = connections[alias]
    meta = model._meta
    expressions = dict(computed)
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key or not isinstance(f, AutoFieldMixin))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(expressions.get(f.attname, "%s") for f in fields)
    stored = [quote(_concrete_field(model, name).column) for name in sorted(expressions)]  # read back
    outputs = ", ".join([quote(meta.pk.column) if meta.pk else "id", *(returning or ()), *stored])
    # Identifiers come from model metadata and are quoted, expressions are the caller's constants, and
    # values are always bound parameters.
    table = quote(meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT {conflict}"  # noqa: S608
    return (sql if returning is None else f"{sql} RETURNING {outputs}"), fields


# Field types whose Python values (str, int, bool, None; str enums) the database drivers take as they
# are, so Django's per-field conversion, most of the cost of binding ~50 columns, can be skipped.
# Everything else (datetimes, JSON, decimals …) still goes through ``get_db_prep_save``.
_PASS_THROUGH = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


Converter = Callable[[Any], Any]
_DJANGO = object()  # a converter's "not mine": Django converts this value


def _sqlite_datetime(value: Any) -> Any:
    """Django's SQLite conversion of an aware datetime when the connection's zone is UTC (naive UTC,
    ``str``); anything else is left to Django (``_DJANGO``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is dt.UTC:
            # str() of the naive time is its isoformat(" "); here that ends in "+00:00". A page view
            # writes four of these (its lease three), and this is 1.0 µs a time against 1.7 µs.
            return value.isoformat(" ")[:-6]
        if value.utcoffset() is not None:
            return str(value.astimezone(dt.UTC).replace(tzinfo=None))
    return _DJANGO


def _sqlite_json(value: Any) -> Any:
    """Django's SQLite conversion of a JSON field without a custom encoder, for plain dicts and lists."""
    return json.dumps(value) if type(value) in (dict, list) else _DJANGO


def adapt_datetime(connection: BaseDatabaseWrapper, value: dt.datetime) -> Any:
    """``connection.ops.adapt_datetimefield_value``, a tenth of its cost for SQLite in UTC."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        converted = _sqlite_datetime(value)
        if converted is not _DJANGO:
            return converted
    return connection.ops.adapt_datetimefield_value(value)


Binders = tuple[tuple[str, bool, Converter | None, models.Field[Any, Any]], ...]


@functools.cache
def _binders(model: type[models.Model], alias: str, vendor: str) -> Binders:
    """Per field: its attribute, whether its value needs converting, a fast converter for it (or
    None: Django's), and the field. The fast converters, measured on a call's ten converted columns,
    cost a tenth of Django's per-field path (``pre_save``, ``get_db_prep_save``, the backend's adapter)."""
    _, fields = _statement(model, alias, vendor)
    utc = vendor == "sqlite" and connections[alias].timezone_name == "UTC"
    binders = []
    for field in fields:
        fast: Converter | None = None
        if utc and type(field) is models.DateTimeField and not (field.auto_now or field.auto_now_add):
            fast = _sqlite_datetime
        elif vendor == "sqlite" and isinstance(field, models.JSONField) and field.encoder is None:
            fast = _sqlite_json
        binders.append((field.attname, not isinstance(field, _PASS_THROUGH), fast, field))
    return tuple(binders)


@functools.cache
def _columns(model: type[models.Model]) -> tuple[tuple[str, models.Field[Any, Any]], ...]:
    return tuple((field.attname, field) for field in model._meta.concrete_fields)


@functools.cache
def _relation_names(model: type[models.Model]) -> frozenset[str]:
    """Foreign keys by field name (``account``), set with a model instance rather than a key."""
    return frozenset(field.name for _, field in _columns(model) if field.is_relation)


@functools.cache
def _accepted_names(model: type[models.Model]) -> frozenset[str]:
    return frozenset(name for name, _ in _columns(model)) | _relation_names(model)


def build(model: type[M], values: Mapping[str, Any]) -> M:
    """``model(**values)``, for values keyed by column attribute (``account_id``) or foreign key name.

    ``Model.__init__`` pops every keyword through per-field descriptor checks, a sixth of the voice
    webhook's CPU for a call's ~50 columns; this fills the instance's ``__dict__`` as that loop
    would, and sets related instances through their descriptor, as it does. A model with init
    signal receivers, or any other keyword, goes through ``__init__``.
    """
    signalled = pre_init.has_listeners(model) or post_init.has_listeners(model)
    if signalled or not values.keys() <= _accepted_names(model):
        return model(**values)
    instance = model.__new__(model)
    instance._state = ModelState()
    data = instance.__dict__
    for name, field in _columns(model):
        data[name] = values[name] if name in values else field.get_default()
    relations = _relation_names(model)
    for name, value in values.items():
        if name in relations:
            setattr(instance, name, value)
    return instance


def supported(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor in ("sqlite", "postgresql")


def insert_unless_conflict(
    instance: models.Model,
    using: str = "default",
    *,
    computed: Mapping[str, Sql] | None = None,
    returning: Sequence[Sql] = (),
) -> tuple[Any, ...] | None:
    """Insert ``instance``; None if a unique constraint already held, else the ``returning`` values.

    On success the instance gets its pk. ``computed`` fields (by attribute name) take the value of a
    SQL expression evaluated in the same statement, and the instance gets the value stored;
    ``returning`` expressions are evaluated by the same statement too, so a read that would cost a
    round trip of its own (and, on SQLite, a turn at the write lock) rides along with the write. They
    must not read the inserted row: PostgreSQL evaluates them on the statement's snapshot, SQLite
    after the insert.
    """
    connection = connections[using]
    if not supported(connection):
        raise NotImplementedError(f"fast insert is not implemented for {connection.vendor}")
    computed = computed or {}
    model = type(instance)
    key = frozenset((name, sql.text) for name, sql in computed.items())
    sql, _ = _statement(model, using, connection.vendor, key, tuple(r.text for r in returning))
    params = _bind(instance, connection, computed)
    for extra in returning:
        params.extend(extra.params)
    with write_gate(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = using
    for position, name in enumerate(sorted(computed), start=1 + len(returning)):
        field = _concrete_field(model, name)
        setattr(instance, field.attname, field.to_python(row[position]))
    return tuple(row[1 : 1 + len(returning)])


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    using: str = "default",
    conflict: str = "DO NOTHING",
) -> None:
    """Insert rows of one model in one statement (``driver_sql.execute_values``), given as values by
    column attribute (``account_id``), every column but the auto primary key; a row that a unique
    constraint already holds is skipped, or, with ``conflict`` (what follows ``ON CONFLICT``),
    updated (no two rows may then share a unique key).

    ``bulk_create(ignore_conflicts=True)`` without its cost: it builds a model instance per row and
    compiles every batch anew; this binds values as ``insert_unless_conflict`` does, straight from
    the mappings. Fields that compute their value on save (``auto_now``) are refused.
    """
    if not rows:
        return
    connection = connections[using]
    if not supported(connection):
        raise NotImplementedError(f"fast insert is not implemented for {connection.vendor}")
    binders = _binders(model, using, connection.vendor)
    if any(
        getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) for *_, field in binders
    ):
        raise TypeError(f"{model.__name__} has auto_now fields: insert it with insert_unless_conflict")
    with write_gate(using):
        driver_sql.execute_values(connection, *rows_statement(model, rows, using, conflict))


def rows_statement(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    using: str = "default",
    conflict: str = "DO NOTHING",
) -> tuple[str, list[list[Any]]]:
    """``insert_rows``'s statement and bound rows, for ``driver_sql.execute_values``: built before
    a write lock is taken."""
    connection = connections[using]
    binders = _binders(model, using, connection.vendor)
    sql = _rows_statement(model, using, connection.vendor, conflict)
    return sql, [_bind_values(row, binders, connection) for row in rows]


@functools.cache
def _rows_statement(model: type[models.Model], alias: str, vendor: str, conflict: str) -> str:
    """``_statement`` for many rows: its ``{values}`` stands for their ``VALUES`` list."""
    _, fields = _statement(model, alias, vendor, frozenset(), None, conflict)
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {{values}} ON CONFLICT {conflict}"  # noqa: S608


def _bind_values(row: Mapping[str, Any], binders: Binders, connection: BaseDatabaseWrapper) -> list[Any]:
    params: list[Any] = []
    for name, convert, fast, field in binders:
        value = row[name]
        if not convert:
            params.append(value)
        elif fast is not None and (converted := fast(value)) is not _DJANGO:
            params.append(converted)
        else:
            params.append(field.get_db_prep_save(value, connection))
    return params


def sql_name(model: type[models.Model], field: str | None = None, using: str = "default") -> str:
    """The quoted table of a model, or the quoted column of one of its fields, for hand-written SQL."""
    quote = connections[using].ops.quote_name
    if field is None:
        return quote(model._meta.db_table)
    column = _concrete_field(model, field).column
    if not column:
        raise TypeError(f"{model.__name__}.{field} has no column")
    return quote(column)


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def _bind(instance: models.Model, connection: BaseDatabaseWrapper, computed: Mapping[str, Sql]) -> list[Any]:
    params: list[Any] = []
    for name, convert, fast, field in _binders(type(instance), connection.alias, connection.vendor):
        if name in computed:
            params.extend(computed[name].params)
        elif not convert:
            params.append(getattr(instance, name))
        elif fast is not None and (value := fast(getattr(instance, name))) is not _DJANGO:
            params.append(value)
        else:
            # pre_save matters only for auto_now / auto_now_add fields, which are converted fields anyway.
            params.append(field.get_db_prep_save(field.pre_save(instance, add=True), connection))
    return params
