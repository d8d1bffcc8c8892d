"""/api/v1/carrier-connections for Telnyx: the webhook public key is required, validated and shown."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.actions import create_api_key
from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.telnyx.tests.helpers import ACCOUNT_SID, new_key_pair
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db
PATH = "/api/v1/carrier-connections"


@pytest.fixture
def auth(acme: WiredAccount) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(acme.account, 'k', 'admin', None)[1]}"}


def post(client: Client, body: dict[str, Any], auth: dict[str, str]) -> Any:
    return client.post(PATH, body, content_type="application/json", **auth)


def telnyx_body(**overrides: str) -> dict[str, Any]:
    body = {
        "kind": "telnyx",
        "account_sid": ACCOUNT_SID,
        "secret": "KEY0123456789ABCDEF_api",
        "webhook_public_key": new_key_pair().public_b64,
    }
    return body | overrides


def test_telnyx_connection_stores_its_public_key_and_hides_its_api_key(
    client: Client, auth: dict[str, str]
) -> None:
    body = telnyx_body()
    created = post(client, body, auth)
    assert created.status_code == 201, created.content
    assert created.json()["webhook_public_key"] == body["webhook_public_key"]
    assert "secret" not in created.json() and body["secret"] not in client.get(PATH, **auth).content.decode()
    connection = CarrierConnection.objects.get(kind="telnyx", account_sid=ACCOUNT_SID)
    assert connection.webhook_public_key == body["webhook_public_key"]
    assert connection.secret() == body["secret"]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "not base64 at all",
        base64.b64encode(b"k" * 31).decode(),
        base64.b64encode(b"k" * 33).decode(),
        base64.b64encode(b"k" * 64).decode(),  # a private key (seed + public) pasted by mistake
    ],
)
def test_telnyx_needs_a_32_byte_ed25519_public_key(client: Client, auth: dict[str, str], key: str) -> None:
    response = post(client, telnyx_body(webhook_public_key=key), auth)
    assert response.status_code == 422 and "webhook_public_key" in str(response.json())
    assert not CarrierConnection.objects.filter(kind="telnyx").exists()


def test_public_key_is_not_for_twilio(client: Client, auth: dict[str, str]) -> None:
    body = telnyx_body(kind="twilio", account_sid="AC" + "1" * 32)
    response = post(client, body, auth)
    assert response.status_code == 422 and "webhook_public_key" in str(response.json())


def test_public_key_can_be_rotated_and_is_validated(client: Client, auth: dict[str, str]) -> None:
    connection_id = post(client, telnyx_body(), auth).json()["id"]
    rotated = new_key_pair().public_b64
    url = f"{PATH}/{connection_id}"
    patched = client.patch(url, {"webhook_public_key": rotated}, content_type="application/json", **auth)
    assert patched.status_code == 200 and patched.json()["webhook_public_key"] == rotated
    bad = client.patch(url, {"webhook_public_key": "AAAA"}, content_type="application/json", **auth)
    assert bad.status_code == 422 and "webhook_public_key" in str(bad.json())
    assert CarrierConnection.objects.get(pk=connection_id).webhook_public_key == rotated


def test_public_key_patch_on_a_twilio_connection_is_422(
    client: Client, acme: WiredAccount, auth: dict[str, str]
) -> None:
    url = f"{PATH}/{acme.connection.pk}"
    key = new_key_pair().public_b64
    response = client.patch(url, {"webhook_public_key": key}, content_type="application/json", **auth)
    assert response.status_code == 422 and "webhook_public_key" in str(response.json())
