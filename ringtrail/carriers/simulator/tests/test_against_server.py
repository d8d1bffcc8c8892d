"""End to end: the simulator against the real Ringtrail server over real HTTP (pytest-django live_server)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import CallResult, CallScenario, Credentials, Simulator
from ringtrail.carriers.simulator.state import spoken_seconds, whole_seconds
from ringtrail.numbers.models import TrackingNumber
from ringtrail.testing import wired_account

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "+14155550123"
CALLER = "+15125550111"


@dataclass(frozen=True)
class Setup:
    simulator: Simulator
    tracking: TrackingNumber


@pytest.fixture
def setup(live_server: LiveServer) -> Setup:
    wired = wired_account(tracking=TRACKING, receiving="+14155550188", whisper_text="Google Ads")
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    return Setup(Simulator(live_server.url, credentials), wired.tracking)


def place(setup: Setup, **scenario: object) -> tuple[CallResult, Call]:
    fields: dict[str, object] = {"to": TRACKING, "from_": CALLER} | scenario
    result = setup.simulator.place_call(CallScenario(**fields))  # type: ignore[arg-type]
    assert result.errors == [], "\n".join(result.story_lines())
    return result, Call.objects.get(carrier="twilio", carrier_call_id=result.call_sid)


def test_answered_call_is_recorded_with_its_talk_time(setup: Setup) -> None:
    result, call = place(
        setup,
        answer_after=3,
        talk=42,
        caller_area={"FromCity": "AUSTIN", "FromState": "TX", "FromZip": "78701", "FromCountry": "US"},
    )
    assert result.outcome == "answered"
    assert any(step.text == 'callee hears Say "Google Ads"' for step in result.story)
    assert call.outcome == "answered"
    # The dialled call runs from its pick-up, so it includes the whisper the callee heard.
    assert call.talk_seconds == whole_seconds(42 + spoken_seconds("Google Ads"))
    assert result.answered_by == "+14155550188"
    assert call.recording_urls
    assert (call.tracking_number_id, call.source_name) == (setup.tracking.pk, "Google Ads")
    assert call.customer_city == "AUSTIN"


def test_unanswered_call_goes_to_voicemail(setup: Setup) -> None:
    result, call = place(setup, outcome="no-answer", voicemail_seconds=12)
    assert result.outcome == "voicemail"
    assert call.outcome == "voicemail"
    assert call.voicemail_url or call.recording_urls


def test_unanswered_caller_hanging_up_is_missed(setup: Setup) -> None:
    result, call = place(setup, outcome="no-answer", voicemail_seconds=0)
    assert (result.outcome, call.outcome) == ("missed", "missed")
    assert not call.talk_seconds


def test_busy_call(setup: Setup) -> None:
    result, call = place(setup, outcome="busy", voicemail_seconds=0)
    assert (result.outcome, call.outcome) == ("busy", "busy")


def test_chaos_callbacks_leave_one_consistent_call(setup: Setup) -> None:
    result, call = place(setup, answer_after=2, talk=30, chaos=True, seed=1234)
    assert result.outcome == "answered"
    assert Call.objects.filter(carrier_call_id=result.call_sid).count() == 1
    assert (call.outcome, call.talk_seconds) == ("answered", whole_seconds(30 + spoken_seconds("Google Ads")))
    assert len(call.recording_urls) == 1
    status_sequences = CallEvent.objects.filter(carrier_call_id=result.call_sid, kind="status")
    assert sorted(status_sequences.values_list("sequence", flat=True)) == [0, 1, 2]


def test_cli_finds_the_credentials_and_prints_json(
    setup: Setup, live_server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command(
        "simulate", "call", "--to", "+1 (415) 555-0123", "--from", CALLER, "--talk", "12",
        "--base-url", live_server.url, "--json",
    )  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert (document["outcome"], document["errors"]) == ("answered", [])
    talk = whole_seconds(12 + spoken_seconds("Google Ads"))
    assert Call.objects.get(carrier_call_id=document["call_sid"]).talk_seconds == talk
