"""/api/v1/flows — call flows, versioned: every document change adds an immutable version."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import RestrictedError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from ringtrail.accounts.access import get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.flows import report
from ringtrail.flows.actions import create_flow, update_flow
from ringtrail.flows.models import Flow, FlowVersion
from ringtrail.flows.validation import MAX_FLOW_BYTES, FlowInvalid
from ringtrail.lib import clock
from ringtrail.lib.api import Page, StrictSchema, page_of, unprocessable

router = Router(tags=["flows"])

# The document's own cap is enforced on its compact JSON; the raw body may add a name and whitespace.
MAX_BODY_BYTES = MAX_FLOW_BYTES + 1024
DOCUMENT_HELP = "A flow document: {start, steps: {id: {type, …}}} (see docs/flows.md)"


class FlowIn(StrictSchema):
    name: str = Field(min_length=1, max_length=120)
    document: dict[str, Any] = Field(description=DOCUMENT_HELP)


class FlowPatch(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=120)
    document: dict[str, Any] | None = Field(None, description=f"{DOCUMENT_HELP}; saves a new version")


class FlowSummaryOut(Schema):
    id: int
    name: str
    version: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_version(flow: Flow) -> int | None:
        return flow.current_version.number if flow.current_version else None


class FlowOut(FlowSummaryOut):
    version_id: int | None
    document: dict[str, Any] | None

    @staticmethod
    def resolve_version_id(flow: Flow) -> int | None:
        return flow.current_version_id

    @staticmethod
    def resolve_document(flow: Flow) -> dict[str, Any] | None:
        return flow.current_version.document if flow.current_version else None


class VersionOut(Schema):
    id: int
    number: int
    created_at: dt.datetime


class VersionDetailOut(VersionOut):
    document: dict[str, Any]


def _saved(request: HttpRequest, save: Any) -> Flow:
    """Run a save; a bad document is a 422 naming each bad path, a taken name a 409."""
    if len(request.body) > MAX_BODY_BYTES:
        raise HttpError(413, f"document: a flow is at most {MAX_FLOW_BYTES} bytes of JSON")
    try:
        with transaction.atomic():
            flow: Flow = save()
    except FlowInvalid as invalid:
        raise HttpError(422, "; ".join(_prefixed(str(error)) for error in invalid.errors)) from None
    except IntegrityError as exc:
        raise HttpError(409, "name: a flow with this name already exists") from exc
    return flow


def _prefixed(message: str) -> str:
    return f"document.{message}" if not message.startswith("a flow") else f"document: {message}"


def _flows(request: HttpRequest) -> Any:
    return scoped(principal(request), Flow).select_related("current_version")


@router.get("", response=Page[FlowSummaryOut])
def list_flows(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(_flows(request).order_by("name", "id"), page, per_page)
    return {"items": items, **meta}


@router.post("", response={201: FlowOut})
def create(request: HttpRequest, payload: FlowIn) -> Status[Flow]:
    who = principal(request)
    require_write(who)
    return Status(201, _saved(request, lambda: create_flow(who.account, payload.name, payload.document)))


@router.get("/{int:flow_id}", response=FlowOut)
def get_flow(request: HttpRequest, flow_id: int) -> Flow:
    return get_owned(principal(request), Flow, pk=flow_id)


@router.patch("/{int:flow_id}", response=FlowOut)
def update(request: HttpRequest, flow_id: int, payload: FlowPatch) -> Flow:
    who = principal(request)
    flow = get_owned(who, Flow, pk=flow_id)
    require_write(who)
    return _saved(request, lambda: update_flow(flow, payload.name, payload.document))


@router.delete("/{int:flow_id}", response={204: None})
def delete_flow(request: HttpRequest, flow_id: int) -> Status[None]:
    who = principal(request)
    flow = get_owned(who, Flow, pk=flow_id)
    require_write(who)
    try:
        with transaction.atomic():
            flow.delete()
    except RestrictedError as exc:
        raise HttpError(409, "flow: still attached to tracking numbers or sources; detach it first") from exc
    return Status(204, None)


@router.get("/{int:flow_id}/versions", response=Page[VersionOut])
def list_versions(request: HttpRequest, flow_id: int, page: int = 1, per_page: int = 50) -> dict[str, object]:
    flow = get_owned(principal(request), Flow, pk=flow_id)
    items, meta = page_of(flow.versions.order_by("-number"), page, per_page)
    return {"items": items, **meta}


@router.get("/{int:flow_id}/versions/{int:number}", response=VersionDetailOut)
def get_version(request: HttpRequest, flow_id: int, number: int) -> FlowVersion:
    flow = get_owned(principal(request), Flow, pk=flow_id)
    version = flow.versions.filter(number=number).first()
    if version is None:
        raise HttpError(404, "FlowVersion not found")
    return version


class OptionOut(Schema):
    key: str
    target: str
    calls: int


class StepReportOut(Schema):
    step: str
    type: str
    label: str
    reached: int
    options: list[OptionOut]
    outcomes: dict[str, int]
    timeouts: int
    invalid: int
    no_choice: int
    hung_up: int
    median_seconds_to_hang_up: float | None
    answered: int | None
    not_answered: int | None
    in_progress: int


class FlowReportOut(Schema):
    flow_id: int
    version: int | None
    since: dt.date
    until: dt.date
    calls: int
    hung_up: int
    steps: list[StepReportOut]


class ReportQuery(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="one version's number; all if absent")
    since: dt.date | None = Field(None, description="first day (calls' start date); default: 30 days ago")
    until: dt.date | None = Field(None, description="last day, inclusive; default: today")


@router.get("/{int:flow_id}/report", response=FlowReportOut)
def flow_report(request: HttpRequest, flow_id: int, query: Query[ReportQuery]) -> dict[str, Any]:
    """Per step: callers who reached it, chose each option, hung up there; spam is left out."""
    flow = get_owned(principal(request), Flow, pk=flow_id)
    chosen = None
    if query.version is not None:
        chosen = flow.versions.filter(number=query.version).first()
        if chosen is None:
            raise HttpError(404, "FlowVersion not found")
    period = report_period(query.since, query.until, clock.now().date())
    built = report.load(flow, chosen, period)
    return {
        "flow_id": flow.pk,
        "version": query.version,
        "since": period.since,
        "until": period.until,
        "calls": built.calls,
        "hung_up": built.hung_up,
        "steps": [{**asdict(row), "outcomes": dict(row.outcomes)} for row in built.steps],
    }


def report_period(since: dt.date | None, until: dt.date | None, today: dt.date) -> report.Period:
    """The dates asked for; either end missing defaults to the last 30 days (a 422 if reversed)."""
    default = report.default_period(until or today)
    period = report.Period(since or default.since, until or default.until)
    if period.since > period.until:
        raise unprocessable("since", f"{period.since} is after until ({period.until})")
    return period
