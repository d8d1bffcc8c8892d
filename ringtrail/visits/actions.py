"""Writes about visits: the visitor's first touch, the session's touch, its page views."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from ringtrail.accounts.models import Account
from ringtrail.dni.requests import SessionRequest
from ringtrail.sources.classify import Visit, default_channel
from ringtrail.sources.models import Source
from ringtrail.visits.models import PageView, Session, Visitor


def touch_of(visit: Visit, source: Source | None, request: SessionRequest) -> dict[str, Any]:
    name, medium = (source.name, source.medium) if source else default_channel(visit)
    return {
        "landing_url": visit.landing_url,
        "referrer": visit.referrer,
        "utm": dict(visit.utm),
        "click_ids": dict(visit.click_ids),
        "source_id": source.pk if source else None,
        "source_name": name,
        "medium": medium,
        "ga_client_id": request.ga_client_id,
        "ga_session_id": request.ga_session_id,
    }


def record_visit(
    account: Account,
    visitor_id: str,
    session_id: str,
    request: SessionRequest,
    visit: Visit,
    source: Source | None,
    number_id: int | None,
    overflow: bool,
    now: dt.datetime,
) -> Session:
    touch = touch_of(visit, source, request)
    try:
        with transaction.atomic():
            return _record(account, visitor_id, session_id, request, touch, source, number_id, overflow, now)
    except IntegrityError:
        # Two first requests of one session raced; the other created the rows. Record the page view.
        with transaction.atomic():
            return _record(account, visitor_id, session_id, request, touch, source, number_id, overflow, now)


def _record(
    account: Account,
    visitor_id: str,
    session_id: str,
    request: SessionRequest,
    touch: dict[str, Any],
    source: Source | None,
    number_id: int | None,
    overflow: bool,
    now: dt.datetime,
) -> Session:
    Visitor.objects.get_or_create(
        account=account,
        visitor_id=visitor_id,
        defaults={"first_seen_at": now, "first_source": source, "first_touch": touch},
    )
    session, created = Session.objects.get_or_create(
        account=account,
        session_id=session_id,
        defaults={
            "visitor_id": visitor_id,
            "started_at": now,
            "last_seen_at": now,
            "source": source,
            "source_name": touch["source_name"],
            "medium": touch["medium"],
            "landing_url": touch["landing_url"],
            "referrer": touch["referrer"],
            "utm": touch["utm"],
            "click_ids": touch["click_ids"],
            "ga_client_id": request.ga_client_id,
            "ga_session_id": request.ga_session_id,
            "tracking_number_id": number_id,
            "overflow": overflow,
        },
    )
    if not created:
        Session.objects.filter(pk=session.pk).update(
            last_seen_at=now,
            page_views=F("page_views") + 1,
            tracking_number_id=number_id or session.tracking_number_id,
        )
    PageView.objects.create(session=session, url=request.url, viewed_at=now)
    return session


def first_source(account: Account, visitor_id: str, since: dt.datetime) -> Source | None:
    visitor = (
        Visitor.objects.filter(account=account, visitor_id=visitor_id, first_seen_at__gte=since)
        .select_related("first_source")
        .first()
    )
    return visitor.first_source if visitor else None


def touch_session(account: Account, session_id: str, now: dt.datetime) -> bool:
    return bool(Session.objects.filter(account=account, session_id=session_id).update(last_seen_at=now))
