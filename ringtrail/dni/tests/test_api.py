"""DNI configuration over the REST API: online sources with rules, pools, advice, tracking code."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.actions import create_api_key
from ringtrail.dni.tests.support import Site, post, visit
from ringtrail.numbers.models import TrackingNumber

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(site: Site) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(site.wired.account, 'k', 'admin', None)[1]}"}


def send(client: Client, method: str, path: str, body: Any, auth: dict[str, str]) -> Any:
    return getattr(client, method)(path, body, content_type="application/json", **auth)


def test_online_source_with_rules_and_regex_validation(
    client: Client, site: Site, auth: dict[str, str]
) -> None:
    body = {"name": "Newsletter", "kind": "online", "rules": [{"kind": "utm_medium", "value": "email"}]}
    created = send(client, "post", "/api/v1/sources", body, auth)
    assert created.status_code == 201 and created.json()["rules"] == [
        {"kind": "utm_medium", "value": "email"}
    ]
    bad = {"name": "Bad", "kind": "online", "rules": [{"kind": "landing_regex", "value": "(unclosed"}]}
    response = send(client, "post", "/api/v1/sources", bad, auth)
    assert response.status_code == 422 and "regular expression" in response.content.decode()
    unknown = {"name": "Odd", "rules": [{"kind": "moon_phase", "value": "full"}]}
    assert send(client, "post", "/api/v1/sources", unknown, auth).status_code == 422


def test_pool_lifecycle_and_advice(client: Client, site: Site, auth: dict[str, str]) -> None:
    ids = [n.pk for n in site.numbers]
    patched = send(
        client, "patch", f"/api/v1/pools/{site.pool.pk}", {"number_ids": ids[:1], "hold_minutes": 20}, auth
    )
    assert patched.json()["number_ids"] == ids[:1] and patched.json()["hold_minutes"] == 20
    assert TrackingNumber.objects.get(pk=ids[1]).pool is None
    for _ in range(3):
        post(client, site, visit())
    advice = client.get(f"/api/v1/pools/{site.pool.pk}/advice", **auth).json()
    assert advice["pool_size"] == 1 and advice["live_leases"] == 1 and advice["utilisation"] == 1.0
    assert advice["measured_fallback_rate"] == pytest.approx(2 / 3, abs=0.01)
    assert advice["size_for_0_1_percent"] >= advice["size_for_1_percent"] >= 1
    assert [w["hold_minutes"] for w in advice["what_if"]] == [5, 10, 15, 30, 60]


def test_pool_refuses_numbers_of_another_account(client: Client, site: Site, auth: dict[str, str]) -> None:
    from ringtrail.testing import wired_account

    other = wired_account(name="Other", tracking="+14155550160")
    body = {"number_ids": [other.tracking.pk]}
    response = send(client, "patch", f"/api/v1/pools/{site.pool.pk}", body, auth)
    assert response.status_code == 422 and "number_ids" in response.content.decode()


def test_tracking_code_snippet(client: Client, site: Site, auth: dict[str, str]) -> None:
    body = client.get("/api/v1/tracking-code", **auth).json()
    assert body["public_key"] == site.key
    assert body["snippet"] == f'<script async src="https://testserver/t/{site.key}.js"></script>'
