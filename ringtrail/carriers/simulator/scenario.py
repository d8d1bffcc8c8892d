"""What the caller and callee do (the scenario) and what came of it (the result)."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TextIO

from ringtrail.carriers.simulator.story import JsonValue, Step, format_story

CalleeOutcome = Literal["answer", "no-answer", "busy", "failed"]
CallOutcome = Literal["answered", "missed", "busy", "failed", "voicemail"]

DEFAULT_DIAL_TIMEOUT = 30
DEFAULT_VOICEMAIL_SECONDS = 15.0


def new_sid(prefix: str) -> str:
    """Twilio-shaped identifiers: a two-letter type prefix and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass(frozen=True)
class CallScenario:
    to: str
    from_: str
    answer_after: float = 3.0
    talk: float = 30.0
    outcome: CalleeOutcome = "answer"
    voicemail_seconds: float = DEFAULT_VOICEMAIL_SECONDS
    caller_area: Mapping[str, str] | None = None
    caller_name: str = ""
    chaos: bool = False
    seed: int | None = None
    extra_params: Mapping[str, str] | None = None
    # Replaying a known SID lets hostile tests exercise the server's idempotency.
    call_sid: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in ("answer", "no-answer", "busy", "failed"):
            raise ValueError(f"unknown callee outcome {self.outcome!r}")
        if self.answer_after < 0 or self.talk < 0 or self.voicemail_seconds < 0:
            raise ValueError("answer_after, talk and voicemail_seconds must not be negative")


@dataclass
class CallResult:
    call_sid: str
    from_: str
    to: str
    outcome: CallOutcome
    duration: int
    story: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seed: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "call_sid": self.call_sid,
            "from": self.from_,
            "to": self.to,
            "outcome": self.outcome,
            "duration": self.duration,
            "seed": self.seed,
            "story": [step.to_json() for step in self.story],
            "errors": list(self.errors),
        }

    def story_lines(self) -> list[str]:
        header = f"Call {self.call_sid}  {self.from_} → {self.to}"
        footer = f"Outcome: {self.outcome}, {self.duration}s" + (
            f", {len(self.errors)} error(s)" if self.errors else ""
        )
        return [header, *format_story(self.story), footer]

    def print_story(self, file: TextIO | None = None) -> None:
        out = file or sys.stdout
        for line in self.story_lines():
            print(line, file=out)
