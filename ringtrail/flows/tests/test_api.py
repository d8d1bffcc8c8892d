"""/api/v1/flows: versioned CRUD, validation paths as 422s, and flows attached to numbers and sources."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ringtrail.accounts.actions import create_api_key
from ringtrail.accounts.models import Role
from ringtrail.flows.models import Flow, FlowVersion, ImmutableVersion
from ringtrail.flows.validation import MAX_FLOW_BYTES
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db


def bearer(wired: WiredAccount, role: str = Role.ADMIN) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(wired.account, role, role, None)[1]}"}


def document(receiving_id: int, text: str = "Welcome") -> dict[str, Any]:
    return {
        "start": "hello",
        "steps": {
            "hello": {"type": "say", "text": text, "next": "desk"},
            "desk": {"type": "forward", "targets": [{"receiving_number": receiving_id}], "no_answer": "vm"},
            "vm": {"type": "voicemail"},
        },
    }


def send(client: Client, method: str, path: str, body: Any, auth: dict[str, str]) -> Any:
    return getattr(client, method)(path, body, content_type="application/json", **auth)


def test_create_read_update_versions_delete(client: Client, acme: WiredAccount) -> None:
    auth = bearer(acme)
    created = send(
        client, "post", "/api/v1/flows", {"name": "Main line", "document": document(acme.receiving.pk)}, auth
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Main line" and body["version"] == 1 and body["version_id"]
    # Stored with the defaults filled in, so a later change of a default never changes a saved flow.
    assert body["document"]["steps"]["desk"]["strategy"] == "simultaneous"
    flow_id = body["id"]

    renamed = send(client, "patch", f"/api/v1/flows/{flow_id}", {"name": "Main"}, auth).json()
    assert renamed["name"] == "Main" and renamed["version"] == 1
    edited = send(
        client, "patch", f"/api/v1/flows/{flow_id}", {"document": document(acme.receiving.pk, "Hi")}, auth
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert edited.json()["document"]["steps"]["hello"]["text"] == "Hi"

    versions = client.get(f"/api/v1/flows/{flow_id}/versions", **auth).json()
    assert [v["number"] for v in versions["items"]] == [2, 1]
    first = client.get(f"/api/v1/flows/{flow_id}/versions/1", **auth).json()
    assert first["document"]["steps"]["hello"]["text"] == "Welcome"
    assert client.get(f"/api/v1/flows/{flow_id}/versions/9", **auth).status_code == 404
    listed = client.get("/api/v1/flows", **auth).json()
    assert [(f["name"], f["version"]) for f in listed["items"]] == [("Main", 2)] and "document" not in listed[
        "items"
    ][0]

    assert client.delete(f"/api/v1/flows/{flow_id}", **auth).status_code == 204
    assert not FlowVersion.objects.filter(flow_id=flow_id).exists()


def test_versions_are_immutable(acme: WiredAccount) -> None:
    from ringtrail.flows.actions import create_flow

    flow = create_flow(acme.account, "x", document(acme.receiving.pk))
    version = FlowVersion.objects.get(flow=flow)
    version.document = {}
    with pytest.raises(ImmutableVersion):
        version.save()
    version.refresh_from_db()
    assert version.flow_document().start == "hello"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["steps"]["hello"].update(next="salse"),
            "document.steps.hello.next: unknown step 'salse'",
        ),
        (lambda d: d["steps"]["hello"].update(type="sya"), "document.steps.hello: unknown step type 'sya'"),
        (
            lambda d: d["steps"]["vm"].update(type="say", text="x", next="hello"),
            "document.steps.vm.next: this makes a loop",
        ),
        (lambda d: d.update(extra=1), "document.extra: Extra inputs are not permitted"),
    ],
)
def test_invalid_documents_are_422_with_the_path(
    client: Client, acme: WiredAccount, mutate: Any, expected: str
) -> None:
    data = document(acme.receiving.pk)
    mutate(data)
    response = send(client, "post", "/api/v1/flows", {"name": "Bad", "document": data}, bearer(acme))
    assert response.status_code == 422 and expected in response.json()["detail"], response.content
    assert not Flow.objects.exists()


def test_another_accounts_receiving_number_is_refused(
    client: Client, acme: WiredAccount, rival: WiredAccount
) -> None:
    response = send(
        client,
        "post",
        "/api/v1/flows",
        {"name": "Steal", "document": document(rival.receiving.pk)},
        bearer(acme),
    )
    assert response.status_code == 422
    assert f"receiving number {rival.receiving.pk} is not this account's" in response.json()["detail"]
    flow = send(
        client, "post", "/api/v1/flows", {"name": "Ok", "document": document(acme.receiving.pk)}, bearer(acme)
    )
    patched = send(
        client,
        "patch",
        f"/api/v1/flows/{flow.json()['id']}",
        {"document": document(rival.receiving.pk)},
        bearer(acme),
    )
    assert patched.status_code == 422 and Flow.objects.get().current_version.number == 1  # type: ignore[union-attr]


def test_oversized_and_malformed_bodies(client: Client, acme: WiredAccount) -> None:
    auth = bearer(acme)
    big = document(acme.receiving.pk)
    big["steps"]["hello"]["label"] = "x" * 80
    big["steps"].update({f"s{i}": {"type": "say", "text": "y" * 1000} for i in range(70)})
    response = send(client, "post", "/api/v1/flows", {"name": "Big", "document": big}, auth)
    assert response.status_code == 413 and str(MAX_FLOW_BYTES) in response.json()["detail"]
    assert send(client, "post", "/api/v1/flows", "{nope", auth).status_code in (400, 422)
    assert send(client, "post", "/api/v1/flows", {"name": "x", "document": []}, auth).status_code == 422
    assert send(client, "post", "/api/v1/flows", {"name": "", "document": {}}, auth).status_code == 422


def test_names_are_unique_per_account(client: Client, acme: WiredAccount, rival: WiredAccount) -> None:
    body = {"name": "Main", "document": document(acme.receiving.pk)}
    assert send(client, "post", "/api/v1/flows", body, bearer(acme)).status_code == 201
    assert send(client, "post", "/api/v1/flows", body, bearer(acme)).status_code == 409
    rivals = {"name": "Main", "document": document(rival.receiving.pk)}
    assert send(client, "post", "/api/v1/flows", rivals, bearer(rival)).status_code == 201


def test_attach_to_tracking_number_and_source(
    client: Client, acme: WiredAccount, rival: WiredAccount
) -> None:
    auth = bearer(acme)
    flow_id = send(
        client, "post", "/api/v1/flows", {"name": "Main", "document": document(acme.receiving.pk)}, auth
    ).json()["id"]
    rival_flow = send(
        client,
        "post",
        "/api/v1/flows",
        {"name": "Theirs", "document": document(rival.receiving.pk)},
        bearer(rival),
    ).json()["id"]

    number_path = f"/api/v1/tracking-numbers/{acme.tracking.pk}"
    assert send(client, "patch", number_path, {"flow_id": flow_id}, auth).json()["flow_id"] == flow_id
    refused = send(client, "patch", number_path, {"flow_id": rival_flow}, auth)
    assert refused.status_code == 422 and "flow_id" in refused.json()["detail"]
    source_path = f"/api/v1/sources/{acme.source.pk}"
    assert send(client, "patch", source_path, {"flow_id": flow_id}, auth).json()["flow_id"] == flow_id
    refused = send(client, "patch", source_path, {"flow_id": rival_flow}, auth)
    assert refused.status_code == 422 and "flow_id" in str(refused.json())
    created = send(client, "post", "/api/v1/sources", {"name": "Radio", "flow_id": rival_flow}, auth)
    assert created.status_code == 422
    new_number = {"number": "+14155550177", "connection_id": acme.connection.pk, "flow_id": rival_flow}
    assert send(client, "post", "/api/v1/tracking-numbers", new_number, auth).status_code == 422

    # An attached flow cannot be deleted; detaching (null) frees it.
    assert client.delete(f"/api/v1/flows/{flow_id}", **auth).status_code == 409
    assert send(client, "patch", number_path, {"flow_id": None}, auth).json()["flow_id"] is None
    assert client.delete(f"/api/v1/flows/{flow_id}", **auth).status_code == 409  # the source still has it
    assert send(client, "patch", source_path, {"medium": "paid"}, auth).json()["flow_id"] == flow_id
    assert send(client, "patch", source_path, {"flow_id": None}, auth).json()["flow_id"] is None
    assert client.delete(f"/api/v1/flows/{flow_id}", **auth).status_code == 204


def test_read_only_members_read_but_cannot_write(client: Client, acme: WiredAccount) -> None:
    send(
        client,
        "post",
        "/api/v1/flows",
        {"name": "Main", "document": document(acme.receiving.pk)},
        bearer(acme),
    )
    flow_id = Flow.objects.get().pk
    reader = bearer(acme, Role.READ_ONLY)
    assert client.get(f"/api/v1/flows/{flow_id}", **reader).status_code == 200
    assert client.get(f"/api/v1/flows/{flow_id}/versions/1", **reader).status_code == 200
    assert send(client, "patch", f"/api/v1/flows/{flow_id}", {"name": "x"}, reader).status_code == 403
    assert Flow.objects.get().name == "Main"


def test_loading_for_a_call(client: Client, acme: WiredAccount, rival: WiredAccount) -> None:
    from ringtrail.flows import loading
    from ringtrail.flows.actions import create_flow, update_flow

    flow = create_flow(acme.account, "Main", document(acme.receiving.pk))
    number = acme.tracking
    assert loading.flow_id_for(number) is None
    acme.source.flow = flow
    acme.source.save()
    number.refresh_from_db()
    assert loading.flow_id_for(number) == flow.pk  # the source's flow
    other = create_flow(acme.account, "Other", document(acme.receiving.pk))
    number.flow = other
    number.save()
    assert loading.flow_id_for(number) == other.pk  # the number's own wins

    first = loading.current_version_id(flow.pk, acme.account.pk)
    update_flow(flow, document=document(acme.receiving.pk, "Second"))
    second = loading.current_version_id(flow.pk, acme.account.pk)
    assert first and second and first != second
    assert loading.current_version_id(flow.pk, rival.account.pk) is None
    old = loading.version_document(first, acme.account.pk)
    assert old is not None and old.steps["hello"].text == "Welcome"  # type: ignore[union-attr]
    assert loading.version_document(first, acme.account.pk) is old  # parsed once
    assert loading.version_document(first, rival.account.pk) is None
    assert loading.version_document(10**9, acme.account.pk) is None
    assert loading.receiving_addresses(acme.account.pk) == {acme.receiving.pk: acme.receiving.number}
