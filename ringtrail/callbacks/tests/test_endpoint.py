"""POST /dni/v1/KEY/callback: the public form endpoint, hostile input first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django_tasks import default_task_backend

from ringtrail.callbacks.models import CallbackRequest, CallbackSettings
from ringtrail.dni.tests.support import TARGET, Site, post, visit

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture(autouse=True)
def tasks_recorded(settings: Any) -> None:
    settings.TASKS = DUMMY_TASKS


def form(**fields: Any) -> dict[str, Any]:
    return {
        "phone": "(212) 555-0143",
        "name": "Ada",
        "consent": True,
        "page": "https://acme.test/pricing?utm_source=x",
        **fields,
    }


def ask(client: Client, site: Site, body: Any, **headers: str) -> Any:
    return post(client, site, body, path="callback", **headers)


def test_a_visit_asks_to_be_called_back(
    client: Client, site: Site, django_capture_on_commit_callbacks: Any
) -> None:
    shown = post(client, site, visit()).json()
    with django_capture_on_commit_callbacks(execute=True) as committed:
        response = ask(client, site, form(visitor=shown["visitor"], session=shown["session"]))
    assert len(committed) == 1
    assert response.status_code == 202, response.content
    body = response.json()
    stored = CallbackRequest.objects.get(pk=body["callback"])
    assert body["status"] == "queued" == stored.status
    assert (stored.phone, stored.name, stored.session_id) == ("+12125550143", "Ada", shown["session"])
    assert stored.visit_session is not None and stored.visit_session.session_id == shown["session"]
    assert stored.page == "https://acme.test/pricing?utm_source=x" and stored.consent_at is not None
    # Enqueued once the row was committed, with the request's id.
    (task,) = default_task_backend.results  # type: ignore[attr-defined]
    assert task.task.name == "place_callback" and task.args == [stored.pk]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_without_a_session_it_is_still_taken(client: Client, site: Site) -> None:
    response = ask(client, site, form())
    assert response.status_code == 202
    assert CallbackRequest.objects.get().visit_session is None


def test_unknown_key_is_404_and_disallowed_origin_403(client: Client, site: Site) -> None:
    assert client.post("/dni/v1/nope/callback", b"{}", content_type="text/plain").status_code == 404
    site.wired.account.allowed_origins = "https://acme.test"
    site.wired.account.save()
    refused = ask(client, site, form(), HTTP_ORIGIN="https://evil.test")
    assert refused.status_code == 403 and "evil.test" in refused.json()["error"]
    allowed = ask(client, site, form(), HTTP_ORIGIN="https://acme.test")
    assert allowed.status_code == 202 and allowed["Access-Control-Allow-Origin"] == "https://acme.test"
    assert CallbackRequest.objects.count() == 1


def test_preflight_answers_cors(client: Client, site: Site) -> None:
    response = client.options(f"/dni/v1/{site.key}/callback", HTTP_ORIGIN="https://acme.test")
    assert response.status_code == 204 and "POST" in response["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    ("body", "status", "names"),
    [
        (b"not json", 400, "body is not JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (form(extra="x"), 400, "unknown field(s): extra"),
        (form(phone=None), 400, "phone: required"),
        (form(phone=12125550143), 400, "phone: required"),
        (form(phone="555-CALL-ME"), 422, "phone: '555-CALL-ME' is not a valid phone number"),
        (form(phone="1" * 41), 422, "phone: longer than 40"),
        (form(consent=False), 422, "consent: must be true"),
        (form(consent="yes"), 422, "consent: must be true"),
        ({k: v for k, v in form().items() if k != "consent"}, 422, "consent: must be true"),
        (form(name="x" * 101), 400, "name: longer than 100"),
        (form(name=["Ada"]), 400, "name: must be a string"),
        (form(page="javascript:alert(1)"), 400, "page: must be an http(s) URL"),
        (form(page=""), 400, "page: must be an http(s) URL"),
        (form(session="short"), 400, "session: must be 8-64 characters"),
        (form(visitor="<script>alert(1)</script>"), 400, "visitor: must be 8-64"),
    ],
)
def test_malformed_forms_name_the_problem(
    client: Client, site: Site, body: Any, status: int, names: str
) -> None:
    response = ask(client, site, body)
    assert response.status_code == status, response.content
    assert names in response.json()["error"]
    assert CallbackRequest.objects.count() == 0


def test_oversized_body_is_413(client: Client, site: Site) -> None:
    huge = json.dumps(form(name="x" * 20_000)).encode()
    assert ask(client, site, huge).status_code == 413
    assert CallbackRequest.objects.count() == 0


@pytest.mark.parametrize("agent", ["", "Googlebot/2.1", "python-httpx/0.28", "HeadlessChrome/120"])
def test_bots_are_refused(client: Client, site: Site, agent: str) -> None:
    response = ask(client, site, form(), HTTP_USER_AGENT=agent)
    assert response.status_code == 403 and "automated" in response.json()["error"]
    assert CallbackRequest.objects.count() == 0


def test_rate_limited_per_session(client: Client, site: Site, settings: Any) -> None:
    settings.CALLBACK_RATE_PER_SESSION_PER_HOUR = 2
    session = "S" * 12
    for n in range(2):
        assert ask(client, site, form(session=session, phone=f"+1212555010{n}")).status_code == 202
    limited = ask(client, site, form(session=session, phone="+12125550109"))
    assert limited.status_code == 429 and "from this visit (at most 2 an hour)" in limited.json()["error"]
    assert ask(client, site, form(session="T" * 12, phone="+12125550109")).status_code == 202


def test_rate_limited_per_phone(client: Client, site: Site, settings: Any) -> None:
    settings.CALLBACK_RATE_PER_PHONE_PER_HOUR = 1
    assert ask(client, site, form(session="A" * 10)).status_code == 202
    # The same number written another way is the same phone.
    limited = ask(client, site, form(session="B" * 10, phone="+1 212 555 0143"))
    assert limited.status_code == 429 and "for this phone number" in limited.json()["error"]
    assert CallbackRequest.objects.count() == 1


def test_rate_limited_per_address(client: Client, site: Site, settings: Any) -> None:
    settings.CALLBACK_RATE_PER_IP_PER_MINUTE = 2
    codes = [ask(client, site, form(phone=f"+1212555011{n}")).status_code for n in range(3)]
    assert codes == [202, 202, 429]


def test_turned_off_account_refuses(client: Client, site: Site) -> None:
    CallbackSettings.objects.create(account=site.wired.account, enabled=False)
    response = ask(client, site, form())
    assert response.status_code == 403 and "turned off" in response.json()["error"]


def test_target_number_is_not_needed(client: Client, site: Site) -> None:
    assert TARGET  # the form works whether or not the page swapped numbers
    assert ask(client, site, form()).status_code == 202
