"""TwiML rendering: every value escaped, so caller- or user-controlled text can never become markup."""

from __future__ import annotations

from defusedxml import ElementTree

from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    DialTarget,
    Hangup,
    Hook,
    HookRef,
    Pause,
    Play,
    Record,
    Reject,
    Say,
)
from ringtrail.carriers.twilio.render import TwimlRenderer

HOSTILE = """<Hangup/>"&'</Say><Redirect>http://evil</Redirect> ü"""


def test_hostile_text_round_trips_as_text() -> None:
    decision = CallDecision(
        (
            Say(HOSTILE),
            Dial((DialTarget("+14155550199", HookRef(Hook.WHISPER, {"tn": HOSTILE})),), caller_id=HOSTILE),
        )
    )
    root = ElementTree.fromstring(TwimlRenderer().render(decision))
    assert [e.tag for e in root] == ["Say", "Dial"]
    assert root[0].text == HOSTILE and root[1].get("callerId") == HOSTILE
    number = root[1].find("Number")
    assert number is not None and number.text == "+14155550199" and "%3CHangup" in number.get("url", "")


def test_every_step_renders() -> None:
    decision = CallDecision(
        (
            Play("https://example.com/a.mp3"),
            Pause(2),
            Record(HookRef(Hook.RECORDING, {"purpose": "voicemail"}), max_length_seconds=60, play_beep=False),
            Reject("busy"),
            Hangup(),
        )
    )
    root = ElementTree.fromstring(TwimlRenderer().render(decision))
    assert [e.tag for e in root] == ["Play", "Pause", "Record", "Reject", "Hangup"]
    assert root[1].get("length") == "2" and root[3].get("reason") == "busy"
    assert root[2].get("action") == "/carriers/twilio/recording?purpose=voicemail"
    assert root[2].get("playBeep") == "false" and root[2].get("maxLength") == "60"


def test_characters_xml_cannot_carry_are_dropped() -> None:
    root = ElementTree.fromstring(TwimlRenderer().render(CallDecision((Say("ring\x00\x07 me\x1b"),))))
    assert root[0].text == "ring me"
