"""Screening in the voice webhook and the challenge answer, through real signed Twilio requests.

The carrier simulator does not interpret <Gather> yet, so the caller's key press is a signed
request through Django's test client, exactly as Twilio would post it to the Gather action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml import ElementTree
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ringtrail.calls.actions import refold
from ringtrail.calls.models import Call
from ringtrail.carriers.twilio.tests.helpers import callback_params, signed_post, voice_params
from ringtrail.carriers.twilio.tests.test_database_down import database_down
from ringtrail.numbers.models import TrackingNumber
from ringtrail.screening.models import BlockRule, ScreeningPolicy
from ringtrail.screening.step import CHALLENGE_PROMPT
from ringtrail.testing import WiredAccount, wired_account

pytestmark = pytest.mark.django_db
SID = "CA" + "1" * 32
OTHER_SID = "CA" + "2" * 32
VOICE = "/carriers/twilio/voice"


@pytest.fixture
def wired() -> WiredAccount:
    return wired_account()


def verbs(body: bytes) -> list[str]:
    return [element.tag for element in ElementTree.fromstring(body)]


def call_in(wired: WiredAccount, call_sid: str = SID, client: Client | None = None, **params: str) -> Any:
    return signed_post(client or Client(), wired, VOICE, voice_params(wired, call_sid, **params))


def challenge_policy(wired: WiredAccount, **fields: Any) -> ScreeningPolicy:
    fields.setdefault("stir_failed", "reject")
    fields.setdefault("stir_unverified", "challenge")
    return ScreeningPolicy.objects.create(account=wired.account, **fields)


def press(wired: WiredAccount, digits: str, call_sid: str = SID, reference: str | None = None) -> Any:
    path = f"/carriers/twilio/screen?call={reference or call_sid}"
    params = voice_params(wired, call_sid, Digits=digits, CallStatus="in-progress")
    if not digits:
        params.pop("Digits")
    return signed_post(Client(), wired, path, params)


# --- reject ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, pattern, params",
    [
        ("number", "+12125550143", {}),
        ("prefix", "+1212", {}),
        ("name", "*likely*", {"CallerName": "SCAM LIKELY"}),
    ],
)
def test_blocked_caller_is_rejected_and_stored_as_spam(
    wired: WiredAccount, kind: str, pattern: str, params: dict[str, str]
) -> None:
    BlockRule.objects.create(account=wired.account, kind=kind, pattern=pattern)
    response = call_in(wired, **params)
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert [e.tag for e in root] == ["Reject"] and root[0].get("reason") == "rejected"
    call = Call.objects.get(carrier_call_id=SID)
    assert call.is_spam and call.spam_reason.startswith("block list: ") and pattern in call.spam_reason
    assert call.routing_note.startswith("screened: rejected")
    assert call.attribution == "" and call.visit_session is None and call.touch == {}


def test_a_rule_for_one_number_leaves_the_others_alone(wired: WiredAccount) -> None:
    second = TrackingNumber.objects.create(
        account=wired.account,
        number="+14155550151",
        connection=wired.connection,
        source=wired.source,
        receiving_number=wired.receiving,
    )
    BlockRule.objects.create(account=wired.account, kind="prefix", pattern="+1212", tracking_number=second)
    assert verbs(call_in(wired).content) == ["Say", "Dial"]
    assert verbs(call_in(wired, OTHER_SID, To=second.number).content) == ["Reject"]


def test_another_accounts_rules_do_not_apply(wired: WiredAccount) -> None:
    other = wired_account(name="Other", tracking="+14155550150")
    BlockRule.objects.create(account=other.account, kind="prefix", pattern="+1")
    assert verbs(call_in(wired).content) == ["Say", "Dial"]


def test_failed_stir_is_rejected_and_passed_is_connected(wired: WiredAccount) -> None:
    challenge_policy(wired)
    assert verbs(call_in(wired, StirVerstat="TN-Validation-Failed-A").content) == ["Reject"]
    assert Call.objects.get(carrier_call_id=SID).spam_reason == "STIR/SHAKEN failed (TN-Validation-Failed-A)"
    assert verbs(call_in(wired, OTHER_SID, StirVerstat="TN-Validation-Passed-A").content) == ["Say", "Dial"]
    assert not Call.objects.get(carrier_call_id=OTHER_SID).is_spam


def test_a_repeated_webhook_gets_the_same_rejection(wired: WiredAccount) -> None:
    BlockRule.objects.create(account=wired.account, kind="number", pattern="+12125550143")
    first = call_in(wired)
    BlockRule.objects.all().delete()
    assert call_in(wired).content == first.content and Call.objects.count() == 1


def test_number_policy_overrides_the_account_policy(wired: WiredAccount) -> None:
    challenge_policy(wired)
    ScreeningPolicy.objects.create(account=wired.account, tracking_number=wired.tracking)  # allow all
    assert verbs(call_in(wired, StirVerstat="TN-Validation-Failed-A").content) == ["Say", "Dial"]


def test_repeated_short_calls_are_rejected(wired: WiredAccount) -> None:
    ScreeningPolicy.objects.create(account=wired.account, short_calls_action="reject")
    for n in range(3):
        sid = f"CA{n:032d}"
        assert verbs(call_in(wired, sid).content) == ["Say", "Dial"]
        Call.objects.filter(carrier_call_id=sid).update(total_seconds=2)
    assert verbs(call_in(wired).content) == ["Reject"]
    assert Call.objects.get(carrier_call_id=SID).spam_reason.startswith("repeated short calls: 3 calls")


def test_old_or_long_calls_do_not_count_as_short(wired: WiredAccount) -> None:
    ScreeningPolicy.objects.create(account=wired.account, short_calls_action="reject")
    for n, (minutes_ago, seconds) in enumerate([(5, 2), (10, 3), (90, 1), (15, 40)]):
        sid = f"CA{n:032d}"
        call_in(wired, sid)
        started = timezone.now() - dt.timedelta(minutes=minutes_ago)
        Call.objects.filter(carrier_call_id=sid).update(total_seconds=seconds, start_time=started)
    assert verbs(call_in(wired).content) == ["Say", "Dial"]


# --- cost on the hot path -------------------------------------------------------------------------


def screening_queries(wired: WiredAccount, call_sid: str, **params: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        call_in(wired, call_sid, **params)
    return [q["sql"] for q in captured.captured_queries if "screening_" in q["sql"]]


def test_configuration_is_read_once_then_served_from_the_process_cache(wired: WiredAccount) -> None:
    assert len(screening_queries(wired, "CA" + "3" * 32)) == 2  # policies and rules, first call only
    assert screening_queries(wired, "CA" + "4" * 32) == []


def test_a_new_rule_applies_to_the_next_call_at_once(wired: WiredAccount) -> None:
    assert verbs(call_in(wired, OTHER_SID).content) == ["Say", "Dial"]  # caches "no rules"
    BlockRule.objects.create(account=wired.account, kind="number", pattern="+12125550143")
    assert verbs(call_in(wired).content) == ["Reject"]


def test_the_short_call_query_runs_only_when_the_heuristic_is_on(wired: WiredAccount) -> None:
    def history_queries(call_sid: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            call_in(wired, call_sid)
        return sum(
            "total_seconds" in q["sql"] and q["sql"].startswith("SELECT") for q in captured.captured_queries
        )

    challenge_policy(wired)
    history_queries("CA" + "5" * 32)
    assert history_queries("CA" + "6" * 32) == 0
    ScreeningPolicy.objects.filter(account=wired.account).update(short_calls_action="challenge")
    ScreeningPolicy.objects.get(account=wired.account).save()  # .update() sends no signal
    history_queries("CA" + "7" * 32)
    assert history_queries("CA" + "8" * 32) == 1


def test_database_down_skips_screening_and_connects_the_caller(wired: WiredAccount) -> None:
    BlockRule.objects.create(account=wired.account, kind="number", pattern="+12125550143")
    with database_down():
        response = call_in(wired)
    assert response.status_code == 200 and verbs(response.content) == ["Say", "Dial"]


def test_screening_tables_failing_alone_still_connect_the_caller(wired: WiredAccount) -> None:
    BlockRule.objects.create(account=wired.account, kind="number", pattern="+12125550143")

    def refuse_screening(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if "screening_" in sql:
            raise OperationalError("relation does not exist")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_screening):
        response = call_in(wired)
    assert verbs(response.content) == ["Say", "Dial"]
    assert not Call.objects.get(carrier_call_id=SID).is_spam


# --- challenge ----------------------------------------------------------------------------------


def test_unverified_caller_is_challenged_with_a_gather_bound_to_the_call(wired: WiredAccount) -> None:
    challenge_policy(wired)
    root = ElementTree.fromstring(call_in(wired, StirVerstat="No-TN-Validation").content)
    assert [e.tag for e in root] == ["Gather", "Hangup"]
    gather = root[0]
    assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf"
    action = urlsplit(gather.get("action", ""))
    assert action.path == "/carriers/twilio/screen" and parse_qs(action.query) == {"call": [SID]}
    assert gather.find("Say").text == CHALLENGE_PROMPT  # type: ignore[union-attr]
    call = Call.objects.get(carrier_call_id=SID)
    assert (
        call.is_spam and call.spam_reason == "unanswered challenge: STIR/SHAKEN unverified (No-TN-Validation)"
    )
    assert call.attribution == ""


def test_pressing_1_connects_the_caller_and_clears_the_flag(wired: WiredAccount) -> None:
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    response = press(wired, "1")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert [e.tag for e in root] == ["Say", "Dial"]
    assert root.find("Dial/Number").text == wired.receiving.number  # type: ignore[union-attr]
    call = Call.objects.get(carrier_call_id=SID)
    assert not call.is_spam and call.spam_reason == ""
    assert call.attribution == "static" and call.routing_note == "passed the screening challenge"


@pytest.mark.parametrize("digits", ["2", "*", ""])
def test_anything_but_1_hangs_up_and_keeps_the_call_as_spam(wired: WiredAccount, digits: str) -> None:
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    assert verbs(press(wired, digits).content) == ["Say", "Hangup"]
    call = Call.objects.get(carrier_call_id=SID)
    assert call.is_spam and call.spam_reason.startswith("failed challenge: pressed")
    assert verbs(press(wired, "1").content) == ["Say", "Hangup"]  # no second chance
    assert Call.objects.get(carrier_call_id=SID).is_spam


def test_a_reference_to_another_call_is_refused(wired: WiredAccount) -> None:
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    call_in(wired, OTHER_SID, StirVerstat="No-TN-Validation")
    # Signed with our own call's body, but pointing at the other challenged call.
    assert press(wired, "1", call_sid=SID, reference=OTHER_SID).status_code == 403
    assert Call.objects.get(carrier_call_id=OTHER_SID).is_spam
    assert Call.objects.get(carrier_call_id=SID).is_spam


def test_a_rejected_call_cannot_be_connected_through_the_screen_hook(wired: WiredAccount) -> None:
    BlockRule.objects.create(account=wired.account, kind="number", pattern="+12125550143")
    call_in(wired)
    assert verbs(press(wired, "1").content) == ["Say", "Hangup"]
    assert Call.objects.get(carrier_call_id=SID).spam_reason.startswith("block list")


def test_another_accounts_call_cannot_be_settled(wired: WiredAccount) -> None:
    other = wired_account(name="Other", tracking="+14155550150")
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    assert verbs(press(other, "1").content) == ["Say", "Hangup"]  # other's connection, our call id
    assert Call.objects.get(carrier_call_id=SID).is_spam


def test_screen_hook_needs_a_valid_signature(client: Client, wired: WiredAccount) -> None:
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    params = callback_params(wired, SID, Digits="1")
    assert client.post(f"/carriers/twilio/screen?call={SID}", params).status_code == 403
    forged = {"HTTP_X_TWILIO_SIGNATURE": "bm90IGEgc2lnbmF0dXJl"}
    assert client.post(f"/carriers/twilio/screen?call={SID}", params, **forged).status_code == 403
    assert client.get(f"/carriers/twilio/screen?call={SID}").status_code == 405
    assert Call.objects.get(carrier_call_id=SID).is_spam


def test_screen_hook_without_a_reference_is_refused(wired: WiredAccount) -> None:
    params = voice_params(wired, SID, Digits="1")
    assert signed_post(Client(), wired, "/carriers/twilio/screen", params).status_code == 403


def test_signalwire_uses_the_same_challenge(client: Client) -> None:
    wired = wired_account(kind="signalwire", tracking="+14155550160")
    challenge_policy(wired)
    response = signed_post(
        client, wired, "/carriers/signalwire/voice", voice_params(wired, SID, StirVerstat="No-TN-Validation")
    )
    assert verbs(response.content) == ["Gather", "Hangup"]
    path = f"/carriers/signalwire/screen?call={SID}"
    answer = signed_post(client, wired, path, voice_params(wired, SID, Digits="1"))
    assert verbs(answer.content) == ["Say", "Dial"]
    assert not Call.objects.get(carrier_call_id=SID).is_spam


def test_database_down_while_answering_the_challenge_connects_on_1(wired: WiredAccount) -> None:
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    with database_down():
        connected = press(wired, "1")
        refused = press(wired, "9")
    assert connected.status_code == 200 and verbs(connected.content) == ["Say", "Dial"]
    assert verbs(refused.content) == ["Say", "Hangup"]


def test_a_late_status_callback_does_not_undo_the_challenge_answer(wired: WiredAccount) -> None:
    challenge_policy(wired)
    call_in(wired, StirVerstat="No-TN-Validation")
    stale = Call.objects.get(carrier_call_id=SID)  # loaded before the caller pressed 1
    press(wired, "1")
    refold(stale)  # what a status callback racing the answer does with its copy
    call = Call.objects.get(carrier_call_id=SID)
    assert not call.is_spam and call.attribution == "static"
