"""A flow call's path for its page: each step entered and left in order, with time offsets from the
call's start, the number rung or answered, queue waits, and where the caller hung up.

Pure: the caller reads the flow events (``CallEvent(kind="flow")``), the step labels of the call's
flow version and the account's receiving numbers, and passes them in. Everything here is shown
escaped by the template; step labels are account-controlled and outcomes may quote caller input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Steps that wait for the caller or a dial: a call that ends while inside one was hung up there.
WAITING_TYPES = frozenset({"menu", "forward", "queue"})


@dataclass(frozen=True)
class PathEvent:
    step: str
    step_type: str
    event: str  # enter | stay | leave
    outcome: str
    at: dt.datetime | None
    receiving_number: int | None = None
    leg: bool = False  # the answering party's leg (whisper, accept), not the caller's

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], at: dt.datetime | None) -> PathEvent:
        number = payload.get("receiving_number")
        return cls(
            step=str(payload.get("step", "")),
            step_type=str(payload.get("type", "")),
            event=str(payload.get("event", "")),
            outcome=str(payload.get("outcome", "")),
            at=at,
            receiving_number=number if isinstance(number, int) else None,
            leg=bool(payload.get("leg")),
        )


@dataclass(frozen=True)
class PathRow:
    offset: str
    step: str
    label: str
    step_type: str
    event: str
    outcome: str
    receiving: str
    leg: bool
    wait: str = ""


@dataclass(frozen=True)
class FlowPath:
    rows: tuple[PathRow, ...]
    hung_up_at: str = ""  # the step the caller was waiting in when the call ended; "" otherwise


def offset_text(at: dt.datetime | None, start: dt.datetime | None) -> str:
    if at is None or start is None:
        return "—"
    seconds = max(0, int((at - start).total_seconds()))
    minutes, secs = divmod(seconds, 60)
    return f"+{minutes}:{secs:02d}"


def build_path(
    events: Iterable[PathEvent],
    start: dt.datetime | None,
    labels: Mapping[str, str],
    receiving: Mapping[int, str],
    ended: bool,
) -> FlowPath:
    """``events`` in the order they happened; ``receiving``: id → "Label (+1…)"; ``ended``: call over."""
    rows: list[PathRow] = []
    entered: dict[str, dt.datetime | None] = {}
    for event in events:
        wait = ""
        if not event.leg and event.event == "enter":
            entered[event.step] = event.at
        if not event.leg and event.event == "leave" and event.step_type == "queue":
            wait = _wait(entered.get(event.step), event.at)
        rows.append(_row(event, start, labels, receiving, wait))
    return FlowPath(tuple(rows), _hung_up_at(rows) if ended else "")


def _row(
    event: PathEvent,
    start: dt.datetime | None,
    labels: Mapping[str, str],
    receiving: Mapping[int, str],
    wait: str,
) -> PathRow:
    number = event.receiving_number
    return PathRow(
        offset=offset_text(event.at, start),
        step=event.step,
        label=labels.get(event.step, ""),
        step_type=event.step_type,
        event=event.event,
        outcome=event.outcome,
        receiving=(receiving.get(number) or f"receiving number #{number} (deleted)") if number else "",
        leg=event.leg,
        wait=wait,
    )


def _wait(entered: dt.datetime | None, left: dt.datetime | None) -> str:
    if entered is None or left is None:
        return ""
    return f"waited {offset_text(left, entered).removeprefix('+')}"


def _hung_up_at(rows: list[PathRow]) -> str:
    caller = [row for row in rows if not row.leg]
    if not caller:
        return ""
    last = caller[-1]
    # A step still waiting when the call ended: the caller (or the carrier) hung up there.
    if last.event != "leave" and last.step_type in WAITING_TYPES:
        return last.step
    return ""
