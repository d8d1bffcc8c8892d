"""Dashboard-wide pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ringtrail.accounts.models import Account
from ringtrail.dashboard.demo import DEMO_SLUG


def demo_site(request: HttpRequest) -> HttpResponse:
    """A stand-in customer website carrying the demo account's tracking code (only when seeded)."""
    account = Account.objects.filter(slug=DEMO_SLUG).first()
    if account is None:
        raise Http404("the demo account is not seeded")
    return render(request, "dashboard/demo_site.html", {"public_key": account.public_key})
