"""TwiML parsing: a carrier-faithful reading of the documents our server answers with.

The whole document is validated before anything is played, as Twilio does: one unknown verb or bad
attribute makes the document an application error, not a partially executed call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ringtrail.carriers.simulator.scenario import DEFAULT_DIAL_TIMEOUT

# Twilio's own limit for a TwiML response body (error 11750).
MAX_DOCUMENT_BYTES = 64 * 1024
# Twilio's default <Record maxLength>.
DEFAULT_RECORD_MAX_LENGTH = 3600
RECORD_MODES = frozenset(
    {
        "do-not-record",
        "record-from-answer",
        "record-from-answer-dual",
        "record-from-ringing",
        "record-from-ringing-dual",
    }
)


class TwimlError(ValueError):
    """The document cannot be executed; the carrier would play an application error."""


@dataclass(frozen=True)
class SayVerb:
    text: str


@dataclass(frozen=True)
class PlayVerb:
    url: str


@dataclass(frozen=True)
class PauseVerb:
    length: int = 1


@dataclass(frozen=True)
class HangupVerb:
    pass


@dataclass(frozen=True)
class RejectVerb:
    reason: Literal["rejected", "busy"] = "rejected"


@dataclass(frozen=True)
class RedirectVerb:
    url: str


@dataclass(frozen=True)
class DialTarget:
    kind: Literal["number", "sip"]
    address: str
    whisper_url: str | None = None


@dataclass(frozen=True)
class DialVerb:
    targets: tuple[DialTarget, ...]
    caller_id: str = ""
    answer_on_bridge: bool = False
    timeout: int = DEFAULT_DIAL_TIMEOUT
    record: str = "do-not-record"
    action: str | None = None
    recording_status_callback: str | None = None

    @property
    def records(self) -> bool:
        return self.record != "do-not-record"

    @property
    def dual_channel(self) -> bool:
        return self.record.endswith("-dual")


@dataclass(frozen=True)
class RecordVerb:
    action: str | None = None
    recording_status_callback: str | None = None
    max_length: int = DEFAULT_RECORD_MAX_LENGTH
    play_beep: bool = True


Verb = SayVerb | PlayVerb | PauseVerb | HangupVerb | RejectVerb | RedirectVerb | DialVerb | RecordVerb


def parse_twiml(body: str) -> tuple[Verb, ...]:
    """Parse a ``<Response>`` document into verbs, or raise TwimlError saying why the carrier would not."""
    if len(body.encode()) > MAX_DOCUMENT_BYTES:
        raise TwimlError(f"TwiML document larger than {MAX_DOCUMENT_BYTES // 1024} KB")
    root = _parse_xml(body)
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, expected <Response>")
    return tuple(_parse_verb(element) for element in root)


def describe_verb(verb: Verb) -> str:
    return type(verb).__name__.removesuffix("Verb")


def _parse_xml(body: str) -> Element:
    if not body.strip():
        raise TwimlError("empty TwiML document")
    try:
        root: Element = fromstring(body)
    except (ParseError, DefusedXmlException) as exc:
        raise TwimlError(f"unparsable TwiML: {exc}") from exc
    return root


def _parse_verb(element: Element) -> Verb:
    parser = _VERB_PARSERS.get(element.tag)
    if parser is None:
        raise TwimlError(f"unsupported verb <{element.tag}>")
    return parser(element)


def _text(element: Element) -> str:
    return "".join(element.itertext()).strip()


def _int_attr(element: Element, name: str, default: int, minimum: int = 0) -> int:
    raw = element.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> is not a whole number") from exc
    if value < minimum:
        raise TwimlError(f"<{element.tag} {name}={raw!r}> must be at least {minimum}")
    return value


def _bool_attr(element: Element, name: str, default: bool) -> bool:
    raw = element.get(name)
    if raw is None:
        return default
    if raw.strip().lower() not in ("true", "false"):
        raise TwimlError(f"<{element.tag} {name}={raw!r}> must be true or false")
    return raw.strip().lower() == "true"


def _url_attr(element: Element, name: str) -> str | None:
    raw = (element.get(name) or "").strip()
    return raw or None


def _parse_say(element: Element) -> Verb:
    return SayVerb(_text(element))


def _parse_play(element: Element) -> Verb:
    return PlayVerb(_text(element))


def _parse_pause(element: Element) -> Verb:
    return PauseVerb(_int_attr(element, "length", 1))


def _parse_hangup(element: Element) -> Verb:
    return HangupVerb()


def _parse_reject(element: Element) -> Verb:
    reason = element.get("reason", "rejected")
    if reason == "busy":
        return RejectVerb("busy")
    if reason == "rejected":
        return RejectVerb("rejected")
    raise TwimlError(f"<Reject reason={reason!r}> must be rejected or busy")


def _parse_redirect(element: Element) -> Verb:
    url = _text(element)
    if not url:
        raise TwimlError("<Redirect> without a URL")
    return RedirectVerb(url)


def _parse_dial(element: Element) -> Verb:
    record = element.get("record", "do-not-record")
    if record not in RECORD_MODES:
        raise TwimlError(f"<Dial record={record!r}> is not a recording mode")
    return DialVerb(
        targets=_dial_targets(element),
        caller_id=element.get("callerId", ""),
        answer_on_bridge=_bool_attr(element, "answerOnBridge", False),
        timeout=_int_attr(element, "timeout", DEFAULT_DIAL_TIMEOUT, minimum=1),
        record=record,
        action=_url_attr(element, "action"),
        recording_status_callback=_url_attr(element, "recordingStatusCallback"),
    )


def _dial_targets(element: Element) -> tuple[DialTarget, ...]:
    targets: list[DialTarget] = []
    for child in element:
        if child.tag not in ("Number", "Sip"):
            raise TwimlError(f"unsupported <Dial> noun <{child.tag}>")
        address = _text(child)
        if not address:
            raise TwimlError(f"empty <{child.tag}> in <Dial>")
        kind: Literal["number", "sip"] = "number" if child.tag == "Number" else "sip"
        targets.append(DialTarget(kind, address, _url_attr(child, "url")))
    plain = (element.text or "").strip()
    if plain and not targets:
        targets.append(DialTarget("number", plain))
    if not targets:
        raise TwimlError("<Dial> without anything to dial")
    return tuple(targets)


def _parse_record(element: Element) -> Verb:
    return RecordVerb(
        action=_url_attr(element, "action"),
        recording_status_callback=_url_attr(element, "recordingStatusCallback"),
        max_length=_int_attr(element, "maxLength", DEFAULT_RECORD_MAX_LENGTH, minimum=1),
        play_beep=_bool_attr(element, "playBeep", True),
    )


_VERB_PARSERS: dict[str, Callable[[Element], Verb]] = {
    "Say": _parse_say,
    "Play": _parse_play,
    "Pause": _parse_pause,
    "Hangup": _parse_hangup,
    "Reject": _parse_reject,
    "Redirect": _parse_redirect,
    "Dial": _parse_dial,
    "Record": _parse_record,
}
