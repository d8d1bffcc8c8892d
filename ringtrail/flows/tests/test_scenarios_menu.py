"""Scenario suite, part 1: greetings, menus and endings, each a simulated call over real HTTP whose
carrier-side story and stored path are both checked (issue 4, point 6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ringtrail.flows.tests.conftest import (
    DESK_NUMBERS,
    Bench,
    caller_path,
    forward,
    say,
    steps_entered,
    voicemail,
)
from ringtrail.testing import member

pytestmark = pytest.mark.django_db(transaction=True)


def menu_flow(bench: Bench, **menu: Any) -> dict[str, Any]:
    desks = bench.desks
    return {
        "start": "hello",
        "steps": {
            "hello": say("Thanks for calling Acme.", "menu"),
            "menu": {
                "type": "menu",
                "prompt": "For sales press 1 or say sales. For support press 2 or say support.",
                "options": {"1": "sales", "sales": "sales", "2": "support", "support": "support"},
                "speech": True,
                "retries": 1,
                "invalid_prompt": "Sorry, that is not an option.",
                "no_input": "voicemail",
            }
            | menu,
            "sales": forward(desks["alice"]),
            "support": forward(desks["bob"]),
            "voicemail": voicemail(),
        },
    }


def test_say_then_play_then_hang_up(bench: Bench) -> None:
    bench.attach(
        {
            "start": "hello",
            "steps": {
                "hello": say("Thanks for calling Acme.", "jingle"),
                "jingle": {"type": "play", "url": "https://cdn.example.com/jingle.mp3"},
            },
        }
    )
    result, call = bench.place(play_seconds=7)
    assert result.answered_by is None and result.status == "completed"
    assert any("Play https://cdn.example.com/jingle.mp3" in step.text for step in result.story)
    assert caller_path(call) == [
        ("hello", "enter", ""),
        ("hello", "leave", "spoken"),
        ("jingle", "enter", ""),
        ("jingle", "leave", "played"),
    ]
    assert call.outcome == "missed" and call.talk_seconds == 0


@pytest.mark.parametrize(
    ("answer", "desk", "choice"),
    [("1", "alice", "choice 1"), ("2", "bob", "choice 2")],
)
def test_menu_by_digit(bench: Bench, answer: str, desk: str, choice: str) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=(answer,), talk=40)
    assert result.answered_by == DESK_NUMBERS[desk] and result.outcome == "answered"
    assert call.outcome == "answered" and call.talk_seconds == 40
    assert call.receiving_number_id == bench.desks[desk]
    assert ("menu", "leave", choice) in caller_path(call)
    assert caller_path(call)[-1][1:] == ("leave", "answered")


@pytest.mark.parametrize(
    ("speech", "desk", "choice"),
    [
        ("say:I'd like to talk to sales please", "alice", "choice sales"),
        ("say:support", "bob", "choice support"),
        ("say:option two", "bob", "choice 2"),
    ],
)
def test_menu_by_speech(bench: Bench, speech: str, desk: str, choice: str) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=(speech,))
    assert result.answered_by == DESK_NUMBERS[desk]
    assert call.outcome == "answered" and call.receiving_number_id == bench.desks[desk]
    assert ("menu", "leave", choice) in caller_path(call)


def test_invalid_digit_then_valid(bench: Bench) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=("7", "2"))
    assert any('Say "Sorry, that is not an option."' in step.text for step in result.story)
    assert result.answered_by == DESK_NUMBERS["bob"] and call.outcome == "answered"
    path = caller_path(call)
    assert path[path.index(("menu", "stay", "invalid")) + 1] == ("menu", "leave", "choice 2")


def test_timeout_then_retry(bench: Bench) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=(None, "1"))
    assert result.answered_by == DESK_NUMBERS["alice"] and call.outcome == "answered"
    path = caller_path(call)
    assert path[path.index(("menu", "stay", "timeout")) + 1] == ("menu", "leave", "choice 1")


def test_retries_exhausted_takes_no_input_branch(bench: Bench) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=(None, "9"), voicemail_seconds=12)
    assert result.outcome == "voicemail" and result.answered_by is None
    assert call.outcome == "voicemail"
    assert [e for e in caller_path(call) if e[0] == "menu"] == [
        ("menu", "enter", ""),
        ("menu", "stay", "timeout"),
        ("menu", "leave", "invalid, no retries left"),
    ]
    assert steps_entered(call)[-1] == "voicemail"


def test_retries_exhausted_without_branch_says_goodbye(bench: Bench) -> None:
    document = menu_flow(bench, retries=0)
    del document["steps"]["menu"]["no_input"]
    del document["steps"]["voicemail"]
    bench.attach(document)
    result, call = bench.place(inputs=(None,))
    assert any("did not get a valid choice" in step.text for step in result.story)
    assert result.outcome == "missed" and result.status == "completed"
    assert caller_path(call)[-1] == ("menu", "leave", "timeout, no retries left")
    assert call.outcome == "missed"


def test_caller_hangs_up_mid_menu(bench: Bench) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(hangup_at_gather=1)
    assert result.caller_hung_up and result.answered_by is None
    path = caller_path(call)
    assert path[-1] == ("menu", "enter", "")  # the path ends at the menu, without a leave
    assert call.outcome == "missed" and call.flow_hop == 0


def test_caller_hangs_up_at_the_second_prompt(bench: Bench) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=("7",), hangup_at_gather=2)
    assert result.caller_hung_up
    assert caller_path(call)[-1] == ("menu", "stay", "invalid")
    assert call.outcome == "missed"


def test_hangup_step_says_its_message(bench: Bench) -> None:
    bench.attach(
        {
            "start": "hello",
            "steps": {
                "hello": say("Hello.", "bye"),
                "bye": {"type": "hangup", "message": "We are closed for good. Goodbye."},
            },
        }
    )
    result, call = bench.place()
    assert any("closed for good" in step.text for step in result.story)
    assert result.status == "completed" and not result.caller_hung_up
    assert caller_path(call)[-1] == ("bye", "leave", "hangup")
    assert call.outcome == "missed"


@pytest.mark.parametrize(
    ("reason", "status", "outcome"), [("busy", "busy", "busy"), ("rejected", "no-answer", "missed")]
)
def test_reject_leaves_the_call_unanswered(bench: Bench, reason: str, status: str, outcome: str) -> None:
    bench.attach({"start": "no", "steps": {"no": {"type": "reject", "reason": reason}}})
    result, call = bench.place()
    assert result.status == status and result.answered_by is None and result.duration == 0
    assert caller_path(call) == [("no", "enter", ""), ("no", "leave", reason)]
    assert call.outcome == outcome and not call.answered


def test_reject_after_a_greeting_hangs_up(bench: Bench) -> None:
    bench.attach({"start": "hi", "steps": {"hi": say("Hi.", "no"), "no": {"type": "reject"}}})
    result, call = bench.place()
    assert result.status == "completed"  # picked up for the greeting: too late to reject
    assert caller_path(call)[-1] == ("no", "leave", "hangup (call already answered)")


def test_the_path_on_the_call_page(bench: Bench, client: Client) -> None:
    bench.attach(menu_flow(bench))
    result, call = bench.place(inputs=("7", "say:support"), talk=12)
    assert result.answered_by == DESK_NUMBERS["bob"]
    client.force_login(member(bench.wired.account).user)
    page = client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    texts = [
        "Call flow path",
        "hello",
        "left: spoken",
        "invalid",
        "left: choice support",
        "Bob (+14155550172)",
    ]
    positions = [page.index(text) for text in texts]
    assert positions == sorted(positions) and "The caller hung up" not in page
    # The carrier events table keeps to the carrier's callbacks.
    assert page.count("<td>flow</td>") == 0
