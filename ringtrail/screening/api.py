"""/api/v1/block-rules and /api/v1/screening-policy."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import model_validator

from ringtrail.accounts.access import Principal, get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.lib.api import Id, Page, StrictSchema, apply_fields, e164_or_error, page_of, unprocessable
from ringtrail.numbers.models import TrackingNumber
from ringtrail.screening.models import BlockRule, ScreeningPolicy
from ringtrail.screening.rules import NO_SCREENING, RuleKind, validate_pattern

rules_router = Router(tags=["spam screening"])
policy_router = Router(tags=["spam screening"])

Kind = Literal["number", "prefix", "name"]
ActionName = Literal["allow", "challenge", "reject"]


def _checked_pattern(kind: str, pattern: str) -> str:
    if RuleKind(kind) is RuleKind.NUMBER:
        return e164_or_error(pattern)
    return validate_pattern(RuleKind(kind), pattern)


class RuleIn(StrictSchema):
    kind: Kind = Field(description="number (exact E.164), prefix (+ and digits) or name (glob, e.g. *scam*)")
    pattern: str = Field(min_length=1, max_length=100)
    tracking_number_id: Id | None = Field(None, description="only calls to this number; null: all")
    note: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _valid_pattern(self) -> RuleIn:
        try:
            self.pattern = _checked_pattern(self.kind, self.pattern)
        except ValueError as exc:
            raise ValueError(f"pattern: {exc}") from exc
        return self


class RulePatch(StrictSchema):
    kind: Kind | None = None
    pattern: str | None = Field(None, min_length=1, max_length=100)
    tracking_number_id: Id | None = None
    note: str | None = Field(None, max_length=200)


class RuleOut(Schema):
    id: int
    kind: str
    pattern: str
    tracking_number_id: int | None
    note: str
    created_at: dt.datetime


def _owned_number(who: Principal, number_id: int | None) -> None:
    if number_id is not None and not scoped(who, TrackingNumber).filter(pk=number_id).exists():
        raise unprocessable("tracking_number_id", f"no TrackingNumber {number_id} in this account")


@rules_router.get("", response=Page[RuleOut])
def list_rules(
    request: HttpRequest,
    page: int = 1,
    per_page: int = 50,
    kind: Kind | None = None,
    tracking_number_id: Id | None = None,
) -> dict[str, object]:
    rows = scoped(principal(request), BlockRule).order_by("kind", "pattern", "id")
    if kind:
        rows = rows.filter(kind=kind)
    if tracking_number_id:
        rows = rows.filter(tracking_number_id=tracking_number_id)
    items, meta = page_of(rows, page, per_page)
    return {"items": items, **meta}


@rules_router.post("", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[BlockRule]:
    who = principal(request)
    require_write(who)
    _owned_number(who, payload.tracking_number_id)
    return Status(201, BlockRule.objects.create(account=who.account, **payload.dict()))


@rules_router.get("/{int:rule_id}", response=RuleOut)
def get_rule(request: HttpRequest, rule_id: int) -> BlockRule:
    return get_owned(principal(request), BlockRule, pk=rule_id)


@rules_router.patch("/{int:rule_id}", response=RuleOut)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> BlockRule:
    who = principal(request)
    rule = get_owned(who, BlockRule, pk=rule_id)
    require_write(who)
    # exclude_unset, so that tracking_number_id: null makes the rule account-wide again.
    sent = payload.dict(exclude_unset=True)
    fields = {k: v for k, v in sent.items() if v is not None or k == "tracking_number_id"}
    _owned_number(who, fields.get("tracking_number_id"))
    try:
        fields["pattern"] = _checked_pattern(
            fields.get("kind", rule.kind), fields.get("pattern", rule.pattern)
        )
    except ValueError as exc:
        raise unprocessable("pattern", str(exc)) from exc
    apply_fields(rule, fields)
    rule.save()
    return rule


@rules_router.delete("/{int:rule_id}", response={204: None})
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    who = principal(request)
    rule = get_owned(who, BlockRule, pk=rule_id)
    require_write(who)
    rule.delete()
    return Status(204, None)


class PolicyIn(StrictSchema):
    """The whole policy (PUT replaces it); every field defaults to "no screening"."""

    stir_failed: ActionName = Field("allow", description="StirVerstat TN-Validation-Failed-*")
    stir_unverified: ActionName = Field(
        "allow", description="No-TN-Validation, TN-Validation-Passed-C or an unknown value"
    )
    stir_absent: ActionName = Field("allow", description="no StirVerstat at all (e.g. non-US calls)")
    short_calls_action: ActionName = Field("allow", description="repeated short calls; allow: off")
    short_calls_count: int = Field(3, ge=1, le=100)
    short_calls_window_minutes: int = Field(60, ge=1, le=10_080)
    short_calls_max_seconds: int = Field(10, ge=1, le=3_600)


class PolicyOut(PolicyIn):
    model_config = {"extra": "ignore"}
    tracking_number_id: int | None = None
    configured: bool = Field(description="false: nothing stored here; the values shown are what applies")


POLICY_FIELDS = tuple(PolicyIn.model_fields)


def _policy_out(row: ScreeningPolicy | None, number_id: int | None) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in POLICY_FIELDS} if row else dataclasses.asdict(NO_SCREENING)
    return {**values, "tracking_number_id": number_id, "configured": row is not None}


def _stored(who: Principal, number_id: int | None) -> ScreeningPolicy | None:
    return scoped(who, ScreeningPolicy).filter(tracking_number_id=number_id).first()


def _put(who: Principal, number_id: int | None, payload: PolicyIn) -> dict[str, Any]:
    require_write(who)
    row = _stored(who, number_id) or ScreeningPolicy(account=who.account, tracking_number_id=number_id)
    apply_fields(row, payload.dict())
    row.save()
    return _policy_out(row, number_id)


@policy_router.get("", response=PolicyOut)
def get_policy(request: HttpRequest) -> dict[str, Any]:
    return _policy_out(_stored(principal(request), None), None)


@policy_router.put("", response=PolicyOut)
def put_policy(request: HttpRequest, payload: PolicyIn) -> dict[str, Any]:
    return _put(principal(request), None, payload)


@policy_router.get("/tracking-numbers/{int:number_id}", response=PolicyOut)
def get_number_policy(request: HttpRequest, number_id: int) -> dict[str, Any]:
    """The number's own policy, else the account's (``configured`` false) that applies to it."""
    who = principal(request)
    number = get_owned(who, TrackingNumber, pk=number_id)
    row = _stored(who, number.pk)
    if row is None:
        return {**_policy_out(_stored(who, None), number.pk), "configured": False}
    return _policy_out(row, number.pk)


@policy_router.put("/tracking-numbers/{int:number_id}", response=PolicyOut)
def put_number_policy(request: HttpRequest, number_id: int, payload: PolicyIn) -> dict[str, Any]:
    who = principal(request)
    number = get_owned(who, TrackingNumber, pk=number_id)
    return _put(who, number.pk, payload)


@policy_router.delete("/tracking-numbers/{int:number_id}", response={204: None})
def delete_number_policy(request: HttpRequest, number_id: int) -> Status[None]:
    """Drop the number's own policy; the account's applies to it again."""
    who = principal(request)
    number = get_owned(who, TrackingNumber, pk=number_id)
    require_write(who)
    row = _stored(who, number.pk)
    if row is not None:
        row.delete()
    return Status(204, None)
