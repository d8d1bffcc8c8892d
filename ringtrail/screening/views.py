"""The spam page, and marking or unmarking one call as spam."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from ringtrail.accounts.access import Principal, get_owned, require_write, scoped
from ringtrail.accounts.pages import member_view
from ringtrail.calls.models import Call
from ringtrail.screening import actions
from ringtrail.screening.models import BlockRule, ScreeningPolicy

CALLS_PER_PAGE = 50
RULES_SHOWN = 100


@member_view
@require_GET
def spam_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    calls = scoped(principal, Call).filter(is_spam=True).order_by("-start_time", "-id")
    page = Paginator(calls, CALLS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "can_write": principal.can_write,
        "rules": scoped(principal, BlockRule)
        .select_related("tracking_number")
        .order_by("kind", "pattern")[:RULES_SHOWN],
        "rule_count": scoped(principal, BlockRule).count(),
        "policies": scoped(principal, ScreeningPolicy)
        .select_related("tracking_number")
        .order_by("tracking_number__number"),
    }
    return render(request, "screening/spam.html", context)


def _back(request: HttpRequest, call: Call) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse("calls:detail", args=[call.pk]))


@member_view
@require_POST
def mark(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    call = get_owned(principal, Call, pk=pk)
    require_write(principal)
    if not call.is_spam:
        actions.mark_spam(call)
        messages.info(request, f"Marked the call from {call.customer_phone_number} as spam.")
    return _back(request, call)


@member_view
@require_POST
def unmark(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    call = get_owned(principal, Call, pk=pk)
    require_write(principal)
    if call.is_spam:
        actions.unmark_spam(call)
        messages.info(request, f"The call from {call.customer_phone_number} is no longer spam.")
    return _back(request, call)
