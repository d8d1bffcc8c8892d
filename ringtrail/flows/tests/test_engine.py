"""The static-forward engine: pure decisions, no database, no HTTP."""

from __future__ import annotations

from ringtrail.carriers.base import Dial, Hangup, Hook, Record, Say
from ringtrail.flows import engine

PLAN = engine.ForwardPlan(tracking_number_id=7, destination="+14155550199", caller_id="+12125550143")


def test_bare_forward_is_one_dial_with_voicemail_action() -> None:
    (dial,) = engine.forward(PLAN).steps
    assert isinstance(dial, Dial) and dial.targets[0].address == "+14155550199"
    assert dial.action is not None and dial.action.hook is Hook.DIAL and not dial.record
    assert dial.targets[0].whisper is None and dial.caller_id == "+12125550143"


def test_recording_adds_a_notice_and_whisper_a_hook() -> None:
    plan = engine.ForwardPlan(7, "sip:desk@pbx.example.com", "+12125550143", whisper_text="Hi", record=True)
    notice, dial = engine.forward(plan).steps
    assert isinstance(notice, Say) and isinstance(dial, Dial) and dial.record
    assert dial.targets[0].is_sip and dial.targets[0].whisper is not None


def test_no_destination_is_a_polite_hangup() -> None:
    steps = engine.forward(engine.ForwardPlan(7, "", "+1")).steps
    assert [type(s) for s in steps] == [Say, Hangup]


def test_after_dial_offers_voicemail_only_when_unanswered() -> None:
    assert [type(s) for s in engine.after_dial("completed").steps] == [Hangup]
    for status in ("no-answer", "busy", "failed", "canceled"):
        assert [type(s) for s in engine.after_dial(status).steps] == [Say, Record, Hangup]
