"""The WSGI front of the machine endpoints: which requests it takes from Django, and what it does
that Django's handler did. The endpoints through it are covered by the carrier webhook tests, which
run through both front ends."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection

from ringtrail.carriers.twilio.tests.helpers import signed_post, voice_params
from ringtrail.lib.machine_lane import match_of
from ringtrail.testing import WiredAccount, wired_account
from ringtrail.testing_wsgi import WsgiClient


@pytest.mark.parametrize(
    "path, taken",
    [
        ("/carriers/twilio/voice", True),
        ("/carriers/telnyx/status", True),
        ("/t/pk_abc.js", True),
        ("/dni/v1/pk_abc/amp", True),
        ("/carriers/twilio/nope", False),  # Django answers its 404
        ("/calls/", False),  # people's pages keep every middleware
        ("/api/v1/sources", False),
        ("/carriers/twilio/vöice", False),
    ],
)
def test_only_resolvable_machine_paths_are_taken(path: str, taken: bool) -> None:
    assert (match_of({"PATH_INFO": path}) is not None) is taken


def test_a_simulated_clock_request_is_left_to_django() -> None:
    environ = {"PATH_INFO": "/carriers/twilio/voice", "HTTP_X_RINGTRAIL_CLOCK_OFFSET": "60"}
    assert match_of(environ) is None


@pytest.fixture
def wired(db: None) -> WiredAccount:
    return wired_account()


def test_an_exception_becomes_djangos_logged_500(
    wired: WiredAccount, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ringtrail.calls.inbound.answer_call", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = signed_post(WsgiClient(), wired, "/carriers/twilio/voice", voice_params(wired))
    assert response.status_code == 500
    assert any(record.exc_info and str(record.exc_info[1]) == "boom" for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_its_age_is_closed_after_the_request() -> None:
    wired = wired_account()
    connection.ensure_connection()
    connection.close_at = 0.0  # as if CONN_MAX_AGE had run out
    assert signed_post(WsgiClient(), wired, "/carriers/twilio/voice", voice_params(wired)).status_code == 200
    assert connection.connection is None
