"""Voice and callback webhooks in the Twilio dialect, through the real URL routing and database."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime
from typing import Any

import pytest
from defusedxml import ElementTree
from django.test import Client

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.twilio.tests.helpers import callback_params, signed_post, voice_params
from ringtrail.testing import WiredAccount, wired_account
from ringtrail.testing_wsgi import FRONTS, front_client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    """Through Django's test client, and through the WSGI application the server runs."""
    return front_client(request.param)


SID = "CA" + "1" * 32


@pytest.fixture
def wired() -> WiredAccount:
    return wired_account()


def verbs(body: bytes) -> list[str]:
    return [element.tag for element in ElementTree.fromstring(body)]


def test_known_number_is_forwarded_with_whisper_recording_and_voicemail_action(
    client: Client, wired: WiredAccount
) -> None:
    response = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert [e.tag for e in root] == ["Say", "Dial"]
    assert "recorded" in (root[0].text or "")
    dial = root[1]
    assert dial.get("callerId") == "+12125550143"
    assert dial.get("answerOnBridge") == "true"
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("action", "").startswith("/carriers/twilio/dial")
    number = dial.find("Number")
    assert number is not None and number.text == wired.receiving.number
    assert number.get("url", "").startswith("/carriers/twilio/whisper?tn=")
    call = Call.objects.get(carrier_call_id=SID)
    assert (call.account, call.source, call.medium) == (wired.account, wired.source, "cpc")
    assert call.business_phone_number == wired.receiving.number
    assert call.first_call and call.outcome == "in_progress"
    assert call.raw_payload["voice"]["CallSid"] == SID


def test_no_recording_no_whisper_means_a_bare_dial(client: Client) -> None:
    wired = wired_account(record_calls=False, whisper_text="")
    root = ElementTree.fromstring(
        signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired)).content
    )
    assert [e.tag for e in root] == ["Dial"]
    assert root[0].get("record") is None and root[0].find("Number").get("url") is None  # type: ignore[union-attr]


def test_sip_receiving_number_dials_sip(client: Client, wired: WiredAccount) -> None:
    wired.receiving.number = "sip:desk@pbx.example.com"
    wired.receiving.save()
    root = ElementTree.fromstring(
        signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired)).content
    )
    assert root.find("Dial/Sip") is not None


def test_whisper_says_the_source(client: Client, wired: WiredAccount) -> None:
    path = f"/carriers/twilio/whisper?tn={wired.tracking.pk}"
    response = signed_post(client, wired, path, callback_params(wired, "CA" + "2" * 32))
    assert ElementTree.fromstring(response.content).find("Say").text == "Call from Google Ads"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "change, note",
    [
        ("unknown", "unknown tracking number"),
        ("released", "tracking number released"),
        ("no-desk", "no receiving"),
    ],
)
def test_unroutable_calls_get_a_polite_message_and_are_logged(
    client: Client, wired: WiredAccount, change: str, note: str
) -> None:
    params = voice_params(wired)
    if change == "unknown":
        params["To"] = "+14155550177"
    elif change == "released":
        wired.tracking.state = "released"
        wired.tracking.save()
    else:
        wired.tracking.receiving_number = None
        wired.tracking.save()
    response = signed_post(client, wired, "/carriers/twilio/voice", params)
    assert response.status_code == 200
    assert verbs(response.content) == ["Say", "Hangup"]
    assert Call.objects.get(carrier_call_id=SID).routing_note.startswith(note)


def test_number_owned_through_another_connection_is_unknown(client: Client, wired: WiredAccount) -> None:
    other = wired_account(name="Other", tracking="+14155550150")
    params = voice_params(other, To=wired.tracking.number)  # signed by other's connection
    response = signed_post(client, other, "/carriers/twilio/voice", params)
    assert verbs(response.content) == ["Say", "Hangup"]
    call = Call.objects.get(carrier_call_id=SID)
    assert call.account == other.account and call.tracking_number is None


def test_repeated_webhook_returns_same_twiml_and_stores_one_call(client: Client, wired: WiredAccount) -> None:
    first = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    wired.tracking.record_calls = False  # even if configuration changes meanwhile
    wired.tracking.save()
    second = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    assert first.content == second.content
    assert Call.objects.count() == 1


def test_repeat_caller_is_not_first_call(client: Client, wired: WiredAccount) -> None:
    signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired, "CA" + "3" * 32))
    assert [c.first_call for c in Call.objects.order_by("id")] == [True, False]


def test_caller_area_from_carrier_then_geocoder(client: Client, wired: WiredAccount) -> None:
    carrier_fields = {"FromCity": "AUSTIN", "FromState": "TX", "FromZip": "78701", "FromCountry": "US"}
    signed_post(
        client, wired, "/carriers/twilio/voice", voice_params(wired, From="+15125550111", **carrier_fields)
    )
    signed_post(
        client, wired, "/carriers/twilio/voice", voice_params(wired, "CA" + "4" * 32, From="+442079460000")
    )
    texas, london = Call.objects.order_by("id")
    assert (texas.customer_city, texas.customer_state, texas.caller_area_origin) == (
        "AUSTIN",
        "TX",
        "carrier",
    )
    assert texas.customer_time_zone == "America/Chicago"
    assert (london.customer_city, london.customer_country, london.caller_area_origin) == (
        "London",
        "GB",
        "geocoder",
    )
    assert london.customer_time_zone == "Europe/London"


def _status(wired: WiredAccount, seq: int, status: str, at: dt.datetime, **extra: str) -> dict[str, str]:
    return callback_params(
        wired, SequenceNumber=str(seq), CallStatus=status, Timestamp=format_datetime(at), **extra
    )


def test_callbacks_in_any_order_and_duplicated_give_the_same_call(
    client: Client, wired: WiredAccount
) -> None:
    signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    start = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    recording = callback_params(
        wired,
        RecordingSid="RE" + "9" * 32,
        RecordingUrl="https://api.twilio.com/rec/RE9",
        RecordingStatus="completed",
        RecordingDuration="60",
        RecordingChannels="2",
        RecordingSource="DialVerb",
        SequenceNumber="3",
    )
    posts = [
        (
            "/carriers/twilio/status",
            _status(wired, 2, "completed", start + dt.timedelta(seconds=65), CallDuration="65"),
        ),
        ("/carriers/twilio/recording?purpose=call", recording),
        ("/carriers/twilio/status", _status(wired, 0, "ringing", start)),
        ("/carriers/twilio/status", _status(wired, 1, "in-progress", start)),
    ]
    for path, params in posts + posts:  # everything twice, final status first
        assert signed_post(client, wired, path, params).status_code == 204
    dial = callback_params(
        wired, DialCallSid="CA" + "5" * 32, DialCallStatus="completed", DialCallDuration="60"
    )
    for _ in range(2):
        response = signed_post(client, wired, f"/carriers/twilio/dial?tn={wired.tracking.pk}", dial)
        assert verbs(response.content) == ["Hangup"]
    call = Call.objects.get(carrier_call_id=SID)
    assert CallEvent.objects.filter(call=call).count() == 5
    assert (call.outcome, call.carrier_status, call.talk_seconds, call.ring_seconds) == (
        "answered",
        "completed",
        60,
        5,
    )
    assert call.recording_urls == ["https://api.twilio.com/rec/RE9"]
    assert call.ended_at == start + dt.timedelta(seconds=65)


def test_unanswered_dial_offers_voicemail_and_records_it(client: Client, wired: WiredAccount) -> None:
    signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    dial = callback_params(
        wired, DialCallSid="CA" + "6" * 32, DialCallStatus="no-answer", DialCallDuration="0"
    )
    root = ElementTree.fromstring(signed_post(client, wired, "/carriers/twilio/dial?tn=1", dial).content)
    assert [e.tag for e in root] == ["Say", "Record", "Hangup"]
    assert "purpose=voicemail" in root[1].get("action", "")
    assert Call.objects.get().outcome == "missed"
    voicemail = callback_params(
        wired,
        RecordingSid="RE" + "7" * 32,
        RecordingUrl="https://api.twilio.com/rec/RE7",
        RecordingDuration="14",
    )
    assert (
        signed_post(client, wired, "/carriers/twilio/recording?purpose=voicemail", voicemail).status_code
        == 204
    )
    call = Call.objects.get()
    assert (call.outcome, call.voicemail_url) == ("voicemail", "https://api.twilio.com/rec/RE7")


@pytest.mark.parametrize(
    "dial_status, outcome", [("busy", "busy"), ("failed", "failed"), ("canceled", "missed")]
)
def test_dial_outcomes(client: Client, wired: WiredAccount, dial_status: str, outcome: str) -> None:
    signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    dial = callback_params(wired, DialCallSid="CA" + "6" * 32, DialCallStatus=dial_status)
    signed_post(client, wired, "/carriers/twilio/dial", dial)
    assert Call.objects.get().outcome == outcome


def test_callback_before_the_call_is_kept_and_applied_later(client: Client, wired: WiredAccount) -> None:
    at = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    signed_post(client, wired, "/carriers/twilio/status", _status(wired, 4, "busy", at, CallDuration="3"))
    signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    assert Call.objects.get().outcome == "busy"


def test_signalwire_connection_verifies_its_own_header(client: Client) -> None:
    wired = wired_account(kind="signalwire")
    response = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    assert response.status_code == 200 and verbs(response.content)[-1] == "Dial"
    assert Call.objects.get().carrier == "signalwire"


def test_public_url_setting_is_what_is_signed(client: Client, wired: WiredAccount, settings: object) -> None:
    from ringtrail.carriers.twilio.signature import compute_signature

    settings.PUBLIC_URL = "https://calls.example.com"  # type: ignore[attr-defined]
    params = voice_params(wired)
    signature = compute_signature(
        wired.auth_token, "https://calls.example.com/carriers/twilio/voice", params.items()
    )
    assert client.post("/carriers/twilio/voice", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 200
    assert signed_post(client, wired, "/carriers/twilio/voice", params).status_code == 403
