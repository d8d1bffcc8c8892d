"""Public DNI endpoints: the tracking script, the session call, the heartbeat, and AMP.

Unauthenticated and hot: no Django session, auth or CSRF work (MachineEndpointsMiddleware), a
bounded body, and a well-formed answer even when a step drops the request.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ringtrail.accounts.models import Account
from ringtrail.dni import session as pipeline
from ringtrail.dni.config import AccountConfig, config_for
from ringtrail.dni.leases import lease_store
from ringtrail.dni.requests import BadRequest, SessionRequest, parse_session, parse_touch
from ringtrail.lib import clock
from ringtrail.visits import actions as visit_actions

SCRIPT = Path(__file__).parent / "static" / "ringtrail" / "tracker.min.js"
CONFIG_TOKEN = "__RINGTRAIL_CONFIG__"  # noqa: S105 - a placeholder, not a secret
HEARTBEAT_SECONDS = 60
HIDE_MS = 1000


@functools.cache
def _script_source(mtime: float) -> str:
    return SCRIPT.read_text()


def _cors(response: HttpResponse, request: HttpRequest, account: Account) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    response["Access-Control-Allow-Origin"] = origin if origin and account.allowed_origins.strip() else "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _refused(request: HttpRequest, account: Account | None) -> HttpResponse | None:
    if account is None:
        return JsonResponse({"error": "unknown public key"}, status=404)
    origin = request.headers.get("Origin", "")
    if origin and not account.origin_allowed(origin):
        return JsonResponse({"error": f"origin {origin[:100]} is not allowed for this account"}, status=403)
    return None


def _client(request: HttpRequest) -> pipeline.Caller:
    return pipeline.Caller(
        ip=request.META.get("REMOTE_ADDR", ""), user_agent=request.headers.get("User-Agent", "")
    )


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
    return _cors(response, request, account)


def _preflight(request: HttpRequest, account: Account) -> HttpResponse:
    return _cors(HttpResponse(status=204), request, account)


def _gate(request: HttpRequest, public_key: str) -> AccountConfig | HttpResponse:
    """Known key, allowed origin; answers CORS preflight itself."""
    config = config_for(public_key)
    refused = _refused(request, config.account if config else None)
    if refused is not None or config is None:
        return refused or HttpResponse(status=404)
    if request.method == "OPTIONS":
        return _preflight(request, config.account)
    return config


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def session(request: HttpRequest, public_key: str) -> HttpResponse:
    config = _gate(request, public_key)
    if isinstance(config, HttpResponse):
        return config
    try:
        parsed = parse_session(request.body)
    except BadRequest as error:
        return _cors(JsonResponse({"error": str(error)}, status=400), request, config.account)
    outcome = pipeline.handle(config, parsed, _client(request))
    body: dict[str, Any] = {
        "visitor": outcome.visitor,
        "session": outcome.session,
        "swaps": outcome.swaps,
        "ttl": outcome.ttl,
    }
    # Plain json.dumps: JsonResponse's DjangoJSONEncoder handles types this body never holds.
    answer = HttpResponse(json.dumps(body), content_type="application/json")
    return _cors(answer, request, config.account)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def touch(request: HttpRequest, public_key: str) -> HttpResponse:
    config = _gate(request, public_key)
    if isinstance(config, HttpResponse):
        return config
    try:
        parsed = parse_touch(request.body)
    except BadRequest as error:
        return _cors(JsonResponse({"error": str(error)}, status=400), request, config.account)
    now = clock.now()
    lease_store().touch(config.account.pk, parsed.session, now)
    visit_actions.touch_session(config.account, parsed.session, now)
    return _cors(HttpResponse(status=204), request, config.account)


@require_GET
def amp(request: HttpRequest, public_key: str) -> HttpResponse:
    """AMP's amp-call-tracking: ``{phoneNumber, formattedPhoneNumber}`` for the page's client id."""
    config = _gate(request, public_key)
    if isinstance(config, HttpResponse):
        return config
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
    outcome = pipeline.handle(config, parsed, _client(request))
    swap = next(iter(outcome.swaps.values()), None)
    body = {"phoneNumber": swap["number"], "formattedPhoneNumber": swap["formatted"]} if swap else {}
    return _cors(JsonResponse(body), request, config.account)
