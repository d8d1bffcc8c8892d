"""TeXML voice and callback webhooks through the real URL routing and database, signed with a test key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from defusedxml import ElementTree
from django.test import Client

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.telnyx.tests.helpers import (
    CALL_SID,
    TelnyxAccount,
    callback_params,
    signed_post,
    telnyx_account,
    voice_params,
)
from ringtrail.testing import wired_account
from ringtrail.testing_wsgi import FRONTS, front_client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    """Through Django's test client, and through the WSGI application the server runs."""
    return front_client(request.param)


@pytest.fixture
def telnyx() -> TelnyxAccount:
    return telnyx_account()


def verbs(body: bytes) -> list[str]:
    return [element.tag for element in ElementTree.fromstring(body)]


def test_known_number_is_forwarded_in_texml(client: Client, telnyx: TelnyxAccount) -> None:
    response = signed_post(
        client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, CallerId="Jane Roe")
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert [e.tag for e in root] == ["Say", "Dial"]
    dial = root[1]
    assert (dial.get("record"), dial.get("recordingChannels")) == ("record-from-answer-dual", "dual")
    assert dial.get("action", "").startswith("/carriers/telnyx/dial")
    number = dial.find("Number")
    assert number is not None and number.text == telnyx.wired.receiving.number
    assert number.get("url", "").startswith("/carriers/telnyx/whisper?tn=")
    call = Call.objects.get(carrier_call_id=CALL_SID)
    assert (call.carrier, call.account, call.source) == ("telnyx", telnyx.wired.account, telnyx.wired.source)
    assert call.customer_name == "Jane Roe"
    assert call.raw_payload["voice"]["ConnectionId"] == "1568109700606592442"


def test_unknown_number_gets_a_polite_message(client: Client, telnyx: TelnyxAccount) -> None:
    response = signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, To="+14155550177"))
    assert response.status_code == 200 and verbs(response.content) == ["Say", "Hangup"]
    assert Call.objects.get().routing_note.startswith("unknown tracking number")


def test_number_of_a_twilio_connection_is_unknown_to_telnyx(client: Client, telnyx: TelnyxAccount) -> None:
    twilio = wired_account(name="Other", tracking="+14155550150")
    params = voice_params(telnyx, To=twilio.tracking.number)
    assert verbs(signed_post(client, telnyx, "/carriers/telnyx/voice", params).content) == ["Say", "Hangup"]
    assert Call.objects.get().tracking_number is None


def test_repeated_webhook_returns_same_texml_and_stores_one_call(
    client: Client, telnyx: TelnyxAccount
) -> None:
    first = signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
    telnyx.wired.tracking.record_calls = False
    telnyx.wired.tracking.save()
    second = signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
    assert first.content == second.content and Call.objects.count() == 1


def test_whisper_says_the_source(client: Client, telnyx: TelnyxAccount) -> None:
    path = f"/carriers/telnyx/whisper?tn={telnyx.wired.tracking.pk}"
    response = signed_post(client, telnyx, path, callback_params(telnyx, "v3:other-leg"))
    assert ElementTree.fromstring(response.content).find("Say").text == "Call from Google Ads"  # type: ignore[union-attr]


def _status(telnyx: TelnyxAccount, seq: int, status: str, at: dt.datetime, **extra: str) -> dict[str, str]:
    stamp = at.isoformat().replace("+00:00", "Z")
    return callback_params(telnyx, SequenceNumber=str(seq), CallStatus=status, Timestamp=stamp, **extra)


def test_callbacks_in_any_order_and_duplicated_give_the_same_call(
    client: Client, telnyx: TelnyxAccount
) -> None:
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
    start = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    recording = callback_params(
        telnyx,
        RecordingSid="35094891-3290-4142-b2c2-b2eda57534cf",
        RecordingUrl="https://recording.example/rec.mp3",
        RecordingStatus="completed",
        RecordingDuration="60",
        RecordingChannels="2",
        RecordingSource="DialVerb",
    )
    posts = [
        (
            "/carriers/telnyx/status",
            _status(telnyx, 3, "completed", start + dt.timedelta(seconds=65), CallDuration="65"),
        ),
        ("/carriers/telnyx/recording?purpose=call", recording),
        ("/carriers/telnyx/status", _status(telnyx, 1, "ringing", start)),
        ("/carriers/telnyx/status", _status(telnyx, 2, "in-progress", start)),
    ]
    for path, params in posts + posts:  # everything twice, final status first
        assert signed_post(client, telnyx, path, params).status_code == 204
    dial = callback_params(telnyx, DialCallSid="v3:b-leg", DialCallStatus="completed", DialCallDuration="60")
    for _ in range(2):
        response = signed_post(client, telnyx, f"/carriers/telnyx/dial?tn={telnyx.wired.tracking.pk}", dial)
        assert verbs(response.content) == ["Hangup"]
    call = Call.objects.get(carrier_call_id=CALL_SID)
    assert CallEvent.objects.filter(call=call).count() == 5
    assert (call.outcome, call.carrier_status, call.talk_seconds, call.ring_seconds) == (
        "answered",
        "completed",
        60,
        5,
    )
    assert call.recording_urls == ["https://recording.example/rec.mp3"]
    assert call.ended_at == start + dt.timedelta(seconds=65)


def test_unanswered_dial_offers_voicemail_and_records_it(client: Client, telnyx: TelnyxAccount) -> None:
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
    dial = callback_params(telnyx, DialCallSid="v3:b-leg", DialCallStatus="no-answer", DialCallDuration="0")
    root = ElementTree.fromstring(signed_post(client, telnyx, "/carriers/telnyx/dial?tn=1", dial).content)
    assert [e.tag for e in root] == ["Say", "Record", "Hangup"]
    assert root[1].get("action") == "/carriers/telnyx/recording?purpose=voicemail"
    assert Call.objects.get().outcome == "missed"
    voicemail = callback_params(
        telnyx, RecordingSid="rec-7", RecordingUrl="https://recording.example/vm.mp3", RecordingDuration="14"
    )
    response = signed_post(client, telnyx, "/carriers/telnyx/recording?purpose=voicemail", voicemail)
    assert response.status_code == 204
    call = Call.objects.get()
    assert (call.outcome, call.voicemail_url) == ("voicemail", "https://recording.example/vm.mp3")


def test_callback_before_the_call_is_kept_and_applied_later(client: Client, telnyx: TelnyxAccount) -> None:
    at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    signed_post(client, telnyx, "/carriers/telnyx/status", _status(telnyx, 4, "busy", at, CallDuration="3"))
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
    assert Call.objects.get().outcome == "busy"


def test_telnyx_signature_does_not_open_the_twilio_endpoint(client: Client, telnyx: TelnyxAccount) -> None:
    response = signed_post(client, telnyx, "/carriers/twilio/voice", voice_params(telnyx))
    assert response.status_code == 403 and not Call.objects.exists()
