"""A flow call's path on its page: steps in order with offsets, choices, who was rung and answered,
queue waits and where the caller hung up, all escaped; calls without a flow show no path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ringtrail.calls.flow_path import PathEvent, build_path
from ringtrail.calls.models import Call, CallEvent, Outcome
from ringtrail.flows import actions as flow_actions
from ringtrail.numbers.models import ReceivingNumber
from ringtrail.testing import WiredAccount

MakeCall = Callable[..., Call]
START = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
IMG = "<img src=x onerror=alert(1)>"


def at(seconds: int) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


def flow_event(call: Call, sequence: int, seconds: int, **payload: Any) -> CallEvent:
    payload = {"hop": sequence // 1000, **payload}
    return CallEvent.objects.create(
        carrier=call.carrier,
        carrier_call_id=call.carrier_call_id,
        call=call,
        kind="flow",
        sequence=sequence,
        status=payload["event"],
        occurred_at=at(seconds),
        payload=payload,
    )


def flow_call(
    acme: WiredAccount, make_call: MakeCall, label: str = "Main menu", **fields: Any
) -> tuple[Call, ReceivingNumber]:
    desk = ReceivingNumber.objects.create(account=acme.account, label=f"Sales {IMG}", number="+14155550177")
    document = {
        "start": "menu",
        "steps": {
            "menu": {
                "type": "menu",
                "label": label,
                "prompt": "Press 1.",
                "options": {"1": "line"},
                "no_input": "line",
            },
            "line": {"type": "queue", "members": [desk.pk]},
        },
    }
    flow = flow_actions.create_flow(acme.account, "Main", document)
    return make_call(acme, start_time=START, flow_version=flow.current_version, **fields), desk


@pytest.mark.django_db
def test_path_in_order_with_offsets_choices_wait_and_answerer(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call, desk = flow_call(acme, make_call)
    # Stored out of order: the page orders by when each happened.
    flow_event(
        call, 2000, 95, step="line", type="queue", event="leave", outcome="answered", receiving_number=desk.pk
    )
    flow_event(call, 0, 0, step="menu", type="menu", event="enter", outcome="")
    flow_event(call, 1001, 8, step="line", type="queue", event="enter", outcome="")
    flow_event(call, 1000, 8, step="menu", type="menu", event="leave", outcome="choice 1")
    flow_event(call, 1002, 50, step="line", type="queue", event="stay", outcome="round 1 no-answer")
    page = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "Call flow path" in page
    order = [
        "+0:00",
        "entered",
        "+0:08",
        "left: choice 1",
        "+0:50",
        "round 1 no-answer",
        "+1:35",
        "left: answered",
    ]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert "(waited 1:27)" in page
    assert "Main menu" in page and "The caller hung up" not in page
    assert IMG not in page and "Sales &lt;img src=x onerror=alert(1)&gt; (+14155550177)" in page


@pytest.mark.django_db
def test_hung_up_while_waiting_is_said_and_hostile_text_is_escaped(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call, _ = flow_call(acme, make_call, label=IMG, outcome=Outcome.MISSED)
    flow_event(call, 0, 0, step="menu", type="menu", event="enter", outcome="")
    flow_event(call, 1000, 9, step="menu", type="menu", event="stay", outcome=f"invalid {IMG}")
    page = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert IMG not in page
    assert "invalid &lt;img src=x onerror=alert(1)&gt;" in page
    assert "(&lt;img src=x onerror=alert(1)&gt;)" in page  # the step's label
    assert 'The caller hung up at <span class="mono">menu</span>' in page


@pytest.mark.django_db
def test_a_call_without_a_flow_has_no_path_section(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(acme)
    page = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "Call flow path" not in page


@pytest.mark.django_db
def test_another_accounts_receiving_number_is_not_named(
    acme_owner_client: Client, acme: WiredAccount, rival: WiredAccount, make_call: MakeCall
) -> None:
    call, _ = flow_call(acme, make_call)
    flow_event(
        call,
        0,
        0,
        step="line",
        type="queue",
        event="leave",
        outcome="answered",
        receiving_number=rival.receiving.pk,
    )
    page = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert rival.receiving.number not in page and "(deleted)" in page


def test_build_path_marks_legs_and_ignores_them_for_the_hang_up() -> None:
    events = [
        PathEvent("f", "forward", "enter", "", at(0)),
        PathEvent("f", "forward", "stay", "whisper", at(4), receiving_number=7, leg=True),
        PathEvent("f", "forward", "stay", "accepted", at(9), receiving_number=7, leg=True),
    ]
    path = build_path(events, START, {}, {7: "Bob (+1415)"}, ended=True)
    assert [(row.offset, row.leg, row.receiving) for row in path.rows] == [
        ("+0:00", False, ""),
        ("+0:04", True, "Bob (+1415)"),
        ("+0:09", True, "Bob (+1415)"),
    ]
    assert path.hung_up_at == "f"
    assert build_path(events, START, {}, {}, ended=False).hung_up_at == ""  # still in progress
    said = [PathEvent("s", "say", "enter", "", None), PathEvent("s", "say", "leave", "spoken", None)]
    assert build_path(said, START, {}, {}, ended=True).rows[0].offset == "—"
    assert build_path(said, START, {}, {}, ended=True).hung_up_at == ""
