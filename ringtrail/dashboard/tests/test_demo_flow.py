"""The demo's billboard number runs a small IVR: seeded once, and it routes a simulated caller."""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import CallScenario, Credentials, Simulator
from ringtrail.dashboard.demo import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    DEMO_FLOW_NAME,
    DEMO_NUMBERS,
    DEMO_ON_CALL,
    seed_demo,
)
from ringtrail.flows.models import Flow
from ringtrail.numbers.models import TrackingNumber

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_flow_is_seeded_once_and_attached() -> None:
    seed_demo()
    seed_demo()
    flow = Flow.objects.get(name=DEMO_FLOW_NAME)
    assert flow.versions.count() == 1
    assert TrackingNumber.objects.get(number=DEMO_NUMBERS[1][0]).flow_id == flow.pk


def test_an_emergency_caller_reaches_the_on_call_van(live_server: LiveServer) -> None:
    seed_demo()
    simulator = Simulator(live_server.url, Credentials("twilio", DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN))
    result = simulator.place_call(
        CallScenario(to=DEMO_NUMBERS[1][0], from_="+13125550178", talk=30, inputs=("say:emergency",))
    )
    assert result.errors == [] and result.answered_by == DEMO_ON_CALL
    call = Call.objects.get(carrier_call_id=result.call_sid)
    steps = list(CallEvent.objects.filter(call=call, kind="flow").values_list("payload__step", flat=True))
    assert "menu" in steps and "on-call" in steps and call.outcome == "answered"
