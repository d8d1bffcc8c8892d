"""With page views written behind, a visitor's next page still keeps its first touch and number."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ringtrail.dni.tests.support import Site, post, visit
from ringtrail.visits.buffer import buffer, flush_pending
from ringtrail.visits.models import PageView, Session, Visitor


@pytest.fixture
def buffered(settings: Any) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 30  # nothing reaches the database until the test flushes


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


def _ids(answer: dict[str, Any]) -> dict[str, str]:
    return {"visitor": answer["visitor"], "session": answer["session"]}
