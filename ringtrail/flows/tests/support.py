"""Shared builders for the flow tests: a call context, flows from dicts, and a scripted caller."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ringtrail.carriers.base import CallerArea, Step
from ringtrail.flows.context import CallContext, FlowOutcome, StepInput
from ringtrail.flows.engine import decide
from ringtrail.flows.schema import FlowDocument
from ringtrail.flows.validation import validate_flow

RECEIVING = {1: "+14155550101", 2: "+14155550102", 3: "+14155550103", 4: "sip:desk@pbx.example.com"}
# Monday 23 November 2026, 10:00 in New York.
MONDAY_MORNING = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def context(**overrides: Any) -> CallContext:
    values: dict[str, Any] = {
        "call_id": "CA0001",
        "caller_number": "+12125550143",
        "now": MONDAY_MORNING,
        "caller_area": CallerArea(city="New York", state="NY", zip="10001", country="US"),
        "account_time_zone": "America/New_York",
        "tracking_number": "+18005550100",
        "source_name": "Google Ads",
        "receiving_numbers": RECEIVING,
    }
    values.update(overrides)
    return CallContext(**values)


def flow(steps: dict[str, dict[str, Any]], start: str | None = None) -> FlowDocument:
    return validate_flow({"start": start or next(iter(steps)), "steps": steps}, set(RECEIVING))


def kinds(outcome: FlowOutcome) -> list[str]:
    return [type(step).__name__ for step in outcome.decision.steps]


def only(outcome: FlowOutcome, kind: type[Step]) -> Any:
    found = [step for step in outcome.decision.steps if isinstance(step, kind)]
    assert len(found) == 1, outcome.decision
    return found[0]


def trail(outcome: FlowOutcome) -> list[tuple[str, str, str]]:
    return [(event.step, event.kind.value, event.outcome) for event in outcome.trail]


def call(document: FlowDocument, *inputs: StepInput, ctx: CallContext | None = None) -> list[FlowOutcome]:
    """Start a call and answer each waiting position with the next input, as a carrier would."""
    ctx = ctx or context()
    outcomes = [decide(document, ctx)]
    for given in inputs:
        position = outcomes[-1].waiting_at
        assert position is not None, f"the flow ended before input {given}"
        outcomes.append(decide(document, ctx, position, given))
    return outcomes


DIGIT_1 = StepInput(digits="1")
SILENCE = StepInput(timed_out=True)
NO_ANSWER = StepInput(dial_status="no-answer")
BUSY = StepInput(dial_status="busy")
ANSWERED = StepInput(dial_status="completed")
