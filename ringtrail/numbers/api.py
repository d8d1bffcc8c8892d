"""/api/v1/receiving-numbers and /api/v1/tracking-numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from ringtrail.accounts.access import Principal, get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.carriers.models import CarrierConnection
from ringtrail.flows.models import Flow
from ringtrail.lib.api import (
    Id,
    Page,
    StrictSchema,
    apply_fields,
    e164_or_error,
    e164_or_sip,
    page_of,
    unprocessable,
)
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber
from ringtrail.sources.models import Source

receiving_router = Router(tags=["receiving numbers"])
tracking_router = Router(tags=["tracking numbers"])


class ReceivingIn(StrictSchema):
    label: str = Field(min_length=1, max_length=120)
    number: str = Field(max_length=255, description="E.164 number or sip: URI")

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return e164_or_sip(value)


class ReceivingPatch(StrictSchema):
    label: str | None = Field(None, min_length=1, max_length=120)
    number: str | None = Field(None, max_length=255)

    @field_validator("number")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        return None if value is None else e164_or_sip(value)


class ReceivingOut(Schema):
    id: int
    label: str
    number: str
    created_at: dt.datetime


@receiving_router.get("", response=Page[ReceivingOut])
def list_receiving(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), ReceivingNumber).order_by("label", "id"), page, per_page)
    return {"items": items, **meta}


@receiving_router.post("", response={201: ReceivingOut})
def create_receiving(request: HttpRequest, payload: ReceivingIn) -> Status[ReceivingNumber]:
    who = principal(request)
    require_write(who)
    return Status(201, ReceivingNumber.objects.create(account=who.account, **payload.dict()))


@receiving_router.get("/{int:number_id}", response=ReceivingOut)
def get_receiving(request: HttpRequest, number_id: int) -> ReceivingNumber:
    return get_owned(principal(request), ReceivingNumber, pk=number_id)


@receiving_router.patch("/{int:number_id}", response=ReceivingOut)
def update_receiving(request: HttpRequest, number_id: int, payload: ReceivingPatch) -> ReceivingNumber:
    who = principal(request)
    number = get_owned(who, ReceivingNumber, pk=number_id)
    require_write(who)
    apply_fields(number, payload.dict(exclude_none=True))
    number.save()
    return number


@receiving_router.delete("/{int:number_id}", response={204: None})
def delete_receiving(request: HttpRequest, number_id: int) -> Status[None]:
    who = principal(request)
    number = get_owned(who, ReceivingNumber, pk=number_id)
    require_write(who)
    number.delete()
    return Status(204, None)


State = Literal["active", "draining", "released"]


class TrackingIn(StrictSchema):
    number: str = Field(max_length=40)
    connection_id: int
    source_id: int | None = None
    receiving_number_id: int | None = None
    whisper_text: str = Field(
        "", max_length=500, description="Said to the answering party; {source} is replaced"
    )
    record_calls: bool = False
    state: State = "active"
    flow_id: Id | None = Field(None, description="call flow; wins over the source's flow")

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return e164_or_error(value)


class TrackingPatch(StrictSchema):
    source_id: Id | None = None
    receiving_number_id: Id | None = None
    whisper_text: str | None = Field(None, max_length=500)
    record_calls: bool | None = None
    state: State | None = None
    flow_id: Id | None = None


class TrackingOut(Schema):
    id: int
    number: str
    pool_id: int | None
    connection_id: int
    source_id: int | None
    receiving_number_id: int | None
    whisper_text: str
    record_calls: bool
    state: str
    flow_id: int | None
    created_at: dt.datetime


def _owned_references(who: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    """Foreign keys must point into the caller's own account; anything else is a 422 naming the field."""
    models = {
        "connection_id": CarrierConnection,
        "source_id": Source,
        "receiving_number_id": ReceivingNumber,
        "flow_id": Flow,
    }
    for field, model in models.items():
        value = fields.get(field)
        if value is not None and not scoped(who, model).filter(pk=value).exists():
            raise unprocessable(field, f"no {model.__name__} {value} in this account")
    return fields


def _save_tracking(number: TrackingNumber) -> TrackingNumber:
    try:
        with transaction.atomic():
            number.save()
    except IntegrityError as exc:
        raise HttpError(409, "number: this number is already tracked (and not released)") from exc
    return number


@tracking_router.get("", response=Page[TrackingOut])
def list_tracking(
    request: HttpRequest, page: int = 1, per_page: int = 50, state: State | None = None
) -> dict[str, object]:
    rows = scoped(principal(request), TrackingNumber).order_by("number", "id")
    if state:
        rows = rows.filter(state=state)
    items, meta = page_of(rows, page, per_page)
    return {"items": items, **meta}


@tracking_router.post("", response={201: TrackingOut})
def create_tracking(request: HttpRequest, payload: TrackingIn) -> Status[TrackingNumber]:
    who = principal(request)
    require_write(who)
    fields = _owned_references(who, payload.dict())
    return Status(201, _save_tracking(TrackingNumber(account=who.account, **fields)))


@tracking_router.get("/{int:number_id}", response=TrackingOut)
def get_tracking(request: HttpRequest, number_id: int) -> TrackingNumber:
    return get_owned(principal(request), TrackingNumber, pk=number_id)


@tracking_router.patch("/{int:number_id}", response=TrackingOut)
def update_tracking(request: HttpRequest, number_id: int, payload: TrackingPatch) -> TrackingNumber:
    who = principal(request)
    number = get_owned(who, TrackingNumber, pk=number_id)
    require_write(who)
    # exclude_unset (not exclude_none) so that source_id: null detaches the source.
    sent = payload.dict(exclude_unset=True)
    nullable = ("source_id", "receiving_number_id", "flow_id")
    fields = {k: v for k, v in sent.items() if v is not None or k in nullable}
    apply_fields(number, _owned_references(who, fields))
    return _save_tracking(number)


@tracking_router.delete("/{int:number_id}", response={204: None})
def release_tracking(request: HttpRequest, number_id: int) -> Status[None]:
    """Numbers are released, not deleted: their calls keep pointing at them."""
    who = principal(request)
    number = get_owned(who, TrackingNumber, pk=number_id)
    require_write(who)
    number.state = "released"
    number.save()
    return Status(204, None)
