"""End to end: the simulator against the real Ringtrail server over real HTTP (pytest-django live_server)."""

from __future__ import annotations

import io
import json
import wave
from dataclasses import dataclass

import httpx
import pytest
from django.core.management import call_command
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import (
    Callee,
    CallResult,
    CallScenario,
    Credentials,
    RecordingServer,
    RestStandIn,
    Simulator,
)
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


def test_recordings_point_at_served_audio(setup: Setup) -> None:
    with RecordingServer() as media:
        simulator = Simulator(setup.simulator.base_url, setup.simulator.credentials, recordings=media)
        result = simulator.place_call(
            CallScenario(to=TRACKING, from_=CALLER, outcome="no-answer", voicemail_seconds=7)
        )
        assert result.errors == [], "\n".join(result.story_lines())
        call = Call.objects.get(carrier_call_id=result.call_sid)
        assert call.voicemail_url.startswith(media.url)
        audio = httpx.get(call.voicemail_url)
        assert (audio.status_code, audio.headers["content-type"]) == (200, "audio/x-wav")
        with wave.open(io.BytesIO(audio.content)) as wav:
            assert wav.getnframes() == 7 * wav.getframerate()


def test_rest_stand_in_places_a_signed_outbound_call_ringtrail_accepts(
    setup: Setup, live_server: LiveServer
) -> None:
    credentials = setup.simulator.credentials
    callees = {"+14155550188": Callee(answer_after=2, talk=11)}
    with RestStandIn(live_server.url, credentials, callees=callees) as api:
        response = httpx.post(
            f"{api.url}/2010-04-01/Accounts/{credentials.account_sid}/Calls.json",
            data={
                "To": TRACKING,
                "From": CALLER,
                "Url": f"{live_server.url}/carriers/twilio/voice",
                "StatusCallback": f"{live_server.url}/carriers/twilio/status",
                "StatusCallbackEvent": "initiated ringing answered completed",
            },
            auth=(credentials.account_sid, credentials.secret),
        )
        assert response.status_code == 201, response.text
        assert api.wait_idle(30)
    (result,) = api.results
    # Ringtrail verified every signed request (or the story would hold its 403s).
    assert (result.errors, result.direction, result.answered_by) == ([], "outbound-api", "+14155550188")
    call = Call.objects.get(carrier_call_id=response.json()["sid"])
    assert call.outcome == "answered"
