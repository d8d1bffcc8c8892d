"""/api/v1/carrier-connections — the secret is write-only: accepted, encrypted, never returned."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator, model_validator

from ringtrail.accounts.access import get_owned, require_write, scoped
from ringtrail.accounts.api_auth import principal
from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.telnyx.signature import public_key_from_base64
from ringtrail.lib.api import Page, StrictSchema, page_of

router = Router(tags=["carrier connections"])


PUBLIC_KEY_HELP = "Telnyx only: the account's base64 Ed25519 public key that verifies webhooks (not a secret)"


def ed25519_public_key(value: str) -> str:
    if public_key_from_base64(value) is None:
        raise ValueError("webhook_public_key must be a base64-encoded 32-byte Ed25519 public key")
    return value


class ConnectionIn(StrictSchema):
    kind: Literal["twilio", "signalwire", "telnyx"]
    account_sid: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    secret: str = Field(
        min_length=8, max_length=256, description="Auth token, signing key or Telnyx API key (write-only)"
    )
    label: str = Field("", max_length=100)
    webhook_public_key: str = Field("", max_length=100, description=PUBLIC_KEY_HELP)

    @field_validator("webhook_public_key")
    @classmethod
    def _key_is_ed25519(cls, value: str) -> str:
        return ed25519_public_key(value) if value else value

    @model_validator(mode="after")
    def _key_matches_kind(self) -> ConnectionIn:
        if self.kind == "telnyx" and not self.webhook_public_key:
            raise ValueError("webhook_public_key is required for telnyx connections")
        if self.kind != "telnyx" and self.webhook_public_key:
            raise ValueError("webhook_public_key applies to telnyx connections only")
        return self


class ConnectionPatch(StrictSchema):
    secret: str | None = Field(None, min_length=8, max_length=256)
    label: str | None = Field(None, max_length=100)
    webhook_public_key: str | None = Field(None, max_length=100, description=PUBLIC_KEY_HELP)

    @field_validator("webhook_public_key")
    @classmethod
    def _key_is_ed25519(cls, value: str | None) -> str | None:
        return None if value is None else ed25519_public_key(value)


class ConnectionOut(Schema):
    id: int
    kind: str
    account_sid: str
    label: str
    webhook_public_key: str
    created_at: dt.datetime


@router.get("", response=Page[ConnectionOut])
def list_connections(request: HttpRequest, page: int = 1, per_page: int = 50) -> dict[str, object]:
    items, meta = page_of(scoped(principal(request), CarrierConnection).order_by("id"), page, per_page)
    return {"items": items, **meta}


@router.post("", response={201: ConnectionOut})
def create_connection(request: HttpRequest, payload: ConnectionIn) -> Status[CarrierConnection]:
    who = principal(request)
    require_write(who)
    connection = CarrierConnection(
        account=who.account,
        kind=payload.kind,
        account_sid=payload.account_sid,
        label=payload.label,
        webhook_public_key=payload.webhook_public_key,
    )
    connection.set_secret(payload.secret)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:
        raise HttpError(409, "account_sid: a connection with this kind and SID already exists") from exc
    return Status(201, connection)


@router.get("/{int:connection_id}", response=ConnectionOut)
def get_connection(request: HttpRequest, connection_id: int) -> CarrierConnection:
    return get_owned(principal(request), CarrierConnection, pk=connection_id)


@router.patch("/{int:connection_id}", response=ConnectionOut)
def update_connection(
    request: HttpRequest, connection_id: int, payload: ConnectionPatch
) -> CarrierConnection:
    who = principal(request)
    connection = get_owned(who, CarrierConnection, pk=connection_id)
    require_write(who)
    if payload.secret is not None:
        connection.set_secret(payload.secret)
    if payload.label is not None:
        connection.label = payload.label
    if payload.webhook_public_key is not None:
        if connection.kind != "telnyx":
            raise HttpError(422, "webhook_public_key: applies to telnyx connections only")
        connection.webhook_public_key = payload.webhook_public_key
    connection.save()
    return connection


@router.delete("/{int:connection_id}", response={204: None})
def delete_connection(request: HttpRequest, connection_id: int) -> Status[None]:
    who = principal(request)
    connection = get_owned(who, CarrierConnection, pk=connection_id)
    require_write(who)
    if connection.tracking_numbers.exists():
        raise HttpError(409, "connection still has tracking numbers; release or move them first")
    connection.delete()
    return Status(204, None)
