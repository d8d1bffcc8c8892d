"""The state of one simulated call and the document fetching every verb relies on."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Protocol

from ringtrail.carriers.simulator.scenario import CallScenario, new_sid
from ringtrail.carriers.simulator.story import StepKind, Story, VirtualClock
from ringtrail.carriers.simulator.transport import CarrierHttp, Exchange
from ringtrail.carriers.simulator.twiml import RedirectVerb, TwimlError, Verb, describe_verb, parse_twiml

API_VERSION = "2010-04-01"
VOICE_PATH = "/carriers/twilio/voice"
STATUS_PATH = "/carriers/twilio/status"
DEFAULT_RECORDING_CALLBACK = "/carriers/twilio/recording"
APPLICATION_ERROR = "the carrier would play an application error"
# Text-to-speech reads about 150 words a minute; a <Say> takes that long on the virtual clock.
WORDS_PER_SECOND = 2.5


def whole_seconds(seconds: float) -> int:
    # Carriers report durations as whole seconds.
    return int(seconds + 0.5)


def spoken_seconds(text: str) -> float:
    return round(len(text.split()) / WORDS_PER_SECOND, 1)


def recording_url(account_sid: str, recording_sid: str) -> str:
    return f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"


class RecordingStore(Protocol):
    """Somewhere that serves the audio of a finished recording; returns its RecordingUrl."""

    def publish(self, account_sid: str, recording_sid: str, seconds: int, channels: int) -> str: ...


@dataclass(frozen=True)
class Recording:
    sid: str
    url: str
    duration: int
    channels: int
    source: str  # "DialVerb" or "RecordVerb"
    callback_url: str


@dataclass
class CallState:
    scenario: CallScenario
    http: CarrierHttp
    call_sid: str
    account_sid: str
    clock: VirtualClock
    story: Story
    picked_up: bool = False
    ended: bool = False
    failed: bool = False
    answered: bool = False
    voicemail: bool = False
    rejected: str | None = None
    dial_statuses: list[str] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    dial_actions: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    direction: str = "inbound"
    # Where status callbacks go, and which of Twilio's events (initiated, ringing, answered,
    # completed) are asked for; None is an inbound number's setup: ringing, in-progress, final.
    status_callback: str | None = STATUS_PATH
    status_events: frozenset[str] | None = None
    # Outbound calls: when the callee picked up (durations count from there), or why it never did.
    connected_at: float = 0.0
    unanswered_status: str | None = None
    media: RecordingStore | None = None
    caller_hung_up: bool = False
    answered_by: str | None = None
    gathers: int = 0
    inputs_used: int = 0
    # Every TwiML document the call ran, as (URL, offset it started at), and the talking spans:
    # together they tell how long the caller spent in hold loops. ``shapes`` holds each visit's
    # verbs without their callback URLs, so a loop whose URLs change every round is still a loop.
    visits: list[tuple[str, float]] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)
    talks: list[tuple[float, float]] = field(default_factory=list)

    def call_params(self, status: str = "in-progress") -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.scenario.from_,
            "To": self.scenario.to,
            "CallStatus": status,
            "Direction": self.direction,
            "ApiVersion": API_VERSION,
        }

    @property
    def document_url(self) -> str:
        """The URL of the TwiML now running: where a <Gather> without action posts."""
        return self.visits[-1][0] if self.visits else self.http.resolve(VOICE_PATH)

    def verb(self, text: str, **fields: object) -> None:
        self.story.add(StepKind.VERB, text, **fields)

    def hang_up(self, text: str) -> None:
        self.verb(text)
        self.ended = True

    def wait(self, seconds: float) -> bool:
        """Let carrier time pass; False, with the call ended, if the caller hangs up meanwhile."""
        limit = self.scenario.hangup_after
        if limit is not None and self.clock.offset + seconds > limit:
            self.clock.advance(limit - self.clock.offset)
            self.caller_hangs_up(f"caller hangs up at {limit:g}s")
            return False
        self.clock.advance(seconds)
        return True

    def caller_hangs_up(self, text: str) -> None:
        self.caller_hung_up = True
        self.hang_up(text)

    def next_input(self) -> str | None:
        """The caller's scripted answer to the next <Gather>; silence once the script runs out."""
        inputs = self.scenario.inputs
        answer = inputs[self.inputs_used] if self.inputs_used < len(inputs) else None
        self.inputs_used += 1
        return answer

    def new_recording(self, seconds: float, channels: int, source: str, callback_url: str) -> Recording:
        sid = new_sid("RE")
        duration = whole_seconds(seconds)
        url = (
            self.media.publish(self.account_sid, sid, duration, channels)
            if self.media is not None
            else recording_url(self.account_sid, sid)
        )
        return Recording(sid, url, duration, channels, source, callback_url)

    def hold_seconds(self) -> float:
        """Time spent in documents the call ran more than once (hold loops), less any talking: the same
        URL fetched again, or the same verbs served again under a new URL (a server that signs a fresh
        reference into every round's callbacks)."""
        urls = [url for url, _ in self.visits]
        ends = [start for _, start in self.visits[1:]] + ([self.clock.offset] if self.visits else [])
        held = 0.0
        for index, ((url, start), end) in enumerate(zip(self.visits, ends, strict=True)):
            shape = self.shapes[index] if index < len(self.shapes) else ""
            if urls.count(url) > 1 or (shape and self.shapes.count(shape) > 1):
                talking = sum(max(0.0, min(end, t1) - max(start, t0)) for t0, t1 in self.talks)
                held += max(0.0, end - start - talking)
        return held

    def fail(self, message: str, **fields: object) -> None:
        self.story.error(message, **fields)
        self.failed = True
        self.ended = True


def fetch_document(
    state: CallState,
    url: str,
    params: dict[str, str],
    purpose: str,
    allow_empty: bool,
    callee_leg: bool = False,
) -> tuple[Verb, ...] | None:
    """POST for TwiML; None means the call failed (already told), () an empty answer where allowed.

    ``callee_leg`` documents (whispers) run on the dialled party's leg, not as the caller's document.
    """
    exchange = state.http.post(url, params)
    log_exchange(state, purpose, exchange)
    if not callee_leg:
        state.visits.append((exchange.url, state.clock.offset))
        state.shapes.append("")
    where = f"{purpose} {state.http.display(exchange.url)}"
    if not exchange.ok:
        state.fail(f"{where}: {exchange.error or f'HTTP {exchange.status}'}; {APPLICATION_ERROR}")
        return None
    if not exchange.body.strip() and allow_empty:
        state.story.add(StepKind.RESPONSE, "empty answer (no TwiML)", status=exchange.status)
        return ()
    if exchange.body.strip() and "xml" not in exchange.content_type.lower():
        state.fail(f"{where}: Content-Type {exchange.content_type!r} is not TwiML; {APPLICATION_ERROR}")
        return None
    try:
        verbs = parse_twiml(exchange.body)
    except TwimlError as exc:
        state.fail(f"{where}: {exc}; {APPLICATION_ERROR}", body=exchange.body)
        return None
    if not callee_leg:
        state.shapes[-1] = document_shape(verbs)
    summary = ", ".join(describe_verb(verb) for verb in verbs) or "(no verbs)"
    state.story.add(StepKind.RESPONSE, f"TwiML: {summary}", body=exchange.body)
    return verbs


def log_exchange(
    state: CallState, purpose: str, exchange: Exchange, kind: StepKind = StepKind.REQUEST
) -> None:
    answer = exchange.error if exchange.status is None else str(exchange.status)
    prefix = f"{purpose}: " if kind == StepKind.CALLBACK else ""
    state.story.add(
        kind,
        f"{prefix}POST {state.http.display(exchange.url)} → {answer} ({exchange.elapsed_ms} ms)",
        purpose=purpose,
        url=exchange.url,
        status=exchange.status,
        elapsed_ms=exchange.elapsed_ms,
        params=exchange.params,
    )


# Where a verb tells the carrier to call back; not part of what the caller hears.
_CALLBACK_FIELDS = frozenset({"action", "recording_status_callback", "whisper_url"})


def document_shape(verbs: tuple[Verb, ...]) -> str:
    """The document's verbs with every callback URL blanked: equal for two rounds of a hold loop."""
    return repr(tuple(_without_callbacks(verb) for verb in verbs)) if verbs else ""


def _without_callbacks(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_without_callbacks(item) for item in value)
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    kept = [
        (f.name, _without_callbacks(getattr(value, f.name)))
        for f in dataclasses.fields(value)
        if f.name not in _CALLBACK_FIELDS and not isinstance(value, RedirectVerb)
    ]
    return (type(value).__name__, tuple(kept))
