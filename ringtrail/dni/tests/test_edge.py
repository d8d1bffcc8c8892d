"""The WSGI front of the session and heartbeat endpoints: what it answers, what it leaves to Django,
and what it does that Django's handler did. The endpoints' behaviour through it is covered by the
endpoint tests, which run through both front ends."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from ringtrail.dni import endpoints
from ringtrail.dni.edge import route_of
from ringtrail.dni.tests.support import BROWSER, Site, post, visit
from ringtrail.testing_wsgi import WsgiClient
from ringtrail.visits.models import Session


def environ(method: str, path: str, **extra: str) -> dict[str, str]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, **extra}


@pytest.mark.parametrize(
    "method, path, action",
    [
        ("POST", "/dni/v1/pk_abc/session", "session"),
        ("OPTIONS", "/dni/v1/pk_abc/session", "session"),
        ("POST", "/dni/v1/pk_abc/touch", "touch"),
        ("GET", "/dni/v1/pk_abc/session", None),  # Django answers 405
        ("POST", "/dni/v1/pk_abc/amp", None),
        ("POST", "/dni/v1/pk_abc/callback", None),
        ("POST", "/dni/v1//session", None),
        ("POST", "/dni/v1/pk_abc/session/more", None),
        ("POST", "/dni/v1/pk_ä/session", None),
        ("POST", "/carriers/twilio/voice", None),
        ("POST", "/dni/v2/pk_abc/session", None),
    ],
)
def test_only_the_two_hot_paths_are_taken_from_django(method: str, path: str, action: str | None) -> None:
    route = route_of(environ(method, path))
    expected = {"session": endpoints.session_reply, "touch": endpoints.touch_reply}.get(action or "")
    assert (route[0] if route else None) is expected
    if route is not None:
        assert route[1] == "pk_abc"


def test_a_simulated_clock_request_is_left_to_django() -> None:
    path = "/dni/v1/pk_abc/session"
    assert route_of(environ("POST", path, HTTP_X_RINGTRAIL_CLOCK_OFFSET="60")) is None


@pytest.mark.django_db
def test_the_simulated_clock_still_applies_through_the_server_application(site: Site, settings: Any) -> None:
    settings.SIMULATED_CLOCK = True
    answer = post(WsgiClient(), site, visit(), HTTP_X_RINGTRAIL_CLOCK_OFFSET="3600")
    assert answer.status_code == 200 and answer["X-Ringtrail-Clock"] == "simulated"


@pytest.mark.django_db
def test_same_answer_and_headers_as_the_django_view(site: Site) -> None:
    through_django = post(Client(), site, visit(), HTTP_ORIGIN="https://acme.test")
    through_edge = post(WsgiClient(), site, visit(), HTTP_ORIGIN="https://acme.test")
    assert through_edge.status_code == through_django.status_code == 200
    assert set(through_edge.json()) == set(through_django.json())
    for name in (
        "Content-Type",
        "X-Content-Type-Options",
        "Vary",
        *(n for n, _ in endpoints.cors_headers("", site.wired.account)),
    ):
        assert through_edge[name] == through_django[name], name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "length, status, reason", [("abc", 400, "invalid Content-Length"), ("999999", 413, "the limit is 16384")]
)
def test_a_bad_or_huge_declared_length_is_refused_before_reading(
    site: Site, length: str, status: int, reason: str
) -> None:
    answer = WsgiClient().request(
        "POST", f"/dni/v1/{site.key}/session", b"{}", {"CONTENT_LENGTH": length, "HTTP_USER_AGENT": BROWSER}
    )
    assert answer.status_code == status and reason in answer.content.decode()
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_an_unexpected_error_is_a_logged_500_not_a_crash(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ringtrail.dni.session.handle", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = post(WsgiClient(), site, visit())
    assert answer.status_code == 500 and answer.json() == {"error": "internal error"}
    assert any(record.exc_info and str(record.exc_info[1]) == "boom" for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_closed_after_the_request(site: Site) -> None:
    connection.ensure_connection()
    connection.close_at = 0.0  # as if CONN_MAX_AGE had run out
    assert post(WsgiClient(), site, visit()).status_code == 200
    assert connection.connection is None
