"""Shared fixtures for page tests: members with roles, wired accounts, and calls."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.models import Account, Membership, Role
from ringtrail.calls.models import Call, Outcome
from ringtrail.testing import WiredAccount, member, wired_account

_numbers = itertools.count(100)


@pytest.fixture
def make_wired_account(db: None) -> Callable[..., WiredAccount]:
    """An account with a connection, source, receiving and tracking number (unique numbers per call)."""

    def make(name: str = "Acme Plumbing", **kwargs: Any) -> WiredAccount:
        n = next(_numbers)
        kwargs.setdefault("tracking", f"+1415555{n:04d}")
        kwargs.setdefault("receiving", f"+1415666{n:04d}")
        return wired_account(name=name, **kwargs)

    return make


@pytest.fixture
def make_member(db: None) -> Callable[..., Membership]:
    """A new user who is a member of ``account`` with ``role`` (password: ``correct-horse-9``)."""

    def make(account: Account, role: str = Role.OWNER) -> Membership:
        return member(account, role=role)

    return make


@pytest.fixture
def make_call(db: None) -> Callable[..., Call]:
    """A call on a wired account, credited to its tracking number and source unless overridden."""
    ids = itertools.count(1)

    def make(wired: WiredAccount, **fields: Any) -> Call:
        defaults: dict[str, Any] = {
            "account": wired.account,
            "carrier": "twilio",
            "carrier_call_id": f"CA{next(ids):032d}-{wired.account.pk}",
            "tracking_number": wired.tracking,
            "tracking_phone_number": wired.tracking.number,
            "source": wired.source,
            "source_name": wired.source.name,
            "medium": wired.source.medium,
            "receiving_number": wired.receiving,
            "business_phone_number": wired.receiving.number,
            "customer_phone_number": "+12125550123",
            "outcome": Outcome.ANSWERED,
            "talk_seconds": 75,
            "ring_seconds": 6,
        }
        defaults.update(fields)
        return Call.objects.create(**defaults)

    return make


@pytest.fixture
def acme(make_wired_account: Callable[..., WiredAccount]) -> WiredAccount:
    """The account under test."""
    return make_wired_account("Acme Plumbing")


@pytest.fixture
def rival(make_wired_account: Callable[..., WiredAccount]) -> WiredAccount:
    """Another tenant, whose rows Acme's members must never reach."""
    return make_wired_account("Rival Roofing")


def _signed_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def client_for_member() -> Callable[[Membership], Client]:
    """A fresh test client signed in as the membership's user."""
    return _signed_in


@pytest.fixture
def acme_owner_client(acme: WiredAccount, make_member: Callable[..., Membership]) -> Client:
    return _signed_in(make_member(acme.account, Role.OWNER))


@pytest.fixture
def rival_owner_client(rival: WiredAccount, make_member: Callable[..., Membership]) -> Client:
    return _signed_in(make_member(rival.account, Role.OWNER))
