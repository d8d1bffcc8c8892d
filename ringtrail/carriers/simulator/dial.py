"""<Dial>: every target rings at once, each plays its scripted callee, the first to accept is bridged.

A target with a whisper ``url`` is connected only when its whisper document ends without hanging up
(Twilio's call screening): a callee that answers but never presses the digit the whisper asks for
drops out, and the other targets go on ringing. Whispers of targets that pick up close together run
side by side; whichever is accepted first wins.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass

from ringtrail.carriers.simulator.gather import announce, resolve
from ringtrail.carriers.simulator.scenario import Callee, new_sid, parse_input
from ringtrail.carriers.simulator.state import (
    DEFAULT_RECORDING_CALLBACK,
    CallState,
    fetch_document,
    whole_seconds,
)
from ringtrail.carriers.simulator.story import Step, StepKind
from ringtrail.carriers.simulator.twiml import (
    DialTarget,
    DialVerb,
    GatherVerb,
    HangupVerb,
    PauseVerb,
    PlayVerb,
    RedirectVerb,
    RejectVerb,
    SayVerb,
    Verb,
    describe_verb,
)

# The same bound as the caller's documents: a whisper that redirects forever is a broken call.
MAX_WHISPER_DOCUMENTS = 50
# A whisper in progress: yields the seconds it waits, returns whether the callee accepted.
WhisperRun = Generator[float, None, bool]


@dataclass
class Leg:
    """One dialled target and what became of it: completed, busy, failed, no-answer, declined, canceled."""

    target: DialTarget
    callee: Callee
    sid: str
    status: str = "ringing"
    answered_at: float = 0.0


@dataclass(frozen=True)
class DialEnd:
    status: str
    sid: str
    duration: int
    bridged: bool


def perform_dial(state: CallState, dial: DialVerb) -> tuple[Verb, ...] | None:
    started, mark = state.clock.offset, len(state.story.steps)
    legs = [Leg(target, state.scenario.callee(target.address), new_sid("CA")) for target in dial.targets]
    winner = _ring(state, dial, legs, started)
    if state.failed:
        return None
    end = _bridge(state, dial, winner) if winner is not None else _unanswered(state, dial, legs, started)
    state.dial_statuses.append(end.status)
    text = f"Dial {_dial_summary(dial)} → {_dial_result(state, winner, end, dial, started)}"
    # Inserted where the Dial began so the callee lines read after it.
    state.story.steps.insert(
        mark, Step(started, StepKind.VERB, text, {"dial_call_sid": end.sid, "dial_call_status": end.status})
    )
    for leg in legs:
        state.story.add(
            StepKind.CALLEE, f"{leg.target.address}: {leg.status}", leg=leg.sid, status=leg.status
        )
    if dial.action is None:
        return None
    return _post_dial_action(state, dial.action, end)


def _ring(state: CallState, dial: DialVerb, legs: list[Leg], started: float) -> Leg | None:
    """Ring every target; the first whose callee picks up and gets through its whisper wins.

    Whispers run side by side on the virtual clock: each is a generator that yields how long it
    waits, and the agenda always resumes the one due first, so requests go out in carrier time.
    """
    answering: list[Leg] = []
    for leg in legs:
        callee = leg.callee
        if callee.outcome in ("busy", "failed"):
            leg.status = callee.outcome
        elif callee.outcome == "no-answer" or callee.answer_after > dial.timeout:
            leg.status = "no-answer"
        else:
            answering.append(leg)
    agenda: list[tuple[float, int, Leg, WhisperRun | None]] = [
        (started + leg.callee.answer_after, order, leg, None) for order, leg in enumerate(answering)
    ]
    heapq.heapify(agenda)
    while agenda:
        moment, order, leg, run = heapq.heappop(agenda)
        if not state.wait(max(0.0, moment - state.clock.offset)):
            break
        if run is None:
            leg.answered_at = state.clock.offset
            state.story.add(StepKind.CALLEE, f"{leg.target.address} picks up", leg=leg.sid)
            if leg.target.whisper_url is None:
                return _won(leg, legs)
            run = _whisper(state, dial, leg, hearer=_hearer(dial, leg))
        try:
            seconds = next(run)
        except StopIteration as done:
            if state.ended:
                break
            if done.value:
                return _won(leg, legs)
            leg.status = "declined"
            continue
        heapq.heappush(agenda, (state.clock.offset + seconds, order, leg, run))
    _cancel(legs)
    return None


def _won(winner: Leg, legs: list[Leg]) -> Leg:
    winner.status = "completed"
    _cancel(legs)
    return winner


def _hearer(dial: DialVerb, leg: Leg) -> str:
    # With one target "callee" is clear; with several, the story names whose whisper it is.
    return "callee" if len(dial.targets) == 1 else leg.target.address


def _cancel(legs: list[Leg]) -> None:
    for leg in legs:
        if leg.status == "ringing":
            leg.status = "canceled"


def _bridge(state: CallState, dial: DialVerb, winner: Leg) -> DialEnd:
    state.answered = True
    state.answered_by = winner.target.address
    talk_started = state.clock.offset
    state.wait(winner.callee.talk)
    state.talks.append((talk_started, state.clock.offset))
    talk = state.clock.offset - talk_started
    if dial.records:
        state.recordings.append(
            state.new_recording(
                talk,
                channels=2 if dial.dual_channel else 1,
                source="DialVerb",
                callback_url=dial.recording_status_callback or DEFAULT_RECORDING_CALLBACK,
            )
        )
    # The dialled call lasts from its pick-up, whisper included, to its hang-up.
    return DialEnd("completed", winner.sid, whole_seconds(state.clock.offset - winner.answered_at), True)


def _unanswered(state: CallState, dial: DialVerb, legs: list[Leg], started: float) -> DialEnd:
    statuses = {leg.status for leg in legs}
    if not state.ended and "no-answer" in statuses:
        state.wait(max(0.0, started + dial.timeout - state.clock.offset))
    if statuses & {"no-answer", "declined", "canceled"}:
        status = "no-answer"
    elif "busy" in statuses:
        status = "busy"
    else:
        status = "failed"
    return DialEnd(status, legs[-1].sid, 0, False)


def _leg_params(state: CallState, dial: DialVerb, leg: Leg) -> dict[str, str]:
    return {
        "CallSid": leg.sid,
        "ParentCallSid": state.call_sid,
        "AccountSid": state.account_sid,
        "From": dial.caller_id or state.scenario.from_,
        "To": leg.target.address,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
        "ApiVersion": "2010-04-01",
    }


def _whisper(state: CallState, dial: DialVerb, leg: Leg, hearer: str) -> WhisperRun:
    """Run the whisper on the callee's leg, yielding its waits; True if it ended without a hang-up."""
    assert leg.target.whisper_url is not None
    params = _leg_params(state, dial, leg)
    url = leg.target.whisper_url
    verbs = fetch_document(state, url, params, "whisper", allow_empty=True, callee_leg=True)
    documents = 1
    queue = deque(verbs or ())
    while verbs is not None and queue and not state.ended:
        verb = queue.popleft()
        if isinstance(verb, SayVerb | PlayVerb | PauseVerb):
            yield announce(state, verb, hearer)
            continue
        if isinstance(verb, HangupVerb | RejectVerb):
            state.story.add(StepKind.CALLEE, f"{leg.target.address}: whisper hangs up → not connected")
            return False
        if isinstance(verb, RedirectVerb):
            next_url, extra, purpose = verb.url, {}, "whisper redirect"
        elif isinstance(verb, GatherVerb):
            for prompt in verb.prompt:
                yield announce(state, prompt, hearer)
            outcome = resolve(verb, parse_input(leg.callee.accept_whisper))
            yield outcome.seconds
            state.story.add(StepKind.CALLEE, f"{hearer} {outcome.note}", input=outcome.params)
            if outcome.params is None and not verb.action_on_empty_result:
                continue
            next_url, extra, purpose = verb.action or url, outcome.params or {}, "whisper Gather action"
        else:
            state.fail(f"unsupported verb <{describe_verb(verb)}> in a whisper; the callee leg would fail")
            return False
        documents += 1
        if documents > MAX_WHISPER_DOCUMENTS:
            state.fail(f"more than {MAX_WHISPER_DOCUMENTS} whisper documents; redirect loop?")
            return False
        url = next_url
        verbs = fetch_document(state, url, params | extra, purpose, allow_empty=True, callee_leg=True)
        queue = deque(verbs or ())
    return verbs is not None and not state.ended


def _dial_summary(dial: DialVerb) -> str:
    targets = ", ".join(target.address for target in dial.targets)
    record = "" if not dial.records else ", record dual" if dial.dual_channel else ", record"
    return f"{targets} (timeout {dial.timeout}s{record})"


def _dial_result(state: CallState, winner: Leg | None, end: DialEnd, dial: DialVerb, started: float) -> str:
    if winner is not None:
        ring = round(winner.answered_at - started, 1)
        talk = round(state.talks[-1][1] - state.talks[-1][0], 1)
        return (
            f"answered by {winner.target.address} after {ring:g}s, talked {talk:g}s "
            f"(DialCallDuration {end.duration}s)"
        )
    if end.status == "no-answer":
        return f"no-answer (timeout {dial.timeout}s)"
    return end.status


def _post_dial_action(state: CallState, action: str, end: DialEnd) -> tuple[Verb, ...] | None:
    params = state.call_params("completed" if state.ended else "in-progress") | {
        "DialCallSid": end.sid,
        "DialCallStatus": end.status,
        "DialCallDuration": str(end.duration),
        "DialBridged": "true" if end.bridged else "false",
    }
    state.dial_actions.append((action, params))
    if state.ended:
        # The caller is gone: Twilio still reports the Dial's end, and ignores what comes back.
        fetch_document(state, action, params, "Dial action (caller gone)", allow_empty=True)
        return None
    return fetch_document(state, action, params, "Dial action", allow_empty=True)
