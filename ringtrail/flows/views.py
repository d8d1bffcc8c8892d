"""Flow pages: the list, creating and editing a flow's JSON document, its versions, where it is attached.

Saves go through ``flows.actions`` (validated against the account, a new immutable version each time);
a document that does not validate is shown again as typed, with every error's path beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ringtrail.accounts.access import Principal, get_owned, require_write, scoped
from ringtrail.accounts.pages import member_view
from ringtrail.calls.views import format_duration
from ringtrail.flows import report
from ringtrail.flows.actions import create_flow, update_flow
from ringtrail.flows.models import Flow
from ringtrail.flows.validation import MAX_FLOW_BYTES, FlowInvalid
from ringtrail.lib import clock
from ringtrail.lib.api import MAX_ID
from ringtrail.numbers.models import NumberState, ReceivingNumber, TrackingNumber
from ringtrail.sources.models import Source

MAX_VERSION = 2**31  # version numbers are 32-bit on PostgreSQL; larger is simply no such version
# Pretty-printed JSON is a few times larger than the compact form the cap applies to.
MAX_TEXT_CHARS = 4 * MAX_FLOW_BYTES
STARTER = {
    "start": "greeting",
    "steps": {
        "greeting": {"type": "say", "text": "Thanks for calling.", "next": "goodbye"},
        "goodbye": {"type": "hangup"},
    },
}


class FlowForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)
    document = forms.CharField(
        max_length=MAX_TEXT_CHARS,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 28, "cols": 100, "spellcheck": "false", "class": "mono", "style": "width: 100%"}
        ),
        help_text="The flow document as JSON (see docs/flows.md).",
    )

    def parsed_document(self) -> Any:
        """The document's JSON; a syntax error becomes a form error naming the line and column."""
        try:
            return json.loads(self.cleaned_data["document"])
        except (ValueError, RecursionError) as error:
            self.add_error("document", f"not JSON: {error}")
            return None


def pretty(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def _flows_of(principal: Principal) -> Any:
    numbers = TrackingNumber.objects.order_by("number")
    return (
        scoped(principal, Flow)
        .select_related("current_version")
        .prefetch_related(
            Prefetch("tracking_numbers", queryset=numbers),
            Prefetch("sources", Source.objects.order_by("name")),
        )
        .order_by("name", "id")
    )


@member_view
@require_GET
def flow_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    context = {"flows": _flows_of(principal), "can_write": principal.can_write}
    return render(request, "flows/list.html", context)


@member_view
@require_http_methods(["GET", "POST"])
def flow_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method != "POST":
        form = FlowForm(initial={"document": pretty(STARTER)})
        return _edit_page(request, principal, form, None)
    require_write(principal)
    form = FlowForm(request.POST)
    flow = _save(form, lambda name, doc: create_flow(principal.account, name, doc))
    if flow is None:
        return _edit_page(request, principal, form, None, status=400)
    messages.success(request, f"Created the flow “{flow.name}” (version 1).")
    return redirect("flows:edit", pk=flow.pk)


@member_view
@require_http_methods(["GET", "POST"])
def flow_edit(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    flow = get_owned(principal, Flow, pk=pk)
    if request.method != "POST":
        document = flow.current_version.document if flow.current_version else STARTER
        form = FlowForm(initial={"name": flow.name, "document": pretty(document)})
        return _edit_page(request, principal, form, flow)
    require_write(principal)
    form = FlowForm(request.POST)
    before = flow.current_version.document if flow.current_version else None
    saved = _save(form, lambda name, doc: update_flow(flow, name, None if doc == before else doc))
    if saved is None:
        return _edit_page(request, principal, form, flow, status=400)
    version = saved.current_version.number if saved.current_version else 0
    unchanged = saved.current_version_id == flow.current_version_id
    messages.success(
        request,
        f"Saved “{saved.name}”" + (" (document unchanged)." if unchanged else f" as version {version}."),
    )
    return redirect("flows:edit", pk=saved.pk)


def _save(form: FlowForm, save: Callable[[str, Any], Flow]) -> Flow | None:
    """Validate and save; None when the form now carries the errors to show."""
    if not form.is_valid():
        return None
    document = form.parsed_document()
    if document is None:
        return None
    try:
        with transaction.atomic():
            flow = save(form.cleaned_data["name"], document)
    except FlowInvalid as invalid:
        for error in invalid.errors:
            form.add_error("document", str(error))
        return None
    except IntegrityError:
        form.add_error("name", "A flow with this name already exists.")
        return None
    return flow


def _edit_page(
    request: HttpRequest, principal: Principal, form: FlowForm, flow: Flow | None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "flow": flow,
        "can_write": principal.can_write,
        # Documents name receiving numbers by id (forward targets, queue members).
        "receiving": scoped(principal, ReceivingNumber).order_by("label", "pk"),
    }
    if flow is not None:
        context |= {
            "versions": flow.versions.order_by("-number").only("number", "created_at", "flow_id"),
            "numbers": flow.tracking_numbers.order_by("number"),
            "sources": flow.sources.order_by("name"),
            "free_numbers": scoped(principal, TrackingNumber)
            .exclude(state=NumberState.RELEASED)
            .exclude(flow=flow)
            .select_related("flow")
            .order_by("number"),
            "free_sources": scoped(principal, Source)
            .exclude(flow=flow)
            .select_related("flow")
            .order_by("name"),
        }
    return render(request, "flows/edit.html", context, status=status)


@member_view
@require_GET
def version_detail(request: HttpRequest, principal: Principal, pk: int, number: int) -> HttpResponse:
    flow = get_owned(principal, Flow, pk=pk)
    version = flow.versions.filter(number=number).first() if number < MAX_VERSION else None
    if version is None:
        raise Http404("FlowVersion not found")
    context = {"flow": flow, "version": version, "document": pretty(version.document)}
    return render(request, "flows/version.html", context)


@member_view
@require_POST
def flow_delete(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    flow = get_owned(principal, Flow, pk=pk)
    require_write(principal)
    try:
        with transaction.atomic():
            flow.delete()
    except RestrictedError:
        messages.error(request, f"“{flow.name}” is still attached to numbers or sources; detach it first.")
        return redirect("flows:edit", pk=flow.pk)
    messages.success(request, f"Deleted the flow “{flow.name}” and its versions.")
    return redirect("flows:list")


def _id(raw: str) -> int:
    """A posted id; anything that is not a database id is a 404 like another account's row."""
    if not raw.isdigit() or not 0 < int(raw) < MAX_ID:
        raise Http404("no such row")
    return int(raw)


ATTACHABLE: dict[str, type[TrackingNumber] | type[Source]] = {"number": TrackingNumber, "source": Source}


@member_view
@require_POST
def attach(request: HttpRequest, principal: Principal, pk: int, kind: str) -> HttpResponse:
    """Attach the flow to one of the account's numbers or sources, or detach it (``detach`` set)."""
    flow = get_owned(principal, Flow, pk=pk)
    require_write(principal)
    model = ATTACHABLE.get(kind)
    if model is None:
        raise Http404("nothing of that kind to attach")
    target: Any = get_owned(principal, model, pk=_id(request.POST.get("target", "")))
    detach = bool(request.POST.get("detach"))
    if detach and target.flow_id != flow.pk:
        messages.warning(request, f"“{target}” does not use this flow.")
        return redirect("flows:edit", pk=flow.pk)
    target.flow = None if detach else flow
    target.save()  # a model save: the routing snapshots refresh on its signal
    verb = "Detached from" if detach else "Attached to"
    messages.success(request, f"{verb} “{target}”.")
    return redirect("flows:edit", pk=flow.pk)


# -- the IVR report -------------------------------------------------------------------------------


class ReportForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Version")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, versions: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "All versions"), *((str(n), f"Version {n}") for n in versions)]
        self.fields["version"].choices = choices  # type: ignore[attr-defined]


@member_view
@require_GET
def flow_report(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    flow = get_owned(principal, Flow, pk=pk)
    numbers = list(flow.versions.order_by("-number").values_list("number", flat=True))
    form = ReportForm(request.GET or None, versions=numbers)
    # Fields that parsed apply; the others fall back to their defaults, with a note.
    wanted: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if form.is_bound and form.errors:
        wanted = {k: v for k, v in getattr(form, "cleaned_data", {}).items() if k not in form.errors}
        messages.warning(request, "Ignored filters that did not parse; showing the defaults for them.")
    today = clock.now().date()
    default = report.default_period(wanted.get("until") or today)
    period = report.Period(wanted.get("since") or default.since, wanted.get("until") or default.until)
    if period.since > period.until:
        messages.warning(request, "“From” was after “To”; showing the last 30 days to “To”.")
        period = default
    number = wanted.get("version")
    version = flow.versions.filter(number=number).first() if number is not None else None
    built = report.load(flow, version, period)
    if not form.is_bound:
        form = ReportForm(initial={"since": period.since, "until": period.until}, versions=numbers)
    context = {
        "flow": flow,
        "form": form,
        "period": period,
        "version": version,
        "report": built,
        "steps": [step_view(row, built.calls) for row in built.steps],
    }
    return render(request, "flows/report.html", context)


@dataclass(frozen=True)
class Line:
    """One row of a step's table: what happened, to how many callers, out of how many."""

    what: str
    calls: int
    of: int
    target: str = ""


@dataclass(frozen=True)
class StepView:
    row: report.StepReport
    lines: list[Line]
    median: str
    reached_of: int


def step_view(row: report.StepReport, calls: int) -> StepView:
    reached = row.reached
    lines = [Line("Reached this step", reached, calls)]
    if row.type == "menu":
        lines += [Line(f"Chose {option.key}", option.calls, reached, option.target) for option in row.options]
        lines += [
            Line("Timeouts (silence; re-prompts included)", row.timeouts, reached),
            Line("Invalid answers", row.invalid, reached),
            Line("Ran out of retries", row.no_choice, reached),
        ]
    elif row.answered is not None and row.not_answered is not None:
        lines += [Line("Answered", row.answered, reached), Line("Not answered", row.not_answered, reached)]
    else:
        lines += [Line(outcome or "left", count, reached) for outcome, count in row.outcomes]
    lines.append(Line("Hung up here", row.hung_up, reached))
    if row.in_progress:
        lines.append(Line("Still here (call in progress)", row.in_progress, reached))
    seconds = row.median_seconds_to_hang_up
    median = format_duration(round(seconds)) if seconds is not None else "—"
    return StepView(row, lines, median, calls)
