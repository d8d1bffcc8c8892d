"""Save-time validation: every refusal names the path of the bad step or field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ringtrail.flows.schema import MAX_STEPS
from ringtrail.flows.validation import MAX_FLOW_BYTES, FlowError, FlowInvalid, parse_flow_json, validate_flow

ALLOWED = {1, 2, 3}
END = {"type": "hangup"}
NOT_OURS = "is not this account's"


def errors(data: object, allowed: set[int] = ALLOWED) -> list[str]:
    with pytest.raises(FlowInvalid) as caught:
        validate_flow(data, allowed)
    return [str(error) for error in caught.value.errors]


def doc(**steps: dict[str, Any]) -> dict[str, Any]:
    return {"start": next(iter(steps)), "steps": steps}


EVERY_STEP = {
    "start": "greet",
    "steps": {
        "greet": {
            "type": "say",
            "text": "Hello",
            "voice": "Polly.Joanna",
            "language": "en-US",
            "next": "jingle",
        },
        "jingle": {"type": "play", "url": "https://cdn.example.com/jingle.mp3", "next": "region"},
        "region": {
            "type": "geo",
            "rules": [
                {"countries": ["us"], "states": ["CA", "WA"], "next": "hours"},
                {"area_codes": ["212"], "next": "hours"},
                {"zip_prefixes": ["100"], "next": "hours"},
            ],
            "default": "hours",
        },
        "hours": {
            "type": "schedule",
            "time_zone": "Europe/Paris",
            "hours": {"mon": [["09:00", "12:00"], ["14:00", "18:00"]], "fri": [["22:00", "02:00"]]},
            "holidays": ["2026-12-25"],
            "open": "menu",
            "closed": "vm",
            "holiday": "closed",
        },
        "menu": {
            "type": "menu",
            "prompt": "Press 1 or say sales",
            "options": {"1": "sales", "sales": "sales", "2": "line", "#": "bye"},
            "speech": True,
            "speech_hints": ["support"],
            "retries": 5,
            "no_input": "vm",
        },
        "sales": {
            "type": "forward",
            "targets": [{"receiving_number": 1, "weight": 3}, {"receiving_number": 2}],
            "strategy": "round_robin",
            "sticky": True,
            "whisper": {"text": "Call from {source}", "require_accept": True},
            "record": True,
            "no_answer": "line",
        },
        "line": {
            "type": "queue",
            "members": [2, 3],
            "message": "Please hold",
            "music_url": "https://cdn.example.com/hold.mp3",
            "max_wait_seconds": 120,
            "timeout": "vm",
        },
        "vm": {"type": "voicemail", "max_length_seconds": 60},
        "closed": {"type": "reject", "reason": "busy"},
        "bye": {"type": "hangup", "message": "Goodbye"},
    },
}


def test_every_step_type_validates() -> None:
    flow = validate_flow(EVERY_STEP, ALLOWED)
    assert {step.type for step in flow.steps.values()} == {
        "say", "play", "geo", "schedule", "menu", "forward", "queue", "voicemail", "reject", "hangup",
    }  # fmt: skip


def test_the_documented_example_validates() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "flows.md").read_text()
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    assert validate_flow(json.loads(example), {11, 12, 13})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (doc(a={"type": "sya", "text": "x"}), "steps.a: unknown step type 'sya'"),
        (doc(a={"text": "x"}), "steps.a: a step needs a type"),
        (doc(a={"type": "say", "text": "x", "next": "b"}), "steps.a.next: unknown step 'b'"),
        (
            doc(m={"type": "menu", "prompt": "p", "options": {"1": "salse"}}),
            "steps.m.options.1: unknown step 'salse'",
        ),
        ({"start": "nowhere", "steps": {"a": {"type": "hangup"}}}, "start: unknown step 'nowhere'"),
        (doc(a={"type": "say", "text": "x", "next": "a"}), "steps.a.next: a step cannot lead to itself"),
        (
            doc(a={"type": "say", "text": "x", "colour": "red"}),
            "steps.a.colour: Extra inputs are not permitted",
        ),
        (doc(a={"type": "say", "text": ""}), "steps.a.text: String should have at least 1 character"),
        (doc(a={"type": "say", "text": "x" * 1001}), "steps.a.text: String should have at most 1000"),
        (doc(a={"type": "play", "url": "http://example.com/a.mp3"}), "steps.a.url: String should match"),
        (
            doc(m={"type": "menu", "prompt": "p", "options": {"1": "h"}, "retries": 6}, h=END),
            "steps.m.retries: Input should be less than or equal to 5",
        ),
        (
            doc(m={"type": "menu", "prompt": "p", "options": {"sales": "h"}}, h=END),
            "steps.m: spoken options ['sales'] need speech: true",
        ),
        (
            doc(m={"type": "menu", "options": {"1": "h"}}, h=END),
            "steps.m: a menu needs either a prompt or a prompt_url",
        ),
        (
            doc(m={"type": "menu", "prompt": "p", "options": {"12": "h"}}, h=END),
            "steps.m.options: option '12' is neither a keypad key",
        ),
        (
            doc(
                m={"type": "menu", "prompt": "p", "keypad": False, "options": {"1": "h"}},
                h=END,
            ),
            "steps.m: a menu must accept the keypad, speech, or both",
        ),
        (
            doc(
                s={"type": "schedule", "time_zone": "Mars/Olympus", "open": "h", "closed": "h"},
                h=END,
            ),
            "steps.s.time_zone: unknown time zone 'Mars/Olympus'",
        ),
        (
            doc(
                s={"type": "schedule", "hours": {"mon": [["09:00", "25:00"]]}, "open": "h", "closed": "h"},
                h=END,
            ),
            "steps.s.hours.mon.0.1: String should match",
        ),
        (
            doc(
                s={"type": "schedule", "hours": {"mon": [["09:00", "09:00"]]}, "open": "h", "closed": "h"},
                h=END,
            ),
            "steps.s.hours: mon: empty range 09:00-09:00",
        ),
        (
            doc(
                s={"type": "schedule", "hours": {"monday": []}, "open": "h", "closed": "h"},
                h=END,
            ),
            "steps.s.hours.monday.[key]",
        ),
        (
            doc(g={"type": "geo", "rules": [{"next": "h"}], "default": "h"}, h=END),
            "steps.g.rules.0: a rule needs countries, states, area_codes or zip_prefixes",
        ),
        (
            doc(
                g={"type": "geo", "rules": [{"area_codes": ["112"], "next": "h"}], "default": "h"},
                h=END,
            ),
            "steps.g.rules.0.area_codes.0: String should match",
        ),
        (
            doc(f={"type": "forward", "targets": [{"receiving_number": 9}]}),
            "steps.f.targets.0.receiving_number: receiving number 9 is not this account's",
        ),
        (
            doc(q={"type": "queue", "members": [1, 7]}),
            "steps.q.members.1: receiving number 7 is not this account's",
        ),
        (
            doc(f={"type": "forward", "targets": [{"receiving_number": 1}, {"receiving_number": 1}]}),
            "steps.f: a receiving number is listed twice",
        ),
        (
            doc(f={"type": "forward", "targets": [{"receiving_number": 1}], "sticky": True}),
            "steps.f: sticky applies to round_robin only",
        ),
        (doc(f={"type": "forward", "targets": []}), "steps.f.targets: List should have at least 1 item"),
        (doc(r={"type": "reject", "reason": "nope"}), "steps.r.reason: Input should be 'busy' or 'rejected'"),
        (
            doc(a={"type": "hangup"}, orphan={"type": "hangup"}),
            "steps.orphan: no path from the start step 'a' reaches this step",
        ),
        ({"start": "a", "steps": {}}, "steps: Dictionary should have at least 1 item"),
        ({"start": "a b", "steps": {"a b": {"type": "hangup"}}}, "start: String should match"),
        ([], "Input should be a valid dictionary"),
    ],
)
def test_refusals_name_the_path(data: object, expected: str) -> None:
    assert any(message.startswith(expected) for message in errors(data)), errors(data)


def test_cycle_through_several_steps_is_refused_with_the_loop() -> None:
    data = {
        "start": "a",
        "steps": {
            "a": {"type": "say", "text": "x", "next": "m"},
            "m": {"type": "menu", "prompt": "p", "options": {"1": "s", "2": "f"}},
            "s": {"type": "schedule", "open": "f", "closed": "a"},
            "f": {"type": "forward", "targets": [{"receiving_number": 1}], "no_answer": "v"},
            "v": {"type": "voicemail"},
        },
    }
    (message,) = errors(data)
    assert message == "steps.s.closed: this makes a loop: a → m → s → a"


@pytest.mark.parametrize("branch", ["no_answer", "timeout", "no_input", "default", "holiday"])
def test_cycles_through_fallback_branches_are_refused(branch: str) -> None:
    back = {"type": "say", "text": "again", "next": "x"}
    step = {
        "no_answer": {"type": "forward", "targets": [{"receiving_number": 1}], "no_answer": "back"},
        "timeout": {"type": "queue", "members": [1], "timeout": "back"},
        "no_input": {"type": "menu", "prompt": "p", "options": {"1": "end"}, "no_input": "back"},
        "default": {"type": "geo", "rules": [{"countries": ["US"], "next": "end"}], "default": "back"},
        "holiday": {"type": "schedule", "open": "end", "closed": "end", "holiday": "back"},
    }[branch]
    data = {"start": "x", "steps": {"x": step, "back": back, "end": {"type": "hangup"}}}
    assert any("this makes a loop" in message for message in errors(data))


def test_a_diamond_is_not_a_cycle() -> None:
    data = doc(
        m={"type": "menu", "prompt": "p", "options": {"1": "a", "2": "b"}},
        a={"type": "say", "text": "a", "next": "end"},
        b={"type": "say", "text": "b", "next": "end"},
        end={"type": "hangup"},
    )
    assert validate_flow(data, ALLOWED).start == "m"


def test_a_long_chain_at_the_step_cap_is_fine_and_one_more_is_not() -> None:
    def chain(length: int) -> dict[str, Any]:
        steps = {f"s{i}": {"type": "say", "text": "x", "next": f"s{i + 1}"} for i in range(length - 1)}
        steps[f"s{length - 1}"] = {"type": "hangup"}
        return {"start": "s0", "steps": steps}

    assert len(validate_flow(chain(MAX_STEPS), ALLOWED).steps) == MAX_STEPS
    assert errors(chain(MAX_STEPS + 1)) == [
        f"steps: a flow has at most {MAX_STEPS} steps, not {MAX_STEPS + 1}"
    ]


def test_too_many_options_are_refused() -> None:
    options = {f"word{chr(97 + i)}": "end" for i in range(21)}
    data = doc(m={"type": "menu", "prompt": "p", "speech": True, "options": options}, end={"type": "hangup"})
    assert errors(data)[0].startswith("steps.m.options: Dictionary should have at most 20 items")


def test_byte_cap_on_raw_json_and_on_parsed_data() -> None:
    padding = " " * (MAX_FLOW_BYTES + 1)
    with pytest.raises(FlowInvalid, match="at most 65536 bytes"):
        parse_flow_json('{"start": "a", "steps": {"a": {"type": "hangup"}}}' + padding, ALLOWED)
    big = doc(a={"type": "hangup", "label": "x"})
    big["junk"] = "y" * MAX_FLOW_BYTES
    assert errors(big) == [f"a flow is at most {MAX_FLOW_BYTES} bytes of JSON"]


def test_raw_json_that_is_not_json_or_too_deep() -> None:
    with pytest.raises(FlowInvalid, match="not JSON"):
        parse_flow_json(b"{nope", ALLOWED)
    with pytest.raises(FlowInvalid):
        parse_flow_json("[" * 20_000 + "]" * 20_000, ALLOWED)
    assert parse_flow_json(b'{"start": "a", "steps": {"a": {"type": "hangup"}}}', ALLOWED).start == "a"


def test_non_json_python_values_are_refused() -> None:
    assert errors({"start": "a", "steps": {"a": {"type": "hangup", "label": object()}}}) == [
        "a flow must be plain JSON"
    ]


def test_another_accounts_numbers_are_refused_even_in_a_valid_graph() -> None:
    data = doc(f={"type": "forward", "targets": [{"receiving_number": 1}, {"receiving_number": 2}]})
    assert validate_flow(data, {1, 2})
    assert errors(data, {1}) == [
        "steps.f.targets.1.receiving_number: receiving number 2 is not this account's"
    ]


def test_errors_are_capped_and_printable() -> None:
    many = {f"s{i}": {"type": "say", "text": "x", "next": f"missing{i}"} for i in range(80)}
    with pytest.raises(FlowInvalid) as caught:
        validate_flow({"start": "s0", "steps": many}, ALLOWED)
    assert len(caught.value.errors) == 50
    assert str(caught.value).startswith("steps.s0.next: unknown step 'missing0'; steps.s1.next")
    assert str(FlowError("", "whole flow")) == "whole flow"
