"""The per-account DNI configuration's numbers (dni/config.py): read in one statement, sorted in one pass."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ringtrail.dni.config import load
from ringtrail.dni.leases import PoolPlan
from ringtrail.dni.session import plan_of
from ringtrail.dni.tests.test_leases import make_pool
from ringtrail.numbers.models import NumberState, TrackingNumber
from ringtrail.testing import wired_account

pytestmark = pytest.mark.django_db


def test_the_configuration_sorts_an_accounts_numbers_by_use() -> None:
    wired = wired_account()
    pool, numbers = make_pool(wired, 4)
    TrackingNumber.objects.filter(pk=numbers[1].pk).update(state=NumberState.DRAINING)
    TrackingNumber.objects.filter(pk=numbers[2].pk).update(state=NumberState.RELEASED)
    config = load(wired.account.public_key)
    assert config is not None
    shown = [wired.tracking, numbers[0], numbers[1], numbers[3]]  # draining still routes; released not
    assert config.numbers == {n.pk: n.number for n in shown}
    assert config.eligible == {pool.pk: (numbers[0].pk, numbers[3].pk)}  # active, in id order
    assert config.static_numbers == {wired.tracking.source_id: wired.tracking.pk}


def test_an_unchanged_pool_reloads_as_the_same_tuple() -> None:
    wired = wired_account()
    pool, numbers = make_pool(wired, 3)
    first, again = load(wired.account.public_key), load(wired.account.public_key)
    assert first is not None and again is not None
    assert again.eligible[pool.pk] is first.eligible[pool.pk]  # what is memoised by it still holds
    TrackingNumber.objects.filter(pk=numbers[0].pk).update(state=NumberState.DRAINING)
    changed = load(wired.account.public_key)
    assert changed is not None and changed.eligible[pool.pk] == (numbers[1].pk, numbers[2].pk)


def test_sources_by_id_and_each_pools_plan_built_once_per_configuration(settings: Any) -> None:
    wired = wired_account()
    pool, numbers = make_pool(wired, 3)
    config = load(wired.account.public_key)
    assert config is not None
    for source in config.sources:
        assert config.source(source.pk) is source
    assert config.source(None) is None and config.source(-1) is None
    settings.DNI_LEASE_EXTEND_AFTER_SECONDS = 30
    plan = plan_of(config, pool)
    assert plan == PoolPlan.of(pool, eligible=tuple(n.pk for n in numbers))
    assert plan_of(config, pool) is plan
    settings.DNI_LEASE_EXTEND_AFTER_SECONDS = 5  # a changed setting makes a new plan
    assert plan_of(config, pool).extend_after == dt.timedelta(seconds=5)
    reloaded = load(wired.account.public_key)
    assert reloaded is not None and reloaded.plans == {}
