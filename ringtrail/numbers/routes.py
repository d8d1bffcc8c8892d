"""Routing snapshots: what a tracking number and its carrier connection need to answer a call.

The hot path reads them through a per-process cache that any configuration save invalidates in every
process (``current_connection`` / ``current_route``); saves also mirror them into the shared cache, so
a call still connects while the database is unavailable (DESIGN.md §2, flow 2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from django.core.cache import cache

from ringtrail.carriers.models import CarrierConnection
from ringtrail.lib.local_cache import VersionedLocalCache
from ringtrail.numbers.models import NumberState, TrackingNumber

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionSnapshot:
    connection_id: int
    account_id: int
    kind: str
    account_sid: str
    secret_sealed: str
    # Telnyx verifies webhooks with this (base64 Ed25519, not a secret); blank for other kinds.
    # Defaulted so snapshots mirrored into the cache before it existed still load.
    webhook_public_key: str = ""


@dataclass(frozen=True)
class RouteSnapshot:
    account_id: int
    tracking_number_id: int
    connection_id: int
    number: str
    state: str
    destination: str
    receiving_number_id: int | None
    whisper_text: str
    record_calls: bool
    source_id: int | None
    source_name: str
    medium: str
    pool_id: int | None = None  # a DNI pool number: the visit is found by who held it
    fallback_of_pool_id: int | None = None  # a pool's overflow number: source known, visit not
    flow_version_id: int | None = None  # the call flow new calls run (number's, else source's)

    @property
    def routes_calls(self) -> bool:
        return self.state != NumberState.RELEASED


def _route_key(number: str) -> str:
    return f"rt:route:{number}"


def _connection_key(kind: str, account_sid: str) -> str:
    return f"rt:conn:{kind}:{account_sid}"


def snapshot_connection(connection: CarrierConnection) -> ConnectionSnapshot:
    return ConnectionSnapshot(
        connection.pk,
        connection.account_id,
        connection.kind,
        connection.account_sid,
        connection.secret_sealed,
        connection.webhook_public_key,
    )


def snapshot_route(number: TrackingNumber) -> RouteSnapshot:
    receiving = number.receiving_number
    source = number.source
    return RouteSnapshot(
        account_id=number.account_id,
        tracking_number_id=number.pk,
        connection_id=number.connection_id,
        number=number.number,
        state=number.state,
        destination=receiving.number if receiving else "",
        receiving_number_id=receiving.pk if receiving else None,
        whisper_text=number.whisper_text,
        record_calls=number.record_calls,
        source_id=source.pk if source else None,
        source_name=source.name if source else "",
        medium=source.medium if source else "",
        pool_id=number.pool_id,
        fallback_of_pool_id=_pool_falling_back_to(number),
        flow_version_id=_flow_version_of(number),
    )


def _flow_version_of(number: TrackingNumber) -> int | None:
    from ringtrail.flows.loading import current_version_id, flow_id_for

    flow_id = flow_id_for(number)
    return current_version_id(flow_id, number.account_id) if flow_id is not None else None


def _pool_falling_back_to(number: TrackingNumber) -> int | None:
    from ringtrail.dni.models import Pool

    return Pool.objects.filter(fallback_number=number).values_list("pk", flat=True).first()


def load_connection(kind: str, account_sid: str) -> ConnectionSnapshot | None:
    connection = CarrierConnection.objects.filter(kind=kind, account_sid=account_sid).order_by().first()
    return snapshot_connection(connection) if connection else None


def load_route(number: str) -> RouteSnapshot | None:
    """The live (non-released) owner of the number, else the most recent released one."""
    rows = (
        TrackingNumber.objects.filter(number=number)
        .select_related("receiving_number", "source")
        .order_by("-created_at")
    )
    chosen = next((row for row in rows if row.state != NumberState.RELEASED), None) or rows.first()
    return snapshot_route(chosen) if chosen else None


_local: VersionedLocalCache[ConnectionSnapshot | RouteSnapshot | None] = VersionedLocalCache(
    "rt:routing-version"
)


def forget_local_copies() -> None:
    _local.clear()


def current_connection(kind: str, account_sid: str) -> ConnectionSnapshot | None:
    """``load_connection`` through the per-process cache; unknown SIDs are cached too (cheap floods)."""
    found = _local.get(f"conn:{kind}:{account_sid}", lambda: load_connection(kind, account_sid))
    return found if isinstance(found, ConnectionSnapshot) else None


def current_route(number: str) -> RouteSnapshot | None:
    found = _local.get(f"route:{number}", lambda: load_route(number))
    return found if isinstance(found, RouteSnapshot) else None


def cached_connection(kind: str, account_sid: str) -> ConnectionSnapshot | None:
    raw = _cache_get(_connection_key(kind, account_sid))
    return ConnectionSnapshot(**raw) if raw else None


def cached_route(number: str) -> RouteSnapshot | None:
    raw = _cache_get(_route_key(number))
    return RouteSnapshot(**raw) if raw else None


def refresh_connection(connection: CarrierConnection, deleted: bool = False) -> None:
    _local.invalidate_everywhere()
    key = _connection_key(connection.kind, connection.account_sid)
    if deleted:
        _guarded(lambda: cache.delete(key))
    else:
        _guarded(lambda: _cache_set(key, asdict(snapshot_connection(connection))))


def refresh_number(number: str) -> None:
    """Mirror whatever now answers for ``number`` (its live owner, else its last released one)."""
    _local.invalidate_everywhere()

    def write() -> None:
        route = load_route(number)
        if route is None:
            cache.delete(_route_key(number))
        else:
            _cache_set(_route_key(number), asdict(route))

    _guarded(write)


def refresh_numbers_using(account_id: int, **reference: int) -> None:
    """Re-mirror the account's numbers that point at a changed source or receiving number
    (all of them when ``reference`` is empty, e.g. after a delete has already nulled the links)."""
    numbers = TrackingNumber.objects.filter(account_id=account_id, **reference).values_list(
        "number", flat=True
    )
    for number in set(numbers):
        refresh_number(number)


def _guarded(write: Callable[[], object]) -> None:
    try:
        write()
    except Exception:  # the cache is a safety net; never let it break a configuration save
        log.exception("could not refresh the routing snapshot")


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        log.exception("routing cache unavailable")
        return None


def _cache_set(key: str, value: dict[str, Any]) -> None:
    cache.set(key, value, timeout=None)
