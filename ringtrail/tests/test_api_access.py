"""Every REST endpoint: scoped to the key's account (others' rows are 404) and read-only keys cannot write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.actions import create_api_key, revoke_api_key
from ringtrail.accounts.models import Role
from ringtrail.calls.models import Call
from ringtrail.dni.models import Pool
from ringtrail.flows.actions import create_flow
from ringtrail.flows.models import Flow
from ringtrail.numbers.models import SwapTarget
from ringtrail.screening.models import BlockRule
from ringtrail.sources.models import Source
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: Callable[[WiredAccount, Call], str]
    body: Callable[[WiredAccount], dict[str, Any]] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "get"


def _one(kind: str, suffix: str = "") -> Callable[[WiredAccount, Call], str]:
    def path(w: WiredAccount, call: Call) -> str:
        ids = {
            "carrier-connections": lambda: w.connection.pk,
            "sources": lambda: w.source.pk,
            "receiving-numbers": lambda: w.receiving.pk,
            "tracking-numbers": lambda: w.tracking.pk,
            "calls": lambda: call.pk,
            "swap-targets": lambda: SwapTarget.objects.get(account=w.account).pk,
            "pools": lambda: Pool.objects.get(account=w.account).pk,
            "block-rules": lambda: BlockRule.objects.get(account=w.account).pk,
            "screening-policy/tracking-numbers": lambda: w.tracking.pk,
            "flows": lambda: Flow.objects.get(account=w.account, name="Main").pk,
        }
        return f"/api/v1/{kind}/{ids[kind]()}{suffix}"

    return path


def _all(kind: str) -> Callable[[WiredAccount, Call], str]:
    return lambda w, c: f"/api/v1/{kind}"


def _flow_document(w: WiredAccount) -> dict[str, Any]:
    forward = {"type": "forward", "targets": [{"receiving_number": w.receiving.pk}]}
    return {"start": "desk", "steps": {"desk": forward}}


BODIES: dict[str, Callable[[WiredAccount], dict[str, Any]]] = {
    "carrier-connections": lambda w: {
        "kind": "twilio",
        "account_sid": "AC" + "5" * 32,
        "secret": "s3cret-token",
    },
    "sources": lambda w: {"name": "Bing Ads", "medium": "cpc"},
    "receiving-numbers": lambda w: {"label": "Mobile", "number": "+14155550142"},
    "tracking-numbers": lambda w: {"number": "+14155550143", "connection_id": w.connection.pk},
    "flows": lambda w: {"name": "After hours", "document": _flow_document(w)},
}
PATCHES: dict[str, Callable[[WiredAccount], dict[str, Any]]] = {
    "carrier-connections": lambda w: {"label": "renamed"},
    "sources": lambda w: {"medium": "paid"},
    "receiving-numbers": lambda w: {"label": "Desk 2"},
    "tracking-numbers": lambda w: {"whisper_text": "Hello"},
    "flows": lambda w: {"document": _flow_document(w)},
}
ENDPOINTS: list[Endpoint] = [Endpoint("get", _all("calls")), Endpoint("get", _one("calls"))]
for _kind in BODIES:
    ENDPOINTS += [
        Endpoint("get", _all(_kind)),
        Endpoint("post", _all(_kind), BODIES[_kind]),
        Endpoint("get", _one(_kind)),
        Endpoint("patch", _one(_kind), PATCHES[_kind]),
        Endpoint("delete", _one(_kind)),
    ]
ENDPOINTS += [
    Endpoint("get", _all("swap-targets")),
    Endpoint("post", _all("swap-targets"), lambda w: {"number": "+14155550177", "label": "Footer"}),
    Endpoint("delete", _one("swap-targets")),
    Endpoint("get", _all("pools")),
    Endpoint("post", _all("pools"), lambda w: {"source_id": w.source.pk, "hold_minutes": 20}),
    Endpoint("get", _one("pools")),
    Endpoint("get", _one("pools", "/advice")),
    Endpoint("patch", _one("pools"), lambda w: {"hold_minutes": 30, "number_ids": [w.tracking.pk]}),
    Endpoint("delete", _one("pools")),
    Endpoint("get", _all("tracking-code")),
    Endpoint("get", _all("block-rules")),
    Endpoint("post", _all("block-rules"), lambda w: {"kind": "prefix", "pattern": "+1900"}),
    Endpoint("get", _one("block-rules")),
    Endpoint("patch", _one("block-rules"), lambda w: {"note": "robocaller"}),
    Endpoint("delete", _one("block-rules")),
    Endpoint("get", _all("screening-policy")),
    Endpoint("put", _all("screening-policy"), lambda w: {"stir_failed": "reject"}),
    Endpoint("get", _one("screening-policy/tracking-numbers")),
    Endpoint("put", _one("screening-policy/tracking-numbers"), lambda w: {"stir_unverified": "challenge"}),
    Endpoint("delete", _one("screening-policy/tracking-numbers")),
    Endpoint("get", _all("callback-settings")),
    Endpoint("get", _all("callback-requests")),
    Endpoint(
        "put",
        _all("callback-settings"),
        lambda w: {"tracking_number_id": w.tracking.pk, "receiving_number_id": w.receiving.pk},
    ),
    Endpoint("get", _one("flows", "/versions")),
    Endpoint("get", _one("flows", "/versions/1")),
    Endpoint("get", _one("flows", "/report")),
]
OBJECT_ENDPOINTS = [e for e in ENDPOINTS if e.path.__name__ == "path"]


def ids(endpoint: Endpoint) -> str:
    return f"{endpoint.method} {endpoint.path.__qualname__.split('.')[0]}"


def bearer(wired: WiredAccount, role: str = Role.ADMIN) -> dict[str, str]:
    _, raw = create_api_key(wired.account, f"{role} key", role, None)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def send(client: Client, endpoint: Endpoint, wired: WiredAccount, call: Call, auth: dict[str, str]) -> Any:
    method = getattr(client, endpoint.method)
    path = endpoint.path(wired, call)
    if endpoint.body is None:
        return method(path, **auth)
    return method(path, endpoint.body(wired), content_type="application/json", **auth)


@pytest.fixture
def calls(acme: WiredAccount, rival: WiredAccount, make_call: Callable[..., Call]) -> tuple[Call, Call]:
    for wired in (acme, rival):
        SwapTarget.objects.create(account=wired.account, number="+14155550188")
        web = Source.objects.create(account=wired.account, name="Web", kind="online")
        Pool.objects.create(account=wired.account, source=web)
        BlockRule.objects.create(account=wired.account, kind="number", pattern="+19005550100")
        create_flow(wired.account, "Main", _flow_document(wired))
    return make_call(acme), make_call(rival)


@pytest.mark.parametrize(
    "endpoint", OBJECT_ENDPOINTS, ids=[f"{e.method}-{i}" for i, e in enumerate(OBJECT_ENDPOINTS)]
)
def test_another_accounts_object_is_404(
    client: Client, acme: WiredAccount, rival: WiredAccount, calls: tuple[Call, Call], endpoint: Endpoint
) -> None:
    response = send(client, endpoint, rival, calls[1], bearer(acme))
    assert response.status_code == 404, response.content


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.ANALYST])
@pytest.mark.parametrize(
    "endpoint",
    [e for e in ENDPOINTS if e.writes],
    ids=[f"{e.method}-{i}" for i, e in enumerate(ENDPOINTS) if e.writes],
)
def test_read_only_roles_cannot_write(
    client: Client, acme: WiredAccount, calls: tuple[Call, Call], endpoint: Endpoint, role: str
) -> None:
    response = send(client, endpoint, acme, calls[0], bearer(acme, role))
    assert response.status_code == 403, response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method}-{i}" for i, e in enumerate(ENDPOINTS)])
def test_writers_succeed(
    client: Client, acme: WiredAccount, calls: tuple[Call, Call], endpoint: Endpoint
) -> None:
    if endpoint.method == "delete" and "carrier-connections" in endpoint.path(acme, calls[0]):
        response = send(client, endpoint, acme, calls[0], bearer(acme))
        assert response.status_code == 409  # still has tracking numbers
        return
    response = send(client, endpoint, acme, calls[0], bearer(acme))
    assert response.status_code in (200, 201, 204), response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method}-{i}" for i, e in enumerate(ENDPOINTS)])
def test_no_missing_or_revoked_key_is_401(
    client: Client, acme: WiredAccount, calls: tuple[Call, Call], endpoint: Endpoint
) -> None:
    assert send(client, endpoint, acme, calls[0], {}).status_code == 401
    assert (
        send(client, endpoint, acme, calls[0], {"HTTP_AUTHORIZATION": "Bearer rt_nope_nope"}).status_code
        == 401
    )
    key, raw = create_api_key(acme.account, "soon revoked", Role.ADMIN, None)
    revoke_api_key(key)
    assert send(client, endpoint, acme, calls[0], {"HTTP_AUTHORIZATION": f"Bearer {raw}"}).status_code == 401


def test_lists_only_show_own_rows(
    client: Client, acme: WiredAccount, rival: WiredAccount, calls: tuple[Call, Call]
) -> None:
    auth = bearer(acme)
    expected = {"carrier-connections": 1, "sources": 2, "receiving-numbers": 1, "tracking-numbers": 1}
    expected |= {"swap-targets": 1, "pools": 1, "flows": 1}
    for kind, count in expected.items():
        body = client.get(f"/api/v1/{kind}", **auth).json()
        assert body["total_records"] == count, kind
    assert [c["id"] for c in client.get("/api/v1/calls", **auth).json()["calls"]] == [calls[0].pk]


def test_member_session_can_use_the_api(acme: WiredAccount, acme_owner_client: Client) -> None:
    assert acme_owner_client.get("/api/v1/sources").status_code == 200
