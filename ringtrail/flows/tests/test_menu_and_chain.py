"""The engine on greetings, menus, schedules and geo branches: one hop at a time, pure."""

from __future__ import annotations

import datetime as dt

import pytest

from ringtrail.carriers.base import CallerArea, Gather, Hangup, Hook, Play, Redirect, Say
from ringtrail.flows.context import EventKind, Phase, StepInput
from ringtrail.flows.engine import decide
from ringtrail.flows.position import decode_position

from .support import DIGIT_1, SILENCE, call, context, flow, kinds, only, trail

MENU = flow(
    {
        "greet": {"type": "say", "text": "Thanks for calling Acme.", "next": "main"},
        "main": {
            "type": "menu",
            "prompt": "For sales press 1 or say sales. For support press 2.",
            "options": {"1": "sales", "sales": "sales", "2": "support", "#": "operator"},
            "speech": True,
            "speech_hints": ["support"],
            "retries": 2,
            "invalid_prompt": "That is not an option.",
            "no_input": "vm",
        },
        "sales": {"type": "say", "text": "Sales it is.", "next": "bye"},
        "support": {"type": "say", "text": "Support it is.", "next": "bye"},
        "operator": {"type": "say", "text": "Operator.", "next": "bye"},
        "vm": {"type": "voicemail"},
        "bye": {"type": "hangup", "message": "Goodbye."},
    }
)


def test_greeting_chains_into_the_menu_in_one_hop() -> None:
    first = decide(MENU, context())
    assert kinds(first) == ["Say", "Gather", "Redirect"]
    gather = only(first, Gather)
    assert gather.dtmf and gather.speech and gather.num_digits == 1 and gather.timeout_seconds == 5
    assert gather.speech_hints == ("support", "sales") and gather.finish_on_key == ""  # "#" is an option
    assert gather.prompt == (Say("For sales press 1 or say sales. For support press 2."),)
    assert trail(first) == [("greet", "enter", ""), ("greet", "leave", "spoken"), ("main", "enter", "")]
    assert first.waiting_at is not None and first.waiting_at.step == "main" and not first.ended


def test_gather_and_its_timeout_redirect_point_back_to_the_menu() -> None:
    first = decide(MENU, context())
    action = decode_position(only(first, Gather).action.params["fp"])
    timeout = decode_position(only(first, Redirect).target.params["fp"])
    assert only(first, Gather).action.hook is Hook.FLOW
    assert (action.step, action.phase, action.hop, action.attempt) == ("main", Phase.INPUT, 1, 0)
    assert (timeout.step, timeout.phase, timeout.hop) == ("main", Phase.TIMEOUT, 1)
    assert action.entered_at == int(context().now.timestamp())


@pytest.mark.parametrize(
    ("given", "choice", "said"),
    [
        (DIGIT_1, "1", "Sales it is."),
        (StepInput(digits="2"), "2", "Support it is."),
        (StepInput(digits="#"), "#", "Operator."),
        (StepInput(speech="Sales, please."), "sales", "Sales it is."),
        (StepInput(speech="I'd like to talk to SALES"), "sales", "Sales it is."),
        (StepInput(speech="two"), "2", "Support it is."),
        (StepInput(speech="to"), "2", "Support it is."),
        (StepInput(speech="option 2"), "2", "Support it is."),
        (StepInput(speech="pound"), "#", "Operator."),
    ],
)
def test_a_choice_takes_its_branch(given: StepInput, choice: str, said: str) -> None:
    _, chosen = call(MENU, given)
    assert chosen.decision.steps == (Say(said), Say("Goodbye."), Hangup())
    assert trail(chosen)[0] == ("main", "leave", f"choice {choice}")
    assert chosen.ended


def test_digits_win_over_speech_and_keypad_keys_never_match_speech_only_menus() -> None:
    _, chosen = call(MENU, StepInput(digits="2", speech="sales"))
    assert trail(chosen)[0] == ("main", "leave", "choice 2")
    speech_only = flow(
        {
            "m": {
                "type": "menu",
                "prompt": "Say yes",
                "keypad": False,
                "speech": True,
                "options": {"yes": "e"},
            },
            "e": {"type": "hangup"},
        }
    )
    first, retry = call(speech_only, StepInput(digits="1"))
    assert only(first, Gather).num_digits is None and not only(first, Gather).dtmf
    assert trail(retry) == [("m", "stay", "invalid")]


def test_invalid_input_reprompts_with_the_invalid_prompt() -> None:
    _, retry = call(MENU, StepInput(digits="7"))
    assert kinds(retry) == ["Say", "Gather", "Redirect"]
    assert retry.decision.steps[0] == Say("That is not an option.")
    assert trail(retry) == [("main", "stay", "invalid")]
    assert retry.waiting_at is not None and retry.waiting_at.attempt == 1 and retry.waiting_at.hop == 2


def test_timeout_reprompts_without_the_invalid_prompt() -> None:
    first = decide(MENU, context())
    timeout_position = decode_position(only(first, Redirect).target.params["fp"])
    retry = decide(MENU, context(), timeout_position, None)
    assert kinds(retry) == ["Gather", "Redirect"]
    assert trail(retry) == [("main", "stay", "timeout")]


def test_empty_gather_counts_as_a_timeout() -> None:
    _, retry = call(MENU, StepInput(digits="", speech=""))
    assert trail(retry) == [("main", "stay", "timeout")]


def test_retries_exhausted_take_the_no_input_branch() -> None:
    outcomes = call(MENU, SILENCE, StepInput(digits="9"), SILENCE)
    assert [trail(o)[0][2] for o in outcomes[1:]] == ["timeout", "invalid", "timeout, no retries left"]
    last = outcomes[-1]
    assert kinds(last) == ["Say", "Record", "Hangup"] and last.ended
    assert trail(last)[1:] == [("vm", "enter", ""), ("vm", "leave", "voicemail")]


def test_retries_exhausted_without_a_branch_is_a_polite_goodbye() -> None:
    single = flow(
        {
            "m": {"type": "menu", "prompt": "Press 1", "options": {"1": "e"}, "retries": 0},
            "e": {"type": "hangup"},
        }
    )
    _, last = call(single, StepInput(digits="5"))
    assert kinds(last) == ["Say", "Hangup"] and "valid choice" in last.decision.steps[0].text  # type: ignore[union-attr]
    assert trail(last) == [("m", "leave", "invalid, no retries left")]


def test_audio_prompt_and_language() -> None:
    audio = flow(
        {
            "m": {
                "type": "menu",
                "prompt_url": "https://cdn.example.com/menu.mp3",
                "options": {"1": "e"},
                "language": "es-MX",
                "timeout_seconds": 9,
            },
            "e": {"type": "hangup"},
        }
    )
    gather = only(decide(audio, context()), Gather)
    assert gather.prompt == (Play("https://cdn.example.com/menu.mp3"),) and gather.language == "es-MX"
    assert gather.timeout_seconds == 9 and gather.finish_on_key == "#" and not gather.speech


def test_play_step_and_dead_end_hang_up() -> None:
    played = flow({"p": {"type": "play", "url": "https://cdn.example.com/hi.mp3"}})
    outcome = decide(played, context())
    assert outcome.decision.steps == (Play("https://cdn.example.com/hi.mp3"), Hangup())
    assert trail(outcome) == [("p", "enter", ""), ("p", "leave", "played")] and outcome.ended


SCHEDULE = flow(
    {
        "hours": {
            "type": "schedule",
            "hours": {"mon": [["09:00", "17:00"]], "fri": [["22:00", "02:00"]], "sun": [["12:00", "24:00"]]},
            "holidays": ["2026-12-25"],
            "open": "open",
            "closed": "closed",
            "holiday": "holiday",
        },
        "open": {"type": "hangup", "message": "open"},
        "closed": {"type": "hangup", "message": "closed"},
        "holiday": {"type": "hangup", "message": "holiday"},
    }
)


def said(outcome: object) -> str:
    return next(step.text for step in outcome.decision.steps if isinstance(step, Say))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("utc", "zone", "branch"),
    [
        (dt.datetime(2026, 11, 23, 15, 0), "America/New_York", "open"),  # Mon 10:00 EST
        (dt.datetime(2026, 11, 23, 13, 59), "America/New_York", "closed"),  # Mon 08:59 EST
        (dt.datetime(2026, 11, 23, 14, 0), "America/New_York", "open"),  # Mon 09:00 EST, start inclusive
        (dt.datetime(2026, 11, 23, 22, 0), "America/New_York", "closed"),  # Mon 17:00 EST, end exclusive
        (dt.datetime(2026, 11, 23, 15, 0), "Asia/Tokyo", "closed"),  # Tue 00:00 in Tokyo
        (dt.datetime(2026, 11, 28, 5, 30), "America/New_York", "open"),  # Sat 00:30, Friday's overnight
        (dt.datetime(2026, 11, 28, 7, 0), "America/New_York", "closed"),  # Sat 02:00, overnight ended
        (dt.datetime(2026, 11, 30, 4, 59), "America/New_York", "open"),  # Sun 23:59, "24:00" end
        (dt.datetime(2026, 11, 30, 5, 0), "America/New_York", "closed"),  # Mon 00:00
        (dt.datetime(2026, 12, 25, 15, 0), "America/New_York", "holiday"),  # a Friday, but Christmas
        (dt.datetime(2026, 12, 26, 4, 0), "America/New_York", "holiday"),  # still the 25th in New York
        (dt.datetime(2026, 12, 26, 4, 0), "Europe/London", "closed"),  # already the 26th in London
    ],
)
def test_schedule_branches_in_the_account_time_zone(utc: dt.datetime, zone: str, branch: str) -> None:
    outcome = decide(SCHEDULE, context(now=utc.replace(tzinfo=dt.UTC), account_time_zone=zone))
    assert said(outcome) == branch
    assert trail(outcome)[1] == ("hours", "leave", branch)


@pytest.mark.parametrize(
    ("utc", "branch"),
    [
        # New York springs forward on 8 March 2026: 09:30 local is 14:30 UTC before, 13:30 UTC after.
        (dt.datetime(2026, 3, 9, 13, 30), "open"),  # Mon 09:30 EDT
        (dt.datetime(2026, 3, 2, 13, 30), "closed"),  # Mon 08:30 EST
        (dt.datetime(2026, 3, 2, 14, 30), "open"),  # Mon 09:30 EST
        # ... and falls back on 1 November 2026.
        (dt.datetime(2026, 11, 2, 14, 0), "open"),  # Mon 09:00 EST
        (dt.datetime(2026, 10, 26, 13, 0), "open"),  # Mon 09:00 EDT
        (dt.datetime(2026, 11, 2, 13, 0), "closed"),  # Mon 08:00 EST
    ],
)
def test_schedule_follows_daylight_saving(utc: dt.datetime, branch: str) -> None:
    outcome = decide(SCHEDULE, context(now=utc.replace(tzinfo=dt.UTC), account_time_zone="America/New_York"))
    assert said(outcome) == branch


def test_step_time_zone_beats_the_account_one_and_holiday_defaults_to_closed() -> None:
    paris = flow(
        {
            "h": {
                "type": "schedule",
                "time_zone": "Europe/Paris",
                "hours": {"mon": [["09:00", "17:00"]]},
                "holidays": ["2026-11-23"],
                "open": "o",
                "closed": "c",
            },
            "o": {"type": "hangup", "message": "open"},
            "c": {"type": "hangup", "message": "closed"},
        }
    )
    outcome = decide(paris, context(account_time_zone="Pacific/Auckland"))
    assert said(outcome) == "closed" and trail(outcome)[1] == ("h", "leave", "holiday")


def test_unknown_account_time_zone_falls_back_to_utc_and_naive_now_is_utc() -> None:
    outcome = decide(SCHEDULE, context(account_time_zone="Nowhere/Land", now=dt.datetime(2026, 11, 23, 10)))
    assert said(outcome) == "open"  # Monday 10:00 UTC


GEO = flow(
    {
        "where": {
            "type": "geo",
            "rules": [
                {"countries": ["CA"], "next": "canada"},
                {"countries": ["US"], "states": ["ca", "WA"], "next": "west"},
                {"area_codes": ["212", "646"], "next": "nyc"},
                {"zip_prefixes": ["606"], "next": "chicago"},
            ],
            "default": "elsewhere",
        },
        **{
            name: {"type": "hangup", "message": name}
            for name in ("canada", "west", "nyc", "chicago", "elsewhere")
        },
    }
)


@pytest.mark.parametrize(
    ("caller", "area", "branch", "outcome"),
    [
        ("+14165550100", CallerArea(country="CA", state="ON"), "canada", "matched rule 1"),
        ("+14155550100", CallerArea(country="us", state="CA", zip="94103"), "west", "matched rule 2"),
        ("+12065550100", CallerArea(country="US", state="Wa"), "west", "matched rule 2"),
        ("+12125550143", CallerArea(), "nyc", "matched rule 3"),  # area code from the number alone
        ("+13125550100", CallerArea(country="US", state="IL", zip="60601"), "chicago", "matched rule 4"),
        ("+13125550100", CallerArea(country="US", state="IL", zip="60701"), "elsewhere", "default"),
        ("+442071234567", CallerArea(country="GB"), "elsewhere", "default"),
        ("anonymous", CallerArea(), "elsewhere", "default"),  # unknown area
    ],
)
def test_geo_rules_in_order_then_default(caller: str, area: CallerArea, branch: str, outcome: str) -> None:
    result = decide(GEO, context(caller_number=caller, caller_area=area))
    assert said(result) == branch
    assert trail(result)[1] == ("where", "leave", outcome)


def test_trail_kinds_are_enum_values() -> None:
    assert {event.kind for event in decide(MENU, context()).trail} <= set(EventKind)
