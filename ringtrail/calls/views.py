"""Call pages: the call log and one call's detail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ringtrail.accounts.access import Principal, get_owned, scoped
from ringtrail.accounts.pages import member_view
from ringtrail.calls.models import Call, Outcome
from ringtrail.calls.queries import CallFilter, calls_for, flow_path_of
from ringtrail.numbers.models import TrackingNumber
from ringtrail.sources.models import Source

CALLS_PER_PAGE = 50

CALLER_AREA_ORIGINS = {"carrier": "from carrier", "geocoder": "from number prefix"}


class CallFilterForm(forms.Form):
    start_date = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ModelChoiceField(queryset=Source.objects.none(), required=False, empty_label="Any source")
    tracking_number = forms.ModelChoiceField(
        queryset=TrackingNumber.objects.none(), required=False, empty_label="Any number"
    )
    outcome = forms.ChoiceField(choices=[("", "Any outcome"), *Outcome.choices], required=False)
    caller = forms.CharField(required=False, max_length=100, label="Caller", strip=True)
    spam = forms.ChoiceField(
        choices=[("", "Hide spam"), ("only", "Only spam"), ("include", "Spam and not spam")],
        required=False,
        label="Spam",
    )

    def __init__(self, *args: Any, principal: Principal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Scoped choices: an id from another account is just an invalid choice, never a filter.
        source_field = self.fields["source"]
        number_field = self.fields["tracking_number"]
        assert isinstance(source_field, forms.ModelChoiceField)
        assert isinstance(number_field, forms.ModelChoiceField)
        source_field.queryset = scoped(principal, Source).order_by("name")
        number_field.queryset = scoped(principal, TrackingNumber).order_by("number")

    def to_filter(self) -> CallFilter:
        """The filter from the fields that parsed; fields with errors are left out, not fatal."""
        data = getattr(self, "cleaned_data", {})
        source = data.get("source")
        number = data.get("tracking_number")
        return CallFilter(
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            source_id=source.pk if source is not None else None,
            tracking_number_id=number.pk if number is not None else None,
            outcome=data.get("outcome") or None,
            caller=data.get("caller") or None,
            spam=data.get("spam") or "exclude",
        )


def format_duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


def _playable(url: object) -> bool:
    # Autoescaping does not neutralise a javascript: URL in href/src, so only web URLs become links.
    return isinstance(url, str) and url.lower().startswith(("https://", "http://"))


@dataclass(frozen=True)
class CallRow:
    call: Call
    talk: str


@member_view
@require_GET
def call_log(request: HttpRequest, principal: Principal) -> HttpResponse:
    form = CallFilterForm(request.GET or None, principal=principal)
    if form.is_bound and not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else name
            messages.warning(
                request, f"Ignored the “{label}” filter: {' '.join(str(error) for error in errors)}"
            )
    page = Paginator(calls_for(principal, form.to_filter()), CALLS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [CallRow(call=call, talk=format_duration(call.talk_seconds)) for call in page.object_list]
    return render(request, "calls/log.html", {"form": form, "page": page, "rows": rows})


@member_view
@require_GET
def call_detail(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    call = get_owned(principal, Call, pk=pk)
    urls = call.recording_urls if isinstance(call.recording_urls, list) else []
    context = {
        "call": call,
        "ring": format_duration(call.ring_seconds),
        "talk": format_duration(call.talk_seconds),
        "total": format_duration(call.total_seconds),
        "caller_area_origin": CALLER_AREA_ORIGINS.get(call.caller_area_origin, call.caller_area_origin),
        "recordings": [{"url": str(url), "playable": _playable(url)} for url in urls],
        "voicemail_playable": _playable(call.voicemail_url),
        "events": call.events.exclude(kind="flow").order_by("sequence", "received_at"),
        "flow_path": flow_path_of(principal, call),
        "payload_json": json.dumps(call.raw_payload, indent=2, sort_keys=True, ensure_ascii=False),
        "can_write": principal.can_write,
    }
    return render(request, "calls/detail.html", context)
