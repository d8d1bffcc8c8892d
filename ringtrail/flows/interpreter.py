"""Run a flow document for one hop: from a position (or the start) to the next carrier decision.

Steps that need no input chain inside one hop (say → schedule → menu is one decision: Say + Gather);
the hop ends at a step that waits for the carrier (a gather, a dial) or ends the call. Use
``engine.decide``; this module is its machinery.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC

from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    DialTarget,
    Gather,
    Hangup,
    Hook,
    HookRef,
    Pause,
    Play,
    Record,
    Redirect,
    Reject,
    Say,
    Step,
)
from ringtrail.flows import hunt, menu
from ringtrail.flows.context import (
    CallContext,
    EventKind,
    FlowOutcome,
    Phase,
    Position,
    StepEvent,
    StepInput,
)
from ringtrail.flows.geo import matching_rule
from ringtrail.flows.schedule import schedule_branch
from ringtrail.flows.schema import (
    KEYPAD_KEYS,
    AnyStep,
    FlowDocument,
    ForwardStep,
    ForwardTarget,
    GeoStep,
    HangupStep,
    MenuStep,
    PlayStep,
    QueueStep,
    RejectStep,
    SayStep,
    ScheduleStep,
    VoicemailStep,
)

HookParams = Callable[[Position], Mapping[str, str]]

GOODBYE = "Sorry, we could not connect your call. Goodbye."
NO_CHOICE_GOODBYE = "Sorry, we did not get a valid choice. Goodbye."
BROKEN_FLOW_MESSAGE = "We're sorry, we cannot connect your call right now. Please try again later. Goodbye."
UNKNOWN_SOURCE = "an unknown source"
PICKED_UP = "picked up"  # an answering leg of a simultaneous dial without a whisper
ANSWERED = frozenset({"completed", "answered"})
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
ACCEPT_TIMEOUT_SECONDS = 8
MAX_CHAIN = 200  # more steps than a valid flow holds: a guard for documents that skipped validation


class Broken(Exception):
    """The position or document makes no sense (e.g. the flow changed mid-call): hang up politely."""


class Run:
    """One hop's worth of decision steps and trail events."""

    def __init__(self, flow: FlowDocument, context: CallContext, hop: int, hook_params: HookParams) -> None:
        self.flow = flow
        self.context = context
        self.hop = hop
        self.hook_params = hook_params
        self.steps: list[Step] = []
        self.trail: list[StepEvent] = []
        self.waiting_at: Position | None = None
        self.leg = False
        self.visited: set[str] = set()
        now = context.now if context.now.tzinfo else context.now.replace(tzinfo=UTC)
        self.now = now
        self.epoch = max(0, int(now.timestamp()))

    # -- plumbing -------------------------------------------------------------------------------

    def outcome(self) -> FlowOutcome:
        return FlowOutcome(CallDecision(tuple(self.steps)), tuple(self.trail), self.waiting_at, leg=self.leg)

    def ref(
        self, step_id: str, phase: Phase, attempt: int = 0, index: int = 0, entered_at: int = 0
    ) -> HookRef:
        position = Position(step_id, self.hop + 1, phase, attempt, index, entered_at)
        return HookRef(Hook.FLOW, dict(self.hook_params(position)))

    def wait(self, step_id: str, phase: Phase, attempt: int = 0, index: int = 0, entered_at: int = 0) -> None:
        self.waiting_at = Position(step_id, self.hop + 1, phase, attempt, index, entered_at)

    def event(
        self, step_id: str, kind: EventKind, outcome: str = "", receiving_number: int | None = None
    ) -> None:
        step_type = self.flow.steps[step_id].type
        self.trail.append(StepEvent(step_id, step_type, kind, outcome, receiving_number))

    def step(self, step_id: str) -> AnyStep:
        step = self.flow.steps.get(step_id)
        if step is None:
            raise Broken(f"unknown step {step_id!r}")
        return step

    def exit_politely(self, target: str | None, message: str = GOODBYE) -> str | None:
        """Go to ``target``; without one, say goodbye rather than drop the caller in silence."""
        if target is None:
            self.steps += [Say(message), Hangup()]
            return _STOP
        return target

    # -- walking --------------------------------------------------------------------------------

    def walk(self, step_id: str | None) -> None:
        """Enter ``step_id`` and keep going through steps that need no input; None hangs up."""
        while step_id is not None:
            if step_id in self.visited or len(self.visited) > MAX_CHAIN:
                raise Broken(f"the flow loops at step {step_id!r}")
            self.visited.add(step_id)
            step = self.step(step_id)
            self.event(step_id, EventKind.ENTER)
            step_id = self.enter(step_id, step)
            if step_id == _STOP:
                return
        self.steps.append(Hangup())

    def enter(self, step_id: str, step: AnyStep) -> str | None:
        """Act on entering a step; the next step to enter, None to hang up, or _STOP when done."""
        match step:
            case SayStep():
                self.steps.append(Say(step.text, voice=step.voice or "", language=step.language or ""))
                return self.leave(step_id, "spoken", step.next)
            case PlayStep():
                self.steps.append(Play(step.url))
                return self.leave(step_id, "played", step.next)
            case MenuStep():
                self.gather(step_id, step, attempt=0, entered_at=self.epoch)
            case ScheduleStep():
                branch = schedule_branch(step, self.now, self.context.account_time_zone)
                target = {"open": step.open, "closed": step.closed}.get(branch, step.holiday or step.closed)
                return self.leave(step_id, branch, target)
            case GeoStep():
                rule = matching_rule(step, self.context.caller_area, self.context.area_code)
                if rule is None:
                    return self.leave(step_id, "default", step.default)
                return self.leave(step_id, f"matched rule {rule + 1}", step.rules[rule].next)
            case ForwardStep():
                return self.ring(step_id, step, 0, self.epoch)
            case QueueStep():
                return self.queue_round(step_id, step, 0, self.epoch)
            case VoicemailStep():
                self.voicemail(step_id, step)
            case HangupStep():
                self.steps += [*([Say(step.message)] if step.message else []), Hangup()]
                self.event(step_id, EventKind.LEAVE, "hangup")
            case RejectStep():
                self.reject(step_id, step)
        return _STOP

    def leave(
        self, step_id: str, outcome: str, target: str | None, receiving: int | None = None
    ) -> str | None:
        self.event(step_id, EventKind.LEAVE, outcome, receiving)
        return target

    def resume(self, position: Position, given: StepInput) -> None:
        step = self.step(position.step)
        if position.phase is Phase.ENTER:
            self.walk(position.step)
            return
        match step, position.phase:
            case MenuStep(), Phase.INPUT | Phase.TIMEOUT:
                self.menu_answer(position, step, given)
            case ForwardStep(), Phase.DIAL:
                self.forward_result(position, step, given)
            case ForwardStep(), Phase.WHISPER:
                self.whisper(position, step)
            case ForwardStep(), Phase.ACCEPT:
                self.accept(position, step, given)
            case QueueStep(), Phase.DIAL:
                self.queue_result(position, step, given)
            case QueueStep(), Phase.WHISPER:
                self.queue_leg(position, step)
            case _:
                raise Broken(f"step {position.step!r} ({step.type}) has no phase {position.phase.value!r}")

    def follow(self, target: str | None) -> None:
        if target == _STOP:
            return
        self.walk(target)

    # -- menu -----------------------------------------------------------------------------------

    def gather(self, step_id: str, step: MenuStep, attempt: int, entered_at: int) -> None:
        prompt: tuple[Say | Play, ...] = (
            (Play(step.prompt_url),) if step.prompt_url else (Say(step.prompt or ""),)
        )
        keywords = [key for key in step.options if key not in KEYPAD_KEYS]
        self.steps += [
            Gather(
                action=self.ref(step_id, Phase.INPUT, attempt, 0, entered_at),
                prompt=prompt,
                dtmf=step.keypad,
                speech=step.speech,
                timeout_seconds=step.timeout_seconds,
                num_digits=1 if step.keypad else None,
                # "#" as an option must reach us rather than end the input.
                finish_on_key="" if "#" in step.options else "#",
                speech_hints=tuple(dict.fromkeys([*step.speech_hints, *keywords])),
                language=step.language,
            ),
            Redirect(self.ref(step_id, Phase.TIMEOUT, attempt, 0, entered_at)),
        ]
        self.wait(step_id, Phase.INPUT, attempt, 0, entered_at)

    def menu_answer(self, position: Position, step: MenuStep, given: StepInput) -> None:
        heard = position.phase is Phase.INPUT and not given.timed_out and bool(given.digits or given.speech)
        choice = menu.choose(step, given.digits, given.speech) if heard else None
        if choice is not None:
            self.follow(self.leave(position.step, f"choice {choice}", step.options[choice]))
            return
        reason = "invalid" if heard else "timeout"
        if position.attempt < step.retries:
            self.event(position.step, EventKind.STAY, reason)
            if reason == "invalid":
                self.steps.append(Say(step.invalid_prompt))
            self.gather(position.step, step, position.attempt + 1, position.entered_at)
            return
        self.event(position.step, EventKind.LEAVE, f"{reason}, no retries left")
        self.follow(self.exit_politely(step.no_input, NO_CHOICE_GOODBYE))

    # -- forward --------------------------------------------------------------------------------

    def order(self, step: ForwardStep) -> list[ForwardTarget]:
        ctx = self.context
        return hunt.ring_order(step, ctx.receiving_numbers, ctx.rotation, ctx.last_answered_by)

    def ring(self, step_id: str, step: ForwardStep, index: int, entered_at: int) -> str | None:
        order = self.order(step)
        if not order:
            return self.leave(step_id, "no-targets", step.no_answer)
        if step.strategy == "simultaneous":
            ringing, timeout = list(enumerate(order)), step.timeout_seconds
        else:
            ringing, timeout = [(index, order[index])], order[index].timeout_seconds
        # Several numbers ringing at once: the carrier's dial result will not say which one picked up,
        # so each gets a whisper hook even without a whisper; an answering leg fetches it (silently
        # connected) and so names itself.
        whisper = step.whisper is not None or len(ringing) > 1
        targets = tuple(
            DialTarget(
                self.context.receiving_numbers[target.receiving_number],
                whisper=self.ref(step_id, Phase.WHISPER, 0, n) if whisper else None,
            )
            for n, target in ringing
        )
        self.dial(step_id, targets, timeout, step.record, Phase.DIAL, index, 0, entered_at)
        return _STOP

    def dial(
        self,
        step_id: str,
        targets: tuple[DialTarget, ...],
        timeout: int,
        record: bool,
        phase: Phase,
        index: int = 0,
        attempt: int = 0,
        entered_at: int = 0,
    ) -> None:
        self.steps.append(
            Dial(
                targets=targets,
                caller_id=self.context.caller_number,
                answer_on_bridge=True,
                timeout_seconds=timeout,
                record=record,
                action=self.ref(step_id, phase, attempt, index, entered_at),
                recording_callback=HookRef(Hook.RECORDING, {"purpose": "call"}) if record else None,
            )
        )
        self.wait(step_id, phase, attempt, index, entered_at)

    def forward_result(self, position: Position, step: ForwardStep, given: StepInput) -> None:
        order = self.order(step)
        if position.index >= max(1, len(order)):
            raise Broken(f"forward {position.step!r} has no target {position.index}")
        sequential = step.strategy != "simultaneous"
        rung = order[position.index].receiving_number if sequential and order else None
        if given.dial_status in ANSWERED:
            who = rung if sequential else self.answered_by(given.answered_by, order)
            self.leave(position.step, "answered", None, who)
            self.steps.append(Hangup())
            return
        status = given.dial_status if given.dial_status in DIAL_STATUSES else "no-answer"
        if sequential and position.index + 1 < len(order):
            self.event(position.step, EventKind.STAY, status, rung)
            self.follow(self.ring(position.step, step, position.index + 1, position.entered_at))
            return
        self.follow(self.leave(position.step, status, step.no_answer, rung))

    def answered_by(self, address: str, rung: Sequence[ForwardTarget | int] = ()) -> int | None:
        """The receiving number that picked up: named by the carrier, else the only one rung.

        Twilio's Dial action does not say which ``<Number>`` answered; with a single target it can
        only have been that one (several are resolved by the wiring from the accepting leg)."""
        for number_id, known in self.context.receiving_numbers.items():
            if address and known == address:
                return number_id
        ids = [target if isinstance(target, int) else target.receiving_number for target in rung]
        return ids[0] if len(ids) == 1 else None

    def leg_target(self, step: ForwardStep, index: int) -> int | None:
        order = self.order(step)
        return order[index].receiving_number if 0 <= index < len(order) else None

    def whisper(self, position: Position, step: ForwardStep) -> None:
        self.leg = True
        if step.whisper is None:
            if step.strategy != "simultaneous" or len(self.order(step)) < 2:
                raise Broken(f"forward {position.step!r} has no whisper")
            # The silent whisper of a simultaneous dial: no announcement, the leg just names itself.
            self.event(position.step, EventKind.STAY, PICKED_UP, self.leg_target(step, position.index))
            return
        source = self.context.source_name.strip() or UNKNOWN_SOURCE
        self.steps.append(Say(step.whisper.text.replace("{source}", source)))
        self.event(position.step, EventKind.STAY, "whisper", self.leg_target(step, position.index))
        if step.whisper.require_accept:
            self.steps += [
                Gather(
                    action=self.ref(position.step, Phase.ACCEPT, 0, position.index),
                    prompt=(Say(step.whisper.accept_prompt),),
                    timeout_seconds=ACCEPT_TIMEOUT_SECONDS,
                    num_digits=1,
                ),
                Hangup(),  # silence hangs up this leg only; the caller keeps ringing the others
            ]

    def accept(self, position: Position, step: ForwardStep, given: StepInput) -> None:
        self.leg = True
        if step.whisper is None:
            raise Broken(f"forward {position.step!r} has no whisper")
        who = self.leg_target(step, position.index)
        if given.digits == "1" and not given.timed_out:
            self.event(position.step, EventKind.STAY, "accepted", who)  # an empty answer bridges the call
        else:
            self.event(position.step, EventKind.STAY, "declined", who)
            self.steps.append(Hangup())

    # -- queue ----------------------------------------------------------------------------------

    def queue_round(self, step_id: str, step: QueueStep, round_: int, entered_at: int) -> str | None:
        present = [member for member in step.members if self.context.receiving_numbers.get(member)]
        # As for a simultaneous forward: a silent whisper hook lets the member who answers name itself.
        members = tuple(
            DialTarget(
                self.context.receiving_numbers[member],
                whisper=self.ref(step_id, Phase.WHISPER, round_, n) if len(present) > 1 else None,
            )
            for n, member in enumerate(present)
        )
        if not members:
            self.event(step_id, EventKind.LEAVE, "no-members")
            return self.exit_politely(step.timeout)
        if step.message:
            self.steps.append(Say(step.message))
        self.steps.append(Play(step.music_url) if step.music_url else Pause(step.hold_seconds))
        self.dial(step_id, members, step.ring_seconds, step.record, Phase.DIAL, 0, round_, entered_at)
        return _STOP

    def queue_leg(self, position: Position, step: QueueStep) -> None:
        self.leg = True
        present = [member for member in step.members if self.context.receiving_numbers.get(member)]
        if len(present) < 2 or not 0 <= position.index < len(present):
            raise Broken(f"queue {position.step!r} has no member {position.index} to answer")
        self.event(position.step, EventKind.STAY, PICKED_UP, present[position.index])

    def queue_result(self, position: Position, step: QueueStep, given: StepInput) -> None:
        if given.dial_status in ANSWERED:
            members = [m for m in step.members if self.context.receiving_numbers.get(m)]
            self.leave(position.step, "answered", None, self.answered_by(given.answered_by, members))
            self.steps.append(Hangup())
            return
        if position.attempt + 1 < queue_rounds(step):
            self.event(position.step, EventKind.STAY, f"round {position.attempt + 1} no-answer")
            self.follow(self.queue_round(position.step, step, position.attempt + 1, position.entered_at))
            return
        self.event(position.step, EventKind.LEAVE, "timeout")
        self.follow(self.exit_politely(step.timeout))

    # -- endings --------------------------------------------------------------------------------

    def voicemail(self, step_id: str, step: VoicemailStep) -> None:
        hook = HookRef(Hook.RECORDING, {"purpose": "voicemail"})
        self.steps += [
            Say(step.prompt),
            Record(action=hook, recording_callback=hook, max_length_seconds=step.max_length_seconds),
            Hangup(),
        ]
        self.event(step_id, EventKind.LEAVE, "voicemail")

    def reject(self, step_id: str, step: RejectStep) -> None:
        # Only a first verb of the first answer leaves the call unanswered (and unbilled);
        # later, the call is already answered and the best we can do is hang up.
        if self.hop == 0 and not self.steps:
            self.steps.append(Reject(step.reason))
            self.event(step_id, EventKind.LEAVE, step.reason)
        else:
            self.steps.append(Hangup())
            self.event(step_id, EventKind.LEAVE, "hangup (call already answered)")


_STOP = "\x00stop"  # not a valid step id, so it can share the "next step" return value


def queue_rounds(step: QueueStep) -> int:
    """Hold-then-ring rounds that fit in the maximum wait; counted, never timed (see docs/flows.md)."""
    return max(1, math.ceil(step.max_wait_seconds / (step.hold_seconds + step.ring_seconds)))
