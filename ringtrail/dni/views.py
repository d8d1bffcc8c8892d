"""Public DNI endpoints: the tracking script, the session call, the heartbeat, and AMP.

Unauthenticated and hot: no Django session, auth or CSRF work (MachineEndpointsMiddleware), a
bounded body, and a well-formed answer even when a step drops the request. The session call and
the heartbeat are ``endpoints.py``'s, which the WSGI front (``edge.py``) also serves without
Django's handler; these views are how they are reached through Django (tests, other servers).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ringtrail.accounts.models import Account
from ringtrail.dni import endpoints
from ringtrail.dni import session as pipeline
from ringtrail.dni.config import AccountConfig, config_for
from ringtrail.dni.requests import SessionRequest

SCRIPT = Path(__file__).parent / "static" / "ringtrail" / "tracker.min.js"
CONFIG_TOKEN = "__RINGTRAIL_CONFIG__"  # noqa: S105 - a placeholder, not a secret
HEARTBEAT_SECONDS = 60
HIDE_MS = 1000


@functools.cache
def _script_source(mtime: float) -> str:
    return SCRIPT.read_text()


def _call(request: HttpRequest, public_key: str) -> endpoints.Call:
    meta = request.META  # not request.headers: building that mapping is a tenth of this request
    return endpoints.Call(
        method=request.method or "",
        public_key=public_key,
        body=request.body if request.method == "POST" else b"",
        origin=meta.get("HTTP_ORIGIN", ""),
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        ip=meta.get("REMOTE_ADDR", ""),
    )


def _response(reply: endpoints.Reply) -> HttpResponse:
    response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    for name, value in reply.headers + endpoints.ALWAYS:
        response[name] = value
    return response


def admitted(request: HttpRequest, public_key: str) -> AccountConfig | HttpResponse:
    """The account's DNI config, or the response that ends the request (refusal, CORS preflight)."""
    config = endpoints.admitted(_call(request, public_key))
    return _response(config) if isinstance(config, endpoints.Reply) else config


def with_cors(response: HttpResponse, request: HttpRequest, account: Account) -> HttpResponse:
    for name, value in endpoints.cors_headers(request.META.get("HTTP_ORIGIN", ""), account):
        response[name] = value
    return response


@require_GET
def tracking_script(request: HttpRequest, public_key: str) -> HttpResponse:
    found = config_for(public_key)
    if found is None:
        return HttpResponse("// unknown Ringtrail key\n", status=404, content_type="application/javascript")
    account = found.account
    base = settings.PUBLIC_URL or f"{request.scheme}://{request.get_host()}"
    config = {
        "key": account.public_key,
        "endpoint": f"{base}/dni/v1/{account.public_key}",
        "targets": sorted(found.swap_targets),
        "attributes": ["data-phone"],
        "cookieDays": account.cookie_window_days,
        "heartbeatSeconds": HEARTBEAT_SECONDS,
        "hideMs": HIDE_MS,
        "rulesVersion": str(int(timezone.now().timestamp()) // 60),
    }
    source = _script_source(SCRIPT.stat().st_mtime).replace(CONFIG_TOKEN, json.dumps(config), 1)
    response = HttpResponse(source, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=60"
    return with_cors(response, request, account)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def session(request: HttpRequest, public_key: str) -> HttpResponse:
    return _response(endpoints.session_reply(_call(request, public_key)))


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def touch(request: HttpRequest, public_key: str) -> HttpResponse:
    return _response(endpoints.touch_reply(_call(request, public_key)))


@require_GET
def amp(request: HttpRequest, public_key: str) -> HttpResponse:
    """AMP's amp-call-tracking: ``{phoneNumber, formattedPhoneNumber}`` for the page's client id."""
    call = _call(request, public_key)
    config = endpoints.admitted(call)
    if isinstance(config, endpoints.Reply):
        return _response(config)
    client = "".join(ch for ch in request.GET.get("client", "") if ch.isalnum() or ch in "_-")[:60]
    ids = f"amp_{client}" if len(client) >= 4 else None
    url = request.GET.get("url", "")[:2048]
    parsed = SessionRequest(
        visitor=ids,
        session=ids,
        url=url if url.startswith(("https://", "http://")) else "https://amp.invalid/",
        referrer=request.GET.get("referrer", "")[:2048],
        targets=(),
        ga_client_id="",
        ga_session_id="",
    )
    outcome = pipeline.handle(config, parsed, pipeline.Caller(ip=call.ip, user_agent=call.user_agent))
    swap = next(iter(outcome.swaps.values()), None)
    body = {"phoneNumber": swap["number"], "formattedPhoneNumber": swap["formatted"]} if swap else {}
    return with_cors(JsonResponse(body), request, config.account)
