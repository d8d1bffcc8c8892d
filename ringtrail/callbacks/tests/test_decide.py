"""The call-back legs' decisions and references: pure, no database."""

from __future__ import annotations

import pytest

from ringtrail.callbacks import decide, ref
from ringtrail.callbacks.states import Status
from ringtrail.carriers.base import Dial, Gather, Hangup, Hook, HookRef, Redirect, Say
from ringtrail.carriers.telnyx.render import TexmlRenderer
from ringtrail.carriers.twilio.render import TwimlRenderer

ANSWER = HookRef(Hook.CALLBACK, {"ref": "7.answer:sig"})
DIAL = HookRef(Hook.CALLBACK, {"ref": "7.dial:sig"})
VISITOR = decide.VisitorLeg(visitor="+12125550143", caller_id="+14155550100", dial_result=DIAL)


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://acme.test/", "the home page"),
        ("https://acme.test/index.html", "the home page"),
        (
            "https://acme.test/services/emergency-repair?gclid=SECRET&utm_source=x",
            "services emergency repair",
        ),
        ("https://acme.test/a/b/pricing.php#top", "b pricing"),
        ("https://acme.test/%3Cscript%3Ealert(1)%3C/script%3E", "script alert 1 script"),
        ("https://acme.test/" + "word-" * 40, "word word word word word word word word"),
        ("https://[bad/", "the home page"),
    ],
)
def test_page_label_says_the_path_never_the_query(url: str, label: str) -> None:
    assert decide.page_label(url) == label


def test_whisper_names_the_page() -> None:
    text = decide.whisper_text("Web lead from {page}. Press 1 to connect.", "https://acme.test/pricing?x=1")
    assert text == "Web lead from pricing. Press 1 to connect."


def test_business_hears_the_whisper_in_a_one_key_gather_then_silence_redirects() -> None:
    decision = decide.business_answered(decide.BusinessLeg("Web lead from pricing.", ANSWER))
    gather, redirect = decision.steps
    assert isinstance(gather, Gather) and isinstance(redirect, Redirect)
    assert (
        gather.num_digits == 1
        and gather.action == ANSWER
        and gather.prompt == (Say("Web lead from pricing."),)
    )
    assert redirect.target == ANSWER


def test_pressing_1_dials_the_visitor_from_the_tracking_number() -> None:
    say, dial = decide.business_pressed("1", VISITOR).steps
    assert isinstance(say, Say) and isinstance(dial, Dial)
    assert [t.address for t in dial.targets] == ["+12125550143"]
    assert (dial.caller_id, dial.action, dial.record) == ("+14155550100", DIAL, False)


@pytest.mark.parametrize("digits", ["", "2", "9", "11", "*"])
def test_anything_else_declines_politely(digits: str) -> None:
    assert decide.business_pressed(digits, VISITOR).steps == (Say(decide.DECLINED), Hangup())
    assert decide.status_after_key(digits) is Status.DECLINED
    assert decide.status_after_key("1") is Status.CALLING_VISITOR


@pytest.mark.parametrize(
    ("dial_status", "bridged", "status"),
    [
        ("completed", "", Status.BRIDGED),
        ("completed", "true", Status.BRIDGED),
        ("completed", "false", Status.NO_ANSWER),
        ("no-answer", "", Status.NO_ANSWER),
        ("busy", "", Status.NO_ANSWER),
        ("canceled", "", Status.NO_ANSWER),
        ("failed", "", Status.FAILED),
    ],
)
def test_visitor_leg_outcome(dial_status: str, bridged: str, status: Status) -> None:
    assert decide.status_after_dial(dial_status, bridged) is status
    ending = decide.after_visitor_dial(dial_status).steps
    assert ending[-1] == Hangup() and (len(ending) == 1) == (dial_status == "completed")


@pytest.mark.parametrize(
    ("call_status", "current", "expected"),
    [
        ("no-answer", Status.CALLING_BUSINESS, Status.NO_ANSWER),
        ("busy", Status.CALLING_BUSINESS, Status.NO_ANSWER),
        ("failed", Status.CALLING_BUSINESS, Status.FAILED),
        ("completed", Status.CALLING_BUSINESS, Status.DECLINED),
        ("ringing", Status.CALLING_BUSINESS, None),
        ("completed", Status.CALLING_VISITOR, None),
        ("completed", Status.BRIDGED, None),
        ("no-answer", Status.DECLINED, None),
    ],
)
def test_business_leg_status(call_status: str, current: Status, expected: Status | None) -> None:
    assert decide.status_after_call_status(call_status, current) == expected


@pytest.mark.parametrize("renderer", [TwimlRenderer(), TexmlRenderer()])
def test_renderers_escape_the_whisper_and_point_at_the_callback_hook(renderer: TwimlRenderer) -> None:
    whisper = decide.whisper_text("<Hangup/> & {page}", "https://acme.test/x")
    body = renderer.render(decide.business_answered(decide.BusinessLeg(whisper, ANSWER)))
    assert "<Hangup/>" not in body and "&lt;Hangup/&gt; &amp; x" in body
    assert 'numDigits="1"' in body and "/callback?ref=7.answer%3Asig" in body


def test_references_round_trip_and_refuse_tampering() -> None:
    signed = ref.sign(42, "start")
    assert ref.unsign(signed) == (42, "start")
    value, _, signature = signed.rpartition(":")
    assert ref.unsign(f"43.start:{signature}") is None
    assert ref.unsign(f"42.answer:{signature}") is None
    assert ref.unsign(value) is None and ref.unsign("") is None and ref.unsign("x" * 500) is None
    with pytest.raises(ValueError, match="unknown call-back step"):
        ref.sign(1, "jump")
