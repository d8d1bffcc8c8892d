from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime

import httpx

from ringtrail.carriers.simulator import CallScenario, Credentials, Simulator, Step, StepKind
from ringtrail.carriers.simulator.tests.fake_server import ACCOUNT_SID, TOKEN, FakeServer, Route, twiml

VOICE = "/carriers/twilio/voice"
STATUS = "/carriers/twilio/status"
RECORDING = "/carriers/twilio/recording"
SID = re.compile(r"^CA[0-9a-f]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-f]{32}$")

FORWARD = twiml(
    "<Say>This call may be recorded.</Say>"
    '<Dial callerId="+15550001111" answerOnBridge="true" timeout="25" record="record-from-answer-dual"'
    ' action="/carriers/twilio/dial?call=1" recordingStatusCallback="/carriers/twilio/recording?call=1">'
    '<Number url="/carriers/twilio/whisper?call=1">+15551230000</Number></Dial>'
)
VOICEMAIL = twiml(
    "<Say>Please leave a message.</Say>"
    '<Record action="/carriers/twilio/voicemail" maxLength="120" playBeep="true"/>'
)


def after_dial(params: dict[str, str]) -> str | httpx.Response:
    return httpx.Response(204) if params["DialCallStatus"] == "completed" else VOICEMAIL


def forwarding_server(dial_action: str = "") -> FakeServer:
    return FakeServer(
        {
            VOICE: FORWARD,
            "/carriers/twilio/whisper": twiml("<Say>Google Ads</Say>"),
            "/carriers/twilio/dial": dial_action or after_dial,
            "/carriers/twilio/voicemail": httpx.Response(204),
        }
    )


def texts(story: list[Step]) -> list[str]:
    return [step.text for step in story]


def test_answered_call_with_whisper_recording_and_callbacks() -> None:
    server = forwarding_server()
    result = server.call(
        answer_after=3,
        talk=42,
        caller_name="JANE DOE",
        caller_area={"FromCity": "AUSTIN", "FromState": "TX", "FromZip": "78701", "FromCountry": "US"},
    )

    # Say (5 words, 2 s) + ring 3 s + whisper (0.8 s) + talk 42 s.
    assert (result.outcome, result.errors, result.duration) == ("answered", [], 48)
    assert result.answered_by == "+15551230000"
    assert SID.match(result.call_sid)
    voice = server.to(VOICE)[0].params
    assert voice == {
        "CallSid": result.call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+15557654321",
        "To": "+15550001111",
        "Caller": "+15557654321",
        "Called": "+15550001111",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "CallerName": "JANE DOE",
        "FromCity": "AUSTIN",
        "FromState": "TX",
        "FromZip": "78701",
        "FromCountry": "US",
    }
    whisper = server.to("/carriers/twilio/whisper")[0]
    assert whisper.query == "call=1"
    assert SID.match(whisper.params["CallSid"]) and whisper.params["CallSid"] != result.call_sid
    assert whisper.params["ParentCallSid"] == result.call_sid
    assert (whisper.params["To"], whisper.params["From"]) == ("+15551230000", "+15550001111")
    assert (whisper.params["CallStatus"], whisper.params["Direction"]) == ("in-progress", "outbound-dial")

    action = server.to("/carriers/twilio/dial")[0].params
    assert action["DialCallSid"] == whisper.params["CallSid"]
    assert (action["DialCallStatus"], action["DialCallDuration"], action["CallStatus"]) == (
        "completed",
        "43",
        "in-progress",
    )
    assert action["DialBridged"] == "true"

    statuses = [r.params for r in server.to(STATUS)]
    assert [(s["CallStatus"], s["SequenceNumber"]) for s in statuses] == [
        ("ringing", "0"),
        ("in-progress", "1"),
        ("completed", "2"),
    ]
    assert statuses[2]["CallDuration"] == "48"
    assert statuses[0]["CallbackSource"] == "call-progress-events"
    started, ended = (parsedate_to_datetime(s["Timestamp"]) for s in (statuses[0], statuses[2]))
    assert 47 <= (ended - started).total_seconds() <= 49

    (recording,) = server.to(RECORDING)
    assert recording.query == "call=1"
    assert RECORDING_SID.match(recording.params["RecordingSid"])
    assert recording.params["RecordingUrl"] == (
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording.params['RecordingSid']}"
    )
    assert {k: recording.params[k] for k in ("RecordingChannels", "RecordingSource", "SequenceNumber")} == {
        "RecordingChannels": "2",
        "RecordingSource": "DialVerb",
        "SequenceNumber": "3",
    }
    assert (recording.params["RecordingDuration"], recording.params["RecordingStatus"]) == ("42", "completed")

    story = texts(result.story)
    assert 'Say "This call may be recorded."' in story
    dial = (
        "Dial +15551230000 (timeout 25s, record dual) → answered by +15551230000 after 3s, talked 42s "
        "(DialCallDuration 43s)"
    )
    assert dial in story
    assert 'callee hears Say "Google Ads"' in story
    assert story.index(dial) < story.index('callee hears Say "Google Ads"')
    assert any(s.startswith("POST /carriers/twilio/voice → 200 (") for s in story)


def test_no_answer_goes_to_voicemail() -> None:
    server = forwarding_server()
    result = server.call(outcome="no-answer", voicemail_seconds=12)

    # Say 2 s + ring 25 s + Say (4 words, 1.6 s) + message 12 s.
    assert (result.outcome, result.errors, result.duration) == ("voicemail", [], 41)
    assert server.to("/carriers/twilio/whisper") == []
    action = server.to("/carriers/twilio/dial")[0].params
    assert (action["DialCallStatus"], action["DialCallDuration"]) == ("no-answer", "0")
    vm = server.to("/carriers/twilio/voicemail")[0].params
    assert (vm["RecordingDuration"], vm["Digits"]) == ("12", "hangup")
    assert vm["RecordingUrl"].endswith("/Recordings/" + vm["RecordingSid"])
    (recording,) = server.to(RECORDING)
    assert recording.query == ""
    assert (recording.params["RecordingSource"], recording.params["RecordingChannels"]) == ("RecordVerb", "1")
    assert recording.params["RecordingSid"] == vm["RecordingSid"]
    assert server.to(STATUS)[-1].params["CallDuration"] == "41"


def test_voicemail_is_capped_by_max_length() -> None:
    server = forwarding_server()
    result = server.call(outcome="no-answer", voicemail_seconds=500)
    assert result.outcome == "voicemail"
    assert server.to("/carriers/twilio/voicemail")[0].params["RecordingDuration"] == "120"


def test_caller_hanging_up_at_the_prompt_is_a_missed_call() -> None:
    server = forwarding_server()
    result = server.call(outcome="no-answer", voicemail_seconds=0)
    assert (result.outcome, result.errors) == ("missed", [])
    assert server.to("/carriers/twilio/voicemail") == []
    assert server.to(RECORDING) == []


def test_ringing_longer_than_the_timeout_is_no_answer() -> None:
    server = forwarding_server(dial_action=twiml("<Hangup/>"))
    result = server.call(answer_after=26)
    assert result.outcome == "missed"
    assert server.to("/carriers/twilio/dial")[0].params["DialCallStatus"] == "no-answer"
    assert result.duration == 2 + 25


def test_busy_callee() -> None:
    server = forwarding_server()
    result = server.call(outcome="busy", voicemail_seconds=0)
    assert (result.outcome, result.errors) == ("busy", [])
    assert server.to("/carriers/twilio/dial")[0].params["DialCallStatus"] == "busy"


def test_callee_hanging_up_on_the_whisper_is_no_answer() -> None:
    server = forwarding_server(dial_action="")
    server.routes["/carriers/twilio/whisper"] = twiml("<Say>Press nothing</Say><Hangup/>")
    result = server.call(voicemail_seconds=0)
    assert result.outcome == "missed"
    assert server.to("/carriers/twilio/dial")[0].params["DialCallStatus"] == "no-answer"
    assert server.to(RECORDING) == []


def test_dial_without_action_continues_with_the_next_verb() -> None:
    server = FakeServer({VOICE: twiml("<Dial>+15551230000</Dial><Say>Goodbye</Say>")})
    result = server.call(answer_after=2, talk=10)
    assert (result.outcome, result.errors, result.duration) == ("answered", [], 12)
    story = texts(result.story)
    assert story[-5:-3] == ['Say "Goodbye"', "end of TwiML → hang up"]


def test_redirect_pause_play_and_hangup() -> None:
    server = FakeServer(
        {
            VOICE: twiml("<Pause length='4'/><Redirect>/next?step=2</Redirect><Say>never</Say>"),
            "/next": twiml(
                "<Play>https://cdn.example/hold.wav</Play><Pause length='2'/><Hangup/><Say>after</Say>"
            ),
        }
    )
    result = server.call()
    # Pause 4 s + Play (the scenario's 10 s) + Pause 2 s.
    assert (result.outcome, result.errors, result.duration) == ("missed", [], 16)
    redirect = server.to("/next")[0]
    assert (redirect.query, redirect.params["CallStatus"]) == ("step=2", "in-progress")
    story = texts(result.story)
    assert "Play https://cdn.example/hold.wav" in story
    assert "Hangup" in story
    assert 'Say "never"' not in story and 'Say "after"' not in story
    pauses = [step.offset for step in result.story if step.text.startswith("Pause")]
    assert pauses == [0, 14]


def test_redirect_to_an_absolute_url() -> None:
    server = FakeServer(
        {VOICE: twiml("<Redirect>http://elsewhere.test/twiml</Redirect>"), "/twiml": twiml("<Say>hi</Say>")}
    )
    result = server.call()
    assert result.errors == []
    assert server.to("/twiml")[0].headers["host"] == "elsewhere.test"


def test_reject_busy_is_never_picked_up() -> None:
    server = FakeServer({VOICE: twiml('<Reject reason="busy"/>')})
    result = server.call()
    assert (result.outcome, result.errors) == ("busy", [])
    assert [r.params["CallStatus"] for r in server.to(STATUS)] == ["ringing", "busy"]


def test_reject_rejected_fails_and_reports_no_answer() -> None:
    server = FakeServer({VOICE: twiml("<Reject/>")})
    result = server.call()
    assert result.outcome == "failed"
    assert [r.params["CallStatus"] for r in server.to(STATUS)] == ["ringing", "no-answer"]


def test_unknown_verb_fails_the_call_before_anything_plays() -> None:
    server = FakeServer({VOICE: twiml("<Say>Hello</Say><Enqueue>support</Enqueue>")})
    result = server.call()
    assert result.outcome == "failed"
    assert len(result.errors) == 1 and "unsupported verb <Enqueue>" in result.errors[0]
    assert 'Say "Hello"' not in texts(result.story)
    assert [step.kind for step in result.story].count(StepKind.ERROR) == 1
    assert [r.params["CallStatus"] for r in server.to(STATUS)] == ["ringing", "failed"]


def test_unknown_verb_in_whisper_fails_the_call() -> None:
    server = forwarding_server()
    server.routes["/carriers/twilio/whisper"] = twiml("<Record/>")
    result = server.call()
    assert result.outcome == "failed"
    assert "unsupported verb <Record> in a whisper" in result.errors[0]


def test_timeout_is_an_application_error() -> None:
    server = FakeServer({})

    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path == VOICE:
            raise httpx.ReadTimeout("read timed out", request=request)
        return server(request)

    client = httpx.Client(transport=httpx.MockTransport(transport))
    simulator = Simulator("http://ringtrail.test:8000", server.simulator().credentials, client=client)
    result = simulator.place_call(CallScenario(to="+15550001111", from_="+15557654321"))
    assert result.outcome == "failed"
    assert "timed out after 15 s" in result.errors[0]
    assert "application error" in result.errors[0]
    assert [r.params["CallStatus"] for r in server.to(STATUS)] == ["ringing", "failed"]


def test_slow_answer_over_budget_is_an_error() -> None:
    def slow(params: dict[str, str]) -> str:
        time.sleep(0.2)
        return twiml("<Say>late</Say>")

    server = FakeServer({VOICE: slow})
    result = server.simulator(budget=0.1).place_call(CallScenario(to="+15550001111", from_="+15557654321"))
    assert result.outcome == "failed"
    assert "over the 0.1 s budget" in result.errors[0]


def test_non_2xx_unparsable_and_non_xml_answers_fail() -> None:
    cases: dict[str, Route] = {
        "HTTP 500": httpx.Response(500, text="boom"),
        "unparsable TwiML": "<Response><Say>",
        "is not TwiML": httpx.Response(200, text="<html/>", headers={"Content-Type": "text/html"}),
        "empty TwiML": httpx.Response(200, text="", headers={"Content-Type": "text/xml"}),
    }
    for message, answer in cases.items():
        result = FakeServer({VOICE: answer}).call()
        assert result.outcome == "failed", message
        assert message in result.errors[0], (message, result.errors)


def test_failed_action_request_fails_the_call() -> None:
    server = forwarding_server(dial_action="")
    server.routes["/carriers/twilio/dial"] = httpx.Response(502)
    result = server.call()
    assert result.outcome == "failed"
    assert "Dial action /carriers/twilio/dial?call=1: HTTP 502" in result.errors[0]


def test_callback_errors_are_reported_without_changing_the_outcome() -> None:
    server = forwarding_server()
    server.routes[STATUS] = httpx.Response(500)
    result = server.call()
    assert result.outcome == "answered"
    assert len(result.errors) == 3
    assert all("expected 2xx" in error for error in result.errors)


def test_redirect_loops_are_cut_off() -> None:
    server = FakeServer({VOICE: twiml("<Redirect>/carriers/twilio/voice</Redirect>")})
    result = server.call()
    assert result.outcome == "failed"
    assert "redirect loop" in result.errors[0]


def test_extra_params_override_for_hostile_tests() -> None:
    server = FakeServer({VOICE: twiml("<Hangup/>")})
    server.call(extra_params={"AccountSid": "ACforged", "Injected": "<script>"})
    assert server.to(VOICE)[0].params["AccountSid"] == "ACforged"
    assert server.to(VOICE)[0].params["Injected"] == "<script>"


def test_signalwire_sends_both_signature_headers() -> None:
    server = forwarding_server()
    simulator = server.simulator(credentials=Credentials("signalwire", "project-1", TOKEN))
    result = simulator.place_call(CallScenario(to="+15550001111", from_="+15557654321"))
    assert result.errors == []
    for received in server.received:
        assert received.headers["X-SignalWire-Signature"] == received.headers["X-Twilio-Signature"]
        assert received.path.startswith("/carriers/twilio/")


def chaos_callbacks(seed: int) -> list[tuple[str, str]]:
    server = forwarding_server()
    result = server.call(chaos=True, seed=seed)
    assert (result.outcome, result.errors, result.seed) == ("answered", [], seed)
    return [
        (r.path, r.params.get("CallStatus", r.params.get("RecordingStatus", "")))
        for r in server.received
        if r.path in (STATUS, RECORDING)
    ]


def test_chaos_duplicates_and_shuffles_deterministically() -> None:
    first, again, other = chaos_callbacks(7), chaos_callbacks(7), chaos_callbacks(8)
    in_order = [(STATUS, "ringing"), (STATUS, "in-progress"), (STATUS, "completed"), (RECORDING, "completed")]
    assert sorted(first) == sorted(in_order * 2)
    assert first == again
    assert first != in_order * 2
    assert first != other


def test_chaos_replays_the_dial_action_last() -> None:
    server = forwarding_server()
    result = server.call(chaos=True, seed=1)
    actions = server.to("/carriers/twilio/dial")
    assert len(actions) == 2
    assert actions[0].params == actions[1].params
    assert server.received[-1].path == "/carriers/twilio/dial"
    assert texts(result.story)[-1].startswith("Dial action replay: POST /carriers/twilio/dial?call=1 → 204")


def test_given_call_sid_is_used_and_result_serialises() -> None:
    server = forwarding_server()
    sid = "CA" + "ab" * 16
    result = server.call(call_sid=sid, talk=5)
    document = json.loads(json.dumps(result.to_json()))
    assert document["call_sid"] == sid
    assert (document["from"], document["to"], document["outcome"], document["duration"]) == (
        "+15557654321",
        "+15550001111",
        "answered",
        11,
    )
    assert document["errors"] == []
    assert {step["kind"] for step in document["story"]} >= {
        "request",
        "response",
        "verb",
        "callee",
        "callback",
    }
    lines = result.story_lines()
    assert lines[0].startswith(f"Call {sid}")
    assert lines[-1] == "Outcome: answered, 11s, answered by +15551230000"
