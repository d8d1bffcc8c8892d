"""Random valid flows, random callers: the engine never raises, never errs, always ends, and every
decision renders as well-formed TwiML and TeXML."""

from __future__ import annotations

import datetime as dt
from typing import Any

from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringtrail.carriers.base import Dial, Redirect
from ringtrail.carriers.telnyx.render import TexmlRenderer
from ringtrail.carriers.twilio.render import TwimlRenderer
from ringtrail.flows.context import FlowOutcome, Phase, Position, StepInput
from ringtrail.flows.engine import decide
from ringtrail.flows.interpreter import queue_rounds
from ringtrail.flows.position import decode_position
from ringtrail.flows.schema import FlowDocument, ForwardStep, MenuStep, QueueStep
from ringtrail.flows.validation import FlowInvalid, validate_flow

from .support import RECEIVING, context

RENDERERS = (TwimlRenderer(), TexmlRenderer())
KEYWORDS = ["sales", "support", "billing"]
DIAL_STATUSES = ["completed", "answered", "busy", "no-answer", "failed", "canceled", ""]


@st.composite
def dag_flows(draw: st.DrawFn) -> FlowDocument:
    """A random flow whose references only point to later steps (so it is a DAG), pruned to what the
    start reaches."""
    ids = [f"s{i}" for i in range(draw(st.integers(1, 12)))]
    steps = {}
    for i, step_id in enumerate(ids):
        later = ids[i + 1 :]
        steps[step_id] = draw(step_strategy(later))
    data: dict[str, Any] = {"start": "s0", "steps": steps}
    while True:
        try:
            return validate_flow(data, set(RECEIVING))
        except FlowInvalid as invalid:
            unreachable = [e.path.split(".")[1] for e in invalid.errors if "no path" in e.message]
            assert unreachable, invalid.errors  # the generator only ever makes unreachable steps
            for step_id in unreachable:
                del data["steps"][step_id]


def step_strategy(later: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    # Mostly the next few steps, so random flows are long rather than pruned to a step or two.
    maybe = st.sampled_from([*later[:3], None]) if later else st.none()
    numbers = st.lists(st.sampled_from(sorted(RECEIVING)), min_size=1, max_size=4, unique=True)
    kinds: list[st.SearchStrategy[dict[str, Any]]] = [
        st.builds(lambda n: {"type": "say", "text": "Hello", "next": n}, maybe),
        st.builds(lambda n: {"type": "play", "url": "https://cdn.example.com/a.mp3", "next": n}, maybe),
        st.builds(
            lambda ids, strategy, n, whisper, timeout: {
                "type": "forward",
                "targets": [{"receiving_number": i, "timeout_seconds": timeout} for i in ids],
                "strategy": strategy,
                "no_answer": n,
                **({"whisper": {"text": "From {source}", "require_accept": True}} if whisper else {}),
            },
            numbers,
            st.sampled_from(["simultaneous", "sequential", "round_robin"]),
            maybe,
            st.booleans(),
            st.integers(5, 120),
        ),
        st.builds(
            lambda ids, n, wait: {"type": "queue", "members": ids, "timeout": n, "max_wait_seconds": wait},
            numbers,
            maybe,
            st.integers(10, 200),
        ),
        st.just({"type": "voicemail"}),
        st.just({"type": "hangup"}),
        st.sampled_from([{"type": "reject"}, {"type": "reject", "reason": "busy"}]),
    ]
    if later:
        target = st.sampled_from(later[:4])
        keys = st.sampled_from([*"0123456789*#", *KEYWORDS])
        kinds += [
            st.builds(
                lambda options, retries, n: {
                    "type": "menu",
                    "prompt": "Choose",
                    "options": options,
                    "speech": True,
                    "retries": retries,
                    "no_input": n,
                },
                st.dictionaries(keys, target, min_size=1, max_size=5),
                st.integers(0, 5),
                maybe,
            ),
            st.builds(
                lambda o, c, h: {
                    "type": "schedule",
                    "hours": {"mon": [["09:00", "17:00"]], "sat": [["22:00", "03:00"]]},
                    "holidays": ["2026-12-25"],
                    "open": o,
                    "closed": c,
                    "holiday": h,
                },
                target,
                target,
                maybe,
            ),
            st.builds(
                lambda a, b: {
                    "type": "geo",
                    "rules": [{"area_codes": ["212"], "next": a}, {"countries": ["CA"], "next": a}],
                    "default": b,
                },
                target,
                target,
            ),
        ]
    return st.one_of(kinds)


def hop_bound(flow: FlowDocument) -> int:
    """Each hop waits once inside some step, and a DAG is walked through each step at most once."""
    total = 1
    for step in flow.steps.values():
        if isinstance(step, MenuStep):
            total += step.retries + 1
        elif isinstance(step, ForwardStep):
            total += len(step.targets)
        elif isinstance(step, QueueStep):
            total += queue_rounds(step)
    return total


def renders(outcome: FlowOutcome) -> None:
    for renderer in RENDERERS:
        root = ElementTree.fromstring(renderer.render(outcome.decision).encode())
        assert root.tag == "Response"


def caller_input(draw: st.DrawFn, position: Position) -> tuple[Position, StepInput]:
    if position.phase is Phase.DIAL:
        status = draw(st.sampled_from(DIAL_STATUSES))
        return position, StepInput(
            dial_status=status, answered_by=draw(st.sampled_from(["", *RECEIVING.values()]))
        )
    choice = draw(st.sampled_from(["digits", "speech", "silence", "redirect"]))
    if choice == "digits":
        return position, StepInput(digits=draw(st.sampled_from([*"0123456789*#", "12"])))
    if choice == "speech":
        return position, StepInput(
            speech=draw(st.sampled_from([*KEYWORDS, "two", "um", "I want sales please"]))
        )
    if choice == "silence":
        return position, StepInput(timed_out=True)
    return Position(
        position.step, position.hop, Phase.TIMEOUT, position.attempt, position.index, position.entered_at
    ), StepInput()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=dag_flows(), data=st.data())
def test_random_dag_flows_always_end_within_the_hop_bound(flow: FlowDocument, data: st.DataObject) -> None:
    numbers = data.draw(
        st.dictionaries(st.sampled_from(sorted(RECEIVING)), st.just("+14155550100"), max_size=4)
    )
    ctx = context(
        receiving_numbers={n: RECEIVING[n] for n in numbers},
        now=data.draw(
            st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 12, 31), timezones=st.just(dt.UTC))
        ),
        caller_number=data.draw(st.sampled_from(["+12125550143", "+14165550100", "anonymous"])),
        rotation=data.draw(st.integers(0, 1000)),
        last_answered_by=data.draw(st.sampled_from([None, 1, 2, 3, 4])),
    )
    outcome = decide(flow, ctx)
    hops = 1
    while True:
        assert not outcome.error, outcome.error
        renders(outcome)
        for step in outcome.decision.steps:
            if isinstance(step, Dial):
                for target in step.targets:
                    if target.whisper:
                        leg = decide(flow, ctx, decode_position(target.whisper.params["fp"]), None)
                        assert leg.leg and not leg.error
                        renders(leg)
            if isinstance(step, Redirect):
                assert decode_position(step.target.params["fp"]).hop == hops
        if outcome.ended:
            break
        assert outcome.waiting_at is not None and outcome.waiting_at.hop == hops
        position, given_input = caller_input(data.draw, outcome.waiting_at)
        outcome = decide(flow, ctx, position, given_input)
        hops += 1
        assert hops <= hop_bound(flow)


@settings(max_examples=120, deadline=None)
@given(
    flow=dag_flows(),
    position=st.builds(
        Position,
        step=st.sampled_from([f"s{i}" for i in range(14)]),
        hop=st.integers(0, 50),
        phase=st.sampled_from(list(Phase)),
        attempt=st.integers(0, 9999),
        index=st.integers(0, 9999),
        entered_at=st.integers(0, 10**12),
    ),
    given_input=st.builds(
        StepInput,
        digits=st.text(max_size=20),
        speech=st.text(max_size=200),
        timed_out=st.booleans(),
        dial_status=st.text(max_size=12) | st.sampled_from(DIAL_STATUSES),
        answered_by=st.text(max_size=30),
    ),
)
def test_any_position_and_input_gives_a_renderable_decision(
    flow: FlowDocument, position: Position, given_input: StepInput
) -> None:
    outcome = decide(flow, context(), position, given_input)
    renders(outcome)
    if outcome.error:
        assert outcome.ended and outcome.trail == ()
