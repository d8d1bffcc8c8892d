"""Per-account DNI configuration, cached in each process (read on every page view of every visitor).

Any save of an account, source, rule, pool, tracking number or swap target bumps a shared version so
every process reloads within a second (``lib/local_cache``); lease state is never cached here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ringtrail.accounts.models import Account
from ringtrail.dni.models import Pool
from ringtrail.lib import driver_sql
from ringtrail.lib.driver_sql import database
from ringtrail.lib.local_cache import VersionedLocalCache
from ringtrail.lib.phone import format_national
from ringtrail.numbers.models import NumberState, SwapTarget, TrackingNumber
from ringtrail.sources import classify
from ringtrail.sources.models import Source, SourceKind, SourceRule


@dataclass(frozen=True)
class AccountConfig:
    account: Account
    sources: tuple[Source, ...]  # online sources, in rule order
    rules: tuple[classify.Rule, ...]
    pools: dict[int, Pool] = field(default_factory=dict)  # by source id
    static_numbers: dict[int, int] = field(default_factory=dict)  # source id -> tracking number id
    swap_targets: frozenset[str] = frozenset()
    numbers: dict[int, str] = field(default_factory=dict)  # tracking number id -> E.164
    # pool id -> its active numbers in id order: what the lease store may hand out.
    eligible: dict[int, tuple[int, ...]] = field(default_factory=dict)
    # Per pool (and lease-extension setting), what the lease store is told about it: built on a
    # page view's first need of it (``session.plan_of``), as long-lived as this configuration.
    plans: dict[tuple[int, float], Any] = field(default_factory=dict, compare=False)

    def source(self, source_id: int | None) -> Source | None:
        if source_id is None:
            return None
        return self._sources_by_id.get(source_id)

    @functools.cached_property
    def _sources_by_id(self) -> dict[int, Source]:
        return {source.id: source for source in self.sources}


_configs: VersionedLocalCache[AccountConfig | None] = VersionedLocalCache(
    "rt:dni-config-version", ttl=settings.DNI_CONFIG_MAX_AGE_SECONDS
)


def config_for(public_key: str) -> AccountConfig | None:
    if not public_key.startswith("pk_") or len(public_key) > 40:
        return None
    return _configs.get(public_key, lambda: load(public_key))


def load(public_key: str) -> AccountConfig | None:
    account = Account.objects.filter(public_key=public_key).first()
    if account is None:
        return None
    sources = tuple(
        Source.objects.filter(account=account, kind=SourceKind.ONLINE)
        .prefetch_related("rules")
        .order_by("position", "id")
    )
    numbers = _Numbers(account)
    return AccountConfig(
        account=account,
        sources=sources,
        rules=tuple(classify.Rule(s.pk, r.kind, r.value) for s in sources for r in s.rules.all()),
        pools={p.source_id: p for p in Pool.objects.filter(account=account)},
        static_numbers=numbers.static,
        swap_targets=frozenset(SwapTarget.objects.filter(account=account).values_list("number", flat=True)),
        numbers=numbers.e164,
        eligible=numbers.eligible,
    )


# Formatted when first shown, not when a configuration loads: a pool may hold tens of thousands of
# numbers, and each process reloads its configuration now and then. Numbers outside NANP need a
# parse (~25 µs), so they are kept.
formatted_number = functools.lru_cache(maxsize=65536)(format_national)


class _Numbers:
    """The account's numbers that are not released, read in one statement on the driver's
    connection and sorted in one pass. Each process reloads its configuration on every change, and
    through the ORM (three querysets) that took 0.43 to 0.54 s for a pool of 160 000 numbers, during
    which the reloading page view waited and the process's other page views shared the interpreter."""

    def __init__(self, account: Account) -> None:
        query = (
            TrackingNumber.objects.filter(account=account)
            .exclude(state=NumberState.RELEASED)
            .order_by("pk")
            .values_list("pk", "number", "pool_id", "source_id", "state")
        )
        sql, params = query.query.sql_with_params()
        self.e164: dict[int, str] = {}
        self.static: dict[int, int] = {}  # source id -> its first active number outside pools
        by_pool: dict[int, list[int]] = {}
        active = NumberState.ACTIVE.value
        for number_id, number, pool_id, source_id, state in driver_sql.fetch_all(database(), sql, params):
            self.e164[number_id] = number
            if state != active:
                continue
            if pool_id is not None:
                by_pool.setdefault(pool_id, []).append(number_id)
            elif source_id is not None:
                self.static.setdefault(source_id, number_id)
        self.eligible = {pool_id: _same_as_before(pool_id, ids) for pool_id, ids in by_pool.items()}


# The last eligible tuple loaded per pool: an unchanged reload hands back the same object, so what
# is memoised by it (the Redis store's availability version, the reservations' set) is not
# recomputed, which for 160 000 numbers took another 50 ms.
_last_eligible: dict[int, tuple[int, ...]] = {}


def _same_as_before(pool_id: int, ids: list[int]) -> tuple[int, ...]:
    loaded, before = tuple(ids), _last_eligible.get(pool_id)
    if before is not None and before == loaded:
        return before
    if len(_last_eligible) > 10_000:
        _last_eligible.clear()
    _last_eligible[pool_id] = loaded
    return loaded


def forget_local_copies() -> None:
    _configs.clear()


@receiver([post_save, post_delete], sender=Account)
@receiver([post_save, post_delete], sender=Source)
@receiver([post_save, post_delete], sender=SourceRule)
@receiver([post_save, post_delete], sender=Pool)
@receiver([post_save, post_delete], sender=TrackingNumber)
@receiver([post_save, post_delete], sender=SwapTarget)
def configuration_changed(sender: type, **kwargs: Any) -> None:
    _configs.invalidate_everywhere()
