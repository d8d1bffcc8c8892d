"""The routing snapshot mirrored into the cache follows every configuration change that affects it."""

from __future__ import annotations

import pytest

from ringtrail.numbers.routes import cached_connection, cached_route
from ringtrail.testing import wired_account

pytestmark = pytest.mark.django_db


def test_snapshot_follows_number_destination_and_source_changes() -> None:
    wired = wired_account()
    assert cached_route(wired.tracking.number).destination == wired.receiving.number  # type: ignore[union-attr]
    wired.receiving.number = "+14155550177"
    wired.receiving.save()
    wired.source.name = "Bing Ads"
    wired.source.save()
    route = cached_route(wired.tracking.number)
    assert route is not None and (route.destination, route.source_name) == ("+14155550177", "Bing Ads")
    wired.source.delete()
    assert cached_route(wired.tracking.number).source_name == ""  # type: ignore[union-attr]


def test_released_number_then_new_owner_wins() -> None:
    first = wired_account(name="First")
    first.tracking.state = "released"
    first.tracking.save()
    assert cached_route(first.tracking.number).state == "released"  # type: ignore[union-attr]
    second = wired_account(name="Second", tracking=first.tracking.number)
    route = cached_route(first.tracking.number)
    assert route is not None and route.tracking_number_id == second.tracking.pk
    second.tracking.delete()
    assert cached_route(first.tracking.number).tracking_number_id == first.tracking.pk  # type: ignore[union-attr]


def test_connection_snapshot_is_written_and_dropped() -> None:
    wired = wired_account(record_calls=False)
    kind, sid = wired.connection.kind, wired.connection.account_sid
    assert cached_connection(kind, sid) is not None
    wired.tracking.delete()
    wired.connection.delete()
    assert cached_connection(kind, sid) is None
