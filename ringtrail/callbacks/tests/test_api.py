"""/api/v1/callback-settings: defaults, replace, and refusing another account's numbers."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from ringtrail.accounts.actions import create_api_key
from ringtrail.callbacks.models import DEFAULT_WHISPER, CallbackRequest, CallbackSettings
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db
PATH = "/api/v1/callback-settings"


def auth(wired: WiredAccount, role: str = "admin") -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(wired.account, 'k', role, None)[1]}"}


def test_defaults_until_configured(client: Client, acme: WiredAccount) -> None:
    body = client.get(PATH, **auth(acme)).json()
    assert body == {
        "enabled": True,
        "tracking_number_id": None,
        "receiving_number_id": None,
        "whisper_template": DEFAULT_WHISPER,
        "carrier_app_id": "",
        "configured": False,
    }


def test_put_replaces_the_settings(client: Client, acme: WiredAccount) -> None:
    sent = {
        "tracking_number_id": acme.tracking.pk,
        "receiving_number_id": acme.receiving.pk,
        "whisper_template": "Lead from {page}. Press 1.",
    }
    response = client.put(PATH, sent, content_type="application/json", **auth(acme))
    assert response.status_code == 200 and response.json()["configured"] is True
    stored = CallbackSettings.objects.get(account=acme.account)
    assert (stored.tracking_number_id, stored.whisper_template) == (
        acme.tracking.pk,
        "Lead from {page}. Press 1.",
    )
    again = client.put(PATH, {"enabled": False}, content_type="application/json", **auth(acme)).json()
    assert again["enabled"] is False and again["tracking_number_id"] is None
    assert CallbackSettings.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "message"),
    [("tracking_number_id", "no live TrackingNumber"), ("receiving_number_id", "no ReceivingNumber")],
)
def test_another_accounts_numbers_are_refused(
    client: Client, acme: WiredAccount, rival: WiredAccount, field: str, message: str
) -> None:
    theirs = rival.tracking.pk if field == "tracking_number_id" else rival.receiving.pk
    response = client.put(PATH, {field: theirs}, content_type="application/json", **auth(acme))
    assert response.status_code == 422 and message in response.json()["detail"]
    assert not CallbackSettings.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"whisper_template": ""},
        {"whisper_template": "x" * 301},
        {"surprise": 1},
        {"carrier_app_id": "x" * 101},
    ],
)
def test_bad_settings_are_422(client: Client, acme: WiredAccount, body: dict[str, object]) -> None:
    assert client.put(PATH, body, content_type="application/json", **auth(acme)).status_code == 422


def test_read_only_cannot_write(client: Client, acme: WiredAccount) -> None:
    response = client.put(PATH, {}, content_type="application/json", **auth(acme, "read_only"))
    assert response.status_code == 403


def _request(wired: WiredAccount, status: str, error: str = "") -> CallbackRequest:
    return CallbackRequest.objects.create(
        account=wired.account,
        phone="+12125550143",
        page="https://acme.test/",
        consent_at=timezone.now(),
        status=status,
        error=error,
    )


def test_requests_list_and_detail_are_the_accounts_own(
    client: Client, acme: WiredAccount, rival: WiredAccount
) -> None:
    failed = _request(acme, "failed", "Twilio refused the call (401, error 20003): Authenticate")
    _request(acme, "bridged")
    theirs = _request(rival, "bridged")
    reader = auth(acme, "read_only")
    listed = client.get("/api/v1/callback-requests", **reader).json()
    assert listed["total_records"] == 2 and theirs.pk not in [row["id"] for row in listed["items"]]
    only_failed = client.get("/api/v1/callback-requests?status=failed", **reader).json()["items"]
    assert [(row["id"], row["error"]) for row in only_failed] == [(failed.pk, failed.error)]
    one = client.get(f"/api/v1/callback-requests/{failed.pk}", **reader).json()
    assert one["status"] == "failed" and one["visit_session_found"] is False
    assert client.get(f"/api/v1/callback-requests/{theirs.pk}", **reader).status_code == 404
    assert client.get("/api/v1/callback-requests?status=nonsense", **reader).status_code == 422
