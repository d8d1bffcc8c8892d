"""The simulated carrier: places a call, follows the TwiML, plays the callee, fires callbacks."""

from __future__ import annotations

import random
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ringtrail.carriers.simulator.callbacks import final_status, fire_callbacks
from ringtrail.carriers.simulator.dial import perform_dial
from ringtrail.carriers.simulator.gather import perform_gather, play_prompt
from ringtrail.carriers.simulator.record import perform_record
from ringtrail.carriers.simulator.scenario import CallOutcome, CallResult, CallScenario, new_sid
from ringtrail.carriers.simulator.signing import Credentials
from ringtrail.carriers.simulator.state import (
    VOICE_PATH,
    CallState,
    RecordingStore,
    fetch_document,
    whole_seconds,
)
from ringtrail.carriers.simulator.story import StepKind, Story, VirtualClock
from ringtrail.carriers.simulator.transport import REQUEST_BUDGET_SECONDS, CarrierHttp
from ringtrail.carriers.simulator.twiml import (
    DialVerb,
    GatherVerb,
    HangupVerb,
    PauseVerb,
    PlayVerb,
    RecordVerb,
    RedirectVerb,
    RejectVerb,
    SayVerb,
    Verb,
)

# A redirect loop would otherwise never end; Twilio gives up on runaway documents too.
MAX_DOCUMENTS = 50
# Twilio's default ring time for an API call (the Calls resource's Timeout).
DEFAULT_OUTBOUND_TIMEOUT = 60


@dataclass(frozen=True)
class OutboundCall:
    """What a POST to the Calls resource asked for (the REST stand-in fills this in)."""

    sid: str
    url: str
    status_callback: str | None = None
    status_events: frozenset[str] = frozenset({"completed"})
    timeout: int = DEFAULT_OUTBOUND_TIMEOUT
    record: bool = False
    recording_status_callback: str = ""


class Simulator:
    """Places simulated carrier calls against a Ringtrail server at ``base_url``.

    Pass ``client`` to reuse a connection pool or to plug a different transport into the engine;
    otherwise each call opens (and closes) its own ``httpx.Client``. Pass ``recordings`` (e.g. a
    ``RecordingServer``) to have recordings' audio actually served at their ``RecordingUrl``.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        client: httpx.Client | None = None,
        budget: float = REQUEST_BUDGET_SECONDS,
        recordings: RecordingStore | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.client = client
        self.budget = budget
        self.recordings = recordings

    def place_call(self, scenario: CallScenario) -> CallResult:
        return self._with_client(lambda client: self._run(self._state(scenario, client), None))

    def place_outbound(self, scenario: CallScenario, call: OutboundCall) -> CallResult:
        """An API-initiated call from ``scenario.from_`` to ``scenario.to`` (outbound-api)."""
        return self._with_client(lambda client: self._run(self._state(scenario, client, call), call))

    def _with_client(self, run: Callable[[httpx.Client], CallResult]) -> CallResult:
        if self.client is not None:
            return run(self.client)
        with httpx.Client(follow_redirects=False) as client:
            return run(client)

    def _state(
        self, scenario: CallScenario, client: httpx.Client, call: OutboundCall | None = None
    ) -> CallState:
        clock = VirtualClock()
        state = CallState(
            scenario=scenario,
            http=CarrierHttp(client, self.credentials, self.base_url, self.budget),
            call_sid=call.sid if call else scenario.call_sid or new_sid("CA"),
            account_sid=self.credentials.account_sid,
            clock=clock,
            story=Story(clock),
            media=self.recordings,
        )
        if call is not None:
            state.direction = "outbound-api"
            state.status_callback = call.status_callback
            state.status_events = call.status_events
        return state

    def _run(self, state: CallState, call: OutboundCall | None) -> CallResult:
        scenario = state.scenario
        seed = scenario.seed if scenario.seed is not None else secrets.randbelow(2**31)
        if call is None:
            CallFlow(state).run(VOICE_PATH, voice_params(state))
        else:
            run_outbound(state, call)
        fire_callbacks(state, random.Random(seed))
        return CallResult(
            call_sid=state.call_sid,
            from_=scenario.from_,
            to=scenario.to,
            outcome=call_outcome(state),
            duration=whole_seconds(state.clock.offset - state.connected_at),
            story=state.story.steps,
            errors=state.story.errors,
            seed=seed,
            answered_by=state.answered_by,
            hold_seconds=whole_seconds(state.hold_seconds()),
            caller_hung_up=state.caller_hung_up,
            direction=state.direction,
            status=final_status(state),
        )


def voice_params(state: CallState, status: str = "ringing") -> dict[str, str]:
    scenario = state.scenario
    params = state.call_params(status) | {"Caller": scenario.from_, "Called": scenario.to}
    if scenario.caller_name:
        params["CallerName"] = scenario.caller_name
    params |= dict(scenario.caller_area or {})
    # Last, so hostile tests can override even the standard parameters.
    params |= dict(scenario.extra_params or {})
    return params


def run_outbound(state: CallState, call: OutboundCall) -> None:
    """Ring the called party; if it picks up, run the call's Url as for any call."""
    callee = state.scenario.callee(state.scenario.to)
    state.story.add(StepKind.VERB, f"API call to {state.scenario.to} (timeout {call.timeout}s)")
    if callee.outcome in ("busy", "failed"):
        state.unanswered_status = callee.outcome
    elif callee.outcome == "no-answer" or callee.answer_after > call.timeout:
        state.clock.advance(call.timeout)
        state.unanswered_status = "no-answer"
    if state.unanswered_status is not None:
        state.story.add(StepKind.CALLEE, f"{state.scenario.to}: {state.unanswered_status}")
        state.connected_at = state.clock.offset
        return
    state.clock.advance(callee.answer_after)
    state.connected_at = state.clock.offset
    state.story.add(StepKind.CALLEE, f"{state.scenario.to} picks up after {callee.answer_after:g}s")
    CallFlow(state).run(call.url, voice_params(state, "in-progress"))
    if call.record and not state.failed:
        recording = state.new_recording(
            state.clock.offset - state.connected_at, 1, "OutboundAPI", call.recording_status_callback
        )
        state.recordings.append(recording)


def call_outcome(state: CallState) -> CallOutcome:
    if state.failed or state.unanswered_status == "failed":
        return "failed"
    if state.answered:
        return "answered"
    if state.voicemail:
        return "voicemail"
    if state.rejected is not None:
        return "busy" if state.rejected == "busy" else "failed"
    if state.unanswered_status == "busy" or (state.dial_statuses and state.dial_statuses[-1] == "busy"):
        return "busy"
    return "missed"


class CallFlow:
    """Executes TwiML documents verb by verb until the call ends."""

    def __init__(self, state: CallState) -> None:
        self.state = state

    def run(self, url: str, params: dict[str, str]) -> None:
        verbs = fetch_document(self.state, url, params, "voice", allow_empty=False)
        if verbs is None:
            return
        # Only a leading <Reject> keeps the carrier from picking up (and billing) the call.
        self.state.picked_up = not (verbs and isinstance(verbs[0], RejectVerb))
        self.execute(verbs)

    def execute(self, verbs: tuple[Verb, ...]) -> None:
        queue, documents = deque(verbs), 1
        while queue and not self.state.ended:
            replacement = self.perform(queue.popleft())
            if replacement is None:
                continue
            documents += 1
            if documents > MAX_DOCUMENTS:
                self.state.fail(f"more than {MAX_DOCUMENTS} TwiML documents in one call; redirect loop?")
                return
            queue = deque(replacement)
        if not self.state.ended:
            self.state.hang_up("end of TwiML → hang up")

    def perform(self, verb: Verb) -> tuple[Verb, ...] | None:
        """Play one verb; a returned document replaces whatever was left of the current one."""
        state = self.state
        if isinstance(verb, SayVerb | PlayVerb | PauseVerb):
            play_prompt(state, verb)
        elif isinstance(verb, HangupVerb):
            state.hang_up("Hangup")
        elif isinstance(verb, RejectVerb):
            state.rejected = verb.reason
            state.hang_up(f"Reject ({verb.reason})")
        elif isinstance(verb, RedirectVerb):
            state.verb(f"Redirect {verb.url}", url=verb.url)
            return fetch_document(state, verb.url, state.call_params(), "redirect", allow_empty=False)
        elif isinstance(verb, GatherVerb):
            return perform_gather(state, verb)
        elif isinstance(verb, DialVerb):
            return perform_dial(state, verb)
        elif isinstance(verb, RecordVerb):
            return perform_record(state, verb)
        return None
