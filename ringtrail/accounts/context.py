"""Template context: the membership the signed-in user is acting through."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ringtrail.accounts.access import membership_for, memberships_of


def current_membership(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    slug = request.session.get("account_slug") if hasattr(request, "session") else None
    return {"membership": membership_for(user, slug), "all_memberships": memberships_of(user)}
