"""<Dial> with several targets, each a scripted callee, with and without a press-1 whisper."""

from __future__ import annotations

import httpx

from ringtrail.carriers.simulator import Callee, CallResult
from ringtrail.carriers.simulator.tests.fake_server import FakeServer, Received, twiml

VOICE = "/carriers/twilio/voice"
A, B, C = "+15551230001", "+15551230002", "+15551230003"
PRESS_ONE = twiml(
    "<Gather numDigits='1' action='/whisper/accept' timeout='5'><Say>Call from Google Ads. Press 1.</Say>"
    "</Gather><Hangup/>"
)


def ring(*targets: str, whisper: bool = False, timeout: int = 20) -> FakeServer:
    url = ' url="/whisper"' if whisper else ""
    numbers = "".join(f"<Number{url}>{target}</Number>" for target in targets)
    return FakeServer(
        {
            VOICE: twiml(f'<Dial timeout="{timeout}" action="/dial-done">{numbers}</Dial>'),
            "/dial-done": httpx.Response(204),
            "/whisper": PRESS_ONE,
            "/whisper/accept": lambda params: (
                httpx.Response(204) if params.get("Digits") == "1" else twiml("<Hangup/>")
            ),
        }
    )


def dial_action(server: FakeServer) -> dict[str, str]:
    (action,) = server.to("/dial-done")
    return action.params


def texts(result: CallResult) -> list[str]:
    return [step.text for step in result.story]


def test_first_target_to_answer_wins_and_the_others_are_canceled() -> None:
    server = ring(A, B, C)
    callees = {A: Callee(answer_after=9), B: Callee(answer_after=4, talk=20), C: Callee(outcome="busy")}
    result = server.call(callees=callees)
    assert (result.outcome, result.errors, result.answered_by) == ("answered", [], B)
    action = dial_action(server)
    assert (action["DialCallStatus"], action["DialCallDuration"], action["DialBridged"]) == (
        "completed",
        "20",
        "true",
    )
    assert result.duration == 24
    story = texts(result)
    assert f"{A}: canceled" in story and f"{B}: completed" in story and f"{C}: busy" in story


def test_all_busy_is_busy_and_any_unanswered_is_no_answer() -> None:
    busy = ring(A, B)
    result = busy.call(callees={A: Callee(outcome="busy"), B: Callee(outcome="busy")})
    assert (dial_action(busy)["DialCallStatus"], result.outcome, result.duration) == ("busy", "busy", 0)

    mixed = ring(A, B, timeout=15)
    result = mixed.call(callees={A: Callee(outcome="busy"), B: Callee(outcome="no-answer")})
    action = dial_action(mixed)
    assert (action["DialCallStatus"], action["DialBridged"], result.duration) == ("no-answer", "false", 15)

    failed = ring(A)
    failed.call(callees={A: Callee(outcome="failed")})
    assert dial_action(failed)["DialCallStatus"] == "failed"


def test_answering_after_the_timeout_is_no_answer() -> None:
    server = ring(A, timeout=10)
    result = server.call(callees={A: Callee(answer_after=11)})
    assert (dial_action(server)["DialCallStatus"], result.duration, result.answered_by) == (
        "no-answer",
        10,
        None,
    )


def test_unlisted_targets_follow_the_scenario() -> None:
    server = ring(A, B)
    result = server.call(outcome="busy", callees={B: Callee(answer_after=2, talk=5)})
    assert (result.answered_by, dial_action(server)["DialCallStatus"]) == (B, "completed")


def test_whisper_press_one_connects_the_callee() -> None:
    server = ring(A, whisper=True)
    result = server.call(callees={A: Callee(answer_after=3, talk=30)})
    assert (result.outcome, result.errors, result.answered_by) == ("answered", [], A)
    (whisper,) = server.to("/whisper")
    (accept,) = server.to("/whisper/accept")
    assert accept.params["Digits"] == "1"
    assert accept.params["CallSid"] == whisper.params["CallSid"] == dial_action(server)["DialCallSid"]
    assert (accept.params["Direction"], accept.params["To"]) == ("outbound-dial", A)
    # The whisper's 6 words (2.4 s) and the key press (1.5 s) are part of the dialled call.
    assert dial_action(server)["DialCallDuration"] == str(round(2.4 + 1.5 + 30))
    assert "callee presses 1 (complete)" in texts(result)


def test_a_callee_who_does_not_press_one_drops_out_and_the_next_one_is_connected() -> None:
    server = ring(A, B, whisper=True)
    callees = {A: Callee(answer_after=2, accept_whisper=None), B: Callee(answer_after=6, accept_whisper="1")}
    result = server.call(callees=callees)
    assert (result.outcome, result.answered_by) == ("answered", B)
    assert [r.params["To"] for r in server.to("/whisper")] == [A, B]
    assert [r.params["To"] for r in server.to("/whisper/accept")] == [B]
    story = texts(result)
    assert f"{A}: whisper hangs up → not connected" in story
    assert f"{A}: declined" in story and f"{B}: completed" in story


def test_a_wrong_key_on_the_whisper_is_declined_and_the_dial_is_no_answer() -> None:
    server = ring(A, whisper=True)
    result = server.call(callees={A: Callee(accept_whisper="9")}, voicemail_seconds=0)
    action = dial_action(server)
    assert (action["DialCallStatus"], action["DialBridged"], result.outcome) == (
        "no-answer",
        "false",
        "missed",
    )
    assert server.to("/carriers/twilio/recording") == []


def test_caller_hanging_up_while_it_rings_still_reports_the_dial() -> None:
    server = ring(A, B)
    result = server.call(callees={A: Callee(answer_after=8), B: Callee(outcome="no-answer")}, hangup_after=5)
    assert (result.caller_hung_up, result.duration, result.answered_by) == (True, 5, None)
    action = dial_action(server)
    assert (action["DialCallStatus"], action["CallStatus"]) == ("no-answer", "completed")


def test_caller_hanging_up_mid_conversation_cuts_the_talk() -> None:
    server = ring(A)
    result = server.call(callees={A: Callee(answer_after=3, talk=100)}, hangup_after=30)
    assert (result.outcome, result.duration, result.caller_hung_up) == ("answered", 30, True)
    assert dial_action(server)["DialCallDuration"] == "27"


def test_whisper_redirect_loops_are_cut_off() -> None:
    server = ring(A, whisper=True)
    server.routes["/whisper"] = twiml("<Redirect>/whisper</Redirect>")
    result = server.call()
    assert result.outcome == "failed"
    assert "whisper documents; redirect loop?" in result.errors[0]


def test_whisper_gather_without_action_posts_to_the_whisper() -> None:
    server = ring(A, whisper=True)

    def whisper(params: dict[str, str]) -> str | httpx.Response:
        return (
            httpx.Response(204) if params.get("Digits") == "1" else twiml("<Gather numDigits='1'/><Hangup/>")
        )

    server.routes["/whisper"] = whisper
    result = server.call()
    assert (result.answered_by, result.errors) == (A, [])
    posted: list[Received] = server.to("/whisper")
    assert [r.params.get("Digits") for r in posted] == [None, "1"]


def test_sip_targets_are_scripted_by_their_uri() -> None:
    server = FakeServer({VOICE: twiml("<Dial><Sip>sip:desk@pbx.example.com</Sip></Dial>")})
    result = server.call(callees={"sip:desk@pbx.example.com": Callee(outcome="busy")})
    assert (result.outcome, result.answered_by) == ("busy", None)


def test_whispers_run_side_by_side_and_the_first_to_accept_wins() -> None:
    server = ring(A, B, whisper=True)
    long_prompt = "This is a call from the website about an order. " * 3  # 30 words: 12 s

    def whisper(params: dict[str, str]) -> str:
        prompt = long_prompt if params["To"] == A else "Press 1."
        return twiml(f"<Gather numDigits='1' action='/whisper/accept'><Say>{prompt}</Say></Gather><Hangup/>")

    server.routes["/whisper"] = whisper
    result = server.call(callees={A: Callee(answer_after=2), B: Callee(answer_after=4, talk=10)})
    assert (result.answered_by, result.errors) == (B, [])
    assert [r.params["To"] for r in server.to("/whisper")] == [A, B]
    # A picked up first but was still listening when B pressed 1, so A's key is never sent.
    assert [r.params["To"] for r in server.to("/whisper/accept")] == [B]
    story = texts(result)
    assert f"{A}: canceled" in story and f"{B}: completed" in story
    pressed = next(step for step in result.story if step.text == f"{B} presses 1 (complete)")
    assert pressed.offset == 4 + 0.8 + 1.5
