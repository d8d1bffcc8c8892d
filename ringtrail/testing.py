"""Factories for tests and benchmarks: a complete, wired account in one call."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from ringtrail.accounts.models import Account, Membership, Role
from ringtrail.carriers.models import CarrierConnection
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber
from ringtrail.sources.models import Source

TEST_PASSWORD = "correct-horse-9"  # noqa: S105 - test fixtures only


@dataclass
class WiredAccount:
    account: Account
    connection: CarrierConnection
    auth_token: str
    source: Source
    receiving: ReceivingNumber
    tracking: TrackingNumber


def wired_account(
    name: str = "Acme Plumbing",
    tracking: str = "+14155550100",
    receiving: str = "+14155550199",
    kind: str = "twilio",
    record_calls: bool = True,
    whisper_text: str = "Call from {source}",
) -> WiredAccount:
    account = Account.objects.create(name=name, slug=Account.unique_slug_for(name))
    token = secrets.token_hex(16)
    connection = CarrierConnection(
        account=account, kind=kind, account_sid=("AC" if kind == "twilio" else "PJ") + secrets.token_hex(16)
    )
    connection.set_secret(token)
    connection.save()
    source = Source.objects.create(account=account, name="Google Ads", medium="cpc")
    desk = ReceivingNumber.objects.create(account=account, label="Front desk", number=receiving)
    number = TrackingNumber.objects.create(
        account=account,
        number=tracking,
        connection=connection,
        source=source,
        receiving_number=desk,
        record_calls=record_calls,
        whisper_text=whisper_text,
    )
    return WiredAccount(account, connection, token, source, desk, number)


def member(account: Account, role: str = Role.OWNER, email: str | None = None) -> Membership:
    email = email or f"{role}-{secrets.token_hex(3)}@example.com"
    user = get_user_model().objects.create_user(username=email, email=email, password=TEST_PASSWORD)
    return Membership.objects.create(user=user, account=account, role=role)
