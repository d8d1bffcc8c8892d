"""/api/v1/sources — the marketing sources calls are credited to."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from ringtrail.accounts.access import get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.lib.api import Page, StrictSchema, apply_fields, page_of
from ringtrail.sources.models import Source

router = Router(tags=["sources"])


class SourceIn(StrictSchema):
    name: str = Field(min_length=1, max_length=120)
    medium: str = Field("", max_length=60)
    kind: Literal["offline"] = Field("offline", description="'online' sources arrive with DNI")


class SourcePatch(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=120)
    medium: str | None = Field(None, max_length=60)


class SourceOut(Schema):
    id: int
    name: str
    medium: str
    kind: str
    created_at: dt.datetime


def _save(source: Source) -> Source:
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError as exc:
        raise HttpError(409, "name: a source with this name already exists") from exc
    return source


@router.get("", response=Page[SourceOut])
def list_sources(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), Source).order_by("name", "id"), page, per_page)
    return {"items": items, **meta}


@router.post("", response={201: SourceOut})
def create_source(request: HttpRequest, payload: SourceIn) -> Status[Source]:
    who = principal(request)
    require_write(who)
    return Status(201, _save(Source(account=who.account, **payload.dict())))


@router.get("/{int:source_id}", response=SourceOut)
def get_source(request: HttpRequest, source_id: int) -> Source:
    return get_owned(principal(request), Source, pk=source_id)


@router.patch("/{int:source_id}", response=SourceOut)
def update_source(request: HttpRequest, source_id: int, payload: SourcePatch) -> Source:
    who = principal(request)
    source = get_owned(who, Source, pk=source_id)
    require_write(who)
    apply_fields(source, payload.dict(exclude_none=True))
    return _save(source)


@router.delete("/{int:source_id}", response={204: None})
def delete_source(request: HttpRequest, source_id: int) -> Status[None]:
    who = principal(request)
    source = get_owned(who, Source, pk=source_id)
    require_write(who)
    source.delete()
    return Status(204, None)
