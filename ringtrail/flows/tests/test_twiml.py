"""Flow decisions rendered by the Twilio renderer are well-formed TwiML with the expected verbs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from defusedxml import ElementTree

from ringtrail.carriers.twilio.render import TwimlRenderer
from ringtrail.flows.context import Phase, StepInput
from ringtrail.flows.engine import decide
from ringtrail.flows.position import decode_position, signer, verify

from .support import RECEIVING, call, context, flow

KEY = b"k" * 32
DOCUMENT = flow(
    {
        "greet": {"type": "say", "text": "Welcome to <Acme> & Sons", "next": "menu"},
        "menu": {
            "type": "menu",
            "prompt": "Press 1 for sales or say support",
            "options": {"1": "sales", "support": "line"},
            "speech": True,
        },
        "sales": {
            "type": "forward",
            "targets": [{"receiving_number": 1}, {"receiving_number": 4}],
            "whisper": {"text": "Lead from {source}", "require_accept": True},
            "record": True,
            "no_answer": "vm",
        },
        "line": {"type": "queue", "members": [2], "music_url": "https://cdn.example.com/hold.mp3?a=1&b=2"},
        "vm": {"type": "voicemail"},
    }
)


def parse(xml: str) -> ElementTree.Element:  # type: ignore[name-defined]
    root = ElementTree.fromstring(xml.encode())
    assert root.tag == "Response"
    return root


def test_menu_renders_gather_and_redirect_with_signed_references() -> None:
    sign = signer(KEY, account_id=3, call_id="CA0001", version_id=9)
    xml = TwimlRenderer().render(decide(DOCUMENT, context(), hook_params=sign).decision)
    root = parse(xml)
    assert [child.tag for child in root] == ["Say", "Gather", "Redirect"]
    assert root[0].text == "Welcome to <Acme> & Sons"
    gather = root[1]
    assert (
        gather.get("input") == "dtmf speech"
        and gather.get("numDigits") == "1"
        and gather.get("hints") == "support"
    )
    assert [child.tag for child in gather] == ["Say"]
    action = urlsplit(gather.get("action") or "")
    assert action.path == "/carriers/twilio/flow"
    params = {name: values[0] for name, values in parse_qs(action.query).items()}
    reference = verify(params, KEY, account_id=3, call_id="CA0001", version_id=9)
    assert reference.position.step == "menu" and reference.position.phase is Phase.INPUT
    redirect = urlsplit(root[2].text or "")
    timeout = {name: values[0] for name, values in parse_qs(redirect.query).items()}
    assert verify(timeout, KEY, account_id=3, call_id="CA0001").position.phase is Phase.TIMEOUT


def test_forward_renders_a_recorded_dial_with_whisper_urls() -> None:
    _, dialing = call(DOCUMENT, StepInput(digits="1"))
    root = parse(TwimlRenderer().render(dialing.decision))
    (dial,) = root
    assert dial.tag == "Dial" and dial.get("record") == "record-from-answer-dual"
    assert dial.get("action", "").startswith("/carriers/twilio/flow?fp=sales.2.dial.")
    assert dial.get("recordingStatusCallback") == "/carriers/twilio/recording?purpose=call"
    assert [(child.tag, child.text) for child in dial] == [("Number", RECEIVING[1]), ("Sip", RECEIVING[4])]
    whisper_url = dial[1].get("url") or ""
    fp = parse_qs(urlsplit(whisper_url).query)["fp"][0]
    leg = decide(DOCUMENT, context(), decode_position(fp), None)
    leg_root = parse(TwimlRenderer().render(leg.decision))
    assert [child.tag for child in leg_root] == ["Say", "Gather", "Hangup"]
    assert leg_root[0].text == "Lead from Google Ads"


def test_queue_and_voicemail_render() -> None:
    _, queued = call(DOCUMENT, StepInput(speech="support please"))
    root = parse(TwimlRenderer().render(queued.decision))
    assert [child.tag for child in root] == ["Play", "Dial"]
    assert root[0].text == "https://cdn.example.com/hold.mp3?a=1&b=2" and root[1].get("timeout") == "15"
    _, _, voicemail = call(DOCUMENT, StepInput(digits="1"), StepInput(dial_status="no-answer"))
    root = parse(TwimlRenderer().render(voicemail.decision))
    assert [child.tag for child in root] == ["Say", "Record", "Hangup"]
    assert root[1].get("action") == "/carriers/twilio/recording?purpose=voicemail"


def test_reject_renders_as_the_only_verb() -> None:
    root = parse(
        TwimlRenderer().render(decide(flow({"r": {"type": "reject", "reason": "busy"}}), context()).decision)
    )
    assert [(child.tag, child.get("reason")) for child in root] == [("Reject", "busy")]
