"""GET /api/v1/flows/{id}/report: the loader's rows from the database, versions, dates and spam."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ringtrail.accounts.actions import create_api_key
from ringtrail.accounts.models import Role
from ringtrail.calls.models import Call, CallEvent, Outcome
from ringtrail.flows.actions import create_flow, update_flow
from ringtrail.flows.models import Flow
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db

MakeCall = Callable[..., Call]
ENTER_MENU = (
    ("hello", "say", "enter", ""),
    ("hello", "say", "leave", "spoken"),
    ("menu", "menu", "enter", ""),
)


def document(w: WiredAccount, text: str = "Hi") -> dict[str, Any]:
    return {
        "start": "hello",
        "steps": {
            "hello": {"type": "say", "text": text, "next": "menu"},
            "menu": {"type": "menu", "prompt": "Press 1", "options": {"1": "desk"}, "no_input": "desk"},
            "desk": {"type": "forward", "targets": [{"receiving_number": w.receiving.pk}]},
        },
    }


def bearer(wired: WiredAccount, role: str = Role.READ_ONLY) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {create_api_key(wired.account, role, role, None)[1]}"}


def hop(call: Call, number: int, *events: tuple[str, str, str, str], seconds: int = 0) -> None:
    at = call.start_time + dt.timedelta(seconds=seconds)
    CallEvent.objects.bulk_create(
        CallEvent(
            carrier=call.carrier,
            carrier_call_id=call.carrier_call_id,
            call=call,
            kind="flow",
            sequence=number * 1000 + i,
            status=kind,
            occurred_at=at,
            payload={"step": step, "type": step_type, "event": kind, "outcome": outcome, "hop": number},
        )
        for i, (step, step_type, kind, outcome) in enumerate(events)
    )


@pytest.fixture
def flow(acme: WiredAccount) -> Flow:
    return create_flow(acme.account, "Main", document(acme))


def flow_call(
    make_call: MakeCall, wired: WiredAccount, flow: Flow, ended_after: int | None, **fields: Any
) -> Call:
    start = fields.pop("start_time", timezone.now() - dt.timedelta(minutes=5))
    ended = start + dt.timedelta(seconds=ended_after) if ended_after is not None else None
    outcome = Outcome.MISSED if ended_after is not None else Outcome.IN_PROGRESS
    fields = {"outcome": outcome, "talk_seconds": None} | fields
    return make_call(wired, flow_version=flow.current_version, start_time=start, ended_at=ended, **fields)


def test_report_counts_from_stored_events(
    client: Client, acme: WiredAccount, flow: Flow, make_call: MakeCall
) -> None:
    chose = flow_call(make_call, acme, flow, 40, outcome=Outcome.ANSWERED)
    hop(chose, 0, *ENTER_MENU)
    hop(chose, 1, ("menu", "menu", "leave", "choice 1"), ("desk", "forward", "enter", ""), seconds=5)
    hop(chose, 2, ("desk", "forward", "leave", "answered"), seconds=12)
    for ended_after in (7, 9, 30):
        hop(flow_call(make_call, acme, flow, ended_after), 0, *ENTER_MENU)
    hop(flow_call(make_call, acme, flow, None), 0, *ENTER_MENU)  # still in the menu
    hop(flow_call(make_call, acme, flow, 3, is_spam=True), 0, *ENTER_MENU)
    other = create_flow(acme.account, "Other", document(acme))
    hop(flow_call(make_call, acme, other, 3), 0, *ENTER_MENU)

    response = client.get(f"/api/v1/flows/{flow.pk}/report", **bearer(acme))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["calls"] == 5 and body["hung_up"] == 3 and body["version"] is None
    steps = {step["step"]: step for step in body["steps"]}
    assert list(steps) == ["hello", "menu", "desk"]
    menu = steps["menu"]
    assert menu["reached"] == 5 and menu["hung_up"] == 3 and menu["in_progress"] == 1
    assert menu["median_seconds_to_hang_up"] == 9.0
    assert menu["options"] == [{"key": "1", "target": "desk", "calls": 1}]
    assert menu["outcomes"] == {"choice 1": 1}
    assert (steps["desk"]["answered"], steps["desk"]["not_answered"]) == (1, 0)
    assert steps["hello"]["answered"] is None


def test_versions_and_dates(client: Client, acme: WiredAccount, flow: Flow, make_call: MakeCall) -> None:
    auth = bearer(acme)
    long_ago = timezone.now() - dt.timedelta(days=45)
    hop(flow_call(make_call, acme, flow, 5, start_time=long_ago), 0, *ENTER_MENU)
    hop(flow_call(make_call, acme, flow, 5), 0, *ENTER_MENU)
    flow = update_flow(flow, document=document(acme, "Hello again"))
    hop(flow_call(make_call, acme, flow, 5), 0, *ENTER_MENU)
    url = f"/api/v1/flows/{flow.pk}/report"
    assert client.get(url, **auth).json()["calls"] == 2
    assert client.get(url, {"version": 1}, **auth).json()["calls"] == 1
    assert client.get(url, {"version": 2}, **auth).json()["calls"] == 1
    since = long_ago.date().isoformat()
    wide = client.get(url, {"since": since}, **auth).json()
    assert wide["calls"] == 3 and wide["since"] == since
    narrow = client.get(url, {"since": since, "until": since}, **auth).json()
    assert narrow["calls"] == 1, narrow
    assert client.get(url, {"version": 3}, **auth).status_code == 404


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"since": "2026-05-02", "until": "2026-05-01"}, 422),
        ({"since": "yesterday"}, 422),
        ({"version": "0"}, 422),
        ({"version": "99999999999999999999"}, 422),
        ({"version": "x"}, 422),
    ],
)
def test_bad_parameters_are_clear_4xx(
    client: Client, acme: WiredAccount, flow: Flow, params: dict[str, str], status: int
) -> None:
    response = client.get(f"/api/v1/flows/{flow.pk}/report", params, **bearer(acme))
    assert response.status_code == status, response.content


def test_empty_flow_reports_every_step(client: Client, acme: WiredAccount, flow: Flow) -> None:
    body = client.get(f"/api/v1/flows/{flow.pk}/report", **bearer(acme)).json()
    assert body["calls"] == 0 and [s["reached"] for s in body["steps"]] == [0, 0, 0]


def test_another_accounts_flow_is_404(client: Client, acme: WiredAccount, rival: WiredAccount) -> None:
    theirs = create_flow(rival.account, "Theirs", document(rival))
    assert client.get(f"/api/v1/flows/{theirs.pk}/report", **bearer(acme)).status_code == 404
