"""Asynchronous callbacks fired after the call's TwiML flow: status progress and recordings."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from ringtrail.carriers.simulator.state import CallState, Recording, log_exchange, whole_seconds
from ringtrail.carriers.simulator.story import StepKind


@dataclass(frozen=True)
class Callback:
    url: str
    params: dict[str, str]
    label: str


def final_status(state: CallState) -> str:
    if state.failed:
        return "failed"
    if state.unanswered_status is not None:
        return state.unanswered_status
    if state.rejected is not None and not state.picked_up:
        # Twilio: a first-verb Reject ends the call busy, or no-answer for reason "rejected".
        return "busy" if state.rejected == "busy" else "no-answer"
    return "completed"


def planned_statuses(state: CallState) -> list[str]:
    """The CallStatus of each status callback, in order, as the call's subscription asks."""
    if state.status_callback is None:
        return []
    if state.status_events is None:
        return ["ringing", *(["in-progress"] if state.picked_up else []), final_status(state)]
    # Twilio's StatusCallbackEvent names, and the CallStatus each one reports.
    by_event = [
        ("initiated", "initiated"),
        ("ringing", "ringing"),
        ("answered", "in-progress" if state.picked_up else None),
        ("completed", final_status(state)),
    ]
    return [status for event, status in by_event if status and event in state.status_events]


def plan_callbacks(state: CallState) -> list[Callback]:
    statuses = planned_statuses(state)
    plan = [_status_callback(state, status, sequence) for sequence, status in enumerate(statuses)]
    # A recording nobody asked to hear about (an API call's Record without a callback) is not sent.
    announced = [recording for recording in state.recordings if recording.callback_url]
    plan += [
        _recording_callback(state, recording, len(plan) + index) for index, recording in enumerate(announced)
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
    at_end = status not in ("initiated", "ringing", "in-progress")
    moment = state.clock.now if at_end else state.clock.start
    if status == "in-progress":
        moment = state.clock.start + timedelta(seconds=state.connected_at)
    params = state.call_params(status) | {
        "SequenceNumber": str(sequence),
        "Timestamp": _timestamp(moment),
        "CallbackSource": "call-progress-events",
    }
    if at_end:
        params["CallDuration"] = str(whole_seconds(state.clock.offset - state.connected_at))
    assert state.status_callback is not None
    return Callback(state.http.resolve(state.status_callback), params, f"status {status} #{sequence}")


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
