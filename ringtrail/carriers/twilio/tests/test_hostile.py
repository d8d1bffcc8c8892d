"""Every public carrier endpoint against hostile input: 403 / 4xx with a reason, never a 500, nothing lost."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.twilio.signature import compute_signature
from ringtrail.carriers.twilio.tests.helpers import BASE, callback_params, signed_post, voice_params
from ringtrail.testing import WiredAccount, wired_account
from ringtrail.testing_wsgi import FRONTS, front_client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    """Through Django's test client, and through the WSGI application the server runs."""
    return front_client(request.param)


ENDPOINTS = ["voice", "status", "dial", "recording", "whisper", "screen", "flow", "callback"]


@pytest.fixture
def wired() -> WiredAccount:
    return wired_account()


def full_params(wired: WiredAccount, endpoint: str) -> dict[str, str]:
    if endpoint == "voice":
        return voice_params(wired)
    return callback_params(
        wired,
        CallStatus="completed",
        SequenceNumber="2",
        DialCallStatus="completed",
        RecordingSid="RE" + "1" * 32,
        RecordingUrl="https://api.twilio.com/r/RE1",
    )


def nothing_stored() -> bool:
    return not Call.objects.exists() and not CallEvent.objects.exists()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_signature_is_403(client: Client, wired: WiredAccount, endpoint: str) -> None:
    response = client.post(f"/carriers/twilio/{endpoint}", full_params(wired, endpoint))
    assert response.status_code == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_forged_signature_is_403(client: Client, wired: WiredAccount, endpoint: str) -> None:
    params = full_params(wired, endpoint)
    forged = compute_signature("not-the-auth-token", f"{BASE}/carriers/twilio/{endpoint}", params.items())
    response = client.post(f"/carriers/twilio/{endpoint}", params, HTTP_X_TWILIO_SIGNATURE=forged)
    assert response.status_code == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_altered_parameter_is_403(client: Client, wired: WiredAccount, endpoint: str) -> None:
    params = full_params(wired, endpoint)
    signature = compute_signature(wired.auth_token, f"{BASE}/carriers/twilio/{endpoint}", params.items())
    params["From"] = "+19995550000"
    response = client.post(f"/carriers/twilio/{endpoint}", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_signature_for_another_url_is_403(client: Client, wired: WiredAccount, endpoint: str) -> None:
    params = full_params(wired, endpoint)
    signature = compute_signature(wired.auth_token, f"{BASE}/carriers/twilio/other", params.items())
    response = client.post(f"/carriers/twilio/{endpoint}", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_account_sid_is_403(client: Client, wired: WiredAccount, endpoint: str) -> None:
    params = {**full_params(wired, endpoint), "AccountSid": "AC" + "0" * 32}
    signature = compute_signature(wired.auth_token, f"{BASE}/carriers/twilio/{endpoint}", params.items())
    response = client.post(f"/carriers/twilio/{endpoint}", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_oversized_body_is_413(client: Client, wired: WiredAccount, endpoint: str) -> None:
    params = {**full_params(wired, endpoint), "Junk": "x" * 70_000}
    response = signed_post(client, wired, f"/carriers/twilio/{endpoint}", params)
    assert response.status_code == 413 and b"limit" in response.content and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_non_utf8_body_is_refused_not_crashed(client: Client, wired: WiredAccount, endpoint: str) -> None:
    body = b"CallSid=CA1&AccountSid=" + wired.connection.account_sid.encode() + b"&From=%FF%FE\xff\xfe"
    response = client.post(
        f"/carriers/twilio/{endpoint}",
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE="AAAA",
    )
    assert response.status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_get_is_405(client: Client, endpoint: str) -> None:
    assert client.get(f"/carriers/twilio/{endpoint}").status_code == 405


@pytest.mark.parametrize(
    "endpoint, drop, reason",
    [
        ("voice", "From", b"From"),
        ("voice", "To", b"To"),
        ("voice", "CallSid", b"CallSid"),
        ("status", "CallStatus", b"CallStatus"),
        ("dial", "DialCallStatus", b"DialCallStatus"),
        ("recording", "RecordingUrl", b"RecordingUrl"),
    ],
)
def test_missing_field_is_400_naming_it(
    client: Client, wired: WiredAccount, endpoint: str, drop: str, reason: bytes
) -> None:
    params = full_params(wired, endpoint)
    del params[drop]
    response = signed_post(client, wired, f"/carriers/twilio/{endpoint}", params)
    assert response.status_code == 400 and reason in response.content and nothing_stored()


@pytest.mark.parametrize(
    "field, value", [("SequenceNumber", "abc"), ("Timestamp", "yesterday"), ("CallDuration", "-x")]
)
def test_malformed_values_are_400(client: Client, wired: WiredAccount, field: str, value: str) -> None:
    params = {**full_params(wired, "status"), field: value}
    response = signed_post(client, wired, "/carriers/twilio/status", params)
    assert response.status_code == 400 and field.encode() in response.content


def test_absurd_field_length_is_400(client: Client, wired: WiredAccount) -> None:
    params = voice_params(wired, CallSid="CA" + "9" * 5000)
    assert signed_post(client, wired, "/carriers/twilio/voice", params).status_code == 400


def test_bad_caller_number_is_still_answered_and_kept_as_text(client: Client, wired: WiredAccount) -> None:
    response = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired, From="anonymous"))
    assert response.status_code == 200
    assert Call.objects.get().customer_phone_number == "anonymous"


def test_script_tags_are_stored_as_text_and_shown_escaped(client: Client, wired: WiredAccount) -> None:
    from ringtrail.testing import member

    evil = "<script>alert(1)</script>"
    params = voice_params(wired, CallerName=evil, FromCity=evil, FromState=evil, FromCountry=evil)
    signed_post(client, wired, "/carriers/twilio/voice", params)
    call = Call.objects.get()
    assert call.customer_name == evil and call.customer_city == evil
    viewer = Client()  # a signed-in person, whichever front the webhook came through
    viewer.force_login(member(wired.account).user)
    for page in ("/calls/", f"/calls/{call.pk}/"):
        html = viewer.get(page).content.decode()
        assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_unknown_carrier_path_is_404_and_no_cookie_is_set(client: Client, wired: WiredAccount) -> None:
    assert client.post("/carriers/twilio/nope", {"a": "b"}).status_code == 404
    response = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    assert response.status_code == 200 and not response.cookies
