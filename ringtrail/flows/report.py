"""The IVR report: per flow step, how many callers reached it, what they chose, where they hung up.

``build(layout, calls, events)`` is pure: it folds plain rows (``CallRow``, ``EventRow``) into a
``FlowReport`` and never touches the database; ``load`` is the thin loader that reads those rows (the
calls of a flow in a date range, spam left out, then their flow events in one ordered query).

What the trail can and cannot tell: the flow events record the decisions served, not what the caller
heard. A caller who hangs up during a greeting is counted at the step the greeting's hop waited at
(usually the menu after it), because the whole hop was served at once.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ringtrail.calls.flow_calls import FLOW_EVENT
from ringtrail.calls.models import Call, CallEvent, Outcome
from ringtrail.flows.models import Flow, FlowVersion
from ringtrail.flows.schema import FlowDocument, MenuStep, branches

CHOICE = "choice "
NO_RETRIES = ", no retries left"
ANSWERED = "answered"
DIALLING_TYPES = frozenset({"forward", "queue"})


@dataclass(frozen=True)
class StepInfo:
    """A step as the document describes it: shown even when nobody reached it."""

    step: str
    type: str
    label: str = ""
    options: tuple[tuple[str, str], ...] = ()  # a menu's (key, target step), in the document's order


@dataclass(frozen=True)
class CallRow:
    call_id: int
    ended_at: dt.datetime | None
    over: bool  # the carrier said the call ended (a final status or outcome)


@dataclass(frozen=True)
class EventRow:
    call_id: int
    sequence: int
    step: str
    step_type: str
    event: str  # enter | stay | leave
    outcome: str
    occurred_at: dt.datetime | None
    leg: bool = False  # an answering party's whisper/accept: not where the caller is


@dataclass(frozen=True)
class OptionCount:
    key: str
    target: str
    calls: int


@dataclass(frozen=True)
class StepReport:
    step: str
    type: str
    label: str
    reached: int  # distinct calls that entered the step
    options: tuple[OptionCount, ...]  # menus: callers per chosen option
    outcomes: tuple[tuple[str, int], ...]  # callers per way of leaving the step, most first
    timeouts: int  # menu: silences (re-prompted or not)
    invalid: int  # menu: answers that matched no option
    no_choice: int  # menu: callers who ran out of retries
    hung_up: int  # the call ended while the caller waited here
    median_seconds_to_hang_up: float | None
    answered: int | None  # forward/queue only
    not_answered: int | None  # forward/queue only: left without an answer (to the fallback branch)
    in_progress: int  # calls still waiting here


@dataclass(frozen=True)
class FlowReport:
    calls: int
    hung_up: int
    steps: tuple[StepReport, ...]


@dataclass
class _Tally:
    reached: set[int] = field(default_factory=set)
    choices: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    outcomes: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    timeouts: int = 0
    invalid: int = 0
    no_choice: set[int] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    not_answered: set[int] = field(default_factory=set)
    hang_up_seconds: list[float] = field(default_factory=list)
    hung_up: int = 0
    in_progress: int = 0
    seen_type: str = ""


# -- layout ---------------------------------------------------------------------------------------


def layout(documents: Sequence[FlowDocument]) -> list[StepInfo]:
    """Steps in call order (breadth first from the start), the first document's steps first.

    Pass the current version first: an older version's steps that it dropped follow at the end.
    """
    seen: dict[str, StepInfo] = {}
    for document in documents:
        for step_id in _call_order(document):
            if step_id not in seen:
                seen[step_id] = _info(step_id, document)
    return list(seen.values())


def _call_order(document: FlowDocument) -> list[str]:
    order, queue = [document.start], [document.start]
    while queue:
        step = document.steps.get(queue.pop(0))
        for _, target in branches(step) if step is not None else []:
            if target not in order:
                order.append(target)
                queue.append(target)
    return [s for s in order if s in document.steps] + [s for s in document.steps if s not in order]


def _info(step_id: str, document: FlowDocument) -> StepInfo:
    step = document.steps[step_id]
    options = tuple(step.options.items()) if isinstance(step, MenuStep) else ()
    return StepInfo(step_id, step.type, step.label or "", options)


# -- the report -----------------------------------------------------------------------------------


def build(steps: Sequence[StepInfo], calls: Iterable[CallRow], events: Iterable[EventRow]) -> FlowReport:
    """Fold the calls' flow events into per-step counts; events of calls not listed are ignored."""
    by_call = {call.call_id: call for call in calls}
    paths: dict[int, list[EventRow]] = defaultdict(list)
    for event in events:
        if event.call_id in by_call and not event.leg:
            paths[event.call_id].append(event)
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for call_id, path in paths.items():
        path.sort(key=lambda e: e.sequence)
        _walk(by_call[call_id], path, tallies)
    known = {info.step for info in steps}
    extra = [StepInfo(s, t.seen_type) for s, t in tallies.items() if s not in known]
    rows = tuple(_row(info, tallies.get(info.step, _Tally())) for info in [*steps, *extra])
    return FlowReport(len(by_call), sum(row.hung_up for row in rows), rows)


def _walk(call: CallRow, path: list[EventRow], tallies: dict[str, _Tally]) -> None:
    last_enter: dict[str, dt.datetime | None] = {}
    for event in path:
        tally = tallies[event.step]
        tally.seen_type = tally.seen_type or event.step_type
        if event.event == "enter":
            tally.reached.add(call.call_id)
            last_enter[event.step] = event.occurred_at  # a re-entered step counts from the last time
        else:
            _count_outcome(call.call_id, event, tally)
    if not path or path[-1].event == "leave":
        return
    where = tallies[path[-1].step]
    if not call.over:
        where.in_progress += 1
        return
    where.hung_up += 1
    entered = last_enter.get(path[-1].step)
    if entered is not None and call.ended_at is not None:
        # Two clocks (ours for the trail, the carrier's for the end) may disagree by a little.
        where.hang_up_seconds.append(max(0.0, (call.ended_at - entered).total_seconds()))


def _count_outcome(call_id: int, event: EventRow, tally: _Tally) -> None:
    outcome = event.outcome
    if outcome.startswith(("timeout", "invalid")) and event.step_type == "menu":
        if outcome.startswith("timeout"):
            tally.timeouts += 1
        else:
            tally.invalid += 1
        if outcome.endswith(NO_RETRIES):
            tally.no_choice.add(call_id)
    if event.event != "leave":
        return
    tally.outcomes[outcome].add(call_id)
    if outcome.startswith(CHOICE):
        tally.choices[outcome.removeprefix(CHOICE)].add(call_id)
    if event.step_type in DIALLING_TYPES:
        (tally.answered if outcome == ANSWERED else tally.not_answered).add(call_id)


def _row(info: StepInfo, tally: _Tally) -> StepReport:
    step_type = info.type or tally.seen_type
    dialling = step_type in DIALLING_TYPES
    return StepReport(
        step=info.step,
        type=step_type,
        label=info.label,
        reached=len(tally.reached),
        options=_options(info, tally),
        outcomes=tuple(
            sorted(((o, len(c)) for o, c in tally.outcomes.items()), key=lambda item: (-item[1], item[0]))
        ),
        timeouts=tally.timeouts,
        invalid=tally.invalid,
        no_choice=len(tally.no_choice),
        hung_up=tally.hung_up,
        median_seconds_to_hang_up=statistics.median(tally.hang_up_seconds) if tally.hang_up_seconds else None,
        answered=len(tally.answered) if dialling else None,
        not_answered=len(tally.not_answered) if dialling else None,
        in_progress=tally.in_progress,
    )


def _options(info: StepInfo, tally: _Tally) -> tuple[OptionCount, ...]:
    """The document's options (chosen or not), then keys chosen in another version only."""
    listed = [OptionCount(key, target, len(tally.choices.get(key, ()))) for key, target in info.options]
    keys = {key for key, _ in info.options}
    extra = [
        OptionCount(key, "", len(calls)) for key, calls in sorted(tally.choices.items()) if key not in keys
    ]
    return tuple(listed + extra)


# -- loading --------------------------------------------------------------------------------------

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Calls that started on these dates (inclusive, the server's time zone)."""

    since: dt.date
    until: dt.date


def default_period(today: dt.date) -> Period:
    """The 30 days up to ``today``; near the calendar's start, from its first day."""
    if today - dt.date.min < dt.timedelta(days=DEFAULT_DAYS):
        return Period(dt.date.min, today)
    return Period(today - dt.timedelta(days=DEFAULT_DAYS), today)


def load(flow: Flow, version: FlowVersion | None, period: Period) -> FlowReport:
    """The report of a flow (every version, or one) for calls in the period; spam left out."""
    versions = [version] if version is not None else list(flow.versions.order_by("-number"))
    current = [v for v in versions if v.pk == flow.current_version_id]
    documents = [doc for v in current + [v for v in versions if v not in current] if (doc := _parsed(v))]
    calls = Call.objects.filter(
        account_id=flow.account_id,
        flow_version__in=[v.pk for v in versions],
        is_spam=False,
        start_time__date__gte=period.since,
        start_time__date__lte=period.until,
    )
    call_rows = [
        CallRow(pk, ended_at, ended_at is not None or outcome != Outcome.IN_PROGRESS)
        for pk, ended_at, outcome in calls.values_list("pk", "ended_at", "outcome")
    ]
    events = (
        CallEvent.objects.filter(call__in=calls.values("pk"), kind=FLOW_EVENT)
        .order_by("call_id", "sequence")
        .values_list("call_id", "sequence", "payload", "occurred_at")
    )
    return build(layout(documents), call_rows, (_event_row(*row) for row in events))


def _parsed(version: FlowVersion) -> FlowDocument | None:
    try:
        return version.flow_document()
    except ValueError:  # a document a later schema no longer reads still has its events counted
        return None


def _event_row(call_id: int, sequence: int, payload: object, occurred_at: dt.datetime | None) -> EventRow:
    data = payload if isinstance(payload, dict) else {}
    return EventRow(
        call_id=call_id,
        sequence=sequence,
        step=str(data.get("step", "")),
        step_type=str(data.get("type", "")),
        event=str(data.get("event", "")),
        outcome=str(data.get("outcome", "")),
        occurred_at=occurred_at,
        leg=bool(data.get("leg")),
    )
