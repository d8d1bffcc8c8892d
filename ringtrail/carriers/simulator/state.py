"""The state of one simulated call and the document fetching every verb relies on."""

from __future__ import annotations

from dataclasses import dataclass, field

from ringtrail.carriers.simulator.scenario import CallScenario
from ringtrail.carriers.simulator.story import StepKind, Story, VirtualClock
from ringtrail.carriers.simulator.transport import CarrierHttp, Exchange
from ringtrail.carriers.simulator.twiml import TwimlError, Verb, describe_verb, parse_twiml

API_VERSION = "2010-04-01"
VOICE_PATH = "/carriers/twilio/voice"
STATUS_PATH = "/carriers/twilio/status"
DEFAULT_RECORDING_CALLBACK = "/carriers/twilio/recording"
APPLICATION_ERROR = "the carrier would play an application error"


def whole_seconds(seconds: float) -> int:
    # Carriers report durations as whole seconds.
    return int(seconds + 0.5)


def recording_url(account_sid: str, recording_sid: str) -> str:
    return f"https://api.twilio.com/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"


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

    def call_params(self, status: str = "in-progress") -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": self.account_sid,
            "From": self.scenario.from_,
            "To": self.scenario.to,
            "CallStatus": status,
            "Direction": "inbound",
            "ApiVersion": API_VERSION,
        }

    def verb(self, text: str, **fields: object) -> None:
        self.story.add(StepKind.VERB, text, **fields)

    def hang_up(self, text: str) -> None:
        self.verb(text)
        self.ended = True

    def fail(self, message: str, **fields: object) -> None:
        self.story.error(message, **fields)
        self.failed = True
        self.ended = True


def fetch_document(
    state: CallState, url: str, params: dict[str, str], purpose: str, allow_empty: bool
) -> tuple[Verb, ...] | None:
    """POST for TwiML; None means the call failed (already told), () an empty answer where allowed."""
    exchange = state.http.post(url, params)
    log_exchange(state, purpose, exchange)
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
