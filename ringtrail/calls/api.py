"""/api/v1/calls — CallRail-style field names, so existing integrations map one to one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from ringtrail.accounts.access import get_owned
from ringtrail.accounts.api_auth import principal
from ringtrail.calls.models import Call, Outcome
from ringtrail.calls.queries import CallFilter, calls_for
from ringtrail.lib.api import Id, page_of

router = Router(tags=["calls"])


class CallOut(Schema):
    id: int
    carrier: str
    carrier_call_id: str
    customer_phone_number: str
    customer_name: str
    customer_city: str
    customer_state: str
    customer_zip: str
    customer_country: str
    customer_time_zone: str
    caller_area_origin: str
    tracking_phone_number: str
    tracking_number_id: int | None
    business_phone_number: str
    start_time: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    ring_time: int | None
    duration: int | None = Field(description="talk time in seconds")
    total_duration: int | None
    outcome: str
    answered: bool
    voicemail: bool
    first_call: bool
    source: str
    source_id: int | None
    medium: str
    recording: str | None
    recordings: list[str]
    voicemail_url: str
    routing_note: str
    call_type: str = Field(description="inbound | callback (a website call-back form)")
    converting_page: str = Field(description="call-backs: the page whose form asked for the call")
    is_spam: bool
    spam_reason: str
    attribution: str = Field(description="exact | ambiguous | caller_history | overflow | static | ''")
    attribution_candidates: list[str]
    landing_page_url: str
    referring_url: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    gclid: str
    fbclid: str
    msclkid: str
    click_ids: dict[str, str]
    ga_client_id: str
    visit_session: str | None
    first_touch: dict[str, Any]


class CallPage(Schema):
    calls: list[CallOut]
    page: int
    per_page: int
    total_pages: int
    total_records: int


class CallQuery(Schema):
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    source_id: Id | None = None
    tracking_number_id: Id | None = None
    outcome: Outcome | None = None
    caller: str | None = Field(None, max_length=64)
    spam: bool = Field(False, description="true: only calls marked as spam (left out otherwise)")
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=250)


def serialize(call: Call) -> dict[str, Any]:
    return {
        "id": call.pk,
        "carrier": call.carrier,
        "carrier_call_id": call.carrier_call_id,
        "customer_phone_number": call.customer_phone_number,
        "customer_name": call.customer_name,
        "customer_city": call.customer_city,
        "customer_state": call.customer_state,
        "customer_zip": call.customer_zip,
        "customer_country": call.customer_country,
        "customer_time_zone": call.customer_time_zone,
        "caller_area_origin": call.caller_area_origin,
        "tracking_phone_number": call.tracking_phone_number,
        "tracking_number_id": call.tracking_number_id,
        "business_phone_number": call.business_phone_number,
        "start_time": call.start_time,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "ring_time": call.ring_seconds,
        "duration": call.talk_seconds,
        "total_duration": call.total_seconds,
        "outcome": call.outcome,
        "answered": call.answered,
        "voicemail": call.voicemail,
        "first_call": call.first_call,
        "source": call.source_name,
        "source_id": call.source_id,
        "medium": call.medium,
        "recording": call.recording_urls[0] if call.recording_urls else None,
        "recordings": list(call.recording_urls),
        "voicemail_url": call.voicemail_url,
        "routing_note": call.routing_note,
        "call_type": call.call_type,
        "converting_page": str((call.touch or {}).get("converting_page", "")),
        "is_spam": call.is_spam,
        "spam_reason": call.spam_reason,
        **_visit_fields(call),
    }


def _visit_fields(call: Call) -> dict[str, Any]:
    touch = call.touch or {}
    utm = touch.get("utm") or {}
    clicks = touch.get("click_ids") or {}
    return {
        "attribution": call.attribution,
        "attribution_candidates": list(call.attribution_candidates),
        "landing_page_url": touch.get("landing_url", ""),
        "referring_url": touch.get("referrer", ""),
        **{
            key: utm.get(key, "")
            for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        },
        **{key: clicks.get(key, "") for key in ("gclid", "fbclid", "msclkid")},
        "click_ids": dict(clicks),
        "ga_client_id": touch.get("ga_client_id", ""),
        "visit_session": touch.get("session_id"),
        "first_touch": dict(call.first_touch or {}),
    }


@router.get("", response=CallPage)
def list_calls(request: HttpRequest, query: Query[CallQuery]) -> dict[str, Any]:
    wanted = CallFilter(
        start_date=query.start_date,
        end_date=query.end_date,
        source_id=query.source_id,
        tracking_number_id=query.tracking_number_id,
        outcome=query.outcome.value if query.outcome else None,
        caller=query.caller,
        spam="only" if query.spam else "exclude",
    )
    calls, meta = page_of(calls_for(principal(request), wanted), query.page, query.per_page)
    return {"calls": [serialize(call) for call in calls], **meta}


@router.get("/{int:call_id}", response=CallOut)
def get_call(request: HttpRequest, call_id: int) -> dict[str, Any]:
    return serialize(get_owned(principal(request), Call, pk=call_id))
