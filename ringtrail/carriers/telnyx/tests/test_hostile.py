"""Every Telnyx endpoint against hostile input: 403 / 4xx with a reason, never a 500, nothing stored."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.telnyx.signature import TIMESTAMP_TOLERANCE_SECONDS, sign
from ringtrail.carriers.telnyx.tests.helpers import (
    FORM,
    TelnyxAccount,
    callback_params,
    new_key_pair,
    signed_post,
    telnyx_account,
    voice_params,
)
from ringtrail.testing_wsgi import FRONTS, front_client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    """Through Django's test client, and through the WSGI application the server runs."""
    return front_client(request.param)


ENDPOINTS = ["voice", "status", "dial", "recording", "whisper", "screen", "flow", "callback"]


@pytest.fixture
def telnyx() -> TelnyxAccount:
    return telnyx_account()


def full_params(telnyx: TelnyxAccount, endpoint: str) -> dict[str, str]:
    if endpoint == "voice":
        return voice_params(telnyx)
    return callback_params(
        telnyx,
        CallStatus="completed",
        SequenceNumber="2",
        DialCallStatus="completed",
        RecordingSid="rec-1",
        RecordingUrl="https://recording.example/r1.mp3",
    )


def nothing_stored() -> bool:
    return not Call.objects.exists() and not CallEvent.objects.exists()


def post_raw(client: Client, endpoint: str, body: bytes, **headers: str) -> int:
    return client.post(f"/carriers/telnyx/{endpoint}", body, content_type=FORM, **headers).status_code  # type: ignore[no-any-return]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_signature_is_403(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    body = urlencode(full_params(telnyx, endpoint)).encode()
    assert post_raw(client, endpoint, body, HTTP_TELNYX_TIMESTAMP=str(int(time.time()))) == 403
    assert nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_timestamp_is_403(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    body = urlencode(full_params(telnyx, endpoint)).encode()
    signature = sign(telnyx.keys.seed_b64, body, "")
    assert post_raw(client, endpoint, body, HTTP_TELNYX_SIGNATURE_ED25519=signature) == 403
    assert nothing_stored()


@pytest.mark.parametrize("signature", ["garbage", "", "A" * 88, "=" * 8, "\u00e9\u00e9"])
def test_garbled_signature_is_403(client: Client, telnyx: TelnyxAccount, signature: str) -> None:
    body = urlencode(full_params(telnyx, "voice")).encode()
    stamp = str(int(time.time()))
    status = post_raw(
        client, "voice", body, HTTP_TELNYX_SIGNATURE_ED25519=signature, HTTP_TELNYX_TIMESTAMP=stamp
    )
    assert status == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_key_is_403(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    params = full_params(telnyx, endpoint)
    response = signed_post(
        client, telnyx, f"/carriers/telnyx/{endpoint}", params, seed_b64=new_key_pair().seed_b64
    )
    assert response.status_code == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_body_changed_after_signing_is_403(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    params = full_params(telnyx, endpoint)
    stamp = str(int(time.time()))
    signature = sign(telnyx.keys.seed_b64, urlencode(params).encode(), stamp)
    params["From"] = "+19995550000"
    body = urlencode(params).encode()
    status = post_raw(
        client, endpoint, body, HTTP_TELNYX_SIGNATURE_ED25519=signature, HTTP_TELNYX_TIMESTAMP=stamp
    )
    assert status == 403 and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("offset", [-(TIMESTAMP_TOLERANCE_SECONDS + 60), TIMESTAMP_TOLERANCE_SECONDS + 60])
def test_stale_or_future_timestamp_is_403(
    client: Client, telnyx: TelnyxAccount, endpoint: str, offset: int
) -> None:
    params = full_params(telnyx, endpoint)
    response = signed_post(
        client, telnyx, f"/carriers/telnyx/{endpoint}", params, timestamp=int(time.time()) + offset
    )
    assert response.status_code == 403 and nothing_stored()


def test_replayed_request_inside_the_window_is_idempotent(client: Client, telnyx: TelnyxAccount) -> None:
    stamp = int(time.time())
    for _ in range(3):
        assert (
            signed_post(
                client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx), timestamp=stamp
            ).status_code
            == 200
        )
    assert Call.objects.count() == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_account_sid_is_403(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    params = {**full_params(telnyx, endpoint), "AccountSid": "00000000-0000-0000-0000-000000000000"}
    response = signed_post(client, telnyx, f"/carriers/telnyx/{endpoint}", params)
    assert response.status_code == 403 and nothing_stored()


def test_connection_without_public_key_refuses_everything(client: Client, telnyx: TelnyxAccount) -> None:
    telnyx.wired.connection.webhook_public_key = ""
    telnyx.wired.connection.save()
    response = signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
    assert response.status_code == 403 and nothing_stored()


def test_absurd_account_sid_is_403(client: Client, telnyx: TelnyxAccount) -> None:
    params = voice_params(telnyx, AccountSid="x" * 5000)
    assert signed_post(client, telnyx, "/carriers/telnyx/voice", params).status_code == 403


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_oversized_body_is_413(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    params = {**full_params(telnyx, endpoint), "Junk": "x" * 70_000}
    response = signed_post(client, telnyx, f"/carriers/telnyx/{endpoint}", params)
    assert response.status_code == 413 and b"limit" in response.content and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_garbage_form_is_refused_not_crashed(client: Client, telnyx: TelnyxAccount, endpoint: str) -> None:
    body = b"AccountSid=" + telnyx.account_sid.encode() + b"&From=%FF%FE\xff\xfe&&==&%%%"
    stamp = str(int(time.time()))
    signature = sign(telnyx.keys.seed_b64, body, stamp)
    status = post_raw(
        client, endpoint, body, HTTP_TELNYX_SIGNATURE_ED25519=signature, HTTP_TELNYX_TIMESTAMP=stamp
    )
    # Signed but meaningless: a 400 naming what is missing, never a 500. The whisper needs nothing;
    # the screen answer, the flow step and the call-back leg name no call, so they cannot move one.
    expected = {"whisper": 200, "screen": 403, "flow": 403, "callback": 403}.get(endpoint, 400)
    assert status == expected and nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_get_is_405(client: Client, endpoint: str) -> None:
    assert client.get(f"/carriers/telnyx/{endpoint}").status_code == 405


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
    client: Client, telnyx: TelnyxAccount, endpoint: str, drop: str, reason: bytes
) -> None:
    params = full_params(telnyx, endpoint)
    del params[drop]
    response = signed_post(client, telnyx, f"/carriers/telnyx/{endpoint}", params)
    assert response.status_code == 400 and reason in response.content and nothing_stored()


@pytest.mark.parametrize(
    "field, value", [("SequenceNumber", "abc"), ("Timestamp", "yesterday"), ("CallDuration", "-x")]
)
def test_malformed_values_are_400(client: Client, telnyx: TelnyxAccount, field: str, value: str) -> None:
    params = {**full_params(telnyx, "status"), field: value}
    response = signed_post(client, telnyx, "/carriers/telnyx/status", params)
    assert response.status_code == 400 and field.encode() in response.content


def test_script_tags_are_stored_as_text_and_shown_escaped(client: Client, telnyx: TelnyxAccount) -> None:
    from ringtrail.testing import member

    evil = "<script>alert(1)</script>"
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, CallerId=evil))
    call = Call.objects.get()
    assert call.customer_name == evil
    viewer = Client()  # a signed-in person, whichever front the webhook came through
    viewer.force_login(member(telnyx.wired.account).user)
    html = viewer.get(f"/calls/{call.pk}/").content.decode()
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
