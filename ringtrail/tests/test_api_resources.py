"""REST resources: validation, normalisation, write-only secrets, CallRail-style call fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.actions import create_api_key
from ringtrail.calls.models import Call
from ringtrail.carriers.models import CarrierConnection
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(acme: WiredAccount) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(acme.account, 'k', 'admin', None)[1]}"}


def post(client: Client, path: str, body: Any, auth: dict[str, str]) -> Any:
    return client.post(path, body, content_type="application/json", **auth)


def test_secret_is_write_only_and_encrypted(client: Client, acme: WiredAccount, auth: dict[str, str]) -> None:
    body = {"kind": "signalwire", "account_sid": "abc-123", "secret": "PSK_supersecret", "label": "SW"}
    created = post(client, "/api/v1/carrier-connections", body, auth)
    assert created.status_code == 201 and "secret" not in created.json()
    listed = client.get("/api/v1/carrier-connections", **auth).content.decode()
    assert "PSK_supersecret" not in listed and "secret" not in listed
    connection = CarrierConnection.objects.get(account_sid="abc-123")
    assert "PSK_supersecret" not in connection.secret_sealed and connection.secret() == "PSK_supersecret"


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/receiving-numbers", {"label": "x", "number": "12"}, "number"),
        ("/api/v1/receiving-numbers", {"label": "x", "number": "sip:no-host"}, "number"),
        ("/api/v1/tracking-numbers", {"number": "+1555000", "connection_id": 1}, "number"),
        ("/api/v1/sources", {"name": "", "medium": "cpc"}, "name"),
        ("/api/v1/sources", {"name": "x", "colour": "red"}, "colour"),
        (
            "/api/v1/carrier-connections",
            {"kind": "nexmo", "account_sid": "AC1", "secret": "12345678"},
            "kind",
        ),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    client: Client, auth: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    response = post(client, path, body, auth)
    assert response.status_code == 422
    assert field in str(response.json())


def test_numbers_are_normalised_to_e164(client: Client, acme: WiredAccount, auth: dict[str, str]) -> None:
    created = post(client, "/api/v1/receiving-numbers", {"label": "Desk", "number": "(415) 555-0142"}, auth)
    assert created.json()["number"] == "+14155550142"
    sip = post(
        client, "/api/v1/receiving-numbers", {"label": "PBX", "number": "sip:desk@pbx.example.com"}, auth
    )
    assert sip.json()["number"] == "sip:desk@pbx.example.com"
    tracked = post(
        client,
        "/api/v1/tracking-numbers",
        {"number": "415.555.0143", "connection_id": acme.connection.pk},
        auth,
    )
    assert tracked.status_code == 201 and tracked.json()["number"] == "+14155550143"


def test_references_to_another_account_are_refused(
    client: Client, acme: WiredAccount, rival: WiredAccount, auth: dict[str, str]
) -> None:
    body = {"number": "+14155550144", "connection_id": acme.connection.pk, "source_id": rival.source.pk}
    response = post(client, "/api/v1/tracking-numbers", body, auth)
    assert response.status_code == 422 and "source_id" in response.json()["detail"]


def test_duplicate_live_number_is_409_and_release_frees_it(
    client: Client, acme: WiredAccount, auth: dict[str, str]
) -> None:
    body = {"number": acme.tracking.number, "connection_id": acme.connection.pk}
    assert post(client, "/api/v1/tracking-numbers", body, auth).status_code == 409
    assert client.delete(f"/api/v1/tracking-numbers/{acme.tracking.pk}", **auth).status_code == 204
    assert post(client, "/api/v1/tracking-numbers", body, auth).status_code == 201


def test_null_for_a_required_field_is_not_a_500(
    client: Client, acme: WiredAccount, auth: dict[str, str]
) -> None:
    path = f"/api/v1/tracking-numbers/{acme.tracking.pk}"
    response = client.patch(path, {"state": None, "source_id": None}, content_type="application/json", **auth)
    assert response.status_code == 200 and response.json()["state"] == "active"
    assert response.json()["source_id"] is None


def test_malformed_json_is_4xx(client: Client, auth: dict[str, str]) -> None:
    response = client.post("/api/v1/sources", b"{not json", content_type="application/json", **auth)
    assert 400 <= response.status_code < 500


def test_calls_use_callrail_field_names_and_filter(
    client: Client, acme: WiredAccount, auth: dict[str, str], make_call: Callable[..., Call]
) -> None:
    make_call(acme, customer_city="Austin", recording_urls=["https://r/1"])
    make_call(acme, outcome="missed", customer_phone_number="+13125550100", talk_seconds=0)
    body = client.get("/api/v1/calls", **auth).json()
    assert body["total_records"] == 2
    call = body["calls"][1]
    for field in (
        "customer_phone_number",
        "customer_city",
        "customer_state",
        "customer_country",
        "tracking_phone_number",
        "business_phone_number",
        "start_time",
        "duration",
        "answered",
        "voicemail",
        "first_call",
        "source",
        "medium",
        "recording",
    ):
        assert field in call
    assert call["recording"] == "https://r/1" and call["answered"] is True
    assert client.get("/api/v1/calls?outcome=missed", **auth).json()["total_records"] == 1
    assert client.get("/api/v1/calls?caller=312555", **auth).json()["total_records"] == 1
    assert client.get(f"/api/v1/calls?source_id={acme.source.pk}", **auth).json()["total_records"] == 2
    assert (
        client.get("/api/v1/calls?start_date=2000-01-01&end_date=2000-01-02", **auth).json()["total_records"]
        == 0
    )
    assert client.get("/api/v1/calls?per_page=1&page=2", **auth).json()["total_pages"] == 2
    assert client.get("/api/v1/calls?start_date=notadate", **auth).status_code == 422
    assert client.get("/api/v1/calls?outcome=exploded", **auth).status_code == 422


def test_openapi_and_docs_are_served(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and "/api/v1/calls" in schema.json()["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_page_far_past_the_end_is_empty_not_an_overflow(client: Client, auth: dict[str, str]) -> None:
    response = client.get(f"/api/v1/sources?page={2**62}&per_page=250", **auth)
    assert response.status_code == 200 and response.json()["items"] == []


def test_rotated_secret_takes_effect_at_once(
    client: Client, acme: WiredAccount, auth: dict[str, str]
) -> None:
    from ringtrail.carriers.twilio.tests.helpers import signed_post, voice_params

    assert signed_post(client, acme, "/carriers/twilio/voice", voice_params(acme)).status_code == 200
    path = f"/api/v1/carrier-connections/{acme.connection.pk}"
    client.patch(path, {"secret": "a-brand-new-token"}, content_type="application/json", **auth)
    assert signed_post(client, acme, "/carriers/twilio/voice", voice_params(acme)).status_code == 403
    acme.auth_token = "a-brand-new-token"
    assert signed_post(client, acme, "/carriers/twilio/voice", voice_params(acme)).status_code == 200


def test_ids_beyond_64_bits_are_422_not_a_crash(
    client: Client, acme: WiredAccount, auth: dict[str, str]
) -> None:
    # Found by the schemathesis fuzzing: the driver cannot even bind such a number.
    big = 2**70
    for query in (f"source_id={big}", f"tracking_number_id={big}"):
        assert client.get(f"/api/v1/calls?{query}", **auth).status_code == 422
    body = {"number": "+14155550143", "connection_id": big}
    assert post(client, "/api/v1/tracking-numbers", body, auth).status_code == 422
    assert client.get(f"/api/v1/sources/{big}", **auth).status_code == 404
