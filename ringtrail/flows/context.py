"""What the flow engine reads (call context, position, input) and what it returns (outcome, trail).

Plain frozen dataclasses: the wiring layer builds them from the database and the carrier's request,
the engine never touches either.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ringtrail.carriers.base import CallDecision, CallerArea

_NANP = re.compile(r"^\+1([2-9]\d\d)[2-9]\d{6}$")


class Phase(enum.StrEnum):
    """Where inside a step a reference points; the empty phase means "entering the step"."""

    ENTER = ""
    INPUT = "in"  # a menu's gather posted digits or speech
    TIMEOUT = "to"  # the redirect after a gather: the caller said nothing
    DIAL = "dial"  # a forward's or queue's dial ended (DialCallStatus)
    WHISPER = "wh"  # the answering party's leg asks what to hear before the bridge
    ACCEPT = "ac"  # the answering party's "press 1 to accept" gather


# Phases requested by the answering party's leg, not the caller's: their references must not advance
# (nor be refused by) the caller's hop counter, since every ringing leg of a simultaneous dial asks.
LEG_PHASES = frozenset({Phase.WHISPER, Phase.ACCEPT})


@dataclass(frozen=True)
class Position:
    """A point in a flow a carrier request can come back to.

    ``hop`` numbers the decision this reference will produce: the first decision of a call is hop 0 and
    hands out references with hop 1, and so on. The wiring layer remembers the last hop it served per
    call and refuses anything older (a replayed reference).
    """

    step: str
    hop: int
    phase: Phase = Phase.ENTER
    attempt: int = 0  # menu retries so far; queue rounds so far
    index: int = 0  # sequential / round-robin target being rung; whisper target
    entered_at: int = 0  # epoch seconds the caller entered the step (analytics only)

    @property
    def is_leg(self) -> bool:
        return self.phase in LEG_PHASES


@dataclass(frozen=True)
class StepInput:
    """What came back with a reference (already parsed from the carrier's dialect)."""

    digits: str = ""
    speech: str = ""
    timed_out: bool = False
    dial_status: str = ""  # completed, answered, busy, no-answer, failed, canceled
    answered_by: str = ""  # the receiving address that answered, when the carrier says


@dataclass(frozen=True)
class CallContext:
    """Facts about the call the flow may branch on. ``now`` must be timezone-aware."""

    call_id: str
    caller_number: str
    now: datetime
    caller_area: CallerArea = field(default_factory=CallerArea)
    caller_name: str = ""
    account_time_zone: str = "UTC"
    tracking_number: str = ""
    source_name: str = ""
    receiving_numbers: Mapping[int, str] = field(default_factory=dict)  # id → E.164 or sip: URI
    last_answered_by: int | None = None  # receiving number id, for sticky round robin
    # Chosen once per call by the caller of the engine (e.g. the account's call count) and passed
    # unchanged on every hop, so round-robin order is stable within a call and rotates between calls.
    rotation: int = 0

    @property
    def area_code(self) -> str:
        """The NANP area code of the caller's number, "" outside +1."""
        match = _NANP.match(self.caller_number or "")
        return match.group(1) if match else ""


class EventKind(enum.StrEnum):
    ENTER = "enter"
    STAY = "stay"  # still inside the step: a re-prompt, the next target, another queue round
    LEAVE = "leave"


@dataclass(frozen=True)
class StepEvent:
    """One entry of a call's path through a flow; the wiring layer stores each as a call event."""

    step: str
    step_type: str
    kind: EventKind
    outcome: str = ""
    receiving_number: int | None = None  # who was rung or answered, when the step knows


@dataclass(frozen=True)
class FlowOutcome:
    decision: CallDecision
    trail: tuple[StepEvent, ...]
    # Where the caller now waits (the step the decision's hooks point back to); None once the flow
    # ended. A call that hangs up while waiting hung up at this step.
    waiting_at: Position | None = None
    # True for the answering party's leg (whisper, accept): the caller's position does not move.
    leg: bool = False
    # Set when the engine had to give up (unknown position, broken flow): a routing note to log.
    error: str = ""

    @property
    def ended(self) -> bool:
        return self.waiting_at is None and not self.leg
