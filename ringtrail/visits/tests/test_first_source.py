"""A new visitor's first-touch source is remembered outside the database, in Redis or the cache."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from typing import Any

import pytest

from ringtrail.sources.models import Source
from ringtrail.testing import wired_account
from ringtrail.visits.actions import first_source_id, remember_first_source

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
