"""TwiML rendering: every value escaped, so caller- or user-controlled text can never become markup."""

from __future__ import annotations

from defusedxml import ElementTree

from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    DialTarget,
    Gather,
    Hangup,
    Hook,
    HookRef,
    Pause,
    Play,
    Record,
    Redirect,
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


def test_gather_wraps_its_prompt_and_redirect_follows() -> None:
    ref = HookRef(Hook.FLOW, {"p": "signed"})
    decision = CallDecision(
        (
            Gather(ref, (Say("Press 1 for sales"),), speech=True, num_digits=1, speech_hints=("sales",)),
            Redirect(HookRef(Hook.FLOW, {"p": "signed", "timeout": "1"})),
        )
    )
    root = ElementTree.fromstring(TwimlRenderer().render(decision))
    assert [e.tag for e in root] == ["Gather", "Redirect"]
    gather = root[0]
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    assert gather.get("action") == "/carriers/twilio/flow?p=signed" and gather.get("hints") == "sales"
    assert [e.tag for e in gather] == ["Say"] and gather[0].text == "Press 1 for sales"
    assert root[1].text == "/carriers/twilio/flow?p=signed&timeout=1"


def test_dtmf_only_gather_has_no_speech_attributes() -> None:
    root = ElementTree.fromstring(TwimlRenderer().render(CallDecision((Gather(HookRef(Hook.SCREEN)),))))
    assert root[0].get("input") == "dtmf" and root[0].get("language") is None
    assert root[0].get("numDigits") is None


def test_say_carries_voice_and_language_only_when_set() -> None:
    root = ElementTree.fromstring(
        TwimlRenderer().render(CallDecision((Say("Hola", voice="Polly.Lupe", language="es-US"), Say("Hi"))))
    )
    assert root[0].get("voice") == "Polly.Lupe" and root[0].get("language") == "es-US"
    assert root[1].get("voice") is None and root[1].get("language") is None
