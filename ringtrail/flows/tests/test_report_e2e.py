"""The IVR report over real HTTP: the carrier simulator places calls through a menu flow, some callers
choose, some hang up at the menu, and the report counts what the webhooks stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from ringtrail.accounts.actions import create_api_key
from ringtrail.accounts.models import Role
from ringtrail.calls.models import Call
from ringtrail.carriers.simulator import Callee, CallScenario, Credentials, Simulator
from ringtrail.flows import actions as flow_actions
from ringtrail.flows import loading
from ringtrail.flows.models import Flow
from ringtrail.numbers.models import ReceivingNumber
from ringtrail.numbers.routes import forget_local_copies
from ringtrail.testing import WiredAccount, wired_account

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "+14155550124"
SALES, SUPPORT = "+14155550181", "+14155550182"


@pytest.fixture
def wired(live_server: LiveServer) -> Iterator[WiredAccount]:
    forget_local_copies()
    loading.forget_local_copies()
    yield wired_account(tracking=TRACKING, receiving="+14155550189")
    forget_local_copies()
    loading.forget_local_copies()


def menu_flow(wired: WiredAccount) -> Flow:
    desks = {
        label: ReceivingNumber.objects.create(account=wired.account, label=label, number=number).pk
        for label, number in (("sales", SALES), ("support", SUPPORT))
    }
    document: dict[str, Any] = {
        "start": "hello",
        "steps": {
            "hello": {"type": "say", "text": "Thanks for calling.", "next": "menu"},
            "menu": {
                "type": "menu",
                "prompt": "For sales press 1, for support press 2.",
                "options": {"1": "sales", "2": "support"},
                "retries": 1,
                "no_input": "voicemail",
            },
            "sales": {
                "type": "forward",
                "targets": [{"receiving_number": desks["sales"]}],
                "no_answer": "voicemail",
            },
            "support": {"type": "forward", "targets": [{"receiving_number": desks["support"]}]},
            "voicemail": {"type": "voicemail"},
        },
    }
    flow = flow_actions.create_flow(wired.account, "Main", document)
    wired.tracking.flow = flow
    wired.tracking.save()
    return flow


def test_report_counts_simulated_calls(live_server: LiveServer, wired: WiredAccount) -> None:
    flow = menu_flow(wired)
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    simulator = Simulator(live_server.url, credentials)
    scenarios = [
        {"inputs": ("1",)},  # sales answers
        {"inputs": ("2",)},  # support answers
        {"inputs": ("1",), "callees": {SALES: Callee(outcome="no-answer")}},  # sales rings out: voicemail
        {"hangup_at_gather": 1},  # gives up at the menu
        {"inputs": (None,), "hangup_at_gather": 2},  # silent once, gives up at the re-prompt
    ]
    for n, scenario in enumerate(scenarios):
        result = simulator.place_call(CallScenario(to=TRACKING, from_=f"+1212555{n:04d}", **scenario))
        assert result.errors == [], "\n".join(result.story_lines())
    assert Call.objects.filter(account=wired.account).exclude(flow_version=None).count() == 5

    _, raw = create_api_key(wired.account, "reader", Role.READ_ONLY, None)
    response = Client().get(f"/api/v1/flows/{flow.pk}/report", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
    body = response.json()
    steps = {step["step"]: step for step in body["steps"]}
    assert body["calls"] == 5 and body["hung_up"] == 2
    menu = steps["menu"]
    assert menu["reached"] == 5 and menu["hung_up"] == 2
    assert {o["key"]: o["calls"] for o in menu["options"]} == {"1": 2, "2": 1}
    assert menu["timeouts"] == 1 and menu["median_seconds_to_hang_up"] is not None
    assert (steps["sales"]["reached"], steps["sales"]["answered"], steps["sales"]["not_answered"]) == (
        2,
        1,
        1,
    )
    assert (steps["support"]["reached"], steps["support"]["answered"]) == (1, 1)
    assert steps["voicemail"]["reached"] == 1 and steps["voicemail"]["hung_up"] == 0
