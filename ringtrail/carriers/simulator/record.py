"""<Record>: the caller leaves a message of the scenario's length, or hangs up at the prompt."""

from __future__ import annotations

from ringtrail.carriers.simulator.state import (
    DEFAULT_RECORDING_CALLBACK,
    CallState,
    Recording,
    fetch_document,
)
from ringtrail.carriers.simulator.twiml import RecordVerb, Verb


def perform_record(state: CallState, record: RecordVerb) -> tuple[Verb, ...] | None:
    beep = ", beep" if record.play_beep else ""
    if state.scenario.voicemail_seconds <= 0:
        state.caller_hangs_up(f"Record (max {record.max_length}s{beep}) → caller hangs up at the prompt")
        return None
    wanted = min(state.scenario.voicemail_seconds, float(record.max_length))
    started, step = state.clock.offset, len(state.story.steps)
    state.verb(f"Record (max {record.max_length}s{beep}) → caller leaves a {wanted:g}s message")
    state.wait(wanted)
    # A caller who hangs up mid-message (hangup_after) leaves what was said so far.
    recording = state.new_recording(
        state.clock.offset - started,
        channels=1,
        source="RecordVerb",
        callback_url=record.recording_status_callback or DEFAULT_RECORDING_CALLBACK,
    )
    state.story.steps[step].fields["recording_sid"] = recording.sid
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
