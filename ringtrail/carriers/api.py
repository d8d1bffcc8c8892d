"""/api/v1/carrier-connections — the secret is write-only: accepted, encrypted, never returned."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from ringtrail.accounts.access import get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.carriers.models import CarrierConnection
from ringtrail.lib.api import Page, StrictSchema, page_of

router = Router(tags=["carrier connections"])


class ConnectionIn(StrictSchema):
    kind: Literal["twilio", "signalwire"]
    account_sid: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    secret: str = Field(min_length=8, max_length=256, description="Auth token or signing key (write-only)")
    label: str = Field("", max_length=100)


class ConnectionPatch(StrictSchema):
    secret: str | None = Field(None, min_length=8, max_length=256)
    label: str | None = Field(None, max_length=100)


class ConnectionOut(Schema):
    id: int
    kind: str
    account_sid: str
    label: str
    created_at: dt.datetime


@router.get("", response=Page[ConnectionOut])
def list_connections(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), CarrierConnection).order_by("id"), page, per_page)
    return {"items": items, **meta}


@router.post("", response={201: ConnectionOut})
def create_connection(request: HttpRequest, payload: ConnectionIn) -> Status[CarrierConnection]:
    who = principal(request)
    require_write(who)
    connection = CarrierConnection(
        account=who.account, kind=payload.kind, account_sid=payload.account_sid, label=payload.label
    )
    connection.set_secret(payload.secret)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:
        raise HttpError(409, "account_sid: a connection with this kind and SID already exists") from exc
    return Status(201, connection)


@router.get("/{int:connection_id}", response=ConnectionOut)
def get_connection(request: HttpRequest, connection_id: int) -> CarrierConnection:
    return get_owned(principal(request), CarrierConnection, pk=connection_id)


@router.patch("/{int:connection_id}", response=ConnectionOut)
def update_connection(
    request: HttpRequest, connection_id: int, payload: ConnectionPatch
) -> CarrierConnection:
    who = principal(request)
    connection = get_owned(who, CarrierConnection, pk=connection_id)
    require_write(who)
    if payload.secret is not None:
        connection.set_secret(payload.secret)
    if payload.label is not None:
        connection.label = payload.label
    connection.save()
    return connection


@router.delete("/{int:connection_id}", response={204: None})
def delete_connection(request: HttpRequest, connection_id: int) -> Status[None]:
    who = principal(request)
    connection = get_owned(who, CarrierConnection, pk=connection_id)
    require_write(who)
    if connection.tracking_numbers.exists():
        raise HttpError(409, "connection still has tracking numbers; release or move them first")
    connection.delete()
    return Status(204, None)
