from __future__ import annotations

import argparse
import json
import secrets

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ringtrail.accounts.models import Account
from ringtrail.carriers.management.commands.simulate import credentials_for_number, normalise_number
from ringtrail.carriers.management.simulate_options import callee_spec, caller_input
from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.simulator import Callee, Credentials
from ringtrail.carriers.simulator.tests.fake_server import twiml
from ringtrail.carriers.simulator.tests.local_server import TwimlServer
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


@pytest.mark.parametrize(
    ("raw", "number", "callee"),
    [
        ("+14155550101=no-answer", "+14155550101", Callee(outcome="no-answer")),
        ("(415) 555-0123=answer,after=5,talk=20", "+14155550123", Callee(answer_after=5, talk=20)),
        ("sip:desk@pbx.example.com=busy", "sip:desk@pbx.example.com", Callee(outcome="busy")),
        ("+14155550101=answer,accept=none", "+14155550101", Callee(accept_whisper=None)),
    ],
)
def test_callee_specs(raw: str, number: str, callee: Callee) -> None:
    assert callee_spec(raw) == (number, callee)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("+14155550101", "expected NUMBER=OUTCOME"),
        ("+14155550101=maybe", "not one of answer"),
        ("+14155550101=answer,after=soon", "not a number of seconds"),
        ("+14155550101=answer,after=-1", "must not be negative"),
        ("+14155550101=answer,color=red", "unknown callee option"),
        ("+14155550101=answer,accept=x", "neither keys"),
        ("not-a-number=answer", "not a phone number"),
    ],
)
def test_bad_callee_specs(raw: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        callee_spec(raw)


def test_inputs_take_keys_speech_and_silence() -> None:
    assert [caller_input(raw) for raw in ("2", "say:billing@0.7", "silence", "-")] == [
        "2",
        "say:billing@0.7",
        None,
        None,
    ]
    with pytest.raises(argparse.ArgumentTypeError, match="neither keys"):
        caller_input("two")


def test_cli_scripts_the_ivr_and_the_callees(capsys: pytest.CaptureFixture[str]) -> None:
    dial = "<Dial action='/done'><Number>+14155550101</Number><Number>+14155550102</Number></Dial>"
    routes = {
        "/carriers/twilio/voice": twiml("<Gather action='/menu' numDigits='1'><Say>Press 2</Say></Gather>"),
        "/menu": lambda params: twiml(dial if params.get("Digits") == "2" else "<Hangup/>"),
    }
    args = ["--to", "+14155550123", "--from", "+15125550111", "--account-sid", "AC1", "--secret", "tok"]
    script = [
        "--input",
        "2",
        "--callee",
        "+14155550101=no-answer",
        "--callee",
        "+14155550102=answer,after=2,talk=5",
    ]
    with TwimlServer(routes) as server:
        call_command("simulate", "call", *args, *script, "--base-url", server.url, "--json")
        assert server.to("/menu")[0]["Digits"] == "2"
        assert server.to("/done")[0]["DialCallStatus"] == "completed"
    document = json.loads(capsys.readouterr().out)
    assert (document["outcome"], document["answered_by"], document["errors"]) == (
        "answered",
        "+14155550102",
        [],
    )


def test_cli_refuses_an_impossible_scenario() -> None:
    args = ["--to", "+14155550123", "--from", "+15125550111", "--account-sid", "AC1", "--secret", "tok"]
    with pytest.raises(CommandError, match="counts gathers from 1"):
        call_command("simulate", "call", *args, "--hangup-at-gather", "0", "--base-url", "http://127.0.0.1:9")


@pytest.mark.django_db
def test_carrier_api_needs_a_readable_secret() -> None:
    with pytest.raises(CommandError, match="no carrier connection 'ACnope'"):
        call_command("simulate", "carrier-api", "--account-sid", "ACnope")
