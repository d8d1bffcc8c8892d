"""The access layer: every tenant-owned lookup goes through here.

A ``Principal`` is whoever is asking — a member signed in to the dashboard or an API key —
reduced to the two facts that matter: which account, and which role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from ringtrail.accounts.models import WRITER_ROLES, Account, ApiKey, Membership, Role

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Principal:
    account: Account
    role: str
    user_id: int | None = None
    api_key_id: int | None = None

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES

    @classmethod
    def for_membership(cls, membership: Membership) -> Principal:
        return cls(account=membership.account, role=membership.role, user_id=membership.user_id)

    @classmethod
    def for_api_key(cls, key: ApiKey) -> Principal:
        return cls(account=key.account, role=key.role, api_key_id=key.pk)


def scoped(principal: Principal, model: type[M]) -> QuerySet[M]:
    """All rows of ``model`` that belong to the principal's account."""
    return model._default_manager.filter(account=principal.account)


def get_owned(principal: Principal, model: type[M], **lookup: Any) -> M:
    """One row of the principal's account, or 404 — never revealing that another account's row exists."""
    try:
        return scoped(principal, model).get(**lookup)
    except (model.DoesNotExist, ValueError, TypeError) as exc:  # type: ignore[attr-defined]
        raise Http404(f"{model.__name__} not found") from exc


def require_write(principal: Principal) -> None:
    if not principal.can_write:
        raise PermissionDenied("this role is read-only")


def memberships_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user_id=user.pk).select_related("account").order_by("account__name")


def membership_for(user: AbstractBaseUser | AnonymousUser, account_slug: str | None) -> Membership | None:
    """The membership the user is acting through: the chosen account, else their first."""
    memberships = memberships_of(user)
    if account_slug:
        chosen = memberships.filter(account__slug=account_slug).first()
        if chosen is not None:
            return chosen
    return memberships.first()


__all__ = ["Principal", "Role", "get_owned", "membership_for", "memberships_of", "require_write", "scoped"]
