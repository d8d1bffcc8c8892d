"""/api/v1/sources — the marketing sources calls are credited to."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import model_validator

from ringtrail.accounts.access import Principal, get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.flows.models import Flow
from ringtrail.lib.api import Id, Page, StrictSchema, apply_fields, page_of, unprocessable
from ringtrail.sources.models import RuleKind, Source, SourceRule

router = Router(tags=["sources"])


MAX_RULES = 50
MAX_PATTERN = 200


class RuleIn(StrictSchema):
    kind: RuleKind
    value: str = Field("", max_length=MAX_PATTERN)

    @model_validator(mode="after")
    def _valid_value(self) -> RuleIn:
        if self.kind == RuleKind.LANDING_REGEX:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"value: not a valid regular expression ({exc})") from exc
        if self.kind != RuleKind.DIRECT and not self.value:
            raise ValueError(f"value: required for a {self.kind.value} rule")
        return self


class SourceIn(StrictSchema):
    name: str = Field(min_length=1, max_length=120)
    medium: str = Field("", max_length=60)
    kind: Literal["offline", "online"] = Field(
        "offline", description="online sources are chosen by rules (DNI)"
    )
    position: int = Field(0, ge=0, le=10_000, description="online sources are tried in this order")
    last_touch_wins: bool = False
    rules: list[RuleIn] = Field(default_factory=list, max_length=MAX_RULES)
    flow_id: Id | None = Field(None, description="call flow for this source's numbers (a number's own wins)")


class SourcePatch(StrictSchema):
    name: str | None = Field(None, min_length=1, max_length=120)
    medium: str | None = Field(None, max_length=60)
    kind: Literal["offline", "online"] | None = None
    position: int | None = Field(None, ge=0, le=10_000)
    last_touch_wins: bool | None = None
    rules: list[RuleIn] | None = Field(None, max_length=MAX_RULES, description="replaces all rules")
    flow_id: Id | None = Field(None, description="null detaches the flow")


class RuleOut(Schema):
    kind: str
    value: str


class SourceOut(Schema):
    id: int
    name: str
    medium: str
    kind: str
    position: int
    last_touch_wins: bool
    rules: list[RuleOut]
    flow_id: int | None
    created_at: dt.datetime

    @staticmethod
    def resolve_rules(source: Source) -> list[dict[str, str]]:
        return [{"kind": r.kind, "value": r.value} for r in source.rules.all()]


def _own_flow(who: Principal, flow_id: int | None) -> None:
    if flow_id is not None and not scoped(who, Flow).filter(pk=flow_id).exists():
        raise unprocessable("flow_id", f"no Flow {flow_id} in this account")


def _save(source: Source, rules: list[dict[str, str]] | None = None) -> Source:
    try:
        with transaction.atomic():
            source.save()
            if rules is not None:
                source.rules.all().delete()
                SourceRule.objects.bulk_create(
                    SourceRule(source=source, kind=r["kind"], value=r["value"], position=i)
                    for i, r in enumerate(rules)
                )
    except IntegrityError as exc:
        raise HttpError(409, "name: a source with this name already exists") from exc
    return source


@router.get("", response=Page[SourceOut])
def list_sources(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), Source).order_by("name", "id"), page, per_page)
    return {"items": items, **meta}


@router.post("", response={201: SourceOut})
def create_source(request: HttpRequest, payload: SourceIn) -> Status[Source]:
    who = principal(request)
    require_write(who)
    fields = payload.dict()
    rules = fields.pop("rules")
    _own_flow(who, fields["flow_id"])
    return Status(201, _save(Source(account=who.account, **fields), rules))


@router.get("/{int:source_id}", response=SourceOut)
def get_source(request: HttpRequest, source_id: int) -> Source:
    return get_owned(principal(request), Source, pk=source_id)


@router.patch("/{int:source_id}", response=SourceOut)
def update_source(request: HttpRequest, source_id: int, payload: SourcePatch) -> Source:
    who = principal(request)
    source = get_owned(who, Source, pk=source_id)
    require_write(who)
    fields = payload.dict(exclude_none=True)
    if "flow_id" in payload.model_fields_set:  # flow_id: null detaches the flow
        fields["flow_id"] = payload.flow_id
        _own_flow(who, payload.flow_id)
    rules = fields.pop("rules", None)
    apply_fields(source, fields)
    return _save(source, rules)


@router.delete("/{int:source_id}", response={204: None})
def delete_source(request: HttpRequest, source_id: int) -> Status[None]:
    who = principal(request)
    source = get_owned(who, Source, pk=source_id)
    require_write(who)
    source.delete()
    return Status(204, None)
