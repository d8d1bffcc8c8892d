"""The carrier seam: carrier-neutral types every carrier package converts to and from.

Nothing outside ``ringtrail.carriers`` knows a carrier's dialect (TwiML, TeXML …): carriers
normalise requests into ``InboundCall`` / ``CallbackEvent`` and render ``CallDecision`` trees.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class CallerArea:
    """Where the caller's number is registered — "caller area", never "location"."""

    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    time_zone: str = ""
    origin: str = ""  # "carrier" or "geocoder"


@dataclass(frozen=True)
class InboundCall:
    carrier: str
    carrier_account_id: str
    call_id: str
    from_number: str
    to_number: str
    caller_name: str = ""
    direction: str = "inbound"
    caller_area: CallerArea | None = None
    raw: Mapping[str, str] = field(default_factory=dict)


class EventKind(enum.StrEnum):
    STATUS = "status"
    DIAL = "dial"
    RECORDING = "recording"


@dataclass(frozen=True)
class CallbackEvent:
    """One asynchronous callback about a call, keyed for idempotency by (call, kind, sequence)."""

    carrier: str
    carrier_account_id: str
    call_id: str
    kind: EventKind
    sequence: int
    status: str
    occurred_at: datetime | None = None
    call_duration: int | None = None
    dial_duration: int | None = None
    recording_url: str = ""
    recording_id: str = ""
    recording_duration: int | None = None
    recording_purpose: str = ""  # "call" (the conversation) or "voicemail"
    raw: Mapping[str, str] = field(default_factory=dict)


class Hook(enum.StrEnum):
    """Logical callback points in a decision; each carrier maps them onto its own URLs."""

    WHISPER = "whisper"
    DIAL = "dial"
    RECORDING = "recording"
    # A call flow continues here: a gather's digits or speech, a redirect, a dial result inside a
    # flow. Its params carry a signed reference to the flow position (see ``flows.position``).
    FLOW = "flow"
    # The caller's answer to a spam-screening challenge ("press 1 to be connected").
    SCREEN = "screen"
    # A call-back's legs (``ringtrail.callbacks``): params carry a signed reference to the request.
    CALLBACK = "callback"


@dataclass(frozen=True)
class HookRef:
    hook: Hook
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    text: str
    voice: str = ""  # the carrier's voice name (e.g. "Polly.Joanna"); "" is the carrier's default
    language: str = ""  # BCP 47, e.g. "en-US"; "" is the carrier's default


@dataclass(frozen=True)
class Play:
    url: str


@dataclass(frozen=True)
class Pause:
    seconds: int


@dataclass(frozen=True)
class DialTarget:
    address: str  # E.164 number or sip: URI
    whisper: HookRef | None = None

    @property
    def is_sip(self) -> bool:
        return self.address.lower().startswith("sip:")


@dataclass(frozen=True)
class Dial:
    targets: tuple[DialTarget, ...]
    caller_id: str = ""
    answer_on_bridge: bool = True
    timeout_seconds: int = 25
    record: bool = False
    action: HookRef | None = None
    recording_callback: HookRef | None = None


@dataclass(frozen=True)
class Record:
    action: HookRef | None = None
    recording_callback: HookRef | None = None
    max_length_seconds: int = 120
    play_beep: bool = True


@dataclass(frozen=True)
class Gather:
    """Collect keypad digits and/or speech while the prompt plays, then post them to ``action``.

    When the caller says nothing before ``timeout_seconds`` the carrier moves on to the next step,
    so a decision puts a ``Redirect`` after a gather to learn about the timeout.
    """

    action: HookRef
    prompt: tuple[Say | Play | Pause, ...] = ()
    dtmf: bool = True
    speech: bool = False
    timeout_seconds: int = 5
    num_digits: int | None = None
    finish_on_key: str = "#"
    speech_hints: tuple[str, ...] = ()
    language: str = "en-US"


@dataclass(frozen=True)
class Redirect:
    """Ask the carrier for the next instructions at ``target`` (loops, timeouts, queue holds)."""

    target: HookRef


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Reject:
    reason: str = "rejected"  # "rejected" or "busy"


Step = Say | Play | Pause | Dial | Record | Gather | Redirect | Hangup | Reject


@dataclass(frozen=True)
class CallDecision:
    steps: tuple[Step, ...]


class Renderer(Protocol):
    content_type: str

    def render(self, decision: CallDecision) -> str: ...
