"""Turn Twilio-dialect webhook parameters into carrier-neutral requests."""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from ringtrail.calls.caller_area import from_carrier
from ringtrail.carriers.base import CallbackEvent, EventKind, InboundCall
from ringtrail.lib.phone import normalize_e164

MAX_FIELD_LENGTH = 2048
STATUS_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3}


class MalformedRequest(ValueError):
    """The request is signed but not a call we can understand; the message says why."""


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise MalformedRequest(f"missing required parameter {name}")
    if len(value) > MAX_FIELD_LENGTH:
        raise MalformedRequest(f"parameter {name} is longer than {MAX_FIELD_LENGTH} characters")
    return value


def _int_or_none(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return max(int(raw), 0)
    except ValueError as exc:
        raise MalformedRequest(f"parameter {name} must be a whole number, got {raw[:40]!r}") from exc


def _timestamp(params: Mapping[str, str]) -> dt.datetime | None:
    raw = params.get("Timestamp", "").strip()
    if not raw:
        return None
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError) as exc:
        raise MalformedRequest("parameter Timestamp is not an RFC 2822 date") from exc


def _stable_sequence(*parts: str) -> int:
    # Callbacks without Twilio's SequenceNumber still need a stable idempotency key.
    return zlib.crc32("|".join(parts).encode()) & 0x7FFFFFFF


def inbound_call(carrier: str, params: Mapping[str, str]) -> InboundCall:
    caller = _required(params, "From")
    return InboundCall(
        carrier=carrier,
        carrier_account_id=_required(params, "AccountSid"),
        call_id=_required(params, "CallSid"),
        from_number=normalize_e164(caller) or caller[:64],
        to_number=normalize_e164(_required(params, "To")) or "",
        caller_name=params.get("CallerName", "")[:200],
        direction=params.get("Direction", "inbound")[:32],
        caller_area=from_carrier(
            params.get("FromCity", "")[:120],
            params.get("FromState", "")[:120],
            params.get("FromZip", "")[:20],
            params.get("FromCountry", "")[:120],
        ),
        raw=dict(params),
    )


def callback_event(carrier: str, kind: EventKind, params: Mapping[str, str]) -> CallbackEvent:
    call_id = _required(params, "CallSid")
    account_id = _required(params, "AccountSid")
    sequence = _int_or_none(params, "SequenceNumber")
    common = functools.partial(
        CallbackEvent, carrier=carrier, carrier_account_id=account_id, call_id=call_id, kind=kind
    )
    if kind is EventKind.STATUS:
        status = _required(params, "CallStatus")
        return common(
            sequence=sequence if sequence is not None else STATUS_RANK.get(status, 9),
            status=status,
            occurred_at=_timestamp(params),
            call_duration=_int_or_none(params, "CallDuration"),
            raw=dict(params),
        )
    if kind is EventKind.DIAL:
        status = _required(params, "DialCallStatus")
        dial_sid = params.get("DialCallSid", "")
        return common(
            sequence=sequence if sequence is not None else _stable_sequence(dial_sid, status),
            status=status,
            dial_duration=_int_or_none(params, "DialCallDuration"),
            raw=dict(params),
        )
    recording_id = _required(params, "RecordingSid")
    status = params.get("RecordingStatus", "completed")[:32] or "completed"
    return common(
        sequence=sequence if sequence is not None else _stable_sequence(recording_id, status),
        status=status,
        occurred_at=_timestamp(params),
        recording_url=_required(params, "RecordingUrl"),
        recording_id=recording_id,
        recording_duration=_int_or_none(params, "RecordingDuration"),
        recording_purpose=_recording_purpose(params),
        raw=dict(params),
    )


def _recording_purpose(params: Mapping[str, str]) -> str:
    purpose = params.get("purpose", "")
    if purpose in ("call", "voicemail"):
        return purpose
    return "voicemail" if params.get("RecordingSource") == "RecordVerb" else "call"
