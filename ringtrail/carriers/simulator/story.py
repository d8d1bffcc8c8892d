"""The call's story: what the carrier did and saw, step by step, on the virtual clock."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JsonValue = Any  # JSON-serialisable; structured fields are str/int/float/bool/None, lists and dicts.


class StepKind(enum.StrEnum):
    REQUEST = "request"
    RESPONSE = "response"
    VERB = "verb"
    CALLEE = "callee"
    CALLBACK = "callback"
    ERROR = "error"


@dataclass(frozen=True)
class Step:
    offset: float
    kind: StepKind
    text: str
    fields: dict[str, JsonValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "offset": round(self.offset, 3),
            "kind": str(self.kind),
            "text": self.text,
            "fields": self.fields,
        }


class VirtualClock:
    """Carrier time without sleeping: advanced by rings, talk, pauses and recordings."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self.offset = 0.0

    def advance(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)

    @property
    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)


class Story:
    """Collects steps and errors; an error both tells the story and makes the result non-clean."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.steps: list[Step] = []
        self.errors: list[str] = []

    def add(self, kind: StepKind, text: str, **fields: JsonValue) -> None:
        self.steps.append(Step(self.clock.offset, kind, text, dict(fields)))

    def error(self, text: str, **fields: JsonValue) -> None:
        self.errors.append(text)
        self.add(StepKind.ERROR, text, **fields)


def format_step(step: Step) -> str:
    return f"{step.offset:7.1f}s  {step.kind.value:<8}  {step.text}"


def format_story(steps: list[Step]) -> list[str]:
    return [format_step(step) for step in steps]
