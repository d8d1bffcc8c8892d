"""The prepared insert stores exactly what the ORM would, and turns a conflict into False."""

from __future__ import annotations

from typing import Any

import pytest
from django.forms.models import model_to_dict

from ringtrail.calls.models import Call, CallType, Outcome
from ringtrail.lib.fast_insert import insert_unless_conflict
from ringtrail.testing import wired_account

pytestmark = pytest.mark.django_db


def call_fields(account_id: int, call_id: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "carrier": "twilio",
        "carrier_call_id": call_id,
        "tracking_phone_number": "+14155550100",
        "customer_phone_number": "+12125550143",
        "customer_name": "Zoë <b>O'Brien</b> \u00e9",
        "recording_urls": ["https://r/1", "https://r/2"],
        "raw_payload": {"voice": {"From": "+12125550143", "nested": [1, None, "ü"]}},
        "talk_seconds": 61,
        # Choices enums are str subclasses, bound as they are (no Django conversion on this path).
        "outcome": Outcome.ANSWERED,
        "call_type": CallType.CALLBACK,
        "first_call": False,
    }


def test_row_matches_an_orm_create() -> None:
    account_id = wired_account().account.pk
    fast = Call(**call_fields(account_id, "CA-fast"))
    assert insert_unless_conflict(fast) and fast.pk is not None
    orm = Call.objects.create(**call_fields(account_id, "CA-orm"))
    ignored = {"id", "carrier_call_id", "start_time", "created_at", "updated_at"}
    stored_fast = {k: v for k, v in model_to_dict(Call.objects.get(pk=fast.pk)).items() if k not in ignored}
    stored_orm = {k: v for k, v in model_to_dict(Call.objects.get(pk=orm.pk)).items() if k not in ignored}
    assert stored_fast == stored_orm
    reloaded = Call.objects.get(pk=fast.pk)
    assert reloaded.start_time == fast.start_time and reloaded.updated_at is not None


def test_conflict_inserts_nothing_and_says_so() -> None:
    account_id = wired_account().account.pk
    assert insert_unless_conflict(Call(**call_fields(account_id, "CA-dup")))
    again = Call(**{**call_fields(account_id, "CA-dup"), "customer_name": "someone else"})
    assert not insert_unless_conflict(again) and again.pk is None
    assert Call.objects.get(carrier_call_id="CA-dup").customer_name.startswith("Zoë")
