"""The prepared insert stores exactly what the ORM would, and turns a conflict into False."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from ringtrail.accounts.models import Account
from ringtrail.calls.models import Call, CallType, Outcome
from ringtrail.lib import driver_sql
from ringtrail.lib.fast_insert import (
    Sql,
    adapt_datetime,
    build,
    insert_rows,
    insert_unless_conflict,
    sql_name,
)
from ringtrail.testing import wired_account
from ringtrail.visits.models import Visitor

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
    assert insert_unless_conflict(fast) == () and fast.pk is not None
    orm = Call.objects.create(**call_fields(account_id, "CA-orm"))
    ignored = {"id", "carrier_call_id", "start_time", "created_at", "updated_at"}
    stored_fast = {k: v for k, v in model_to_dict(Call.objects.get(pk=fast.pk)).items() if k not in ignored}
    stored_orm = {k: v for k, v in model_to_dict(Call.objects.get(pk=orm.pk)).items() if k not in ignored}
    assert stored_fast == stored_orm
    reloaded = Call.objects.get(pk=fast.pk)
    assert reloaded.start_time == fast.start_time and reloaded.updated_at is not None


def test_conflict_inserts_nothing_and_says_so() -> None:
    account_id = wired_account().account.pk
    assert insert_unless_conflict(Call(**call_fields(account_id, "CA-dup"))) is not None
    again = Call(**{**call_fields(account_id, "CA-dup"), "customer_name": "someone else"})
    assert insert_unless_conflict(again) is None and again.pk is None
    assert Call.objects.get(carrier_call_id="CA-dup").customer_name.startswith("Zoë")


def test_computed_columns_and_returned_expressions_ride_along() -> None:
    account_id = wired_account().account.pk
    table = Call._meta.db_table
    first = Sql(f"NOT EXISTS (SELECT 1 FROM {table} WHERE customer_phone_number = %s)", ("+12125550143",))  # noqa: S608
    # Returned expressions must not read the inserted row: PostgreSQL evaluates them on the
    # statement's snapshot, SQLite after the insert.
    accounts = Account._meta.db_table
    count = Sql(f"(SELECT COUNT(*) + %s FROM {accounts} WHERE id = %s)", (10, account_id))  # noqa: S608
    one = Call(**{**call_fields(account_id, "CA-1"), "first_call": False})
    assert insert_unless_conflict(one, computed={"first_call": first}, returning=[count]) == (11,)
    assert one.first_call is True and Call.objects.get(pk=one.pk).first_call is True
    two = Call(**{**call_fields(account_id, "CA-2"), "first_call": True})
    assert insert_unless_conflict(two, computed={"first_call": first}, returning=[count]) == (11,)
    assert two.first_call is False and Call.objects.get(pk=two.pk).first_call is False


def test_build_makes_the_instance_the_constructor_would() -> None:
    account_id = wired_account().account.pk
    fields = call_fields(account_id, "CA-built")
    built, constructed = build(Call, fields), Call(**fields)
    assert type(built) is Call and built._state.adding and built._state.db is None
    clocks = {"_state", "start_time", "created_at"}  # callable defaults: each instance reads the clock
    assert {k: v for k, v in vars(built).items() if k not in clocks} == {
        k: v for k, v in vars(constructed).items() if k not in clocks
    }
    assert abs(built.start_time - constructed.start_time) < dt.timedelta(seconds=5)
    assert built.account.pk == account_id and built.recording_urls == ["https://r/1", "https://r/2"]
    built.save()
    assert Call.objects.get(pk=built.pk).customer_name == fields["customer_name"]


def test_build_sets_related_instances_as_the_constructor_does() -> None:
    account = wired_account().account
    fields = {**call_fields(account.pk, "CA-obj"), "account": account, "visit_session": None}
    del fields["account_id"]
    built = build(Call, fields)
    assert built.account_id == account.pk and built.account is account and built.visit_session_id is None


def test_build_leaves_anything_else_to_the_constructor() -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        build(Call, {"no_such_field": 1})


def test_insert_rows_skips_rows_a_unique_constraint_holds() -> None:
    account_id = wired_account().account.pk
    at = dt.datetime(2026, 3, 8, 9, 30, tzinfo=dt.UTC)

    def visitor(visitor_id: str, touch: dict[str, Any]) -> dict[str, Any]:
        return {
            "account_id": account_id,
            "visitor_id": visitor_id,
            "first_seen_at": at,
            "first_source_id": None,
            "first_touch": touch,
        }

    insert_rows(Visitor, [visitor("v_a", {"utm": {"utm_source": "ü <b>"}}), visitor("v_b", {})])
    insert_rows(Visitor, [visitor("v_a", {"utm": {"utm_source": "later"}}), visitor("v_c", {"x": [1, None]})])
    insert_rows(Visitor, [])
    stored = dict(Visitor.objects.filter(account_id=account_id).values_list("visitor_id", "first_touch"))
    assert stored == {"v_a": {"utm": {"utm_source": "ü <b>"}}, "v_b": {}, "v_c": {"x": [1, None]}}
    assert set(Visitor.objects.values_list("first_seen_at", flat=True)) == {at}


def test_insert_rows_splits_what_exceeds_the_parameter_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    account_id = wired_account().account.pk
    at = dt.datetime(2026, 3, 8, 9, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(driver_sql, "MAX_PARAMS", 12)  # two rows of five columns per statement
    rows = [
        {
            "account_id": account_id,
            "visitor_id": f"v_{i}",
            "first_seen_at": at,
            "first_source_id": None,
            "first_touch": {},
        }
        for i in range(5)
    ]
    insert_rows(Visitor, rows)
    assert sorted(Visitor.objects.values_list("visitor_id", flat=True)) == [f"v_{i}" for i in range(5)]


def test_insert_rows_updates_a_held_row_when_told_how() -> None:
    account_id = wired_account().account.pk
    row = {
        "account_id": account_id,
        "visitor_id": "v_a",
        "first_seen_at": dt.datetime(2026, 3, 8, 9, 30, tzinfo=dt.UTC),
        "first_source_id": None,
        "first_touch": {},
    }
    insert_rows(Visitor, [row])
    touch = sql_name(Visitor, "first_touch")
    insert_rows(
        Visitor,
        [{**row, "first_touch": {"again": True}}],
        conflict=f"({sql_name(Visitor, 'account')}, {sql_name(Visitor, 'visitor_id')}) "
        f"DO UPDATE SET {touch} = EXCLUDED.{touch}",
    )
    assert Visitor.objects.get().first_touch == {"again": True}


def test_insert_rows_refuses_models_whose_fields_compute_on_save() -> None:
    with pytest.raises(TypeError, match="auto_now"):
        insert_rows(Call, [{}])


def test_fast_conversions_store_the_very_text_django_stores() -> None:
    account_id = wired_account().account.pk
    moments = {
        "start_time": dt.datetime(2026, 3, 8, 9, 30, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "answered_at": dt.datetime(2026, 3, 8, 14, 30, 1, 250, tzinfo=dt.UTC),
        "ended_at": None,
    }
    fields = {**call_fields(account_id, "CA-text-fast"), **moments, "touch": {"utm": {"a": "ü"}}}
    fast = build(Call, fields)
    insert_unless_conflict(fast)
    orm = Call.objects.create(**{**fields, "carrier_call_id": "CA-text-orm"})
    columns = "start_time, answered_at, ended_at, touch, raw_payload, recording_urls, attribution_candidates"
    with connection.cursor() as cursor:
        rows = []
        for pk in (fast.pk, orm.pk):
            cursor.execute(f"SELECT {columns} FROM {Call._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
            rows.append(cursor.fetchone())
    assert rows[0] == rows[1]


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 11, 24, 14, 30, 1, 250, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 24, 14, 30, 1, 0, tzinfo=dt.UTC),  # no fraction: str() leaves it out
        dt.datetime(2026, 11, 24, 14, 30, 1, 999_999, tzinfo=dt.timezone.utc),  # noqa: UP017 - the same object
        dt.datetime(2026, 3, 8, 9, 30, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(2026, 7, 1, 0, 0, 0, tzinfo=zoneinfo.ZoneInfo("UTC")),  # UTC, but not dt.UTC
        dt.datetime(2026, 7, 1, 1, 2, 3, 4, tzinfo=zoneinfo.ZoneInfo("Europe/London")),
    ],
)
def test_adapt_datetime_gives_what_djangos_adapter_gives(moment: dt.datetime) -> None:
    assert adapt_datetime(connection, moment) == connection.ops.adapt_datetimefield_value(moment)
