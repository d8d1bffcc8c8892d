"""The simulator's clock offset: honoured only when the server is started for simulation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ringtrail.dni.tests.support import Site, post
from ringtrail.lib.clock import MAX_OFFSET_SECONDS, parse_offset
from ringtrail.visits.models import Session

HOURS_AGO = -3 * 3600
BODY = {"url": "https://acme.test/?gclid=abc", "referrer": "", "targets": ["(415) 555-0199"]}


@pytest.fixture
def simulated(settings: Any) -> None:
    settings.SIMULATED_CLOCK = True


def _started(answer: Any) -> dt.datetime:
    return Session.objects.get(session_id=answer.json()["session"]).started_at


def test_offset_moves_the_visit_and_its_lease(site: Site, simulated: None) -> None:
    answer = post(Client(), site, BODY, HTTP_X_RINGTRAIL_CLOCK_OFFSET=str(HOURS_AGO))
    assert answer.status_code == 200
    lag = timezone.now() - _started(answer)
    assert dt.timedelta(hours=2, minutes=59) < lag < dt.timedelta(hours=3, minutes=1)
    # The lease lives in simulated time: three hours later (now) it has long ended.
    from ringtrail.dni.models import Lease

    assert Lease.objects.get(session_id=answer.json()["session"]).ends_at < timezone.now()


def test_header_is_ignored_unless_the_server_simulates(site: Site, settings: Any) -> None:
    settings.SIMULATED_CLOCK = False
    answer = post(Client(), site, BODY, HTTP_X_RINGTRAIL_CLOCK_OFFSET=str(HOURS_AGO))
    assert timezone.now() - _started(answer) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("raw", ["soon", "nan", str(MAX_OFFSET_SECONDS + 1), "-1e308"])
def test_nonsense_offsets_are_refused(site: Site, simulated: None, raw: str) -> None:
    answer = post(Client(), site, BODY, HTTP_X_RINGTRAIL_CLOCK_OFFSET=raw)
    assert answer.status_code == 400 and b"Offset" in answer.content
    assert not Session.objects.exists()


def test_parse_offset() -> None:
    assert parse_offset("-10800") == -10800.0 and parse_offset("12.5") == 12.5
    assert parse_offset("inf") is None and parse_offset("") is None
