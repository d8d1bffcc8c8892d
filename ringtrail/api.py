"""The REST API: one NinjaAPI mounting each app's router (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI

from ringtrail.accounts.api_auth import ApiKeyAuth, MemberSessionAuth
from ringtrail.callbacks.api import requests_router as callback_requests_router
from ringtrail.callbacks.api import router as callbacks_router
from ringtrail.calls.api import router as calls_router
from ringtrail.carriers.api import router as connections_router
from ringtrail.dni.api import code_router, pool_router, swap_router
from ringtrail.flows.api import router as flows_router
from ringtrail.numbers.api import receiving_router, tracking_router
from ringtrail.screening.api import policy_router, rules_router
from ringtrail.sources.api import router as sources_router

api = NinjaAPI(
    title="Ringtrail API",
    version="1",
    description="Call tracking: numbers, sources, carrier connections and calls. "
    "Authenticate with `Authorization: Bearer <API key>`.",
    auth=[ApiKeyAuth(), MemberSessionAuth()],
    urls_namespace="api",
)
api.add_router("/carrier-connections", connections_router)
api.add_router("/sources", sources_router)
api.add_router("/receiving-numbers", receiving_router)
api.add_router("/tracking-numbers", tracking_router)
api.add_router("/calls", calls_router)
api.add_router("/flows", flows_router)
api.add_router("/swap-targets", swap_router)
api.add_router("/pools", pool_router)
api.add_router("/tracking-code", code_router)
api.add_router("/block-rules", rules_router)
api.add_router("/screening-policy", policy_router)
api.add_router("/callback-settings", callbacks_router)
api.add_router("/callback-requests", callback_requests_router)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "permission denied"}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "not found"}, status=404)
