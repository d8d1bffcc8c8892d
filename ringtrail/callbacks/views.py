"""``POST /dni/v1/KEY/callback``: a website form asks to be called back.

Public and unauthenticated like the other DNI endpoints (same gate: key, origin, CORS preflight,
16 KB bodies), refuses bots, validates strictly, limits per visit and per phone, stores the request
and answers 202 while the call is placed in the background.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ringtrail.accounts.models import Account
from ringtrail.callbacks import actions
from ringtrail.callbacks.form import Invalid, parse_form
from ringtrail.dni.requests import BadRequest
from ringtrail.dni.views import admitted, with_cors
from ringtrail.lib import clock
from ringtrail.lib.bots import is_bot
from ringtrail.lib.ratelimit import allow


def _error(request: HttpRequest, account: Account, status: int, message: str) -> HttpResponse:
    return with_cors(JsonResponse({"error": message}, status=status), request, account)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def request_callback(request: HttpRequest, public_key: str) -> HttpResponse:
    config = admitted(request, public_key)
    if isinstance(config, HttpResponse):
        return config
    account = config.account
    if is_bot(request.headers.get("User-Agent", "")):
        return _error(request, account, 403, "automated clients cannot request call-backs")
    try:
        form = parse_form(request.body)
    except BadRequest as error:
        return _error(request, account, 422 if isinstance(error, Invalid) else 400, str(error))
    call_backs = actions.settings_of(account.pk)
    if call_backs is not None and not call_backs.enabled:
        return _error(request, account, 403, "call-backs are turned off for this site")
    now = clock.now()
    limited = actions.over_limit(account, form, now)
    ip = request.META.get("REMOTE_ADDR", "")
    # Distinct phones and visits from one address: a form is filled in by hand, a flood is not.
    if limited is None and not allow("callback-ip", f"{account.pk}:{ip}", _per_ip()):
        limited = "too many call-back requests from this address; try again in a minute"
    if limited is not None:
        return _error(request, account, 429, limited)
    stored = actions.create_request(account, form, now)
    stored.refresh_from_db(fields=["status"])
    body = {"callback": stored.pk, "status": stored.status}
    return with_cors(JsonResponse(body, status=202), request, account)


def _per_ip() -> int:
    return int(settings.CALLBACK_RATE_PER_IP_PER_MINUTE)
