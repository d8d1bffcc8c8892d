"""Turn TeXML webhook parameters into carrier-neutral requests.

TeXML sends Twilio's parameter names (AccountSid = the Telnyx user id, CallSid, From, To, CallStatus,
SequenceNumber, DialCallStatus, RecordingSid, RecordingUrl …; developers.telnyx.com
docs/voice/programmable-voice/texml-instruction-fetching and api-reference/callbacks/texml-*), so the
Twilio parser does the work, with the same semantics (a missing SequenceNumber gets the same stable
fallback). Only the real differences are translated first:

* ``Timestamp`` is ISO 8601 (``2024-01-15T10:30:00Z``), not RFC 2822;
* the caller's name arrives as ``CallerId`` (e.g. ``"John Doe"``), not ``CallerName``;
* STIR/SHAKEN arrives as ``ShakenStirAttestation`` (A/B/C) and ``ShakenStirValidated`` (true/false)
  (texml-call-initiated), not Twilio's ``StirVerstat``; screening reads ``StirVerstat``, so the
  equivalent is added to the call's raw parameters. (Documented on the status callbacks; that the
  instruction fetch carries them too is an assumption, and without them the call is "absent".)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from email.utils import format_datetime, parsedate_to_datetime

from ringtrail.carriers.base import CallbackEvent, EventKind, InboundCall
from ringtrail.carriers.twilio import parse as twiml_parse
from ringtrail.carriers.twilio.parse import MalformedRequest
from ringtrail.lib.phone import normalize_e164

__all__ = ["MalformedRequest", "callback_event", "inbound_call"]


def _rfc2822_timestamp(raw: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        try:
            parsedate_to_datetime(raw)  # also accept Twilio's spelling, as the Twilio parser does
        except (TypeError, ValueError):
            raise MalformedRequest("parameter Timestamp is not an ISO 8601 or RFC 2822 date") from None
        return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # Telnyx documents UTC ("Z"); never guess a local zone
    return format_datetime(moment)


def _caller_name(params: Mapping[str, str]) -> str:
    # CallerId is a display name, unless the carrier only had the number to show.
    name = params.get("CallerName", "") or params.get("CallerId", "")
    return "" if normalize_e164(name) else name


def as_twiml_params(params: Mapping[str, str]) -> dict[str, str]:
    translated = dict(params)
    if params.get("Timestamp", "").strip():
        translated["Timestamp"] = _rfc2822_timestamp(params["Timestamp"])
    name = _caller_name(params)
    if name:
        translated["CallerName"] = name
    return translated


def stir_verstat(params: Mapping[str, str]) -> str:
    """Twilio's spelling of Telnyx's SHAKEN result ("TN-Validation-Passed-A" …), or "" if none."""
    attestation = params.get("ShakenStirAttestation", "").strip().upper()
    validated = params.get("ShakenStirValidated", "").strip().lower()
    if attestation not in ("A", "B", "C") or validated not in ("true", "false"):
        return ""
    return f"TN-Validation-{'Passed' if validated == 'true' else 'Failed'}-{attestation}"


def inbound_call(carrier: str, params: Mapping[str, str]) -> InboundCall:
    call = twiml_parse.inbound_call(carrier, as_twiml_params(params))
    raw = dict(params)
    verstat = stir_verstat(params)
    if verstat and "StirVerstat" not in raw:
        raw["StirVerstat"] = verstat
    return dataclasses.replace(call, raw=raw)


def callback_event(carrier: str, kind: EventKind, params: Mapping[str, str]) -> CallbackEvent:
    event = twiml_parse.callback_event(carrier, kind, as_twiml_params(params))
    return dataclasses.replace(event, raw=dict(params))
