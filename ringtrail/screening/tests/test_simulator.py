"""Screening end to end: the carrier simulator places signed calls against the real server over HTTP,
interprets the <Reject> / <Gather> it gets back, presses keys and fires the status callbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call
from ringtrail.carriers.simulator import CallResult, CallScenario, Credentials, Simulator
from ringtrail.screening import config
from ringtrail.screening.models import BlockRule, ScreeningPolicy
from ringtrail.testing import WiredAccount, wired_account

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "+14155550123"
CALLER = "+15125550111"
UNVERIFIED = {"StirVerstat": "No-TN-Validation"}


@pytest.fixture
def wired(live_server: LiveServer) -> Iterator[WiredAccount]:
    # The live server runs in this process: its cached screening rules must start empty too.
    config.forget_local_copies()
    yield wired_account(tracking=TRACKING, receiving="+14155550188")
    config.forget_local_copies()


@pytest.fixture
def simulator(live_server: LiveServer, wired: WiredAccount) -> Simulator:
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    return Simulator(live_server.url, credentials)


def place(simulator: Simulator, **scenario: object) -> tuple[CallResult, Call]:
    fields: dict[str, object] = {"to": TRACKING, "from_": CALLER} | scenario
    result = simulator.place_call(CallScenario(**fields))  # type: ignore[arg-type]
    assert result.errors == [], "\n".join(result.story_lines())
    return result, Call.objects.get(carrier="twilio", carrier_call_id=result.call_sid)


def test_blocked_caller_is_rejected_unanswered(simulator: Simulator, wired: WiredAccount) -> None:
    BlockRule.objects.create(account=wired.account, kind="prefix", pattern="+1512")
    result, call = place(simulator)
    assert result.outcome == "failed" and result.status == "no-answer" and result.answered_by is None
    assert call.is_spam and call.spam_reason == "block list: prefix +1512"
    assert not call.talk_seconds


def test_challenged_caller_who_presses_1_is_connected(simulator: Simulator, wired: WiredAccount) -> None:
    ScreeningPolicy.objects.create(account=wired.account, stir_unverified="challenge")
    result, call = place(simulator, extra_params=UNVERIFIED, inputs=("1",), talk=20)
    assert result.outcome == "answered" and result.answered_by == "+14155550188"
    assert any("press 1" in step.text for step in result.story)
    assert not call.is_spam and call.outcome == "answered" and call.attribution == "static"


@pytest.mark.parametrize("inputs", [("2",), (None,)])
def test_challenged_caller_who_does_not_press_1_is_spam(
    simulator: Simulator, wired: WiredAccount, inputs: tuple[str | None, ...]
) -> None:
    ScreeningPolicy.objects.create(account=wired.account, stir_unverified="challenge")
    result, call = place(simulator, extra_params=UNVERIFIED, inputs=inputs)
    assert result.answered_by is None and result.outcome != "answered"
    assert call.is_spam
    expected = "failed challenge: pressed '2'" if inputs == ("2",) else "unanswered challenge: "
    assert call.spam_reason.startswith(expected)


def test_verified_caller_is_not_challenged(simulator: Simulator, wired: WiredAccount) -> None:
    ScreeningPolicy.objects.create(account=wired.account, stir_unverified="challenge", stir_failed="reject")
    result, call = place(simulator, extra_params={"StirVerstat": "TN-Validation-Passed-A"})
    assert result.outcome == "answered" and not call.is_spam


def test_repeated_short_calls_end_up_rejected(simulator: Simulator, wired: WiredAccount) -> None:
    ScreeningPolicy.objects.create(
        account=wired.account, short_calls_action="reject", short_calls_count=2, short_calls_max_seconds=10
    )
    for _ in range(2):
        _, call = place(simulator, hangup_after=3)
        assert not call.is_spam and call.total_seconds is not None and call.total_seconds < 10
    result, call = place(simulator)
    assert result.answered_by is None
    assert call.is_spam and call.spam_reason.startswith("repeated short calls: 2 calls")
