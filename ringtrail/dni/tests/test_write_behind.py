"""With page views written behind, a visitor's next page still keeps its first touch and number."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from ringtrail.dni.tests.support import TARGET, Site, post, visit
from ringtrail.testing_wsgi import FRONTS, front_client
from ringtrail.visits.actions import forget_local_first_sources
from ringtrail.visits.buffer import buffer, flush_pending
from ringtrail.visits.models import PageView, Session, Visitor

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    return front_client(request.param)


@pytest.fixture(params=["process memory", "redis"])
def buffered(settings: Any, request: pytest.FixtureRequest) -> None:
    """First touches kept in this process, or in Redis (sent with the rate limits, one round trip)."""
    settings.DNI_RECORD_FLUSH_SECONDS = 30  # nothing reaches the database until the test flushes
    settings.REDIS_URL = REDIS_URL if request.param == "redis" else ""


def test_the_next_page_keeps_the_paid_source_before_anything_is_written(site: Site, buffered: None) -> None:
    client = Client()
    first = post(client, site, visit()).json()
    assert not Visitor.objects.exists() and buffer.pending() == 1
    # An internal page view (no click id, our own site as referrer) classifies as nothing paid.
    inner = visit("https://acme.test/pricing", referrer="https://acme.test/", **_ids(first))
    second = post(client, site, inner).json()
    assert second["swaps"] == first["swaps"] and second["swaps"]
    flush_pending()
    session = Session.objects.get(session_id=first["session"])
    assert session.source_id == site.paid.pk and session.page_views == 2
    assert PageView.objects.filter(session=session).count() == 2


def test_heartbeats_are_buffered_too(site: Site, buffered: None) -> None:
    client = Client()
    first = post(client, site, visit()).json()
    assert post(client, site, _ids(first), path="touch").status_code == 204
    assert buffer.pending() == 2
    assert flush_pending() == 2


def test_without_redis_answering_the_first_touch_comes_from_the_database(site: Site, settings: Any) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 0
    client = Client()
    first = post(client, site, visit()).json()
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    inner = visit("https://acme.test/pricing", referrer="https://acme.test/", **_ids(first))
    second = post(client, site, inner)
    assert second.status_code == 200 and second.json()["swaps"] == first["swaps"]


def test_without_redis_another_process_finds_the_first_touch_in_the_lease(site: Site, settings: Any) -> None:
    # Each worker remembers first touches in its own memory; the page view that wrote one down is
    # still in the first worker's buffer when the visitor's next page reaches the second.
    settings.DNI_RECORD_FLUSH_SECONDS = 30
    settings.REDIS_URL = ""
    client = Client()
    first = post(client, site, visit()).json()
    forget_local_first_sources()  # what the second worker knows
    inner = visit("https://acme.test/pricing", referrer="https://acme.test/", **_ids(first))
    second = post(client, site, inner).json()
    assert not Visitor.objects.exists()
    assert second["swaps"] == first["swaps"] and second["swaps"]
    flush_pending()
    assert Session.objects.get(session_id=first["session"]).source_id == site.paid.pk


def test_a_lease_store_outage_answers_the_fallback_number(site: Site, settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    settings.DNI_LEASE_STORE = "redis"
    answer = post(Client(), site, visit())
    assert answer.status_code == 200
    assert answer.json()["swaps"][TARGET]["number"] == site.wired.tracking.number


def _ids(answer: dict[str, Any]) -> dict[str, str]:
    return {"visitor": answer["visitor"], "session": answer["session"]}
