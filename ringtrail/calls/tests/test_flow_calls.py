"""Call flows over real HTTP: the carrier simulator calls a number with a flow, presses keys, and
the server walks the flow, signs every reference and records the caller's path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from defusedxml import ElementTree
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import CallResult, CallScenario, Credentials, Simulator
from ringtrail.carriers.simulator.signing import signature_headers
from ringtrail.flows import actions as flow_actions
from ringtrail.flows import loading
from ringtrail.numbers.models import ReceivingNumber
from ringtrail.numbers.routes import forget_local_copies
from ringtrail.testing import WiredAccount, wired_account

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "+14155550123"
CALLER = "+12125550111"
SALES, SUPPORT = "+14155550171", "+14155550172"


@pytest.fixture
def wired(live_server: LiveServer) -> Iterator[WiredAccount]:
    forget_local_copies()
    loading.forget_local_copies()
    yield wired_account(tracking=TRACKING, receiving="+14155550188")
    forget_local_copies()
    loading.forget_local_copies()


@pytest.fixture
def desks(wired: WiredAccount) -> dict[str, int]:
    made = {
        label: ReceivingNumber.objects.create(account=wired.account, label=label, number=number).pk
        for label, number in (("sales", SALES), ("support", SUPPORT))
    }
    return made


def attach(wired: WiredAccount, document: dict[str, Any]) -> None:
    flow = flow_actions.create_flow(wired.account, "Main", document)
    wired.tracking.flow = flow
    wired.tracking.save()


def menu_flow(desks: dict[str, int]) -> dict[str, Any]:
    return {
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


@pytest.fixture
def simulator(live_server: LiveServer, wired: WiredAccount) -> Simulator:
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    return Simulator(live_server.url, credentials)


def place(simulator: Simulator, **scenario: Any) -> tuple[CallResult, Call]:
    result = simulator.place_call(CallScenario(**({"to": TRACKING, "from_": CALLER} | scenario)))
    assert result.errors == [], "\n".join(result.story_lines())
    return result, Call.objects.get(carrier="twilio", carrier_call_id=result.call_sid)


def path_of(call: Call) -> list[tuple[str, str, str]]:
    events = CallEvent.objects.filter(call=call, kind="flow").order_by("sequence")
    return [(e.payload["step"], e.payload["event"], e.payload["outcome"]) for e in events]


def test_menu_choice_reaches_its_desk(
    simulator: Simulator, wired: WiredAccount, desks: dict[str, int]
) -> None:
    attach(wired, menu_flow(desks))
    result, call = place(simulator, inputs=("2",), talk=30)
    assert result.answered_by == SUPPORT and call.outcome == "answered"
    assert call.flow_version_id is not None and call.flow_hop >= 1
    steps = [(step, event) for step, event, _ in path_of(call)]
    assert ("menu", "enter") in steps and ("support", "enter") in steps
    assert call.receiving_number_id == desks["support"] or call.receiving_number_id is not None


def test_silent_caller_ends_in_voicemail(
    simulator: Simulator, wired: WiredAccount, desks: dict[str, int]
) -> None:
    attach(wired, menu_flow(desks))
    result, call = place(simulator, inputs=(None, None))
    assert result.outcome == "voicemail" and call.outcome == "voicemail"
    assert ("voicemail", "enter") in [(s, e) for s, e, _ in path_of(call)]


def test_replayed_reference_is_refused(
    simulator: Simulator,
    wired: WiredAccount,
    desks: dict[str, int],
    live_server: LiveServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    attach(wired, menu_flow(desks))
    _, call = place(simulator, inputs=("1",), talk=5)
    # The menu's gather action, as first served: the caller has used it already (pressed 1).
    url = str(ElementTree.fromstring(call.response_body).find("Gather").get("action"))
    params = {"CallSid": call.carrier_call_id, "AccountSid": wired.connection.account_sid, "Digits": "2",
              "From": CALLER, "To": TRACKING}  # fmt: skip
    headers = signature_headers(
        Credentials(kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token),
        "http://testserver" + url,
        params,
    )
    answer = Client().post(url, params, **_meta(headers))
    assert answer.status_code == 403  # signed by the carrier, but the hop was already served
    assert "already served" in caplog.text
    assert ("support", "enter", "") not in path_of(call)


def test_another_calls_reference_is_refused(
    simulator: Simulator,
    wired: WiredAccount,
    desks: dict[str, int],
    live_server: LiveServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    attach(wired, menu_flow(desks))
    _, first = place(simulator, inputs=("1",), talk=5)
    _, second = place(simulator, inputs=(None, None))
    url = str(ElementTree.fromstring(first.response_body).find("Gather").get("action"))
    params = {"CallSid": second.carrier_call_id, "AccountSid": wired.connection.account_sid, "Digits": "2",
              "From": CALLER, "To": TRACKING}  # fmt: skip
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    headers = signature_headers(credentials, "http://testserver" + url, params)
    answer = Client().post(url, params, **_meta(headers))
    assert answer.status_code == 403 and "another call" in caplog.text


def _meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


@pytest.mark.parametrize("tamper", ["signature", "missing", "position"])
def test_forged_references_are_refused_and_change_nothing(
    simulator: Simulator, wired: WiredAccount, desks: dict[str, int], tamper: str
) -> None:
    attach(wired, menu_flow(desks))
    _, call = place(simulator, inputs=(None, None))
    url = str(ElementTree.fromstring(call.response_body).find("Gather").get("action"))
    path, _, query = url.partition("?")
    reference = dict(pair.split("=", 1) for pair in query.split("&"))
    if tamper == "signature":
        reference["fs"] = "A" * len(reference["fs"])
    elif tamper == "missing":
        reference = {}
    else:  # jump the caller straight to the sales desk with the old signature
        reference["fp"] = reference["fp"].replace("menu", "sales", 1)
    forged = path + ("?" + "&".join(f"{k}={v}" for k, v in reference.items()) if reference else "")
    params = {"CallSid": call.carrier_call_id, "AccountSid": wired.connection.account_sid, "Digits": "1",
              "From": CALLER, "To": TRACKING, "DialCallStatus": "completed"}  # fmt: skip
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    before = list(CallEvent.objects.filter(call=call).values_list("pk", flat=True))
    answer = Client().post(
        forged, params, **_meta(signature_headers(credentials, "http://testserver" + forged, params))
    )
    assert answer.status_code == 403
    assert list(CallEvent.objects.filter(call=call).values_list("pk", flat=True)) == before


def test_caller_hanging_up_while_a_desk_rings_ends_the_path_there(
    simulator: Simulator, wired: WiredAccount, desks: dict[str, int]
) -> None:
    from ringtrail.carriers.simulator.scenario import Callee

    attach(wired, menu_flow(desks))
    # Greeting and prompt take a few simulated seconds; the desk never answers; the caller gives up.
    result, call = place(
        simulator, inputs=("1",), callees={SALES: Callee(outcome="no-answer")}, hangup_after=12
    )
    assert result.caller_hung_up
    path = path_of(call)
    assert ("sales", "stay", "caller hung up") in path
    assert all(step != "voicemail" for step, _, _ in path)
    assert call.outcome != "voicemail"
