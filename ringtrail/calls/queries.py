"""Reading calls: the filters shared by the calls API and the call log page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from ringtrail.accounts.access import Principal, scoped
from ringtrail.calls.models import Call


@dataclass(frozen=True)
class CallFilter:
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    source_id: int | None = None
    tracking_number_id: int | None = None
    outcome: str | None = None
    caller: str | None = None  # digits or a fragment of the caller's number or name
    # Spam is left out unless asked for: "exclude" (default), "only" or "include".
    spam: str = "exclude"


def calls_for(principal: Principal, wanted: CallFilter) -> QuerySet[Call]:
    calls = scoped(principal, Call).select_related("source", "tracking_number", "receiving_number")
    if wanted.spam != "include":
        calls = calls.filter(is_spam=wanted.spam == "only")
    if wanted.start_date:
        calls = calls.filter(start_time__date__gte=wanted.start_date)
    if wanted.end_date:
        calls = calls.filter(start_time__date__lte=wanted.end_date)
    if wanted.source_id:
        calls = calls.filter(source_id=wanted.source_id)
    if wanted.tracking_number_id:
        calls = calls.filter(tracking_number_id=wanted.tracking_number_id)
    if wanted.outcome:
        calls = calls.filter(outcome=wanted.outcome)
    if wanted.caller:
        fragment = wanted.caller.strip()
        digits = "".join(ch for ch in fragment if ch.isdigit())
        match = Q(customer_name__icontains=fragment)
        if digits:
            match |= Q(customer_phone_number__contains=digits)
        calls = calls.filter(match)
    return calls.order_by("-start_time", "-id")
