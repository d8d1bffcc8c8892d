"""<Gather>: parsing, the pure resolution of a scripted answer, and IVR calls run against a fake server."""

from __future__ import annotations

import httpx
import pytest

from ringtrail.carriers.simulator import CallScenario
from ringtrail.carriers.simulator.gather import resolve
from ringtrail.carriers.simulator.scenario import CallerInput, parse_input
from ringtrail.carriers.simulator.tests.fake_server import BASE_URL, FakeServer, twiml
from ringtrail.carriers.simulator.twiml import GatherVerb, PauseVerb, SayVerb, TwimlError, parse_twiml

VOICE = "/carriers/twilio/voice"
MENU = twiml(
    '<Gather input="dtmf speech" action="/flow/menu?node=1" timeout="4" numDigits="1" finishOnKey="#">'
    "<Say>For sales press 1 or say sales.</Say><Pause length='1'/></Gather>"
    "<Redirect>/flow/no-input?node=1</Redirect>"
)


def ivr_server(**routes: str | httpx.Response) -> FakeServer:
    table: dict[str, str | httpx.Response] = {
        VOICE: MENU,
        "/flow/menu": twiml("<Say>Connecting you.</Say><Hangup/>"),
        "/flow/no-input": twiml("<Say>Goodbye.</Say><Hangup/>"),
    }
    return FakeServer({**table, **routes})


def test_gather_parses_every_attribute_and_its_prompt() -> None:
    (gather,) = parse_twiml(
        '<Response><Gather input="dtmf speech" action="/a" timeout="7" speechTimeout="auto" numDigits="3"'
        ' finishOnKey="*" actionOnEmptyResult="true" method="POST" language="en-US" hints="a, b">'
        "<Say>Menu</Say><Pause length='2'/></Gather></Response>"
    )
    assert gather == GatherVerb(
        inputs=frozenset({"dtmf", "speech"}),
        action="/a",
        timeout=7,
        speech_timeout="auto",
        num_digits=3,
        finish_on_key="*",
        action_on_empty_result=True,
        prompt=(SayVerb("Menu"), PauseVerb(2)),
    )


def test_gather_defaults_follow_twilio() -> None:
    (gather,) = parse_twiml("<Response><Gather/></Response>")
    assert gather == GatherVerb()
    assert (gather.timeout, gather.finish_on_key, gather.dtmf, gather.speech, gather.action) == (
        5,
        "#",
        True,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<Gather><Dial>+15550001111</Dial></Gather>", "not allowed inside <Gather>"),
        ("<Gather><Gather/></Gather>", "not allowed inside <Gather>"),
        ('<Gather input="touch"/>', "must be dtmf, speech"),
        ('<Gather finishOnKey="ab"/>', "finishOnKey"),
        ('<Gather numDigits="0"/>', "at least 1"),
        ('<Gather timeout="soon"/>', "not a whole number"),
        ('<Gather action=""/>', "empty"),
        ('<Gather actionOnEmptyResult="maybe"/>', "true or false"),
        ('<Gather method="PUT"/>', "GET or POST"),
        ('<Gather method="GET"/>', "only POSTs"),
    ],
)
def test_bad_gathers_are_rejected(body: str, message: str) -> None:
    with pytest.raises(TwimlError, match=message):
        parse_twiml(f"<Response>{body}</Response>")


def test_inputs_are_keys_speech_or_silence() -> None:
    assert parse_input("12#") == CallerInput(digits="12#")
    assert parse_input("say:billing please") == CallerInput(speech="billing please")
    assert parse_input("say:billing@0.5") == CallerInput(speech="billing", confidence=0.5)
    assert parse_input(None) is None and parse_input("") is None
    for bad in ("12a", "say:", "say:x@2", "say:x@high"):
        with pytest.raises(ValueError, match=r"input|confidence"):
            parse_input(bad)
    with pytest.raises(ValueError, match="neither keys"):
        CallScenario(to="+1", from_="+2", inputs=("1", "x"))


def test_resolve_keys_speech_and_silence() -> None:
    menu = GatherVerb(inputs=frozenset({"dtmf"}), num_digits=1)
    assert resolve(menu, CallerInput(digits="27")).params == {"Digits": "2", "FinishedOnKey": ""}
    pin = GatherVerb(timeout=6)
    finished = resolve(pin, CallerInput(digits="1234#9"))
    assert finished.params == {"Digits": "1234", "FinishedOnKey": "#"}
    waited = resolve(pin, CallerInput(digits="12"))
    assert waited.params == {"Digits": "12", "FinishedOnKey": ""}
    # Without finishOnKey or numDigits, Twilio submits after `timeout` seconds without a key.
    assert waited.seconds == pytest.approx(1.0 + 2 * 0.5 + 6)
    assert resolve(pin, CallerInput(digits="#")).params is None
    silence = resolve(pin, None)
    assert (silence.params, silence.seconds) == (None, 6)
    speech = GatherVerb(inputs=frozenset({"speech"}), timeout=3, speech_timeout="auto")
    said = resolve(speech, CallerInput(speech="billing", confidence=0.81))
    assert said.params == {"SpeechResult": "billing", "Confidence": "0.81"}
    assert resolve(speech, CallerInput(digits="1")).params is None
    assert resolve(menu, CallerInput(speech="sales")).params is None


def test_digit_goes_to_the_action_with_twilios_parameters() -> None:
    server = ivr_server()
    result = server.call(inputs=("2",))
    assert (result.outcome, result.errors) == ("missed", [])
    (action,) = server.to("/flow/menu")
    assert action.query == "node=1"
    assert (action.params["Digits"], action.params["FinishedOnKey"]) == ("2", "")
    assert (action.params["CallSid"], action.params["CallStatus"]) == (result.call_sid, "in-progress")
    assert "SpeechResult" not in action.params
    assert server.to("/flow/no-input") == []
    # Prompt: Say (7 words, 2.8 s) + Pause 1 s; then 1 s to react and 0.5 s for the key.
    steps = {step.text: step.offset for step in result.story}
    assert steps["caller presses 2 (complete)"] == pytest.approx(5.3)


def test_speech_goes_to_the_action_with_its_confidence() -> None:
    server = ivr_server()
    result = server.call(inputs=("say:billing department@0.77",))
    assert result.errors == []
    action = server.to("/flow/menu")[0].params
    assert (action["SpeechResult"], action["Confidence"]) == ("billing department", "0.77")
    assert "Digits" not in action


def test_silence_falls_through_to_the_next_verb_after_the_timeout() -> None:
    server = ivr_server()
    result = server.call(inputs=(None,))
    assert result.errors == []
    assert server.to("/flow/menu") == []
    assert len(server.to("/flow/no-input")) == 1
    redirect = next(step for step in result.story if step.text.startswith("Redirect"))
    assert redirect.offset == pytest.approx(2.8 + 1 + 4)


def test_action_on_empty_result_posts_without_input() -> None:
    server = ivr_server(**{VOICE: MENU.replace('timeout="4"', 'timeout="4" actionOnEmptyResult="true"')})
    result = server.call()
    assert result.errors == []
    (action,) = server.to("/flow/menu")
    assert "Digits" not in action.params and "SpeechResult" not in action.params
    assert server.to("/flow/no-input") == []


def test_gather_without_action_posts_to_its_own_document() -> None:
    server = FakeServer(
        {
            VOICE: twiml("<Redirect>/flow/step?n=3</Redirect>"),
            "/flow/step": lambda params: (
                twiml("<Hangup/>") if "Digits" in params else twiml("<Gather numDigits='2'/>")
            ),
        }
    )
    result = server.call(inputs=("42",))
    assert result.errors == []
    posted = server.to("/flow/step")
    assert [(r.query, r.params.get("Digits")) for r in posted] == [("n=3", None), ("n=3", "42")]


def test_inputs_are_used_in_order_across_menus() -> None:
    server = FakeServer(
        {
            VOICE: twiml("<Gather action='/m1' numDigits='1'><Say>Main</Say></Gather>"),
            "/m1": twiml(
                "<Gather action='/m2' input='speech'><Say>Which?</Say></Gather><Redirect>/none</Redirect>"
            ),
            "/m2": twiml("<Gather action='/m3'/><Redirect>/none</Redirect>"),
            "/none": twiml("<Hangup/>"),
        }
    )
    result = server.call(inputs=("3", "say:support", None))
    assert result.errors == []
    assert server.to("/m1")[0].params["Digits"] == "3"
    assert server.to("/m2")[0].params["SpeechResult"] == "support"
    assert server.to("/m3") == [] and len(server.to("/none")) == 1


def test_caller_abandons_at_the_second_gather() -> None:
    server = FakeServer(
        {
            VOICE: twiml("<Gather action='/m1' numDigits='1'><Say>Main</Say></Gather>"),
            "/m1": twiml("<Gather action='/m2'><Say>Account number</Say></Gather><Say>Bye</Say>"),
        }
    )
    result = server.call(inputs=("1", "1234#"), hangup_at_gather=2)
    assert (result.outcome, result.errors, result.caller_hung_up) == ("missed", [], True)
    assert server.to("/m2") == []
    assert "caller hangs up at Gather #2 without answering" in [step.text for step in result.story]
    assert [r.params["CallStatus"] for r in server.to("/carriers/twilio/status")][-1] == "completed"


def test_caller_hangs_up_after_some_seconds_mid_prompt() -> None:
    server = ivr_server()
    result = server.call(inputs=("1",), hangup_after=2.0)
    assert (result.caller_hung_up, result.duration) == (True, 2)
    assert server.to("/flow/menu") == []
    assert server.to("/carriers/twilio/status")[-1].params["CallDuration"] == "2"


def test_a_failing_gather_action_is_an_application_error() -> None:
    server = ivr_server(**{"/flow/menu": httpx.Response(500)})
    result = server.call(inputs=("1",))
    assert result.outcome == "failed"
    assert "Gather action /flow/menu?node=1: HTTP 500" in result.errors[0]


def test_a_gather_in_a_redirect_loop_is_cut_off() -> None:
    server = FakeServer({VOICE: twiml("<Gather/>")})
    result = server.call(inputs=("1",) * 60)
    assert result.outcome == "failed"
    assert "redirect loop" in result.errors[0]
    assert server.received[0].headers["host"] == BASE_URL.removeprefix("http://")
