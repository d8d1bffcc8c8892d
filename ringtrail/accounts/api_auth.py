"""How the REST API knows who is asking: a Bearer API key, or a signed-in member's session."""

from __future__ import annotations

import hmac

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from ringtrail.accounts.access import Principal, membership_for
from ringtrail.accounts.models import ApiKey, hash_api_key

LAST_USED_GRANULARITY_SECONDS = 60


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        parts = token.split("_")
        if len(parts) < 3 or len(token) > 200:
            return None
        key = ApiKey.objects.select_related("account").filter(prefix=parts[1], revoked_at=None).first()
        if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(token)):
            return None
        now = timezone.now()
        # Avoid a write per request: last use is kept to the minute.
        if (
            key.last_used_at is None
            or (now - key.last_used_at).total_seconds() > LAST_USED_GRANULARITY_SECONDS
        ):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return Principal.for_api_key(key)


class MemberSessionAuth(SessionAuth):
    """The dashboard's own session (CSRF-checked), acting for the member's current account."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Principal | None:
        user = request.user
        if not user.is_authenticated:
            return None
        membership = membership_for(user, request.session.get("account_slug"))
        return Principal.for_membership(membership) if membership else None


def principal(request: HttpRequest) -> Principal:
    found = getattr(request, "auth", None)
    assert isinstance(found, Principal), "endpoint is not behind authentication"
    return found
