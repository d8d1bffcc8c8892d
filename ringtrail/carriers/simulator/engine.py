"""The simulated carrier: places a call, follows the TwiML, plays the callee, fires callbacks."""

from __future__ import annotations

import random
import secrets
from collections import deque

import httpx

from ringtrail.carriers.simulator.callbacks import fire_callbacks
from ringtrail.carriers.simulator.dial import perform_dial, perform_record
from ringtrail.carriers.simulator.scenario import CallOutcome, CallResult, CallScenario, new_sid
from ringtrail.carriers.simulator.signing import Credentials
from ringtrail.carriers.simulator.state import VOICE_PATH, CallState, fetch_document, whole_seconds
from ringtrail.carriers.simulator.story import Story, VirtualClock
from ringtrail.carriers.simulator.transport import REQUEST_BUDGET_SECONDS, CarrierHttp
from ringtrail.carriers.simulator.twiml import (
    DialVerb,
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


class Simulator:
    """Places simulated carrier calls against a Ringtrail server at ``base_url``.

    Pass ``client`` to reuse a connection pool or to plug a different transport into the engine;
    otherwise each call opens (and closes) its own ``httpx.Client``.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        client: httpx.Client | None = None,
        budget: float = REQUEST_BUDGET_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.client = client
        self.budget = budget

    def place_call(self, scenario: CallScenario) -> CallResult:
        if self.client is not None:
            return self._run(scenario, self.client)
        with httpx.Client(follow_redirects=False) as client:
            return self._run(scenario, client)

    def _run(self, scenario: CallScenario, client: httpx.Client) -> CallResult:
        seed = scenario.seed if scenario.seed is not None else secrets.randbelow(2**31)
        clock = VirtualClock()
        state = CallState(
            scenario=scenario,
            http=CarrierHttp(client, self.credentials, self.base_url, self.budget),
            call_sid=scenario.call_sid or new_sid("CA"),
            account_sid=self.credentials.account_sid,
            clock=clock,
            story=Story(clock),
        )
        CallFlow(state).run()
        fire_callbacks(state, random.Random(seed))
        return CallResult(
            call_sid=state.call_sid,
            from_=scenario.from_,
            to=scenario.to,
            outcome=call_outcome(state),
            duration=whole_seconds(clock.offset),
            story=state.story.steps,
            errors=state.story.errors,
            seed=seed,
        )


def voice_params(state: CallState) -> dict[str, str]:
    scenario = state.scenario
    params = state.call_params("ringing") | {"Caller": scenario.from_, "Called": scenario.to}
    if scenario.caller_name:
        params["CallerName"] = scenario.caller_name
    params |= dict(scenario.caller_area or {})
    # Last, so hostile tests can override even the standard parameters.
    params |= dict(scenario.extra_params or {})
    return params


def call_outcome(state: CallState) -> CallOutcome:
    if state.failed:
        return "failed"
    if state.answered:
        return "answered"
    if state.voicemail:
        return "voicemail"
    if state.rejected is not None:
        return "busy" if state.rejected == "busy" else "failed"
    if state.dial_statuses and state.dial_statuses[-1] == "busy":
        return "busy"
    return "missed"


class CallFlow:
    """Executes TwiML documents verb by verb until the call ends."""

    def __init__(self, state: CallState) -> None:
        self.state = state

    def run(self) -> None:
        verbs = fetch_document(self.state, VOICE_PATH, voice_params(self.state), "voice", allow_empty=False)
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
        if isinstance(verb, SayVerb):
            state.verb(f'Say "{verb.text}"', say=verb.text)
        elif isinstance(verb, PlayVerb):
            state.verb(f"Play {verb.url}", play=verb.url)
        elif isinstance(verb, PauseVerb):
            state.verb(f"Pause {verb.length}s")
            state.clock.advance(verb.length)
        elif isinstance(verb, HangupVerb):
            state.hang_up("Hangup")
        elif isinstance(verb, RejectVerb):
            state.rejected = verb.reason
            state.hang_up(f"Reject ({verb.reason})")
        elif isinstance(verb, RedirectVerb):
            state.verb(f"Redirect {verb.url}", url=verb.url)
            return fetch_document(state, verb.url, state.call_params(), "redirect", allow_empty=False)
        elif isinstance(verb, DialVerb):
            return perform_dial(state, verb)
        elif isinstance(verb, RecordVerb):
            return perform_record(state, verb)
        return None
