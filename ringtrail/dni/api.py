"""/api/v1/swap-targets, /api/v1/pools (with the Erlang-B advisor) and /api/v1/tracking-code."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from ringtrail.accounts.access import get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.dni.advisor import advise
from ringtrail.dni.models import Pool
from ringtrail.lib.api import Id, Page, StrictSchema, apply_fields, e164_or_error, page_of, unprocessable
from ringtrail.numbers.models import SwapTarget, TrackingNumber
from ringtrail.sources.models import Source

swap_router = Router(tags=["swap targets"])
pool_router = Router(tags=["pools"])
code_router = Router(tags=["tracking code"])


class SwapTargetIn(StrictSchema):
    number: str = Field(max_length=40, description="The business number printed on the website")
    label: str = Field("", max_length=120)

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return e164_or_error(value)


class SwapTargetOut(Schema):
    id: int
    number: str
    label: str
    created_at: dt.datetime


@swap_router.get("", response=Page[SwapTargetOut])
def list_targets(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), SwapTarget).order_by("number"), page, per_page)
    return {"items": items, **meta}


@swap_router.post("", response={201: SwapTargetOut})
def create_target(request: HttpRequest, payload: SwapTargetIn) -> Status[SwapTarget]:
    who = principal(request)
    require_write(who)
    try:
        with transaction.atomic():
            target = SwapTarget.objects.create(account=who.account, **payload.dict())
    except IntegrityError as exc:
        raise HttpError(409, "number: already a swap target") from exc
    return Status(201, target)


@swap_router.delete("/{int:target_id}", response={204: None})
def delete_target(request: HttpRequest, target_id: int) -> Status[None]:
    who = principal(request)
    target = get_owned(who, SwapTarget, pk=target_id)
    require_write(who)
    target.delete()
    return Status(204, None)


class PoolIn(StrictSchema):
    source_id: Id
    number_ids: list[Id] = Field(default_factory=list, max_length=1000)
    fallback_number_id: Id | None = None
    hold_minutes: int = Field(15, ge=1, le=24 * 60)
    cooldown_minutes: int = Field(5, ge=0, le=24 * 60)
    recycle_oldest: bool = False


class PoolPatch(StrictSchema):
    number_ids: list[Id] | None = Field(None, max_length=1000)
    fallback_number_id: Id | None = None
    hold_minutes: int | None = Field(None, ge=1, le=24 * 60)
    cooldown_minutes: int | None = Field(None, ge=0, le=24 * 60)
    recycle_oldest: bool | None = None


class PoolOut(Schema):
    id: int
    source_id: int
    number_ids: list[int]
    fallback_number_id: int | None
    hold_minutes: int
    cooldown_minutes: int
    recycle_oldest: bool


def _out(pool: Pool) -> dict[str, Any]:
    return {
        "id": pool.pk,
        "source_id": pool.source_id,
        "number_ids": list(pool.numbers.order_by("pk").values_list("pk", flat=True)),
        "fallback_number_id": pool.fallback_number_id,
        "hold_minutes": pool.hold_minutes,
        "cooldown_minutes": pool.cooldown_minutes,
        "recycle_oldest": pool.recycle_oldest,
    }


def _numbers(request: HttpRequest, ids: list[int], field: str) -> list[TrackingNumber]:
    found = list(scoped(principal(request), TrackingNumber).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise unprocessable(field, "every number must be a tracking number of this account")
    return found


@transaction.atomic
def _save_pool(request: HttpRequest, pool: Pool, fields: dict[str, Any]) -> Pool:
    number_ids = fields.pop("number_ids", None)
    if fields.get("fallback_number_id") is not None:
        _numbers(request, [fields["fallback_number_id"]], "fallback_number_id")
    apply_fields(pool, fields)
    pool.save()
    if number_ids is not None:
        chosen = _numbers(request, number_ids, "number_ids")
        TrackingNumber.objects.filter(pool=pool).exclude(pk__in=number_ids).update(pool=None)
        for number in chosen:  # saved one by one so routing snapshots refresh
            number.pool, number.source = pool, pool.source
            number.save(update_fields=["pool", "source"])
    return pool


@pool_router.get("", response=Page[PoolOut])
def list_pools(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), Pool).order_by("pk"), page, per_page)
    return {"items": [_out(p) for p in items], **meta}


@pool_router.post("", response={201: PoolOut})
def create_pool(request: HttpRequest, payload: PoolIn) -> Status[dict[str, Any]]:
    who = principal(request)
    require_write(who)
    fields = payload.dict()
    source = scoped(who, Source).filter(pk=fields.pop("source_id")).first()
    if source is None:
        raise unprocessable("source_id", "no such source in this account")
    if Pool.objects.filter(source=source).exists():
        raise HttpError(409, "source_id: this source already has a pool")
    if source.kind != "online":
        source.kind = "online"
        source.save(update_fields=["kind"])
    return Status(201, _out(_save_pool(request, Pool(account=who.account, source=source), fields)))


@pool_router.get("/{int:pool_id}", response=PoolOut)
def get_pool(request: HttpRequest, pool_id: int) -> dict[str, Any]:
    return _out(get_owned(principal(request), Pool, pk=pool_id))


@pool_router.patch("/{int:pool_id}", response=PoolOut)
def update_pool(request: HttpRequest, pool_id: int, payload: PoolPatch) -> dict[str, Any]:
    who = principal(request)
    pool = get_owned(who, Pool, pk=pool_id)
    require_write(who)
    sent = payload.dict(exclude_unset=True)
    fields = {k: v for k, v in sent.items() if v is not None or k == "fallback_number_id"}
    return _out(_save_pool(request, pool, fields))


@pool_router.delete("/{int:pool_id}", response={204: None})
def delete_pool(request: HttpRequest, pool_id: int) -> Status[None]:
    who = principal(request)
    pool = get_owned(who, Pool, pk=pool_id)
    require_write(who)
    pool.delete()
    return Status(204, None)


class WhatIfOut(Schema):
    hold_minutes: int
    offered_load: float
    size_for_1_percent: int
    size_for_0_1_percent: int
    fallback_rate_at_current_size: float


class AdviceOut(Schema):
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
    what_if: list[WhatIfOut]


@pool_router.get("/{int:pool_id}/advice", response=AdviceOut)
def pool_advice(request: HttpRequest, pool_id: int) -> dict[str, Any]:
    return dataclasses.asdict(advise(get_owned(principal(request), Pool, pk=pool_id)))


class TrackingCodeOut(Schema):
    public_key: str
    snippet: str


@code_router.get("", response=TrackingCodeOut)
def tracking_code(request: HttpRequest) -> dict[str, str]:
    from django.conf import settings

    account = principal(request).account
    base = settings.PUBLIC_URL or f"{request.scheme}://{request.get_host()}"
    host = base.split("://", 1)[-1]
    return {
        "public_key": account.public_key,
        "snippet": f'<script async src="https://{host}/t/{account.public_key}.js"></script>',
    }
