"""Scenario suite, part 3: forwarding (simultaneous, sequential, round robin, sticky), whispers,
queues and voicemail, over real HTTP with scripted outcomes per dialled target."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from ringtrail.carriers.simulator import Callee, RecordingServer
from ringtrail.flows.tests.conftest import (
    DESK_NUMBERS,
    Bench,
    caller_path,
    forward,
    leg_path,
    say,
    steps_entered,
    voicemail,
)

pytestmark = pytest.mark.django_db(transaction=True)

ALICE, BOB, CAROL = DESK_NUMBERS["alice"], DESK_NUMBERS["bob"], DESK_NUMBERS["carol"]
NO_ANSWER, BUSY = Callee(outcome="no-answer"), Callee(outcome="busy")


class Rounds(Mapping[str, Callee]):
    """Callees whose behaviour changes from one ring to the next (a queue member busy with another
    caller for the first rounds): each look-up of an address takes its next scripted callee."""

    def __init__(self, script: dict[str, list[Callee]]) -> None:
        self.script = {address: list(callees) for address, callees in script.items()}

    def __getitem__(self, address: str) -> Callee:
        callees = self.script[address]
        return callees.pop(0) if len(callees) > 1 else callees[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self.script)

    def __len__(self) -> int:
        return len(self.script)


def one_step(bench: Bench, step: dict[str, Any], **more: dict[str, Any]) -> dict[str, Any]:
    return {"start": "main", "steps": {"main": step, **more}}


def test_source_level_flow_runs_for_the_sources_numbers(bench: Bench) -> None:
    bench.attach(one_step(bench, forward(bench.desks["carol"])), to_source=True)
    result, call = bench.place(talk=12)
    assert result.answered_by == CAROL and call.flow_version_id == bench.flows[0].current_version_id
    assert call.outcome == "answered" and call.talk_seconds == 12
    assert call.receiving_number_id == bench.desks["carol"] and call.business_phone_number == CAROL


def test_simultaneous_first_answer_wins(bench: Bench) -> None:
    desks = bench.desks
    bench.attach(one_step(bench, forward(desks["alice"], desks["bob"], desks["carol"])))
    callees = {ALICE: NO_ANSWER, BOB: Callee(answer_after=6), CAROL: Callee(answer_after=2, talk=20)}
    result, call = bench.place(callees=callees)
    assert result.answered_by == CAROL and call.outcome == "answered" and call.talk_seconds == 20
    assert caller_path(call)[-1][1:] == ("leave", "answered")
    # Twilio's Dial action does not say which <Number> picked up; each target's silent whisper hook
    # does: the answering leg fetches it before it is bridged.
    assert call.receiving_number_id == desks["carol"]


def test_sequential_second_target_answers(bench: Bench) -> None:
    desks = bench.desks
    step = forward(desks["alice"], desks["bob"], strategy="sequential", no_answer="voicemail")
    bench.attach(one_step(bench, step, voicemail=voicemail()))
    result, call = bench.place(callees={ALICE: NO_ANSWER, BOB: Callee(talk=25)})
    assert result.answered_by == BOB and result.outcome == "answered"
    assert caller_path(call)[1:] == [("main", "stay", "no-answer"), ("main", "leave", "answered")]
    assert call.outcome == "answered" and call.talk_seconds == 25
    assert call.receiving_number_id == desks["bob"]


def test_sequential_nobody_answers_takes_the_no_answer_branch(bench: Bench) -> None:
    desks = bench.desks
    step = forward(desks["alice"], desks["bob"], strategy="sequential", no_answer="voicemail")
    bench.attach(one_step(bench, step, voicemail=voicemail()))
    result, call = bench.place(callees={ALICE: NO_ANSWER, BOB: BUSY}, voicemail_seconds=8)
    assert result.outcome == "voicemail" and result.answered_by is None
    assert caller_path(call)[1:3] == [("main", "stay", "no-answer"), ("main", "leave", "busy")]
    assert steps_entered(call) == ["main", "voicemail"]
    assert call.outcome == "voicemail" and call.receiving_number_id is None


def test_nobody_answers_anywhere_and_no_branch_hangs_up(bench: Bench) -> None:
    bench.attach(one_step(bench, forward(bench.desks["alice"], bench.desks["bob"])))
    result, call = bench.place(outcome="no-answer")
    assert result.outcome == "missed" and result.answered_by is None
    assert caller_path(call)[-1] == ("main", "leave", "no-answer")
    assert call.outcome == "missed" and call.talk_seconds == 0


def test_round_robin_follows_the_weights(bench: Bench) -> None:
    desks = bench.desks
    targets = [{"receiving_number": desks["alice"], "weight": 3}, {"receiving_number": desks["bob"]}]
    bench.attach(one_step(bench, {"type": "forward", "targets": targets, "strategy": "round_robin"}))
    answered = [bench.place(from_=f"+1212555020{n}")[0].answered_by for n in range(8)]
    # Any eight consecutive turns are two whole cycles of the weighted rotation: 6 to 2.
    assert sorted(answered) == [ALICE] * 6 + [BOB] * 2
    rotations = [call.flow_rotation for call in bench.wired.account.calls.order_by("start_time", "id")]
    assert rotations == list(range(rotations[0], rotations[0] + 8))


def test_round_robin_sticky_reaches_who_answered_last(bench: Bench) -> None:
    desks = bench.desks
    step = forward(desks["alice"], desks["bob"], strategy="round_robin", sticky=True)
    bench.attach(one_step(bench, step))
    first, call = bench.place(callees={ALICE: NO_ANSWER})
    assert first.answered_by == BOB and call.receiving_number_id == desks["bob"]
    # Later calls rotate the turn, but the same caller rings Bob first every time.
    for _ in range(3):
        again, call = bench.place()
        assert again.answered_by == BOB and caller_path(call)[1] == ("main", "leave", "answered")
    stranger, _ = bench.place(from_="+13125550199")
    other, _ = bench.place(from_="+13125550198")
    assert {stranger.answered_by, other.answered_by} == {ALICE, BOB}  # no stickiness for new callers


def whispered(bench: Bench, *desks: str, strategy: str = "sequential") -> dict[str, Any]:
    ids = [bench.desks[desk] for desk in desks]
    whisper = {"text": "Call from {source}.", "require_accept": True}
    step = forward(*ids, strategy=strategy, whisper=whisper, no_answer="voicemail")
    return one_step(bench, step, voicemail=voicemail())


def test_whisper_accepted_connects(bench: Bench) -> None:
    bench.attach(whispered(bench, "alice"))
    result, call = bench.place(accept_whisper="1")
    assert result.answered_by == ALICE and call.outcome == "answered"
    assert any('hears Say "Call from Google Ads."' in step.text for step in result.story)
    assert leg_path(call) == [("main", "whisper"), ("main", "accepted")]
    assert call.receiving_number_id == bench.desks["alice"]


def test_whisper_declined_rings_the_next_target(bench: Bench) -> None:
    bench.attach(whispered(bench, "alice", "bob"))
    callees = {ALICE: Callee(accept_whisper="9"), BOB: Callee(accept_whisper="1", talk=15)}
    result, call = bench.place(callees=callees)
    assert result.answered_by == BOB and call.outcome == "answered"
    assert call.talk_seconds is not None and call.talk_seconds >= 15  # the whisper counts as talk
    assert ("main", "declined") in leg_path(call)
    assert caller_path(call)[1:] == [("main", "stay", "no-answer"), ("main", "leave", "answered")]
    assert call.receiving_number_id == bench.desks["bob"]


def test_whisper_silence_everywhere_ends_in_voicemail(bench: Bench) -> None:
    bench.attach(whispered(bench, "alice"))
    result, call = bench.place(accept_whisper=None, voicemail_seconds=6)
    assert result.outcome == "voicemail" and result.answered_by is None
    # A silent gather posts nothing (Twilio runs the Hangup after it): the leg heard its whisper only.
    assert leg_path(call) == [("main", "whisper")]
    assert ("main", "leave", "no-answer") in caller_path(call)
    assert steps_entered(call) == ["main", "voicemail"] and call.outcome == "voicemail"


def test_simultaneous_whisper_names_who_accepted(bench: Bench) -> None:
    bench.attach(whispered(bench, "alice", "bob", "carol", strategy="simultaneous"))
    callees = {
        ALICE: Callee(answer_after=1, accept_whisper=None),
        BOB: Callee(answer_after=3, accept_whisper="1"),
        CAROL: NO_ANSWER,
    }
    result, call = bench.place(callees=callees)
    assert result.answered_by == BOB and call.outcome == "answered"
    answered = [e for e in call.events.filter(kind="flow") if e.payload["outcome"] == "answered"]
    assert [e.payload["receiving_number"] for e in answered] == [bench.desks["bob"]]
    assert call.receiving_number_id == bench.desks["bob"]


def queue_flow(bench: Bench, **queue: Any) -> dict[str, Any]:
    step = {
        "type": "queue",
        "members": [bench.desks["alice"], bench.desks["bob"]],
        "message": "All our agents are busy.",
        "hold_seconds": 20,
        "ring_seconds": 10,
        "max_wait_seconds": 90,
        "timeout": "voicemail",
    } | queue
    return {
        "start": "hello",
        "steps": {"hello": say("Hello.", "line"), "line": step, "voicemail": voicemail()},
    }


def test_queue_holds_then_a_member_answers(bench: Bench) -> None:
    bench.attach(queue_flow(bench))
    callees = Rounds({ALICE: [NO_ANSWER, NO_ANSWER, Callee(answer_after=4, talk=33)], BOB: [NO_ANSWER]})
    result, call = bench.place(callees=callees, talk=33)
    assert result.answered_by == ALICE and result.hold_seconds > 0
    assert [e for e in caller_path(call) if e[0] == "line"] == [
        ("line", "enter", ""),
        ("line", "stay", "round 1 no-answer"),
        ("line", "stay", "round 2 no-answer"),
        ("line", "leave", "answered"),
    ]
    assert call.outcome == "answered" and call.talk_seconds == 33
    assert call.receiving_number_id == bench.desks["alice"]  # named by her leg's silent whisper


def test_queue_timeout_takes_the_timeout_branch(bench: Bench) -> None:
    bench.attach(queue_flow(bench))  # 90 s of waiting in rounds of 20 s hold + 10 s ring: 3 rounds
    result, call = bench.place(outcome="no-answer", voicemail_seconds=10)
    assert result.outcome == "voicemail" and result.answered_by is None
    assert result.hold_seconds >= 2 * (20 + 10)  # the later rounds, at least
    line = [e for e in caller_path(call) if e[0] == "line"]
    assert line[-1] == ("line", "leave", "timeout") and len(line) == 4
    assert call.outcome == "voicemail"


def test_voicemail_recording_is_served_and_stored(bench: Bench) -> None:
    bench.attach(one_step(bench, voicemail()))
    with RecordingServer() as server:
        result, call = bench.place(recordings=server, voicemail_seconds=14)
        assert result.outcome == "voicemail" and call.outcome == "voicemail"
        assert call.voicemail_url.startswith(server.url)
        audio = httpx.get(call.voicemail_url)
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    assert caller_path(call) == [("main", "enter", ""), ("main", "leave", "voicemail")]
