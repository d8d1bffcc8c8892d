from __future__ import annotations

import json
import secrets

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ringtrail.accounts.models import Account
from ringtrail.carriers.management.commands.simulate import credentials_for_number, normalise_number
from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.simulator import Credentials
from ringtrail.numbers.models import NumberState, TrackingNumber


def make_number(number: str, kind: str = "signalwire", state: str = NumberState.ACTIVE) -> TrackingNumber:
    account = Account.objects.create(name=f"Acme {number}", slug=Account.unique_slug_for("acme"))
    connection = CarrierConnection(account=account, kind=kind, account_sid="AC" + secrets.token_hex(16))
    connection.set_secret("signing-key")
    connection.save()
    return TrackingNumber.objects.create(account=account, number=number, connection=connection, state=state)


@pytest.mark.parametrize(
    ("raw", "e164"), [("+1 (415) 555-0123", "+14155550123"), ("4155550123", "+14155550123")]
)
def test_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert normalise_number(raw, "--to") == e164


def test_nonsense_numbers_are_refused() -> None:
    for raw in ("not a number", "+15550001111"):
        with pytest.raises(CommandError, match="--to"):
            normalise_number(raw, "--to")


@pytest.mark.django_db
def test_credentials_come_from_the_live_tracking_number() -> None:
    make_number("+14155550123", state=NumberState.RELEASED)
    live = make_number("+14155550123", kind="signalwire", state=NumberState.DRAINING)
    assert credentials_for_number("+14155550123") == Credentials(
        "signalwire", live.connection.account_sid, "signing-key"
    )


@pytest.mark.django_db
def test_unknown_number_is_a_clear_error() -> None:
    make_number("+14155550124", state=NumberState.RELEASED)
    with pytest.raises(CommandError, match=r"no live tracking number \+14155550124"):
        call_command("simulate", "call", "--to", "+1 415 555 0124", "--from", "+15125550111")


def test_half_given_credentials_are_refused() -> None:
    with pytest.raises(CommandError, match="both --account-sid and --secret"):
        call_command("simulate", "call", "--to", "+14155550123", "--from", "+15125550111", "--secret", "x")


def test_a_subcommand_is_required() -> None:
    with pytest.raises(CommandError):
        call_command("simulate")


def test_unreachable_server_fails_with_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--to", "+14155550123", "--from", "+15125550111", "--account-sid", "AC1", "--secret", "tok"]
    # Port 9 (discard) on localhost is closed in any sane test environment.
    with pytest.raises(CommandError, match="error"):
        call_command("simulate", "call", *args, "--base-url", "http://127.0.0.1:9", "--json")
    document = json.loads(capsys.readouterr().out)
    assert document["outcome"] == "failed"
    assert "application error" in document["errors"][0]
