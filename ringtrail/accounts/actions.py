"""Writes on accounts: every multi-row change or side effect lives here, in a transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from ringtrail.accounts.models import Account, ApiKey, Membership, Role, hash_api_key

# The prefix is only 32 random bits and must be unique, so a collision is rare but possible.
_PREFIX_ATTEMPTS = 5


def create_api_key(
    account: Account, name: str, role: str, created_by: AbstractBaseUser | None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which exists only in this return value."""
    for attempt in range(_PREFIX_ATTEMPTS):
        prefix, raw_key = ApiKey.generate()
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    account=account,
                    name=name,
                    role=role,
                    prefix=prefix,
                    key_hash=hash_api_key(raw_key),
                    # By id, so any user model (or a command with no user) can create keys.
                    created_by_id=created_by.pk if created_by is not None else None,
                )
        except IntegrityError:
            if attempt == _PREFIX_ATTEMPTS - 1:
                raise
            continue
        return key, raw_key
    raise AssertionError("unreachable")  # pragma: no cover


def revoke_api_key(key: ApiKey) -> None:
    """Revoke once; revoking again keeps the original revocation time for the audit trail."""
    now = timezone.now()
    # A conditional UPDATE, so two concurrent revocations cannot both overwrite the time.
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])


@dataclass(frozen=True)
class AccountCreated:
    account: Account
    generated_password: str | None  # set only when the owner was created without a password


def create_account_with_owner(name: str, owner_email: str, password: str | None = None) -> AccountCreated:
    """A new account with its owner; the owner user is created when the email is new."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("account name must be 1 to 200 characters")
    try:
        validate_email(owner_email)
    except ValidationError as exc:
        raise ValueError(f"{owner_email!r} is not a valid email address") from exc
    users = get_user_model()
    generated = None
    with transaction.atomic():
        user = users.objects.filter(email__iexact=owner_email).first()
        if user is None:
            generated = None if password else secrets.token_urlsafe(12)
            user = users.objects.create_user(
                username=owner_email, email=owner_email, password=password or generated
            )
        account = Account.objects.create(name=name, slug=Account.unique_slug_for(name))
        Membership.objects.create(user=user, account=account, role=Role.OWNER)
    return AccountCreated(account, generated)
