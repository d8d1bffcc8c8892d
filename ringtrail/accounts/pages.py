"""Page-level access: who is signed in, and which account they are acting for."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from ringtrail.accounts.access import Principal, membership_for

P = ParamSpec("P")

SESSION_ACCOUNT_KEY = "account_slug"

NO_MEMBERSHIP_MESSAGE = (
    "You are signed in, but you are not a member of any account yet. "
    "Ask an owner or admin of your account to add you."
)


def principal_for(request: HttpRequest) -> Principal:
    """The principal a signed-in user acts as: their membership in the account chosen in the session."""
    membership = membership_for(request.user, request.session.get(SESSION_ACCOUNT_KEY))
    if membership is None:
        raise PermissionDenied(NO_MEMBERSHIP_MESSAGE)
    return Principal.for_membership(membership)


def member_view(
    view: Callable[Concatenate[HttpRequest, Principal, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Require a signed-in member and hand the view their ``Principal`` as its second argument."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, principal_for(request), *args, **kwargs)

    return wrapper
