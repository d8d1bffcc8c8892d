"""Validate a flow document at save time; every error names the path of the bad step or field.

``parse_flow_json`` is what an API that receives raw bytes calls (it enforces the byte cap before
parsing); ``validate_flow`` takes already-parsed JSON. Both return a ``FlowDocument`` or raise
``FlowInvalid``. A valid flow is a DAG: retries live inside a menu and waiting inside a queue, so any
cycle in the step graph is a flow that could loop forever, and is refused.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from ringtrail.flows.schema import MAX_STEPS, STEP_TYPES, FlowDocument, branches, receiving_refs

MAX_FLOW_BYTES = 64 * 1024
MAX_ERRORS = 50


@dataclass(frozen=True)
class FlowError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class FlowInvalid(ValueError):
    def __init__(self, errors: Iterable[FlowError]) -> None:
        self.errors = list(errors)[:MAX_ERRORS] or [FlowError("", "invalid flow")]
        super().__init__("; ".join(str(error) for error in self.errors))


def parse_flow_json(raw: bytes | str, allowed_receiving_numbers: Collection[int]) -> FlowDocument:
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_FLOW_BYTES:
        raise FlowInvalid([FlowError("", f"a flow is at most {MAX_FLOW_BYTES} bytes of JSON")])
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise FlowInvalid([FlowError("", f"not JSON: {error}")]) from None
    return validate_flow(parsed, allowed_receiving_numbers)


def validate_flow(data: object, allowed_receiving_numbers: Collection[int]) -> FlowDocument:
    """The one entry point for flows that came from outside (API, UI, fixtures)."""
    try:
        size = len(json.dumps(data, separators=(",", ":")).encode())
    except (TypeError, ValueError, RecursionError):
        raise FlowInvalid([FlowError("", "a flow must be plain JSON")]) from None
    if size > MAX_FLOW_BYTES:
        raise FlowInvalid([FlowError("", f"a flow is at most {MAX_FLOW_BYTES} bytes of JSON")])
    steps = data.get("steps") if isinstance(data, dict) else None
    if isinstance(steps, dict) and len(steps) > MAX_STEPS:
        raise FlowInvalid([FlowError("steps", f"a flow has at most {MAX_STEPS} steps, not {len(steps)}")])
    try:
        flow = FlowDocument.model_validate(data)
    except ValidationError as error:
        raise FlowInvalid(_pydantic_errors(error, data)) from None
    errors = graph_errors(flow, allowed_receiving_numbers)
    if errors:
        raise FlowInvalid(errors)
    return flow


def graph_errors(flow: FlowDocument, allowed_receiving_numbers: Collection[int]) -> list[FlowError]:
    errors = _reference_errors(flow, allowed_receiving_numbers)
    if errors:
        return errors  # cycles and reachability mean little while references dangle
    return _cycle_errors(flow) or _unreachable_errors(flow)


def _reference_errors(flow: FlowDocument, allowed: Collection[int]) -> list[FlowError]:
    errors = []
    if flow.start not in flow.steps:
        errors.append(FlowError("start", f"unknown step {flow.start!r}"))
    for step_id, step in flow.steps.items():
        for path, target in branches(step):
            if target not in flow.steps:
                errors.append(FlowError(f"steps.{step_id}.{path}", f"unknown step {target!r}"))
            elif target == step_id:
                errors.append(FlowError(f"steps.{step_id}.{path}", "a step cannot lead to itself"))
        for path, number in receiving_refs(step):
            if number not in allowed:
                errors.append(
                    FlowError(f"steps.{step_id}.{path}", f"receiving number {number} is not this account's")
                )
    return errors


def _cycle_errors(flow: FlowDocument) -> list[FlowError]:
    """Depth-first search with colours; iterative, so a 100-step chain cannot hit the recursion limit."""
    done: set[str] = set()
    for root in flow.steps:
        if root in done:
            continue
        trail: list[str] = [root]
        on_trail = {root}
        pending = [iter(branches(flow.steps[root]))]
        while pending:
            edge = next(pending[-1], None)
            if edge is None:
                pending.pop()
                finished = trail.pop()
                on_trail.discard(finished)
                done.add(finished)
                continue
            path, target = edge
            if target in on_trail:
                loop = [*trail[trail.index(target) :], target]
                message = "this makes a loop: " + " → ".join(loop)
                return [FlowError(f"steps.{trail[-1]}.{path}", message)]
            if target not in done:
                trail.append(target)
                on_trail.add(target)
                pending.append(iter(branches(flow.steps[target])))
    return []


def _unreachable_errors(flow: FlowDocument) -> list[FlowError]:
    seen = {flow.start}
    frontier = [flow.start]
    while frontier:
        for _, target in branches(flow.steps[frontier.pop()]):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return [
        FlowError(f"steps.{step_id}", f"no path from the start step {flow.start!r} reaches this step")
        for step_id in flow.steps
        if step_id not in seen
    ]


def _pydantic_errors(error: ValidationError, data: object) -> list[FlowError]:
    errors = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"]]
        # A discriminated union puts the tag in the location (steps.x.menu.options); drop it.
        if len(loc) > 2 and loc[0] == "steps" and loc[2] in STEP_TYPES:
            del loc[2]
        if item["type"] == "union_tag_invalid":
            message = f"unknown step type {_tag(data, loc)!r}; expected one of {', '.join(STEP_TYPES)}"
        elif item["type"] == "union_tag_not_found":
            message = "a step needs a type"
        else:
            message = item["msg"].removeprefix("Value error, ")
        errors.append(FlowError(".".join(loc), message))
    return errors


def _tag(data: object, loc: list[str]) -> object:
    if isinstance(data, dict) and len(loc) == 2:
        step = (data.get("steps") or {}).get(loc[1]) if isinstance(data.get("steps"), dict) else None
        if isinstance(step, dict):
            return step.get("type")
    return None
