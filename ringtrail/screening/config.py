"""Reading screening configuration on the hot path: per-process cached, invalidated everywhere.

An account's policies and block rules are loaded once (two queries) and then served from the
process's own memory until any screening save bumps the shared version (see
``lib/local_cache.VersionedLocalCache``, the same mechanism as routing snapshots). So an account
without rules costs a dictionary lookup per call, and the only per-call query screening ever adds
is the caller's recent short calls, and only when a policy turns that heuristic on.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection

from ringtrail.calls.models import Call
from ringtrail.lib.local_cache import VersionedLocalCache
from ringtrail.screening import models
from ringtrail.screening.rules import (
    Action,
    BlockRule,
    Policy,
    RecentCall,
    RuleKind,
    ScreeningConfig,
)

_local: VersionedLocalCache[ScreeningConfig] = VersionedLocalCache("rt:screening-version")


def policy_of(row: models.ScreeningPolicy) -> Policy:
    return Policy(
        stir_failed=Action(row.stir_failed),
        stir_unverified=Action(row.stir_unverified),
        stir_absent=Action(row.stir_absent),
        short_calls_action=Action(row.short_calls_action),
        short_calls_count=row.short_calls_count,
        short_calls_window_minutes=row.short_calls_window_minutes,
        short_calls_max_seconds=row.short_calls_max_seconds,
    )


def load_config(account_id: int) -> ScreeningConfig:
    account_policy: Policy | None = None
    number_policies: dict[int, Policy] = {}
    for row in models.ScreeningPolicy.objects.filter(account_id=account_id):
        if row.tracking_number_id is None:
            account_policy = policy_of(row)
        else:
            number_policies[row.tracking_number_id] = policy_of(row)
    rules = tuple(
        BlockRule(RuleKind(kind), pattern, number_id)
        for kind, pattern, number_id in models.BlockRule.objects.filter(account_id=account_id)
        .order_by("id")
        .values_list("kind", "pattern", "tracking_number_id")
    )
    return ScreeningConfig(account_policy, number_policies, rules)


def current_config(account_id: int) -> ScreeningConfig:
    return _local.get(f"screening:{account_id}", lambda: load_config(account_id))


def invalidate() -> None:
    _local.invalidate_everywhere()


def forget_local_copies() -> None:
    _local.clear()


def recent_short_calls(account_id: int, caller: str, policy: Policy, now: dt.datetime) -> list[RecentCall]:
    """The caller's short calls inside the policy's window: one query on the (account, caller) index.

    Hand-written, like the other per-call statements (``calls/actions.py``): the ORM spends longer
    compiling it than the database spends running it. The window is applied here, so each row is
    reported at the window's start.
    """
    since = now - dt.timedelta(minutes=policy.short_calls_window_minutes)
    table = connection.ops.quote_name(Call._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT total_seconds FROM {table} WHERE account_id = %s AND customer_phone_number = %s"  # noqa: S608
            " AND start_time >= %s AND total_seconds < %s LIMIT %s",
            [
                account_id,
                caller,
                connection.ops.adapt_datetimefield_value(since),
                policy.short_calls_max_seconds,
                policy.short_calls_count,
            ],
        )
        return [RecentCall(since, int(seconds)) for (seconds,) in cursor.fetchall()]
