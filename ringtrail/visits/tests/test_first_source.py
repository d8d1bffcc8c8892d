"""A new visitor's first-touch source is remembered outside the database, in Redis or the cache."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from typing import Any

import pytest

from ringtrail.sources.models import Source
from ringtrail.testing import wired_account
from ringtrail.visits.actions import first_source_id, forget_local_first_sources, remember_first_source
from ringtrail.visits.models import Visitor

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("redis_url", ["", REDIS_URL])
@pytest.mark.django_db
def test_remembered_source_is_found_without_a_visitor_row(settings: Any, redis_url: str) -> None:
    settings.REDIS_URL = redis_url
    account = wired_account().account
    paid = Source.objects.create(account=account, name="Paid", medium="cpc", kind="online")
    visitor, nobody = f"v_{secrets.token_hex(6)}", f"v_{secrets.token_hex(6)}"
    remember_first_source(account, visitor, paid)
    remember_first_source(account, nobody, None)
    assert first_source_id(account, visitor, LONG_AGO) == paid.pk
    assert first_source_id(account, nobody, LONG_AGO) is None
    assert first_source_id(account, f"v_{secrets.token_hex(6)}", LONG_AGO) is None  # unknown: database


@pytest.mark.django_db
def test_unreachable_redis_falls_back_to_the_database(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    account = wired_account().account
    remember_first_source(account, "v_x", None)  # logged, not raised
    assert first_source_id(account, "v_x", LONG_AGO) is None


@pytest.mark.django_db
def test_a_visitor_row_answers_within_the_window_for_its_own_account(settings: Any) -> None:
    # What another process serving the next page view reads, with neither Redis nor this memory.
    settings.REDIS_URL = ""
    account = wired_account().account
    other = wired_account("Other Co", tracking="+14155550101", receiving="+14155550198").account
    paid = Source.objects.create(account=account, name="Paid", medium="cpc", kind="online")
    seen = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    Visitor.objects.create(account=account, visitor_id="v_row", first_seen_at=seen, first_source=paid)
    Visitor.objects.create(account=account, visitor_id="v_none", first_seen_at=seen)
    forget_local_first_sources()
    assert first_source_id(account, "v_row", seen) == paid.pk
    assert first_source_id(account, "v_row", seen + dt.timedelta(seconds=1)) is None  # window over
    assert first_source_id(other, "v_row", LONG_AGO) is None
    assert first_source_id(account, "v_none", LONG_AGO) is None
