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
# Twilio rings up to ten <Number> nouns of one <Dial> at once.
MAX_DIAL_TARGETS = 10
# Twilio's <Gather> defaults: wait 5 seconds for input, finish on '#', accept DTMF only.
DEFAULT_GATHER_TIMEOUT = 5
DEFAULT_FINISH_ON_KEY = "#"
GATHER_INPUTS = frozenset({"dtmf", "speech"})
DTMF_KEYS = frozenset("0123456789*#")
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


Prompt = SayVerb | PlayVerb | PauseVerb


@dataclass(frozen=True)
class GatherVerb:
    """``action`` None means Twilio's default: the URL of the document the Gather came in."""

    inputs: frozenset[str] = frozenset({"dtmf"})
    action: str | None = None
    timeout: int = DEFAULT_GATHER_TIMEOUT
    # Seconds of silence that end speech; "auto" ends at the first pause; None: same as ``timeout``.
    speech_timeout: int | Literal["auto"] | None = None
    num_digits: int | None = None
    finish_on_key: str = DEFAULT_FINISH_ON_KEY
    action_on_empty_result: bool = False
    prompt: tuple[Prompt, ...] = ()

    @property
    def dtmf(self) -> bool:
        return "dtmf" in self.inputs

    @property
    def speech(self) -> bool:
        return "speech" in self.inputs


Verb = (
    SayVerb
    | PlayVerb
    | PauseVerb
    | HangupVerb
    | RejectVerb
    | RedirectVerb
    | DialVerb
    | RecordVerb
    | GatherVerb
)


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


def _parse_hangup(element: Element) -> Verb:
    return HangupVerb()


def _parse_reject(element: Element) -> Verb:
    reason = element.get("reason", "rejected")
    if reason == "busy":
        return RejectVerb("busy")
    if reason == "rejected":
        return RejectVerb("rejected")
    raise TwimlError(f"<Reject reason={reason!r}> must be rejected or busy")


def _method(element: Element) -> None:
    # Ringtrail always asks for POST; GET would put the parameters in the query, which the simulator
    # does not do, so it says so instead of quietly posting.
    raw = (element.get("method") or "POST").strip().upper()
    if raw == "GET":
        raise TwimlError(f"<{element.tag} method=GET> is valid TwiML but the simulator only POSTs")
    if raw != "POST":
        raise TwimlError(f"<{element.tag} method={element.get('method')!r}> must be GET or POST")


def _parse_redirect(element: Element) -> Verb:
    _method(element)
    url = _text(element)
    if not url:
        raise TwimlError("<Redirect> without a URL")
    return RedirectVerb(url)


def _parse_dial(element: Element) -> Verb:
    _method(element)
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
    if len(targets) > MAX_DIAL_TARGETS:
        raise TwimlError(
            f"<Dial> with {len(targets)} targets; Twilio dials at most {MAX_DIAL_TARGETS} at once"
        )
    return tuple(targets)


def _parse_record(element: Element) -> Verb:
    _method(element)
    return RecordVerb(
        action=_url_attr(element, "action"),
        recording_status_callback=_url_attr(element, "recordingStatusCallback"),
        max_length=_int_attr(element, "maxLength", DEFAULT_RECORD_MAX_LENGTH, minimum=1),
        play_beep=_bool_attr(element, "playBeep", True),
    )


def _parse_gather(element: Element) -> Verb:
    _method(element)
    action = element.get("action")
    if action is not None and not action.strip():
        # Twilio error 13338-style: an action that is there but empty is a broken document.
        raise TwimlError("<Gather action=''> is empty")
    return GatherVerb(
        inputs=_gather_inputs(element),
        action=_url_attr(element, "action"),
        timeout=_int_attr(element, "timeout", DEFAULT_GATHER_TIMEOUT, minimum=1),
        speech_timeout=_speech_timeout(element),
        num_digits=_num_digits(element),
        finish_on_key=_finish_on_key(element),
        action_on_empty_result=_bool_attr(element, "actionOnEmptyResult", False),
        prompt=tuple(_parse_prompt(child) for child in element),
    )


def _gather_inputs(element: Element) -> frozenset[str]:
    words = (element.get("input") or "dtmf").split()
    unknown = [word for word in words if word not in GATHER_INPUTS]
    if unknown or not words:
        raise TwimlError(f"<Gather input={element.get('input')!r}> must be dtmf, speech or 'dtmf speech'")
    return frozenset(words)


def _speech_timeout(element: Element) -> int | Literal["auto"] | None:
    raw = (element.get("speechTimeout") or "").strip()
    if not raw:
        return None
    if raw == "auto":
        return "auto"
    return _int_attr(element, "speechTimeout", 0, minimum=0)


def _num_digits(element: Element) -> int | None:
    if element.get("numDigits") is None:
        return None
    return _int_attr(element, "numDigits", 1, minimum=1)


def _finish_on_key(element: Element) -> str:
    raw = element.get("finishOnKey", DEFAULT_FINISH_ON_KEY)
    if raw and (len(raw) != 1 or raw not in DTMF_KEYS):
        raise TwimlError(f"<Gather finishOnKey={raw!r}> must be one of 0-9, * or #, or empty")
    return raw


def _parse_prompt(element: Element) -> Prompt:
    # Twilio allows only these inside <Gather>; anything else makes the document invalid.
    parser = _PROMPT_PARSERS.get(element.tag)
    if parser is None:
        raise TwimlError(f"<{element.tag}> is not allowed inside <Gather> (only Say, Play, Pause)")
    return parser(element)


def _say(element: Element) -> SayVerb:
    return SayVerb(_text(element))


def _play(element: Element) -> PlayVerb:
    return PlayVerb(_text(element))


def _pause(element: Element) -> PauseVerb:
    return PauseVerb(_int_attr(element, "length", 1))


_PROMPT_PARSERS: dict[str, Callable[[Element], Prompt]] = {"Say": _say, "Play": _play, "Pause": _pause}

_VERB_PARSERS: dict[str, Callable[[Element], Verb]] = {
    "Gather": _parse_gather,
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Hangup": _parse_hangup,
    "Reject": _parse_reject,
    "Redirect": _parse_redirect,
    "Dial": _parse_dial,
    "Record": _parse_record,
}
