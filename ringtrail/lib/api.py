"""Small helpers shared by the REST routers (domain-free)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from ninja import Field, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict

from ringtrail.lib.phone import is_sip_uri, normalize_e164

M = TypeVar("M", bound=Model)
# Database ids are signed 64-bit; a larger number in a filter would crash the driver, not match nothing.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
T = TypeVar("T")
MAX_PER_PAGE = 250


class Page(Schema, Generic[T]):
    """One page of a list endpoint."""

    items: list[T]
    page: int
    per_page: int
    total_pages: int
    total_records: int


class StrictSchema(Schema):
    """Input schemas refuse unknown keys, so a typo is a 422 instead of a silently ignored field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def page_of(rows: QuerySet[M], page: int, per_page: int) -> tuple[list[M], dict[str, int]]:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    total = rows.count()
    pages = max(1, math.ceil(total / per_page))
    page = max(1, page)
    # Past the last page there is nothing to fetch; slicing would also overflow PostgreSQL's OFFSET.
    items = list(rows[(page - 1) * per_page : page * per_page]) if page <= pages else []
    return items, {"page": page, "per_page": per_page, "total_pages": pages, "total_records": total}


def e164_or_error(value: str) -> str:
    """Pydantic validator body: E.164 or a ValueError that names what is wrong."""
    normalized = normalize_e164(value)
    if normalized is None:
        raise ValueError(f"{value[:40]!r} is not a valid phone number (use E.164, e.g. +14155550100)")
    return normalized


def e164_or_sip(value: str) -> str:
    if is_sip_uri(value):
        return value
    return e164_or_error(value)


def unprocessable(field: str, message: str) -> HttpError:
    return HttpError(422, f"{field}: {message}")


def apply_fields(instance: Model, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(instance, name, value)
