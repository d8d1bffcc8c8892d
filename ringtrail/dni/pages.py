"""Dashboard pages for DNI: the tracking code to paste, and each pool with its sizing advice."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ringtrail.accounts.access import Principal, get_owned, scoped
from ringtrail.accounts.pages import member_view
from ringtrail.dni.advisor import advise
from ringtrail.dni.models import Pool
from ringtrail.numbers.models import SwapTarget


def snippet_for(request: HttpRequest, public_key: str) -> str:
    base = settings.PUBLIC_URL or f"{request.scheme}://{request.get_host()}"
    host = base.split("://", 1)[-1]
    return f'<script async src="https://{host}/t/{public_key}.js"></script>'


@member_view
def tracking_code(request: HttpRequest, principal: Principal) -> HttpResponse:
    context = {
        "snippet": snippet_for(request, principal.account.public_key),
        "targets": scoped(principal, SwapTarget).order_by("number"),
        "pools": scoped(principal, Pool).select_related("source").order_by("pk"),
    }
    return render(request, "dni/tracking_code.html", context)


@member_view
def pool_detail(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    pool = get_owned(principal, Pool, pk=pk)
    advice = dataclasses.asdict(advise(pool))
    numbers = pool.numbers.order_by("number")
    return render(request, "dni/pool.html", {"pool": pool, "advice": advice, "numbers": numbers})
