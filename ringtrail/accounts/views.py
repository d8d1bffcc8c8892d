"""Account pages: choosing the current account, and managing API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ringtrail.accounts.access import Principal, get_owned, memberships_of, require_write, scoped
from ringtrail.accounts.actions import create_api_key, revoke_api_key
from ringtrail.accounts.forms import AccountSwitchForm, ApiKeyCreateForm
from ringtrail.accounts.models import ApiKey
from ringtrail.accounts.pages import SESSION_ACCOUNT_KEY, member_view


@login_required
@require_POST
def account_switch(request: HttpRequest) -> HttpResponse:
    form = AccountSwitchForm(request.POST)
    if not form.is_valid():
        raise Http404("account not found")
    membership = memberships_of(request.user).filter(account__slug=form.cleaned_data["slug"]).first()
    if membership is None:
        # 404, not 403: whether an account the user is not in exists is none of their business.
        raise Http404("account not found")
    request.session[SESSION_ACCOUNT_KEY] = membership.account.slug
    messages.info(request, f"Now working in {membership.account.name}.")
    target = form.cleaned_data["next"]
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("calls:log")


def _api_keys_page(
    request: HttpRequest,
    principal: Principal,
    form: ApiKeyCreateForm,
    new_key: ApiKey | None = None,
    raw_key: str | None = None,
    status: int = 200,
) -> HttpResponse:
    keys = scoped(principal, ApiKey).select_related("created_by").order_by("-created_at", "-id")
    response = render(
        request,
        "accounts/api_keys.html",
        {
            "keys": keys,
            "form": form,
            "can_write": principal.can_write,
            "new_key": new_key,
            "raw_key": raw_key,
        },
        status=status,
    )
    # The page may carry a raw key; no cache anywhere may keep a copy.
    add_never_cache_headers(response)
    return response


@member_view
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method != "POST":
        return _api_keys_page(request, principal, ApiKeyCreateForm(granter_role=principal.role))
    require_write(principal)
    form = ApiKeyCreateForm(request.POST, granter_role=principal.role)
    if not form.is_valid():
        return _api_keys_page(request, principal, form, status=400)
    user = request.user if request.user.is_authenticated else None
    key, raw_key = create_api_key(
        principal.account, form.cleaned_data["name"], form.cleaned_data["role"], user
    )
    # Rendered straight into this response and never stored, so it is shown exactly once.
    return _api_keys_page(
        request, principal, ApiKeyCreateForm(granter_role=principal.role), new_key=key, raw_key=raw_key
    )


@member_view
@require_POST
def api_key_revoke(request: HttpRequest, principal: Principal, pk: int) -> HttpResponse:
    require_write(principal)
    key = get_owned(principal, ApiKey, pk=pk)
    revoke_api_key(key)
    messages.success(request, f"Revoked the key “{key.name}” ({key.prefix}…).")
    return redirect(reverse("api-keys"))


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("calls:log")
