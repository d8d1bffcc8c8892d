"""TeXML parameters → carrier-neutral requests, against the payloads Telnyx documents."""

from __future__ import annotations

import datetime as dt

import pytest

from ringtrail.carriers.base import EventKind
from ringtrail.carriers.telnyx.parse import MalformedRequest, callback_event, inbound_call

ACCOUNT = "f5586561-8ff0-4291-a51b-c7dfe4139ff9"
CALL = "v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ"
# developers.telnyx.com/api-reference/callbacks/texml-call-completed (trimmed to what we read).
COMPLETED = {
    "AccountSid": ACCOUNT,
    "CallSid": CALL,
    "CallSidLegacy": CALL,
    "CallStatus": "completed",
    "CallbackSource": "call-progress-events",
    "ConnectionId": "1234567890",
    "From": "+35319605860",
    "SequenceNumber": "3",
    "Timestamp": "2024-01-15T10:30:00Z",
    "To": "+13129457420",
    "CallDuration": "45",
    "CallerId": "John Doe",
    "DialCallDuration": "120",
    "DialCallSid": CALL,
    "DialCallStatus": "completed",
}
# texml-instruction-fetching, "Request Parameters" (always sent).
VOICE = {
    "AccountSid": "6a9a7976-012e-45d2-9258-6f5dc68d861e",
    "CallSid": "fcc47bc6-e428-11ed-ad79-02420aef00b4",
    "CallSidLegacy": "fcc47bc6-e428-11ed-ad79-02420aef00b4",
    "From": "+13122010091",
    "To": "+13122010090",
    "ConnectionId": "1568109700606592442",
    "ApiVersion": "2010-04-01",
    "CallStatus": "ringing",
}
# api-reference/callbacks/texml-recording-completed.
RECORDING = {
    "AccountSid": "cb6cfbbc-eb00-41af-a3f3-0d7b32009e4b",
    "CallSid": "v2:qiaymU9Ij90xJRRkYGWHOIx_41EVJPrzlny2zC67hwL1wVIUnnMrqQ",
    "CallSidLegacy": "v2:qiaymU9Ij90xJRRkYGWHOIx_41EVJPrzlny2zC67hwL1wVIUnnMrqQ",
    "ConnectionId": "1234567890",
    "RecordingChannels": "2",
    "RecordingDuration": "5",
    "RecordingSid": "35094891-3290-4142-b2c2-b2eda57534cf",
    "RecordingSource": "DialVerb",
    "RecordingStatus": "completed",
    "RecordingUrl": "https://recording.com/your-recording-url",
}


def test_instruction_fetch_becomes_an_inbound_call() -> None:
    call = inbound_call("telnyx", VOICE)
    assert (call.carrier, call.carrier_account_id, call.call_id) == (
        "telnyx",
        VOICE["AccountSid"],
        VOICE["CallSid"],
    )
    assert (call.from_number, call.to_number, call.direction) == ("+13122010091", "+13122010090", "inbound")
    assert call.raw == VOICE


def test_caller_id_name_is_the_caller_name_but_a_number_is_not() -> None:
    assert inbound_call("telnyx", {**VOICE, "CallerId": "John Doe"}).caller_name == "John Doe"
    assert inbound_call("telnyx", {**VOICE, "CallerId": "+13122010091"}).caller_name == ""
    assert inbound_call("telnyx", {**VOICE, "CallerName": "Ann", "CallerId": "Bob"}).caller_name == "Ann"


def test_status_callback_with_iso_timestamp_and_sequence() -> None:
    event = callback_event("telnyx", EventKind.STATUS, COMPLETED)
    assert (event.kind, event.status, event.sequence, event.call_duration) == (
        EventKind.STATUS,
        "completed",
        3,
        45,
    )
    assert event.occurred_at == dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC)
    assert event.raw["Timestamp"] == "2024-01-15T10:30:00Z"  # stored as Telnyx sent it


def test_fractional_and_offset_timestamps() -> None:
    event = callback_event(
        "telnyx", EventKind.STATUS, {**COMPLETED, "Timestamp": "2024-01-15T12:30:26.028+02:00"}
    )
    assert event.occurred_at == dt.datetime(2024, 1, 15, 10, 30, 26, tzinfo=dt.UTC)


def test_missing_sequence_gets_the_same_fallback_as_twilio() -> None:
    without = {key: value for key, value in COMPLETED.items() if key != "SequenceNumber"}
    assert callback_event("telnyx", EventKind.STATUS, {**without, "CallStatus": "ringing"}).sequence == 2
    first = callback_event("telnyx", EventKind.DIAL, without)
    assert first.sequence == callback_event("telnyx", EventKind.DIAL, without).sequence


def test_dial_action() -> None:
    event = callback_event("telnyx", EventKind.DIAL, COMPLETED)
    assert (event.status, event.dial_duration) == ("completed", 120)


def test_recording_completed() -> None:
    event = callback_event("telnyx", EventKind.RECORDING, {**RECORDING, "purpose": "call"})
    assert (event.recording_url, event.recording_id, event.recording_duration) == (
        RECORDING["RecordingUrl"],
        RECORDING["RecordingSid"],
        5,
    )
    assert (event.status, event.recording_purpose) == ("completed", "call")


@pytest.mark.parametrize(
    ("kind", "params", "named"),
    [
        (EventKind.STATUS, {**COMPLETED, "Timestamp": "yesterday"}, "Timestamp"),
        (EventKind.STATUS, {**COMPLETED, "SequenceNumber": "x"}, "SequenceNumber"),
        (EventKind.STATUS, {k: v for k, v in COMPLETED.items() if k != "CallStatus"}, "CallStatus"),
        (EventKind.DIAL, {k: v for k, v in COMPLETED.items() if k != "DialCallStatus"}, "DialCallStatus"),
        (EventKind.RECORDING, {k: v for k, v in RECORDING.items() if k != "RecordingUrl"}, "RecordingUrl"),
    ],
)
def test_malformed_callbacks_name_the_problem(kind: EventKind, params: dict[str, str], named: str) -> None:
    with pytest.raises(MalformedRequest, match=named):
        callback_event("telnyx", kind, params)


@pytest.mark.parametrize("missing", ["AccountSid", "CallSid", "From", "To"])
def test_malformed_voice_names_the_missing_field(missing: str) -> None:
    with pytest.raises(MalformedRequest, match=missing):
        inbound_call("telnyx", {k: v for k, v in VOICE.items() if k != missing})


@pytest.mark.parametrize(
    ("attestation", "validated", "verstat"),
    [
        ("A", "true", "TN-Validation-Passed-A"),
        ("c", "True", "TN-Validation-Passed-C"),
        ("B", "false", "TN-Validation-Failed-B"),
        ("", "true", None),
        ("Z", "true", None),
        ("A", "maybe", None),
    ],
)
def test_shaken_stir_becomes_twilio_verstat_for_screening(
    attestation: str, validated: str, verstat: str | None
) -> None:
    params = {**VOICE, "ShakenStirAttestation": attestation, "ShakenStirValidated": validated}
    assert inbound_call("telnyx", params).raw.get("StirVerstat") == verstat
