"""/api/v1/callback-settings (where call-backs ring when the visit's own number does not say) and
/api/v1/callback-requests (what became of each form: status, the carrier's error, the call)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from ringtrail.accounts.access import Principal, get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.callbacks.models import DEFAULT_WHISPER, CallbackRequest, CallbackSettings
from ringtrail.lib.api import Id, Page, StrictSchema, page_of, unprocessable
from ringtrail.numbers.models import NumberState, ReceivingNumber, TrackingNumber

router = Router(tags=["call-back"])
requests_router = Router(tags=["call-back"])
StatusName = Literal[
    "queued", "calling_business", "calling_visitor", "bridged", "declined", "no_answer", "failed"
]


class SettingsIn(StrictSchema):
    """The whole settings (PUT replaces them)."""

    enabled: bool = Field(True, description="false: the form endpoint refuses call-backs (403)")
    tracking_number_id: Id | None = Field(
        None, description="calls the business (and shows to the visitor) when the visit showed no number"
    )
    receiving_number_id: Id | None = Field(None, description="the business number rung in that case")
    whisper_template: str = Field(
        DEFAULT_WHISPER,
        min_length=1,
        max_length=300,
        description="what the business hears; {page} is the page",
    )
    carrier_app_id: str = Field(
        "", max_length=100, description="Telnyx: the TeXML application id outbound calls go through"
    )


class SettingsOut(Schema):
    enabled: bool
    tracking_number_id: int | None
    receiving_number_id: int | None
    whisper_template: str
    carrier_app_id: str
    configured: bool = Field(description="false: nothing stored; the values shown are the defaults")


def _out(row: CallbackSettings | None) -> dict[str, Any]:
    if row is None:
        defaults = {name: field.default for name, field in SettingsIn.model_fields.items()}
        return {**defaults, "configured": False}
    return {
        "enabled": row.enabled,
        "tracking_number_id": row.tracking_number_id,
        "receiving_number_id": row.receiving_number_id,
        "whisper_template": row.whisper_template,
        "carrier_app_id": row.carrier_app_id,
        "configured": True,
    }


def _check_owned(who: Principal, payload: SettingsIn) -> None:
    numbers = scoped(who, TrackingNumber).exclude(state=NumberState.RELEASED)
    if payload.tracking_number_id is not None and not numbers.filter(pk=payload.tracking_number_id).exists():
        raise unprocessable("tracking_number_id", f"no live TrackingNumber {payload.tracking_number_id} here")
    receiving = payload.receiving_number_id
    if receiving is not None and not scoped(who, ReceivingNumber).filter(pk=receiving).exists():
        raise unprocessable("receiving_number_id", f"no ReceivingNumber {receiving} in this account")


@router.get("", response=SettingsOut)
def get_settings(request: HttpRequest) -> dict[str, Any]:
    return _out(scoped(principal(request), CallbackSettings).first())


@router.put("", response=SettingsOut)
def put_settings(request: HttpRequest, payload: SettingsIn) -> dict[str, Any]:
    who = principal(request)
    require_write(who)
    _check_owned(who, payload)
    row = scoped(who, CallbackSettings).first() or CallbackSettings(account=who.account)
    for name, value in payload.dict().items():
        setattr(row, name, value)
    row.save()
    return _out(row)


class RequestOut(Schema):
    id: int
    status: str
    error: str = Field(description="why it failed: the carrier's own message where it gave one")
    phone: str
    name: str
    page: str
    visitor_id: str
    session_id: str
    visit_session_found: bool
    consent_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    tracking_number_id: int | None
    business_number: str
    carrier: str
    carrier_call_id: str
    call_id: int | None

    @staticmethod
    def resolve_visit_session_found(row: CallbackRequest) -> bool:
        return row.visit_session_id is not None


@requests_router.get("", response=Page[RequestOut])
def list_requests(
    request: HttpRequest, page: int = 1, per_page: int = 50, status: StatusName | None = None
) -> dict[str, object]:
    rows = scoped(principal(request), CallbackRequest).order_by("-created_at", "-id")
    if status:
        rows = rows.filter(status=status)
    items, meta = page_of(rows, page, per_page)
    return {"items": items, **meta}


@requests_router.get("/{int:request_id}", response=RequestOut)
def get_request(request: HttpRequest, request_id: int) -> CallbackRequest:
    return get_owned(principal(request), CallbackRequest, pk=request_id)
