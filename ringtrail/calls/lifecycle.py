"""Fold a call's carrier events, in sequence order, into its outcome and timings.

Pure: the same events give the same result whatever order they arrived in, which is what makes
duplicated and shuffled callbacks harmless.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
DIAL_OUTCOMES = {
    "completed": "answered",
    "answered": "answered",
    "no-answer": "missed",
    "canceled": "missed",
    "busy": "busy",
    "failed": "failed",
}
CALL_STATUS_OUTCOMES = {"busy": "busy", "no-answer": "missed", "canceled": "missed", "failed": "failed"}


@dataclass(frozen=True)
class EventFacts:
    kind: str  # status | dial | recording
    sequence: int
    status: str
    occurred_at: dt.datetime | None = None
    call_duration: int | None = None
    dial_duration: int | None = None
    recording_url: str = ""
    recording_purpose: str = ""


@dataclass
class CallState:
    carrier_status: str = ""
    outcome: str = "in_progress"
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    ring_seconds: int | None = None
    talk_seconds: int | None = None
    total_seconds: int | None = None
    recording_urls: list[str] = field(default_factory=list)
    voicemail_url: str = ""


def fold(
    events: Iterable[EventFacts], routed: bool = True, started_at: dt.datetime | None = None
) -> CallState:
    """``routed`` is False when the call was never forwarded (unknown number): it cannot be answered."""
    state = CallState()
    dial_outcome = ""
    # Each (kind, sequence) once: a duplicated callback must not count a dial's talk twice.
    unique = {(event.kind, event.sequence): event for event in events}
    for event in sorted(unique.values(), key=lambda e: (e.kind, e.sequence)):
        if event.kind == "status":
            _apply_status(state, event)
        elif event.kind == "dial":
            dial_outcome = _apply_dial(state, event, dial_outcome)
        elif event.kind == "recording" and event.recording_url:
            _apply_recording(state, event)
    state.outcome = _outcome(state, dial_outcome, routed)
    _derive_timings(state, started_at)
    return state


def _apply_status(state: CallState, event: EventFacts) -> None:
    # Sorted by sequence, so the last status seen is the latest one the carrier reported.
    state.carrier_status = event.status
    if event.status in FINAL_STATUSES:
        state.ended_at = event.occurred_at
        if event.call_duration is not None:
            state.total_seconds = event.call_duration


def _apply_dial(state: CallState, event: EventFacts, so_far: str) -> str:
    # A call flow may dial several times (a sequential forward, queue rounds), and dial results carry
    # no sequence number, so their order is arbitrary: one answered dial makes the call answered.
    outcome = DIAL_OUTCOMES.get(event.status, "failed")
    if outcome == "answered":
        earlier = (state.talk_seconds or 0) if so_far == "answered" else 0
        state.talk_seconds = earlier + (event.dial_duration or 0)
        return outcome
    if so_far == "answered":
        return so_far
    state.talk_seconds = event.dial_duration or 0
    return outcome


def _apply_recording(state: CallState, event: EventFacts) -> None:
    if event.recording_purpose == "voicemail":
        state.voicemail_url = event.recording_url
    elif event.recording_url not in state.recording_urls:
        state.recording_urls.append(event.recording_url)


def _outcome(state: CallState, dial_outcome: str, routed: bool) -> str:
    if state.voicemail_url:
        return "voicemail"
    if dial_outcome:
        return dial_outcome
    if state.carrier_status in CALL_STATUS_OUTCOMES:
        return CALL_STATUS_OUTCOMES[state.carrier_status]
    if state.carrier_status in FINAL_STATUSES:
        # The call ended without ever being forwarded (or the caller hung up while it rang).
        return "failed" if not routed else "missed"
    return "in_progress"


def _derive_timings(state: CallState, started_at: dt.datetime | None) -> None:
    if state.outcome != "answered":
        if state.ended_at is not None or state.talk_seconds is not None:
            state.talk_seconds = 0  # the call is over (or the dial failed): nobody talked
        state.ring_seconds = state.total_seconds
        return
    talk = state.talk_seconds or 0
    if state.total_seconds is not None:
        state.ring_seconds = max(state.total_seconds - talk, 0)
    if state.ended_at is not None:
        state.answered_at = state.ended_at - dt.timedelta(seconds=talk)
    elif started_at is not None and state.ring_seconds is not None:
        state.answered_at = started_at + dt.timedelta(seconds=state.ring_seconds)
