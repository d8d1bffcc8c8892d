"""Asynchronous callbacks fired after the call's TwiML flow: status progress and recordings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from ringtrail.carriers.simulator.state import STATUS_PATH, CallState, Recording, log_exchange, whole_seconds
from ringtrail.carriers.simulator.story import StepKind


@dataclass(frozen=True)
class Callback:
    url: str
    params: dict[str, str]
    label: str


def final_status(state: CallState) -> str:
    if state.failed:
        return "failed"
    if state.rejected is not None and not state.picked_up:
        # Twilio: a first-verb Reject ends the call busy, or no-answer for reason "rejected".
        return "busy" if state.rejected == "busy" else "no-answer"
    return "completed"


def plan_callbacks(state: CallState) -> list[Callback]:
    statuses = ["ringing", *(["in-progress"] if state.picked_up else []), final_status(state)]
    plan = [_status_callback(state, status, sequence) for sequence, status in enumerate(statuses)]
    first_recording = len(plan)
    plan += [
        _recording_callback(state, recording, first_recording + index)
        for index, recording in enumerate(state.recordings)
    ]
    return plan


def chaos_order(plan: list[Callback], rng: random.Random) -> list[Callback]:
    """Every callback twice, in a seeded shuffle: what at-least-once, unordered delivery looks like."""
    doubled = [*plan, *plan]
    rng.shuffle(doubled)
    return doubled


def fire_callbacks(state: CallState, rng: random.Random) -> None:
    plan = plan_callbacks(state)
    if state.scenario.chaos:
        plan = chaos_order(plan, rng)
    for callback in plan:
        _fire(state, callback.url, callback.params, callback.label)
    if state.scenario.chaos:
        for url, params in state.dial_actions:
            # A retried action: the server must not count the dial twice; its TwiML is moot now.
            _fire(state, url, params, "Dial action replay")


def _timestamp(moment: datetime) -> str:
    return format_datetime(moment)


def _status_callback(state: CallState, status: str, sequence: int) -> Callback:
    at_end = status not in ("ringing", "in-progress")
    params = state.call_params(status) | {
        "SequenceNumber": str(sequence),
        "Timestamp": _timestamp(state.clock.now if at_end else state.clock.start),
        "CallbackSource": "call-progress-events",
    }
    if at_end:
        params["CallDuration"] = str(whole_seconds(state.clock.offset))
    return Callback(state.http.resolve(STATUS_PATH), params, f"status {status} #{sequence}")


def _recording_callback(state: CallState, recording: Recording, sequence: int) -> Callback:
    params = {
        "CallSid": state.call_sid,
        "AccountSid": state.account_sid,
        "RecordingSid": recording.sid,
        "RecordingUrl": recording.url,
        "RecordingStatus": "completed",
        "RecordingDuration": str(recording.duration),
        "RecordingChannels": str(recording.channels),
        "RecordingSource": recording.source,
        "SequenceNumber": str(sequence),
        "Timestamp": _timestamp(state.clock.now),
    }
    label = f"recording {recording.source} #{sequence}"
    return Callback(state.http.resolve(recording.callback_url), params, label)


def _fire(state: CallState, url: str, params: dict[str, str], label: str) -> None:
    exchange = state.http.post(url, params)
    log_exchange(state, label, exchange, kind=StepKind.CALLBACK)
    if not exchange.ok:
        answer = exchange.error or f"HTTP {exchange.status}"
        state.story.error(f"{label} callback to {state.http.display(exchange.url)}: {answer}; expected 2xx")
