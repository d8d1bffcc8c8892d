"""Focused unit tests (no database) for the bugs the scenario suite found: who answered a dial the
carrier does not name, calls dialled more than once, geocoded areas known only by their state, and
hold loops whose callback URLs change every round."""

from __future__ import annotations

import itertools

import httpx

from ringtrail.calls.lifecycle import EventFacts, fold
from ringtrail.carriers.base import CallerArea, Dial, Gather
from ringtrail.carriers.simulator.state import document_shape
from ringtrail.carriers.simulator.tests.fake_server import FakeServer, twiml
from ringtrail.carriers.simulator.twiml import parse_twiml
from ringtrail.flows.context import StepInput
from ringtrail.flows.engine import decide
from ringtrail.flows.geo import caller_state, matching_rule
from ringtrail.flows.position import decode_position
from ringtrail.flows.regions import region_code

from .support import ANSWERED, call, context, flow, only


def test_one_dialled_target_is_who_answered_even_unnamed() -> None:
    document = flow({"f": {"type": "forward", "targets": [{"receiving_number": 2}]}})
    _, answered = call(document, ANSWERED)  # Twilio's Dial action names no <Number>
    assert answered.trail[-1].outcome == "answered" and answered.trail[-1].receiving_number == 2
    several = flow({"f": {"type": "forward", "targets": [{"receiving_number": n} for n in (1, 2)]}})
    assert call(several, ANSWERED)[1].trail[-1].receiving_number is None  # the wiring asks the legs


def test_queue_with_one_member_names_it() -> None:
    document = flow({"q": {"type": "queue", "members": [3]}})
    assert call(document, ANSWERED)[1].trail[-1].receiving_number == 3


def test_whisper_and_accept_name_the_leg_they_ran_on() -> None:
    whisper = {"text": "Call.", "require_accept": True}
    step = {"type": "forward", "targets": [{"receiving_number": n} for n in (1, 2, 3)], "whisper": whisper}
    document = flow({"f": step})
    first = decide(document, context())
    leg_at = decode_position(only(first, Dial).targets[2].whisper.params["fp"])
    leg = decide(document, context(), leg_at)
    assert [(e.outcome, e.receiving_number) for e in leg.trail] == [("whisper", 3)]
    accept_at = decode_position(str(only(leg, Gather).action.params["fp"]))
    accepted = decide(document, context(), accept_at, StepInput(digits="1"))
    assert [(e.outcome, e.receiving_number) for e in accepted.trail] == [("accepted", 3)]


def test_an_answered_dial_wins_whatever_order_the_dials_fold_in() -> None:
    # A sequential forward: the first target rang out, the second answered. Dial results carry no
    # sequence number, so their idempotency keys are hashes in no particular order.
    events = [
        EventFacts("dial", 900, "no-answer", dial_duration=0),
        EventFacts("dial", 100, "completed", dial_duration=42),
        EventFacts("dial", 500, "busy", dial_duration=0),
    ]
    for order in itertools.permutations(events):
        state = fold([*order, *order])
        assert (state.outcome, state.talk_seconds) == ("answered", 42)
    # Among unanswered dials the last by sequence still decides, as for a single dial.
    assert fold([events[0], events[2]]).outcome == "missed" and fold([events[2]]).outcome == "busy"


def test_geocoded_state_only_areas_match_state_rules() -> None:
    oregon = CallerArea(city="Oregon", country="US", origin="geocoder")
    washington = CallerArea(city="Washington State", country="US", origin="geocoder")
    portland = CallerArea(city="Portland", state="OR", country="US", origin="carrier")
    assert [caller_state(area) for area in (oregon, washington, portland)] == ["OR", "WA", "OR"]
    assert caller_state(CallerArea(city="Springfield", country="US")) == ""
    step = flow(
        {
            "g": {
                "type": "geo",
                "rules": [{"states": ["Oregon", "wa"], "next": "x"}],
                "default": "x",
            },
            "x": {"type": "hangup"},
        }
    ).steps["g"]
    assert [matching_rule(step, area, "") for area in (oregon, washington, portland)] == [0, 0, 0]  # type: ignore[arg-type]
    assert region_code(" british  columbia ") == "BC" and region_code("zz") == "ZZ"


def test_document_shape_ignores_callback_urls_only() -> None:
    def shape(fp: str, member: str = "+15551230001") -> str:
        return document_shape(
            parse_twiml(
                twiml(
                    f"<Say>Hold on.</Say><Pause length='5'/><Dial timeout='5' action='/flow?fp={fp}'>"
                    f"<Number url='/flow?fp=w{fp}'>{member}</Number></Dial><Redirect>/flow?fp={fp}</Redirect>"
                )
            )
        )

    assert shape("q.2") == shape("q.3") and shape("q.2") != shape("q.2", member="+15551230002")


def test_hold_loops_with_fresh_urls_every_round_count_as_hold() -> None:
    rounds = itertools.count(1)

    def hold(params: dict[str, str]) -> str | httpx.Response:
        if params.get("DialCallStatus") == "completed":
            return httpx.Response(204)
        return twiml(
            f"<Pause length='10'/><Dial timeout='5' action='/hold?r={next(rounds)}'>"
            "<Number>+15551230001</Number></Dial>"
        )

    server = FakeServer({"/carriers/twilio/voice": twiml("<Redirect>/hold?r=0</Redirect>"), "/hold": hold})
    result = server.call(outcome="no-answer", hangup_after=61)
    assert result.caller_hung_up and result.hold_seconds == 61
