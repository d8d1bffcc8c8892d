"""The engine on forwards, whispers, queues and endings."""

from __future__ import annotations

from typing import Any

import pytest

from ringtrail.carriers.base import (
    Dial,
    Gather,
    Hangup,
    Hook,
    HookRef,
    Pause,
    Play,
    Record,
    Reject,
    Say,
)
from ringtrail.flows.context import Phase, Position, StepInput
from ringtrail.flows.engine import decide
from ringtrail.flows.interpreter import queue_rounds
from ringtrail.flows.position import decode_position

from .support import ANSWERED, BUSY, NO_ANSWER, RECEIVING, call, context, flow, kinds, only, trail


def forward(**options: Any) -> Any:
    step = {"type": "forward", "targets": [{"receiving_number": n} for n in (1, 2, 3)], **options}
    extra = {"vm": {"type": "voicemail"}} if "no_answer" in options else {}
    return flow({"f": step, **extra})


def dialled(outcome: Any) -> list[str]:
    return [target.address for target in only(outcome, Dial).targets]


def test_simultaneous_rings_everyone_once() -> None:
    first, answered = call(
        forward(timeout_seconds=30), StepInput(dial_status="completed", answered_by=RECEIVING[2])
    )
    dial = only(first, Dial)
    assert dialled(first) == [RECEIVING[1], RECEIVING[2], RECEIVING[3]]
    assert dial.timeout_seconds == 30 and dial.caller_id == "+12125550143" and not dial.record
    assert dial.action is not None and decode_position(dial.action.params["fp"]).phase is Phase.DIAL
    # No whisper configured, yet each target has a (silent) whisper hook: the answering leg names itself.
    hooks = [target.whisper for target in dial.targets]
    assert all(
        hook is not None and decode_position(hook.params["fp"]).phase is Phase.WHISPER for hook in hooks
    )
    assert answered.decision.steps == (Hangup(),) and answered.ended
    assert answered.trail[0].outcome == "answered" and answered.trail[0].receiving_number == 2


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled", "", "bogus"])
def test_simultaneous_unanswered_takes_no_answer_branch(status: str) -> None:
    _, after = call(forward(no_answer="vm"), StepInput(dial_status=status))
    assert kinds(after) == ["Say", "Record", "Hangup"]
    assert trail(after)[0] == (
        "f",
        "leave",
        status if status in {"busy", "failed", "canceled"} else "no-answer",
    )


def test_unanswered_without_branch_hangs_up() -> None:
    _, after = call(forward(), NO_ANSWER)
    assert after.decision.steps == (Hangup(),) and after.ended


def test_sequential_hunts_with_each_targets_timeout() -> None:
    steps = {
        "f": {
            "type": "forward",
            "strategy": "sequential",
            "targets": [
                {"receiving_number": 3, "timeout_seconds": 10},
                {"receiving_number": 1, "timeout_seconds": 15},
                {"receiving_number": 4},
            ],
            "no_answer": "vm",
            "record": True,
        },
        "vm": {"type": "voicemail"},
    }
    outcomes = call(flow(steps), NO_ANSWER, BUSY, NO_ANSWER)
    assert [dialled(o) for o in outcomes[:3]] == [[RECEIVING[3]], [RECEIVING[1]], [RECEIVING[4]]]
    assert [only(o, Dial).timeout_seconds for o in outcomes[:3]] == [10, 15, 20]
    assert all(only(o, Dial).record for o in outcomes[:3])
    assert only(outcomes[0], Dial).recording_callback == HookRef(Hook.RECORDING, {"purpose": "call"})
    assert [(e.outcome, e.receiving_number) for e in outcomes[1].trail] == [("no-answer", 3)]
    assert [(e.outcome, e.receiving_number) for e in outcomes[2].trail] == [("busy", 1)]
    assert trail(outcomes[3])[0] == ("f", "leave", "no-answer") and kinds(outcomes[3]) == [
        "Say",
        "Record",
        "Hangup",
    ]
    assert [o.waiting_at.index for o in outcomes[:3] if o.waiting_at] == [0, 1, 2]


def test_sequential_answer_names_who_answered() -> None:
    _, _, answered = call(forward(strategy="sequential"), NO_ANSWER, ANSWERED)
    assert answered.trail[0].outcome == "answered" and answered.trail[0].receiving_number == 2


def test_deleted_receiving_numbers_are_skipped_and_none_left_is_no_answer() -> None:
    ctx = context(receiving_numbers={2: RECEIVING[2]})
    assert dialled(call(forward(), ctx=ctx)[0]) == [RECEIVING[2]]
    empty = decide(forward(no_answer="vm"), context(receiving_numbers={}))
    assert trail(empty)[:3] == [("f", "enter", ""), ("f", "leave", "no-targets"), ("vm", "enter", "")]


def round_robin(sticky: bool = False) -> Any:
    targets = [{"receiving_number": 1, "weight": 3}, {"receiving_number": 2}, {"receiving_number": 3}]
    return forward(strategy="round_robin", targets=targets, sticky=sticky)


def test_round_robin_spreads_by_weight_across_calls() -> None:
    firsts = [dialled(decide(round_robin(), context(rotation=n)))[0] for n in range(10)]
    assert (
        firsts.count(RECEIVING[1]) == 6
        and firsts.count(RECEIVING[2]) == 2
        and firsts.count(RECEIVING[3]) == 2
    )
    assert firsts[:5] == [RECEIVING[1], RECEIVING[2], RECEIVING[1], RECEIVING[3], RECEIVING[1]]


def test_round_robin_hunts_through_the_others_in_rotation_order() -> None:
    ctx = context(rotation=1)
    outcomes = call(round_robin(), NO_ANSWER, NO_ANSWER, NO_ANSWER, ctx=ctx)
    assert [dialled(o)[0] for o in outcomes[:3]] == [RECEIVING[2], RECEIVING[1], RECEIVING[3]]
    assert outcomes[3].ended


def test_sticky_round_robin_rings_the_last_answerer_first() -> None:
    ctx = context(rotation=0, last_answered_by=3)
    outcomes = call(round_robin(sticky=True), NO_ANSWER, ctx=ctx)
    assert dialled(outcomes[0]) == [RECEIVING[3]] and dialled(outcomes[1]) == [RECEIVING[1]]
    gone = context(rotation=0, last_answered_by=99)  # that number is no longer in the flow
    assert dialled(decide(round_robin(sticky=True), gone)) == [RECEIVING[1]]
    assert dialled(decide(round_robin(sticky=False), ctx)) == [RECEIVING[1]]


WHISPERED = forward(whisper={"text": "Call from {source}. {source}!", "require_accept": True})


def whisper_position(outcome: Any, n: int = 0) -> Position:
    target = only(outcome, Dial).targets[n]
    assert target.whisper is not None and target.whisper.hook is Hook.FLOW
    return decode_position(target.whisper.params["fp"])


def test_whisper_says_the_source_and_asks_to_accept() -> None:
    first = decide(WHISPERED, context())
    positions = [whisper_position(first, n) for n in range(3)]
    assert [p.index for p in positions] == [0, 1, 2] and all(p.is_leg for p in positions)
    leg = decide(WHISPERED, context(), positions[1], None)
    assert leg.leg and not leg.ended
    assert kinds(leg) == ["Say", "Gather", "Hangup"]
    assert leg.decision.steps[0] == Say("Call from Google Ads. Google Ads!")
    gather = only(leg, Gather)
    assert gather.num_digits == 1 and gather.prompt == (Say("Press 1 to accept this call."),)
    accept = decode_position(gather.action.params["fp"])
    assert accept.phase is Phase.ACCEPT and accept.index == 1


@pytest.mark.parametrize(
    ("given", "expected", "outcome"),
    [
        (StepInput(digits="1"), (), "accepted"),
        (StepInput(digits="2"), (Hangup(),), "declined"),
        (StepInput(timed_out=True), (Hangup(),), "declined"),
        (StepInput(), (Hangup(),), "declined"),
    ],
)
def test_accepting_bridges_and_anything_else_hangs_up_that_leg(
    given: StepInput, expected: tuple[Any, ...], outcome: str
) -> None:
    leg = decide(WHISPERED, context(), whisper_position(decide(WHISPERED, context())), None)
    accept = decode_position(only(leg, Gather).action.params["fp"])
    result = decide(WHISPERED, context(), accept, given)
    assert result.decision.steps == expected and result.leg
    assert trail(result) == [("f", "stay", outcome)]


def test_whisper_without_accept_and_without_a_source() -> None:
    plain = forward(whisper={"text": "Call from {source}"})
    leg = decide(plain, context(source_name=" "), whisper_position(decide(plain, context())), None)
    assert leg.decision.steps == (Say("Call from an unknown source"),)


QUEUE = flow(
    {
        "q": {
            "type": "queue",
            "members": [1, 4],
            "message": "All agents are busy. Please hold.",
            "hold_seconds": 20,
            "ring_seconds": 10,
            "max_wait_seconds": 75,
            "timeout": "vm",
        },
        "vm": {"type": "voicemail", "prompt": "Leave a message.", "max_length_seconds": 30},
    }
)


def test_queue_holds_then_rings_members_briefly() -> None:
    first = decide(QUEUE, context())
    assert kinds(first) == ["Say", "Pause", "Dial"]
    assert first.decision.steps[1] == Pause(20)
    dial = only(first, Dial)
    assert [t.address for t in dial.targets] == [RECEIVING[1], RECEIVING[4]] and dial.timeout_seconds == 10
    assert first.waiting_at is not None and first.waiting_at.attempt == 0
    assert first.waiting_at.entered_at == int(context().now.timestamp())


def test_queue_is_bounded_by_rounds_then_takes_the_timeout_branch() -> None:
    assert queue_rounds(QUEUE.steps["q"]) == 3  # type: ignore[arg-type]  # ceil(75 / 30)
    outcomes = call(QUEUE, NO_ANSWER, NO_ANSWER, NO_ANSWER)
    assert [o.waiting_at.attempt for o in outcomes[:3] if o.waiting_at] == [0, 1, 2]
    assert len({o.waiting_at.entered_at for o in outcomes[:3] if o.waiting_at}) == 1
    assert trail(outcomes[1]) == [("q", "stay", "round 1 no-answer")]
    last = outcomes[3]
    assert trail(last)[0] == ("q", "leave", "timeout") and trail(last)[1] == ("vm", "enter", "")
    assert last.decision.steps[0] == Say("Leave a message.")
    assert only(last, Record).max_length_seconds == 30 and last.ended


def test_queue_answered_ends_the_flow() -> None:
    _, _, answered = call(
        QUEUE, NO_ANSWER, StepInput(dial_status="answered", answered_by="sip:desk@pbx.example.com")
    )
    assert answered.decision.steps == (Hangup(),)
    assert answered.trail[0].outcome == "answered" and answered.trail[0].receiving_number == 4


def test_queue_music_and_defaults() -> None:
    music = flow({"q": {"type": "queue", "members": [2], "music_url": "https://cdn.example.com/hold.mp3"}})
    first = decide(music, context())
    assert kinds(first) == ["Play", "Dial"] and first.decision.steps[0] == Play(
        "https://cdn.example.com/hold.mp3"
    )
    assert queue_rounds(music.steps["q"]) == 7  # type: ignore[arg-type]  # ceil(300 / 45)
    outcomes = call(music, *[NO_ANSWER] * 7)
    assert kinds(outcomes[-1]) == ["Say", "Hangup"] and outcomes[-1].ended  # no timeout branch: goodbye


def test_queue_with_no_members_left_goes_straight_to_timeout() -> None:
    outcome = decide(QUEUE, context(receiving_numbers={}))
    assert trail(outcome)[:2] == [("q", "enter", ""), ("q", "leave", "no-members")]
    assert kinds(outcome) == ["Say", "Record", "Hangup"]


def test_voicemail_records_through_the_recording_hook() -> None:
    outcome = decide(flow({"vm": {"type": "voicemail"}}), context())
    hook = HookRef(Hook.RECORDING, {"purpose": "voicemail"})
    assert kinds(outcome) == ["Say", "Record", "Hangup"]
    record = only(outcome, Record)
    assert record.action == hook and record.recording_callback == hook and record.max_length_seconds == 120


def test_reject_first_is_a_real_reject_and_later_a_hangup() -> None:
    busy = flow({"r": {"type": "reject", "reason": "busy"}})
    outcome = decide(busy, context())
    assert outcome.decision.steps == (Reject("busy"),) and trail(outcome)[1] == ("r", "leave", "busy")
    late = flow({"s": {"type": "say", "text": "hi", "next": "r"}, "r": {"type": "reject"}})
    assert kinds(decide(late, context())) == ["Say", "Hangup"]
    after_menu = flow({"m": {"type": "menu", "prompt": "p", "options": {"1": "r"}}, "r": {"type": "reject"}})
    _, rejected = call(after_menu, StepInput(digits="1"))
    assert rejected.decision.steps == (Hangup(),)
    assert trail(rejected)[-1] == ("r", "leave", "hangup (call already answered)")


def test_hangup_with_and_without_message() -> None:
    assert decide(flow({"h": {"type": "hangup"}}), context()).decision.steps == (Hangup(),)
    assert kinds(decide(flow({"h": {"type": "hangup", "message": "Bye"}}), context())) == ["Say", "Hangup"]


@pytest.mark.parametrize(
    "position",
    [
        Position("gone", 1, Phase.INPUT),  # the step was deleted in an edit
        Position("f", 1, Phase.INPUT),  # a forward has no menu input
        Position("f", 1, Phase.TIMEOUT),
        Position("f", 1, Phase.DIAL, index=7),  # no such target
        Position("f", 1, Phase.WHISPER),  # this forward has no whisper
        Position("f", 1, Phase.ACCEPT),
        Position("vm", 1, Phase.DIAL),
        Position("q", 1, Phase.WHISPER),
    ],
)
def test_positions_that_no_longer_fit_the_flow_hang_up_politely(position: Position) -> None:
    document = flow(
        {
            "f": {
                "type": "forward",
                "targets": [{"receiving_number": 1}],
                "strategy": "sequential",
                "no_answer": "q",
            },
            "q": {"type": "queue", "members": [1], "timeout": "vm"},
            "vm": {"type": "voicemail"},
        }
    )
    outcome = decide(document, context(), position, StepInput(dial_status="no-answer"))
    assert kinds(outcome) == ["Say", "Hangup"] and outcome.ended and outcome.error and outcome.trail == ()


def test_an_enter_position_re_enters_the_step() -> None:
    document = flow({"s": {"type": "say", "text": "hi", "next": "h"}, "h": {"type": "hangup"}})
    outcome = decide(document, context(), Position("h", 3), None)
    assert outcome.decision.steps == (Hangup(),) and trail(outcome) == [
        ("h", "enter", ""),
        ("h", "leave", "hangup"),
    ]


def test_an_unvalidated_cyclic_document_hangs_up_instead_of_looping() -> None:
    from ringtrail.flows.schema import FlowDocument

    looping = FlowDocument.model_validate(
        {
            "start": "a",
            "steps": {
                "a": {"type": "say", "text": "a", "next": "b"},
                "b": {"type": "say", "text": "b", "next": "a"},
            },
        }
    )
    outcome = decide(looping, context())
    assert kinds(outcome) == ["Say", "Hangup"] and "loops" in outcome.error
    dangling = FlowDocument.model_validate({"start": "nowhere", "steps": {"a": {"type": "hangup"}}})
    assert "unknown step" in decide(dangling, context()).error


def test_a_silent_whisper_connects_at_once_and_names_the_leg() -> None:
    document = forward(timeout_seconds=30)
    (first,) = call(document)
    hook = only(first, Dial).targets[1].whisper
    assert hook is not None
    leg = decide(document, context(), decode_position(hook.params["fp"]), StepInput())
    assert leg.leg and leg.decision.steps == ()
    assert [(e.outcome, e.receiving_number) for e in leg.trail] == [("picked up", 2)]


def test_a_queue_of_several_members_lets_the_answering_one_name_itself() -> None:
    document = flow({"q": {"type": "queue", "members": [1, 3], "timeout": "vm"}, "vm": {"type": "voicemail"}})
    (first,) = call(document)
    hook = only(first, Dial).targets[1].whisper
    assert hook is not None
    leg = decide(document, context(), decode_position(hook.params["fp"]), StepInput())
    assert leg.leg and leg.decision.steps == ()
    assert [(e.outcome, e.receiving_number) for e in leg.trail] == [("picked up", 3)]
