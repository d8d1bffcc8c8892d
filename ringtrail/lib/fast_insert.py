"""An INSERT … ON CONFLICT DO NOTHING whose SQL is built once per model and database.

The ORM compiles every ``create()`` from scratch, which is most of the cost of the voice webhook's one
write. This prepares the statement once and binds values the way Django's own insert compiler does
(``field.pre_save`` then ``field.get_db_prep_save``), so field conversions (JSON, datetimes) are
Django's. A conflict on any unique constraint inserts nothing and returns None instead of raising,
so no savepoint is needed either.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields import AutoFieldMixin


@functools.cache
def _statement(
    model: type[models.Model], alias: str, vendor: str
) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    connection = connections[alias]
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key or not isinstance(f, AutoFieldMixin))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join("%s" for _ in fields)
    pk = quote(meta.pk.column) if meta.pk else "id"
    # Identifiers come from model metadata and are quoted; values are always bound parameters.
    table = quote(meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING {pk}"  # noqa: S608
    return sql, fields


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


@functools.cache
def _binders(
    model: type[models.Model], alias: str, vendor: str
) -> tuple[tuple[str, bool, models.Field[Any, Any]], ...]:
    """Per field: its attribute, whether its value needs Django's conversion, and the field."""
    _, fields = _statement(model, alias, vendor)
    return tuple((field.attname, not isinstance(field, _PASS_THROUGH), field) for field in fields)


def supported(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor in ("sqlite", "postgresql")


def insert_unless_conflict(instance: models.Model, using: str = "default") -> bool:
    """Insert ``instance``; True and its pk set if inserted, False if a unique constraint already held."""
    connection = connections[using]
    if not supported(connection):
        raise NotImplementedError(f"fast insert is not implemented for {connection.vendor}")
    sql, _ = _statement(type(instance), using, connection.vendor)
    # pre_save matters only for auto_now / auto_now_add fields, which are converted fields anyway.
    params = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection)
        if convert
        else getattr(instance, name)
        for name, convert, field in _binders(type(instance), using, connection.vendor)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = using
    return True
