"""Reading calls: the filters shared by the calls API and the call log page, and a flow call's path."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from ringtrail.accounts.access import Principal, scoped
from ringtrail.calls.flow_path import FlowPath, PathEvent, build_path
from ringtrail.calls.models import Call, CallEvent, Outcome
from ringtrail.numbers.models import ReceivingNumber


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


def flow_path_of(principal: Principal, call: Call) -> FlowPath | None:
    """The call's path through its flow, or None for a call that ran no flow."""
    events = list(
        CallEvent.objects.filter(call=call, kind="flow")
        .order_by("occurred_at", "sequence", "id")
        .values_list("payload", "occurred_at")
    )
    if not events and call.flow_version_id is None:
        return None
    steps = call.flow_version.document.get("steps", {}) if call.flow_version is not None else {}
    labels = {str(key): str(step.get("label", "")) for key, step in steps.items() if isinstance(step, dict)}
    ids = {payload.get("receiving_number") for payload, _ in events if isinstance(payload, dict)}
    numbers = scoped(principal, ReceivingNumber).filter(pk__in=[i for i in ids if isinstance(i, int)])
    receiving = {n.pk: f"{n.label} ({n.number})" if n.label else n.number for n in numbers}
    return build_path(
        (PathEvent.from_payload(payload, at) for payload, at in events if isinstance(payload, dict)),
        call.start_time,
        labels,
        receiving,
        ended=call.outcome != Outcome.IN_PROGRESS,
    )
