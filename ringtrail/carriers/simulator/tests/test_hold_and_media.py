"""Queue hold loops on the virtual clock, and recordings' audio served over real local HTTP."""

from __future__ import annotations

import io
import json
import wave

import httpx
import pytest

from ringtrail.carriers.simulator import Callee, CallScenario, RecordingServer, Simulator
from ringtrail.carriers.simulator.audio import recording_wav
from ringtrail.carriers.simulator.tests.fake_server import BASE_URL, CREDENTIALS, FakeServer, twiml

VOICE = "/carriers/twilio/voice"
A, B, C = "+15551230001", "+15551230002", "+15551230003"
# Say (4 words, 1.6 s) + Play (10 s by default) + ring the members for 5 s: 16.6 s a round.
ROUND = 1.6 + 10 + 5


def queue_server(answer_on_round: int | None = None) -> FakeServer:
    rounds: list[int] = []

    def queue(params: dict[str, str]) -> str:
        rounds.append(1)
        members = f"<Number>{A}</Number><Number>{B}</Number>"
        if answer_on_round is not None and len(rounds) >= answer_on_round:
            members += f"<Number>{C}</Number>"
        return twiml(
            "<Say>All agents are busy.</Say><Play>https://cdn.example/hold.wav</Play>"
            f"<Dial timeout='5' action='/queue/dial'>{members}</Dial>"
        )

    def after_dial(params: dict[str, str]) -> str | httpx.Response:
        return (
            httpx.Response(204)
            if params["DialCallStatus"] == "completed"
            else twiml("<Redirect>/queue</Redirect>")
        )

    return FakeServer(
        {VOICE: twiml("<Redirect>/queue</Redirect>"), "/queue": queue, "/queue/dial": after_dial}
    )


def no_answer() -> dict[str, Callee]:
    return {
        A: Callee(outcome="no-answer"),
        B: Callee(outcome="no-answer"),
        C: Callee(answer_after=3, talk=60),
    }


def test_caller_holding_until_they_give_up() -> None:
    server = queue_server()
    result = server.call(callees=no_answer(), hangup_after=120)
    assert (result.outcome, result.errors, result.caller_hung_up) == ("missed", [], True)
    assert (result.duration, result.hold_seconds) == (120, 120)
    assert len(server.to("/queue")) == 8  # 7 full rounds of 16.6 s, hung up in the 8th
    assert server.to("/carriers/twilio/status")[-1].params["CallDuration"] == "120"


def test_hold_ends_when_a_member_answers_and_talk_is_not_holding() -> None:
    server = queue_server(answer_on_round=3)
    result = server.call(callees=no_answer())
    assert (result.outcome, result.answered_by, result.errors) == ("answered", C, [])
    assert result.hold_seconds == round(2 * ROUND + 1.6 + 10 + 3)
    assert result.duration == round(2 * ROUND + 1.6 + 10 + 3 + 60)
    assert "held" in result.story_lines()[-1]


def test_endless_hold_without_a_hangup_is_bounded_by_the_document_cap() -> None:
    server = FakeServer({VOICE: twiml("<Pause length='1'/><Redirect>/carriers/twilio/voice</Redirect>")})
    result = server.call()
    assert result.outcome == "failed"
    assert "more than 50 TwiML documents" in result.errors[0]
    assert result.hold_seconds == 50


def test_generated_wav_has_the_recordings_length_and_channels() -> None:
    with wave.open(io.BytesIO(recording_wav(3, channels=2))) as audio:
        assert (audio.getnchannels(), audio.getframerate(), audio.getsampwidth()) == (2, 8000, 2)
        assert audio.getnframes() == 3 * 8000
    with pytest.raises(ValueError, match="one or two channels"):
        recording_wav(1, channels=3)


def test_recordings_are_served_where_the_callbacks_point() -> None:
    server = FakeServer(
        {
            VOICE: twiml(
                f"<Dial record='record-from-answer-dual' action='/dial'><Number>{A}</Number></Dial>"
            ),
            "/dial": twiml("<Say>Leave a message.</Say><Record action='/vm' maxLength='30'/>"),
            "/vm": httpx.Response(204),
        }
    )
    client = httpx.Client(transport=httpx.MockTransport(server))
    with RecordingServer() as media:
        simulator = Simulator(BASE_URL, CREDENTIALS, client=client, recordings=media)
        result = simulator.place_call(
            CallScenario(to="+15550001111", from_="+15557654321", talk=4, voicemail_seconds=6)
        )
        assert result.errors == []
        callbacks = [r.params for r in server.to("/carriers/twilio/recording")]
        assert [c["RecordingSource"] for c in callbacks] == ["DialVerb", "RecordVerb"]
        assert server.to("/vm")[0].params["RecordingUrl"] == callbacks[1]["RecordingUrl"]
        for callback, channels in zip(callbacks, (2, 1), strict=True):
            url = callback["RecordingUrl"]
            assert url.startswith(media.url + "/2010-04-01/Accounts/") and url.endswith(
                callback["RecordingSid"]
            )
            response = httpx.get(url)
            assert (response.status_code, response.headers["content-type"]) == (200, "audio/x-wav")
            with wave.open(io.BytesIO(response.content)) as audio:
                assert audio.getnchannels() == channels
                assert audio.getnframes() / audio.getframerate() == int(callback["RecordingDuration"])
            assert httpx.get(url + ".wav").content == response.content
            metadata = httpx.get(url + ".json").json()
            assert (metadata["sid"], metadata["duration"]) == (
                callback["RecordingSid"],
                callback["RecordingDuration"],
            )


def test_recording_server_refuses_what_it_does_not_have() -> None:
    with RecordingServer() as media:
        sid = "RE" + "0" * 32
        url = media.publish("AC1", sid, 2, 1)
        missing = httpx.get(url.replace(sid, "RE" + "1" * 32))
        assert missing.status_code == 404
        assert set(json.loads(missing.text)) == {"code", "message", "more_info", "status"}
        assert httpx.get(url.replace("/AC1/", "/AC2/")).status_code == 404
        assert httpx.get(url + ".mp3").status_code == 404
        assert httpx.post(url).status_code == 405
        assert httpx.get(media.url + "/../../etc/passwd").status_code == 404
        assert httpx.head(url).status_code == 200
