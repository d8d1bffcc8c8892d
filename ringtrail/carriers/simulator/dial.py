"""The verbs that involve another party: <Dial> (with its whisper) and <Record>."""

from __future__ import annotations

from ringtrail.carriers.simulator.scenario import new_sid
from ringtrail.carriers.simulator.state import (
    DEFAULT_RECORDING_CALLBACK,
    CallState,
    Recording,
    fetch_document,
    recording_url,
    whole_seconds,
)
from ringtrail.carriers.simulator.story import Step, StepKind
from ringtrail.carriers.simulator.twiml import (
    DialTarget,
    DialVerb,
    HangupVerb,
    PauseVerb,
    PlayVerb,
    RecordVerb,
    RejectVerb,
    SayVerb,
    Verb,
    describe_verb,
)


def perform_dial(state: CallState, dial: DialVerb) -> tuple[Verb, ...] | None:
    started, mark = state.clock.offset, len(state.story.steps)
    child_sid = new_sid("CA")
    status, talk = _connect(state, dial, child_sid)
    if state.ended:
        return None
    state.dial_statuses.append(status)
    text = f"Dial {_dial_summary(dial)} → {_dial_result(state, dial, status, talk)}"
    # Inserted where the Dial began so the callee's whisper lines read after it.
    state.story.steps.insert(
        mark, Step(started, StepKind.VERB, text, {"dial_call_sid": child_sid, "dial_call_status": status})
    )
    if status == "completed" and dial.records:
        _queue_dial_recording(state, dial, talk)
    if dial.action is None:
        return None
    return _post_dial_action(state, dial.action, child_sid, status, talk)


def _connect(state: CallState, dial: DialVerb, child_sid: str) -> tuple[str, float]:
    """Ring the callee as the scenario says; returns (DialCallStatus, talk seconds)."""
    scenario = state.scenario
    if scenario.outcome in ("busy", "failed"):
        return scenario.outcome, 0.0
    if scenario.outcome == "no-answer" or scenario.answer_after > dial.timeout:
        state.clock.advance(dial.timeout)
        return "no-answer", 0.0
    state.clock.advance(scenario.answer_after)
    # All targets ring at once; the scenario has one callee, so the first target is the one who answers.
    target = dial.targets[0]
    if target.whisper_url and not _whisper(state, dial, target, child_sid):
        return "no-answer", 0.0
    state.answered = True
    state.clock.advance(scenario.talk)
    return "completed", scenario.talk


def _whisper(state: CallState, dial: DialVerb, target: DialTarget, child_sid: str) -> bool:
    """Play the whisper to the callee; False if the callee rejected it or the request failed."""
    assert target.whisper_url is not None
    params = {
        "CallSid": child_sid,
        "ParentCallSid": state.call_sid,
        "AccountSid": state.account_sid,
        "From": dial.caller_id or state.scenario.from_,
        "To": target.address,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
        "ApiVersion": "2010-04-01",
    }
    verbs = fetch_document(state, target.whisper_url, params, "whisper", allow_empty=True)
    if verbs is None:
        return False
    return all(_callee_hears(state, verb) for verb in verbs) and not state.ended


def _callee_hears(state: CallState, verb: Verb) -> bool:
    """One whisper verb as the callee experiences it; False stops the whisper."""
    if isinstance(verb, SayVerb):
        state.story.add(StepKind.CALLEE, f'callee hears Say "{verb.text}"', say=verb.text)
    elif isinstance(verb, PlayVerb):
        state.story.add(StepKind.CALLEE, f"callee hears Play {verb.url}", play=verb.url)
    elif isinstance(verb, PauseVerb):
        state.story.add(StepKind.CALLEE, f"callee hears Pause {verb.length}s")
        state.clock.advance(verb.length)
    elif isinstance(verb, HangupVerb | RejectVerb):
        state.story.add(StepKind.CALLEE, "callee leg hung up by the whisper → not connected")
        return False
    else:
        state.fail(f"unsupported verb <{describe_verb(verb)}> in a whisper; the callee leg would fail")
        return False
    return True


def _dial_summary(dial: DialVerb) -> str:
    targets = ", ".join(target.address for target in dial.targets)
    record = "" if not dial.records else ", record dual" if dial.dual_channel else ", record"
    return f"{targets} (timeout {dial.timeout}s{record})"


def _dial_result(state: CallState, dial: DialVerb, status: str, talk: float) -> str:
    if status == "completed":
        return f"answered after {state.scenario.answer_after:g}s, talked {talk:g}s"
    if (
        status == "no-answer"
        and state.scenario.outcome == "answer"
        and state.scenario.answer_after <= dial.timeout
    ):
        return "callee hung up during the whisper (no-answer)"
    if status == "no-answer":
        return f"no answer after {dial.timeout}s"
    return status


def _queue_dial_recording(state: CallState, dial: DialVerb, talk: float) -> None:
    sid = new_sid("RE")
    state.recordings.append(
        Recording(
            sid=sid,
            url=recording_url(state.account_sid, sid),
            duration=whole_seconds(talk),
            channels=2 if dial.dual_channel else 1,
            source="DialVerb",
            callback_url=dial.recording_status_callback or DEFAULT_RECORDING_CALLBACK,
        )
    )


def _post_dial_action(
    state: CallState, action: str, child_sid: str, status: str, talk: float
) -> tuple[Verb, ...] | None:
    params = state.call_params() | {
        "DialCallSid": child_sid,
        "DialCallStatus": status,
        "DialCallDuration": str(whole_seconds(talk)),
    }
    state.dial_actions.append((action, params))
    return fetch_document(state, action, params, "Dial action", allow_empty=True)


def perform_record(state: CallState, record: RecordVerb) -> tuple[Verb, ...] | None:
    beep = ", beep" if record.play_beep else ""
    if state.scenario.voicemail_seconds <= 0:
        state.hang_up(f"Record (max {record.max_length}s{beep}) → caller hangs up at the prompt")
        return None
    seconds = min(state.scenario.voicemail_seconds, float(record.max_length))
    sid = new_sid("RE")
    recording = Recording(
        sid=sid,
        url=recording_url(state.account_sid, sid),
        duration=whole_seconds(seconds),
        channels=1,
        source="RecordVerb",
        callback_url=record.recording_status_callback or DEFAULT_RECORDING_CALLBACK,
    )
    state.verb(
        f"Record (max {record.max_length}s{beep}) → caller leaves a {seconds:g}s message", recording_sid=sid
    )
    state.clock.advance(seconds)
    state.recordings.append(recording)
    state.voicemail = True
    if record.action is None:
        return None
    return _post_record_action(state, record.action, recording)


def _post_record_action(state: CallState, action: str, recording: Recording) -> tuple[Verb, ...] | None:
    # The caller ended the message by hanging up, which is what Digits=hangup tells the server.
    params = state.call_params("completed") | {
        "RecordingSid": recording.sid,
        "RecordingUrl": recording.url,
        "RecordingDuration": str(recording.duration),
        "Digits": "hangup",
    }
    return fetch_document(state, action, params, "Record action", allow_empty=True)
