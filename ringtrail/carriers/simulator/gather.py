"""<Gather> as Twilio runs it: the prompt, the scripted answer, the timeout and the action request.

``resolve`` is the pure part (what the caller's answer amounts to and how long it takes);
``perform_gather`` plays it on the call.
"""

from __future__ import annotations

from dataclasses import dataclass

from ringtrail.carriers.simulator.scenario import CallerInput, parse_input
from ringtrail.carriers.simulator.state import CallState, fetch_document, spoken_seconds
from ringtrail.carriers.simulator.story import StepKind
from ringtrail.carriers.simulator.twiml import GatherVerb, PlayVerb, Prompt, SayVerb, Verb

# The caller starts answering a moment after the prompt, and presses a key every half second.
RESPONSE_DELAY = 1.0
KEY_INTERVAL = 0.5
# How long Twilio's "auto" speech timeout waits after the last word.
AUTO_SPEECH_PAUSE = 1.0


@dataclass(frozen=True)
class GatherOutcome:
    """``params`` None means no usable input; ``seconds`` runs from the end of the prompt."""

    params: dict[str, str] | None
    seconds: float
    note: str


def resolve(gather: GatherVerb, answer: CallerInput | None) -> GatherOutcome:
    if answer is None:
        return _no_input(gather, "silence")
    if answer.speech:
        if not gather.speech:
            return _no_input(gather, f'says "{answer.speech}", but the Gather listens for keys only')
        return _speech(gather, answer)
    if not gather.dtmf:
        return _no_input(gather, f"presses {answer.digits}, but the Gather listens for speech only")
    return _keys(gather, answer.digits)


def _no_input(gather: GatherVerb, what: str) -> GatherOutcome:
    return GatherOutcome(None, gather.timeout, f"{what} → no input after {gather.timeout}s")


def _speech(gather: GatherVerb, answer: CallerInput) -> GatherOutcome:
    if gather.speech_timeout == "auto":
        pause = AUTO_SPEECH_PAUSE
    else:
        pause = float(gather.timeout if gather.speech_timeout is None else gather.speech_timeout)
    params = {"SpeechResult": answer.speech, "Confidence": f"{answer.confidence:.2f}"}
    seconds = RESPONSE_DELAY + spoken_seconds(answer.speech) + pause
    return GatherOutcome(params, seconds, f'says "{answer.speech}" (confidence {answer.confidence:.2f})')


def _keys(gather: GatherVerb, keys: str) -> GatherOutcome:
    digits, finished_on, pressed = "", "", 0
    for key in keys:
        pressed += 1
        if gather.finish_on_key and key == gather.finish_on_key:
            finished_on = key
            break
        digits += key
        if gather.num_digits is not None and len(digits) >= gather.num_digits:
            break
    seconds = RESPONSE_DELAY + pressed * KEY_INTERVAL
    complete = bool(finished_on) or (gather.num_digits is not None and len(digits) >= gather.num_digits)
    if not complete:
        # Twilio submits what it has once the caller stops pressing for `timeout` seconds.
        seconds += gather.timeout
    if not digits:
        return GatherOutcome(None, seconds, f"presses {keys} → no digits")
    how = f"finished with {finished_on}" if finished_on else "complete" if complete else "then waits"
    return GatherOutcome(
        {"Digits": digits, "FinishedOnKey": finished_on}, seconds, f"presses {digits} ({how})"
    )


def announce(state: CallState, verb: Prompt, hearer: str = "") -> float:
    """Tell the story of one Say/Play/Pause (heard by ``hearer``, else the caller); how long it lasts."""
    who = f"{hearer} hears " if hearer else ""
    kind = StepKind.CALLEE if hearer else StepKind.VERB
    if isinstance(verb, SayVerb):
        state.story.add(kind, f'{who}Say "{verb.text}"', say=verb.text)
        return spoken_seconds(verb.text)
    if isinstance(verb, PlayVerb):
        state.story.add(kind, f"{who}Play {verb.url}", play=verb.url)
        return state.scenario.play_seconds
    state.story.add(kind, f"{who}Pause {verb.length}s")
    return float(verb.length)


def play_prompt(state: CallState, verb: Prompt) -> bool:
    """Play one Say/Play/Pause to the caller; False if the caller hung up meanwhile."""
    return state.wait(announce(state, verb))


def describe_gather(gather: GatherVerb) -> str:
    inputs = " ".join(sorted(gather.inputs))
    limits = [f"timeout {gather.timeout}s"]
    if gather.num_digits is not None:
        limits.append(f"{gather.num_digits} digit(s)")
    if gather.finish_on_key != "#":
        limits.append(f"finishOnKey {gather.finish_on_key or 'none'}")
    return f"Gather {inputs} ({', '.join(limits)})"


def perform_gather(state: CallState, gather: GatherVerb) -> tuple[Verb, ...] | None:
    """Run a caller-side Gather; a returned document replaces the current one, None goes on."""
    state.gathers += 1
    number = state.gathers
    # Twilio's default action is the document the Gather came in, captured before anything moves on.
    action = gather.action or state.document_url
    state.verb(f"{describe_gather(gather)} #{number}", gather=number)
    for verb in gather.prompt:
        if not play_prompt(state, verb):
            return None
    if state.scenario.hangup_at_gather == number:
        state.caller_hangs_up(f"caller hangs up at Gather #{number} without answering")
        return None
    outcome = resolve(gather, parse_input(state.next_input()))
    if not state.wait(outcome.seconds):
        return None
    state.story.add(StepKind.VERB, f"caller {outcome.note}", gather=number, input=outcome.params)
    if outcome.params is None and not gather.action_on_empty_result:
        state.verb("no input → next verb after the Gather")
        return None
    params = state.call_params() | (outcome.params or {})
    return fetch_document(state, action, params, "Gather action", allow_empty=False)
