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
CALLEE_OUTCOMES: tuple[CalleeOutcome, ...] = ("answer", "no-answer", "busy", "failed")

DEFAULT_DIAL_TIMEOUT = 30
DEFAULT_VOICEMAIL_SECONDS = 15.0
# What a <Play> lasts: the simulator never downloads the audio, so the scenario says how long it is.
DEFAULT_PLAY_SECONDS = 10.0


DTMF = frozenset("0123456789*#")
SPEECH_PREFIX = "say:"
DEFAULT_CONFIDENCE = 0.92


def new_sid(prefix: str) -> str:
    """Twilio-shaped identifiers: a two-letter type prefix and 32 hex digits."""
    return prefix + secrets.token_hex(16)


@dataclass(frozen=True)
class CallerInput:
    """One scripted answer to a <Gather>: keys pressed, or words said with the recogniser's confidence."""

    digits: str = ""
    speech: str = ""
    confidence: float = DEFAULT_CONFIDENCE


def parse_input(raw: str | None) -> CallerInput | None:
    """``"12#"`` → keys, ``"say:billing"`` or ``"say:billing@0.6"`` → speech, None or "" → silence."""
    if not raw:
        return None
    if raw.startswith(SPEECH_PREFIX):
        return _speech(raw.removeprefix(SPEECH_PREFIX))
    if not set(raw) <= DTMF:
        raise ValueError(f"input {raw!r} is neither keys (0-9, *, #) nor say:<words>")
    return CallerInput(digits=raw)


def _speech(spec: str) -> CallerInput:
    text, separator, confidence = spec.rpartition("@")
    if not separator:
        text, confidence = spec, ""
    try:
        value = float(confidence) if confidence else DEFAULT_CONFIDENCE
    except ValueError as exc:
        raise ValueError(f"speech confidence {confidence!r} is not a number") from exc
    if not text.strip() or not 0 <= value <= 1:
        raise ValueError(f"speech input {spec!r} needs words and a confidence from 0 to 1")
    return CallerInput(speech=text.strip(), confidence=value)


@dataclass(frozen=True)
class Callee:
    """One dialled party as scripted: whether and when it answers, and what it does then.

    ``accept_whisper`` is the digit the callee presses when its whisper asks (a ``<Gather>``);
    None means it never presses anything, so the whisper times out.
    """

    outcome: CalleeOutcome = "answer"
    answer_after: float = 3.0
    talk: float = 30.0
    accept_whisper: str | None = "1"
    # When this party answers an API call (the REST stand-in), its answers to that call's Gathers.
    inputs: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in CALLEE_OUTCOMES:
            raise ValueError(f"unknown callee outcome {self.outcome!r}")
        if self.answer_after < 0 or self.talk < 0:
            raise ValueError("answer_after and talk must not be negative")
        for raw in (self.accept_whisper, *self.inputs):
            parse_input(raw)


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
    # The caller's answers to each <Gather>, in order: digits ("2", "1234#"), speech ("say:billing",
    # "say:billing@0.62" with a confidence) or None for silence. Silence once they run out.
    inputs: tuple[str | None, ...] = ()
    # Per dialled number (E.164 or SIP URI); a target not listed behaves as the fields above say.
    callees: Mapping[str, Callee] | None = None
    # What a callee not listed in ``callees`` presses when its whisper asks.
    accept_whisper: str | None = "1"
    # The caller gives up: at this many seconds into the call, and/or at the Nth <Gather> (1-based).
    hangup_after: float | None = None
    hangup_at_gather: int | None = None
    play_seconds: float = DEFAULT_PLAY_SECONDS

    def __post_init__(self) -> None:
        if self.outcome not in CALLEE_OUTCOMES:
            raise ValueError(f"unknown callee outcome {self.outcome!r}")
        if self.answer_after < 0 or self.talk < 0 or self.voicemail_seconds < 0 or self.play_seconds < 0:
            raise ValueError("answer_after, talk, voicemail_seconds and play_seconds must not be negative")
        if self.hangup_after is not None and self.hangup_after < 0:
            raise ValueError("hangup_after must not be negative")
        if self.hangup_at_gather is not None and self.hangup_at_gather < 1:
            raise ValueError("hangup_at_gather counts gathers from 1")
        for raw in self.inputs:
            parse_input(raw)

    def callee(self, address: str) -> Callee:
        """The scripted callee at ``address``; unlisted targets get the scenario's own outcome."""
        listed = (self.callees or {}).get(address)
        if listed is not None:
            return listed
        return Callee(self.outcome, self.answer_after, self.talk, self.accept_whisper)


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
    # The CallStatus of the final status callback: completed, busy, no-answer or failed.
    status: str = "completed"
    # The dialled target that was connected (the last one, if several Dials connected).
    answered_by: str | None = None
    hold_seconds: int = 0
    caller_hung_up: bool = False
    direction: str = "inbound"

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
            "direction": self.direction,
            "status": self.status,
            "answered_by": self.answered_by,
            "hold_seconds": self.hold_seconds,
            "caller_hung_up": self.caller_hung_up,
            "story": [step.to_json() for step in self.story],
            "errors": list(self.errors),
        }

    def story_lines(self) -> list[str]:
        header = f"Call {self.call_sid}  {self.from_} → {self.to}"
        extras = [
            *([f"answered by {self.answered_by}"] if self.answered_by else []),
            *([f"held {self.hold_seconds}s"] if self.hold_seconds else []),
            *(["caller hung up"] if self.caller_hung_up else []),
            *([f"{len(self.errors)} error(s)"] if self.errors else []),
        ]
        footer = ", ".join([f"Outcome: {self.outcome}", f"{self.duration}s", *extras])
        return [header, *format_story(self.story), footer]

    def print_story(self, file: TextIO | None = None) -> None:
        out = file or sys.stdout
        for line in self.story_lines():
            print(line, file=out)
