from __future__ import annotations

import pytest

from ringtrail.carriers.simulator.twiml import (
    DialTarget,
    DialVerb,
    HangupVerb,
    PauseVerb,
    PlayVerb,
    RecordVerb,
    RedirectVerb,
    RejectVerb,
    SayVerb,
    TwimlError,
    parse_twiml,
)


def test_every_supported_verb_parses() -> None:
    verbs = parse_twiml(
        """<?xml version="1.0" encoding="UTF-8"?>
        <Response>
          <Say voice="alice">This call may be recorded.</Say>
          <Play>https://example.com/hold.wav</Play>
          <Pause length="3"/>
          <Redirect method="POST">/carriers/twilio/next?step=2</Redirect>
          <Dial callerId="+15557654321" answerOnBridge="true" timeout="25" record="record-from-answer-dual"
                action="/carriers/twilio/dial?c=1" recordingStatusCallback="/carriers/twilio/recording?c=1">
            <Number url="/carriers/twilio/whisper?c=1">+15551230000</Number>
            <Sip url="/carriers/twilio/whisper?c=2">sip:desk@pbx.example.com</Sip>
          </Dial>
          <Record action="/vm" recordingStatusCallback="/rec" maxLength="60" playBeep="false"/>
          <Reject reason="busy"/>
          <Hangup/>
        </Response>"""
    )
    assert verbs == (
        SayVerb("This call may be recorded."),
        PlayVerb("https://example.com/hold.wav"),
        PauseVerb(3),
        RedirectVerb("/carriers/twilio/next?step=2"),
        DialVerb(
            targets=(
                DialTarget("number", "+15551230000", "/carriers/twilio/whisper?c=1"),
                DialTarget("sip", "sip:desk@pbx.example.com", "/carriers/twilio/whisper?c=2"),
            ),
            caller_id="+15557654321",
            answer_on_bridge=True,
            timeout=25,
            record="record-from-answer-dual",
            action="/carriers/twilio/dial?c=1",
            recording_status_callback="/carriers/twilio/recording?c=1",
        ),
        RecordVerb(action="/vm", recording_status_callback="/rec", max_length=60, play_beep=False),
        RejectVerb("busy"),
        HangupVerb(),
    )


def test_defaults_follow_twilio() -> None:
    dial, record, pause, reject = parse_twiml(
        "<Response><Dial>+15551230000</Dial><Record/><Pause/><Reject/></Response>"
    )
    assert dial == DialVerb(targets=(DialTarget("number", "+15551230000"),))
    assert isinstance(dial, DialVerb)
    assert (dial.timeout, dial.records, dial.action) == (30, False, None)
    assert record == RecordVerb(max_length=3600, play_beep=True)
    assert pause == PauseVerb(1)
    assert reject == RejectVerb("rejected")


def test_empty_response_has_no_verbs() -> None:
    assert parse_twiml("<Response/>") == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty"),
        ("<Response><Say>unclosed</Response>", "unparsable"),
        ("<html><body>oops</body></html>", "root element is <html>"),
        ("<Response><Enqueue>support</Enqueue></Response>", "unsupported verb <Enqueue>"),
        ("<Response><Dial><Conference>room</Conference></Dial></Response>", "unsupported <Dial> noun"),
        ("<Response><Dial/></Response>", "without anything to dial"),
        ('<Response><Dial record="always">+1555</Dial></Response>', "not a recording mode"),
        ('<Response><Dial timeout="soon">+1555</Dial></Response>', "not a whole number"),
        ('<Response><Pause length="-1"/></Response>', "at least 0"),
        ('<Response><Record playBeep="yes"/></Response>', "true or false"),
        ('<Response><Reject reason="nope"/></Response>', "rejected or busy"),
        ("<Response><Redirect/></Response>", "without a URL"),
        ("<Response><Dial>" + "<Number>+15551230000</Number>" * 11 + "</Dial></Response>", "at most 10"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><Response>&a;</Response>', "unparsable"),
    ],
)
def test_invalid_documents_are_rejected_whole(body: str, message: str) -> None:
    with pytest.raises(TwimlError, match=message):
        parse_twiml(body)


def test_documents_over_64_kb_are_refused() -> None:
    with pytest.raises(TwimlError, match="larger than 64 KB"):
        parse_twiml("<Response><Say>" + "a" * 70_000 + "</Say></Response>")
