"""Pool advice: measured demand, utilisation and fallback rate, and the Erlang-B pool size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from ringtrail.dni.erlang import erlang_b, offered_load, pool_size_for
from ringtrail.dni.leases import lease_store
from ringtrail.dni.models import Pool
from ringtrail.numbers.models import NumberState
from ringtrail.visits.models import Session

WINDOW = dt.timedelta(hours=1)
WHAT_IF_HOLD_MINUTES = (5, 10, 15, 30, 60)


@dataclass(frozen=True)
class WhatIf:
    hold_minutes: int
    offered_load: float
    size_for_1_percent: int
    size_for_0_1_percent: int
    fallback_rate_at_current_size: float


@dataclass(frozen=True)
class Advice:
    pool_id: int
    pool_size: int
    sessions_per_minute: float
    mean_active_minutes: float
    hold_minutes: int
    offered_load: float
    live_leases: int
    utilisation: float
    measured_fallback_rate: float
    size_for_1_percent: int
    size_for_0_1_percent: int
    what_if: tuple[WhatIf, ...]


def advise(pool: Pool, now: dt.datetime | None = None) -> Advice:
    now = now or timezone.now()
    size = pool.numbers.filter(state=NumberState.ACTIVE).count()
    since = now - WINDOW
    sessions = Session.objects.filter(
        account_id=pool.account_id, source_id=pool.source_id, started_at__gte=since
    )
    counts = sessions.aggregate(total=Count("pk"), overflow=Count("pk", filter=Q(overflow=True)))
    per_minute = counts["total"] / (WINDOW.total_seconds() / 60)
    active = _mean_active_minutes(pool, since, now)
    load = offered_load(per_minute, active, pool.hold_minutes)
    live = lease_store().live_count(pool.pk, now)
    return Advice(
        pool_id=pool.pk,
        pool_size=size,
        sessions_per_minute=round(per_minute, 3),
        mean_active_minutes=round(active, 2),
        hold_minutes=pool.hold_minutes,
        offered_load=round(load, 2),
        live_leases=live,
        utilisation=round(live / size, 3) if size else 0.0,
        measured_fallback_rate=round(counts["overflow"] / counts["total"], 4) if counts["total"] else 0.0,
        size_for_1_percent=pool_size_for(load, 0.01),
        size_for_0_1_percent=pool_size_for(load, 0.001),
        what_if=tuple(_what_if(per_minute, active, hold, size) for hold in WHAT_IF_HOLD_MINUTES),
    )


def _mean_active_minutes(pool: Pool, since: dt.datetime, now: dt.datetime) -> float:
    """Mean time the pool's visits stayed active (last page view or heartbeat minus start) over the
    window; read from the visits, so it is the same whichever lease store is used."""
    visits = Session.objects.filter(
        account_id=pool.account_id, source_id=pool.source_id, started_at__gte=since, overflow=False
    ).values_list("started_at", "last_seen_at")
    spans = [(seen - start).total_seconds() / 60 for start, seen in visits]
    return sum(spans) / len(spans) if spans else 0.0


def _what_if(per_minute: float, active: float, hold: int, size: int) -> WhatIf:
    load = offered_load(per_minute, active, hold)
    return WhatIf(
        hold,
        round(load, 2),
        pool_size_for(load, 0.01),
        pool_size_for(load, 0.001),
        round(erlang_b(size, load), 4),
    )
