"""/api/v1/block-rules and /api/v1/screening-policy: validation, scoping, roles, per-number policies."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.actions import create_api_key
from ringtrail.accounts.models import Role
from ringtrail.screening.models import BlockRule, ScreeningPolicy
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db
RULES = "/api/v1/block-rules"
POLICY = "/api/v1/screening-policy"


def auth(wired: WiredAccount, role: str = Role.ADMIN) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(wired.account, 'k', role, None)[1]}"}


def send(client: Client, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return getattr(client, method)(path, body, content_type="application/json", **headers)


def test_block_rule_crud(client: Client, acme: WiredAccount) -> None:
    headers = auth(acme)
    created = send(client, "post", RULES, {"kind": "number", "pattern": "(212) 555-0143"}, headers)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["pattern"] == "+12125550143" and rule["tracking_number_id"] is None
    path = f"{RULES}/{rule['id']}"
    assert client.get(path, **headers).json() == rule
    patched = send(
        client,
        "patch",
        path,
        {"kind": "prefix", "pattern": "+1900", "tracking_number_id": acme.tracking.pk},
        headers,
    )
    assert patched.status_code == 200, patched.content
    assert (patched.json()["kind"], patched.json()["tracking_number_id"]) == ("prefix", acme.tracking.pk)
    widened = send(client, "patch", path, {"tracking_number_id": None}, headers)
    assert widened.json()["tracking_number_id"] is None
    listed = client.get(RULES, {"kind": "prefix"}, **headers).json()
    assert [r["id"] for r in listed["items"]] == [rule["id"]]
    assert client.delete(path, **headers).status_code == 204
    assert not BlockRule.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "number", "pattern": "12"}, "pattern"),
        ({"kind": "prefix", "pattern": "1900"}, "pattern"),
        ({"kind": "name", "pattern": "*" * 20}, "pattern"),
        ({"kind": "name", "pattern": "x" * 101}, "pattern"),
        ({"kind": "regex", "pattern": "(a+)+$"}, "kind"),
        ({"kind": "name", "pattern": "*spam*", "colour": "red"}, "colour"),
        ({"kind": "name", "pattern": "*spam*", "tracking_number_id": 0}, "tracking_number_id"),
    ],
)
def test_invalid_rules_are_422_naming_the_field(
    client: Client, acme: WiredAccount, body: dict[str, Any], field: str
) -> None:
    response = send(client, "post", RULES, body, auth(acme))
    assert response.status_code == 422
    assert field in str(response.json())


def test_patch_validates_the_pattern_against_the_kind(client: Client, acme: WiredAccount) -> None:
    rule = BlockRule.objects.create(account=acme.account, kind="name", pattern="*spam*")
    response = send(client, "patch", f"{RULES}/{rule.pk}", {"kind": "prefix"}, auth(acme))
    assert response.status_code == 422 and "pattern" in response.json()["detail"]


def test_rules_cannot_point_at_another_accounts_number(
    client: Client, acme: WiredAccount, rival: WiredAccount
) -> None:
    body = {"kind": "prefix", "pattern": "+1900", "tracking_number_id": rival.tracking.pk}
    response = send(client, "post", RULES, body, auth(acme))
    assert response.status_code == 422 and "tracking_number_id" in response.json()["detail"]
    rule = BlockRule.objects.create(account=acme.account, kind="prefix", pattern="+1900")
    patched = send(
        client, "patch", f"{RULES}/{rule.pk}", {"tracking_number_id": rival.tracking.pk}, auth(acme)
    )
    assert patched.status_code == 422


def test_policy_defaults_to_no_screening_until_put(client: Client, acme: WiredAccount) -> None:
    headers = auth(acme)
    shown = client.get(POLICY, **headers).json()
    assert shown["configured"] is False
    assert {shown[k] for k in ("stir_failed", "stir_unverified", "stir_absent", "short_calls_action")} == {
        "allow"
    }
    assert (
        shown["short_calls_count"],
        shown["short_calls_window_minutes"],
        shown["short_calls_max_seconds"],
    ) == (
        3,
        60,
        10,
    )
    put = send(client, "put", POLICY, {"stir_failed": "reject", "stir_unverified": "challenge"}, headers)
    assert put.status_code == 200, put.content
    assert put.json()["configured"] is True and put.json()["stir_failed"] == "reject"
    again = send(client, "put", POLICY, {"short_calls_action": "reject"}, headers)
    assert again.json()["stir_failed"] == "allow"  # PUT replaces the whole policy
    assert ScreeningPolicy.objects.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"stir_failed": "block"}, "stir_failed"),
        ({"short_calls_count": 0}, "short_calls_count"),
        ({"short_calls_window_minutes": 10**6}, "short_calls_window_minutes"),
        ({"short_calls_max_seconds": -1}, "short_calls_max_seconds"),
        ({"stir_failed": "reject", "typo": 1}, "typo"),
    ],
)
def test_invalid_policy_is_422(client: Client, acme: WiredAccount, body: dict[str, Any], field: str) -> None:
    response = send(client, "put", POLICY, body, auth(acme))
    assert response.status_code == 422 and field in str(response.json())


def test_number_policy_overrides_and_falls_back(client: Client, acme: WiredAccount) -> None:
    headers = auth(acme)
    send(client, "put", POLICY, {"stir_failed": "reject"}, headers)
    path = f"{POLICY}/tracking-numbers/{acme.tracking.pk}"
    inherited = client.get(path, **headers).json()
    assert (inherited["configured"], inherited["stir_failed"]) == (False, "reject")
    assert inherited["tracking_number_id"] == acme.tracking.pk
    own = send(client, "put", path, {"stir_failed": "challenge"}, headers).json()
    assert (own["configured"], own["stir_failed"]) == (True, "challenge")
    assert client.get(POLICY, **headers).json()["stir_failed"] == "reject"
    assert client.delete(path, **headers).status_code == 204
    assert client.get(path, **headers).json()["stir_failed"] == "reject"


def test_another_accounts_number_policy_is_404(
    client: Client, acme: WiredAccount, rival: WiredAccount
) -> None:
    path = f"{POLICY}/tracking-numbers/{rival.tracking.pk}"
    headers = auth(acme)
    assert client.get(path, **headers).status_code == 404
    assert send(client, "put", path, {}, headers).status_code == 404
    assert client.delete(path, **headers).status_code == 404


def test_policies_are_per_account(client: Client, acme: WiredAccount, rival: WiredAccount) -> None:
    send(client, "put", POLICY, {"stir_failed": "reject"}, auth(rival))
    assert client.get(POLICY, **auth(acme)).json()["configured"] is False


def test_read_only_can_read_but_not_write(client: Client, acme: WiredAccount) -> None:
    headers = auth(acme, Role.READ_ONLY)
    assert client.get(POLICY, **headers).status_code == 200
    assert client.get(RULES, **headers).status_code == 200
    assert send(client, "put", POLICY, {}, headers).status_code == 403
    assert send(client, "post", RULES, {"kind": "prefix", "pattern": "+1900"}, headers).status_code == 403
    assert not ScreeningPolicy.objects.exists() and not BlockRule.objects.exists()
