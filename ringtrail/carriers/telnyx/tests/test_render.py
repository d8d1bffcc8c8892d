"""TeXML rendering: the TwiML shape with Telnyx's documented differences, every value escaped."""

from __future__ import annotations

import pytest
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
from ringtrail.carriers.telnyx.render import TexmlRenderer, with_attributes
from ringtrail.flows import engine

HOSTILE = """<Hangup/>"&'</Say><Redirect>http://evil</Redirect> ü method="GET" """


def render(*steps: object) -> ElementTree.Element:
    return ElementTree.fromstring(TexmlRenderer().render(CallDecision(steps)))  # type: ignore[arg-type]


def test_hostile_text_round_trips_as_text() -> None:
    root = render(
        Say(HOSTILE),
        Dial(
            (DialTarget("+14155550199", HookRef(Hook.WHISPER, {"tn": HOSTILE})),),
            caller_id=HOSTILE,
            record=True,
            action=HookRef(Hook.DIAL, {"tn": HOSTILE}),
        ),
        Gather(HookRef(Hook.FLOW, {"p": HOSTILE}), (Say(HOSTILE),), speech=True, speech_hints=(HOSTILE,)),
    )
    assert [e.tag for e in root] == ["Say", "Dial", "Gather"]
    assert root[0].text == HOSTILE and root[1].get("callerId") == HOSTILE
    assert root[1].get("recordingChannels") == "dual"
    number = root[1].find("Number")
    assert number is not None and number.text == "+14155550199" and "%3CHangup" in number.get("url", "")
    gather = root[2]
    assert gather.get("hints") == HOSTILE and gather[0].text == HOSTILE and gather.get("method") is None


def test_urls_live_under_the_telnyx_prefix() -> None:
    root = render(*engine.forward(engine.ForwardPlan(7, "+14155550199", "+12125550143", "hi", True)).steps)
    dial = root[1]
    assert dial.get("action") == "/carriers/telnyx/dial?tn=7"
    assert dial.get("recordingStatusCallback") == "/carriers/telnyx/recording?purpose=call"
    assert dial.find("Number").get("url") == "/carriers/telnyx/whisper?tn=7"  # type: ignore[union-attr]


def test_recorded_dial_asks_for_two_channels_and_keeps_twiml_attributes() -> None:
    dial = render(*engine.forward(engine.ForwardPlan(1, "+14155550199", "+12125550143", record=True)).steps)[
        1
    ]
    assert (dial.get("record"), dial.get("recordingChannels")) == ("record-from-answer-dual", "dual")
    assert (dial.get("answerOnBridge"), dial.get("callerId"), dial.get("timeout")) == (
        "true",
        "+12125550143",
        "25",
    )
    assert dial.get("recordingStatusCallbackEvent") == "completed"


def test_unrecorded_dial_has_no_recording_attributes() -> None:
    dial = render(*engine.forward(engine.ForwardPlan(1, "+14155550199", "+12125550143")).steps)[0]
    assert dial.get("record") is None and dial.get("recordingChannels") is None


def test_every_step_renders() -> None:
    root = render(
        Play("https://example.com/a.mp3"),
        Pause(2),
        Record(HookRef(Hook.RECORDING, {"purpose": "voicemail"}), HookRef(Hook.RECORDING), 60, False),
        Redirect(HookRef(Hook.FLOW, {"p": "x"})),
        Reject("busy"),
        Hangup(),
    )
    assert [e.tag for e in root] == ["Play", "Pause", "Record", "Redirect", "Reject", "Hangup"]
    record = root[2]
    assert record.get("action") == "/carriers/telnyx/recording?purpose=voicemail"
    assert record.get("recordingStatusCallback") == "/carriers/telnyx/recording"
    assert record.get("recordingStatusCallbackEvent") is None  # not a TeXML <Record> attribute
    assert (record.get("playBeep"), record.get("maxLength")) == ("false", "60")
    assert root[3].text == "/carriers/telnyx/flow?p=x" and root[4].get("reason") == "busy"


def test_voicemail_after_an_unanswered_dial() -> None:
    root = render(*engine.after_dial("no-answer").steps)
    assert [e.tag for e in root] == ["Say", "Record", "Hangup"]


def test_gather_has_no_method_and_keeps_its_prompt() -> None:
    gather = render(Gather(HookRef(Hook.FLOW, {"p": "s"}), (Say("Press 1"),), num_digits=1))[0]
    assert gather.get("method") is None
    assert (gather.get("input"), gather.get("numDigits"), gather.get("finishOnKey")) == ("dtmf", "1", "#")
    assert gather.get("action") == "/carriers/telnyx/flow?p=s" and gather[0].text == "Press 1"


def test_characters_xml_cannot_carry_are_dropped() -> None:
    assert render(Say("ring\x00\x07 me\x1b"))[0].text == "ring me"


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ('<A x="1" method="POST"><B method="POST"/></A>', '<A x="1" y="2"><B method="POST"/></A>'),
        ('<A method="POST" x="1"/>', '<A x="1" y="2"/>'),
        ("<A x='1' method='POST'/>", "<A x='1' y=\"2\"/>"),
        ("""<A h='say method="POST"' method="POST">""", """<A h='say method="POST"' y="2">"""),
    ],
)
def test_with_attributes_touches_only_the_outer_start_tag(xml: str, expected: str) -> None:
    assert with_attributes(xml, {"y": "2"}, drop=("method",)) == expected
