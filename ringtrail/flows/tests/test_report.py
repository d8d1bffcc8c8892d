"""The IVR report's arithmetic on hand-built rows: no database."""

from __future__ import annotations

import datetime as dt

from ringtrail.flows.report import (
    CallRow,
    EventRow,
    FlowReport,
    Period,
    StepInfo,
    StepReport,
    build,
    default_period,
    layout,
)
from ringtrail.flows.schema import FlowDocument

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
STEPS = [
    StepInfo("hello", "say"),
    StepInfo("menu", "menu", "Main menu", (("1", "sales"), ("2", "support"))),
    StepInfo("sales", "forward"),
    StepInfo("support", "queue"),
    StepInfo("vm", "voicemail"),
]


class Path:
    """A call's trail, hop by hop, as the wiring stores it (sequence = hop * 1000 + i)."""

    def __init__(self, call_id: int) -> None:
        self.call_id = call_id
        self.rows: list[EventRow] = []

    def hop(self, hop: int, second: int, *events: tuple[str, str, str, str]) -> Path:
        at = T0 + dt.timedelta(seconds=second)
        for i, (step, step_type, kind, outcome) in enumerate(events):
            self.rows.append(EventRow(self.call_id, hop * 1000 + i, step, step_type, kind, outcome, at))
        return self


def greeted(call_id: int) -> Path:
    return Path(call_id).hop(
        0,
        0,
        ("hello", "say", "enter", ""),
        ("hello", "say", "leave", "spoken"),
        ("menu", "menu", "enter", ""),
    )


def ended(call_id: int, second: int | None) -> CallRow:
    return CallRow(call_id, T0 + dt.timedelta(seconds=second) if second is not None else None, True)


def step(report: FlowReport, step_id: str) -> StepReport:
    return next(row for row in report.steps if row.step == step_id)


def test_empty_flow_lists_every_step_with_zeros() -> None:
    report = build(STEPS, [], [])
    assert report.calls == 0 and report.hung_up == 0
    assert [row.step for row in report.steps] == ["hello", "menu", "sales", "support", "vm"]
    menu = step(report, "menu")
    assert menu.reached == 0 and [(o.key, o.target, o.calls) for o in menu.options] == [
        ("1", "sales", 0),
        ("2", "support", 0),
    ]
    assert menu.median_seconds_to_hang_up is None and menu.answered is None
    assert step(report, "sales").answered == 0 and step(report, "sales").not_answered == 0


def test_reached_choices_and_hang_ups() -> None:
    chose_sales = greeted(1).hop(
        1, 8, ("menu", "menu", "leave", "choice 1"), ("sales", "forward", "enter", "")
    )
    chose_sales.hop(
        2,
        30,
        (
            "sales",
            "forward",
            "leave",
            "answered",
        ),
    )
    chose_support = greeted(2).hop(
        1, 9, ("menu", "menu", "leave", "choice 2"), ("support", "queue", "enter", "")
    )
    hung_up_in_menu = greeted(3)
    hung_up_ringing = greeted(4).hop(
        1, 7, ("menu", "menu", "leave", "choice 1"), ("sales", "forward", "enter", "")
    )
    calls = [ended(1, 100), ended(2, 60), ended(3, 12), ended(4, 27)]
    events = [*chose_sales.rows, *chose_support.rows, *hung_up_in_menu.rows, *hung_up_ringing.rows]
    report = build(STEPS, calls, events)

    assert report.calls == 4 and report.hung_up == 3
    assert step(report, "hello").reached == 4 and step(report, "hello").hung_up == 0
    menu = step(report, "menu")
    assert menu.reached == 4
    assert {o.key: o.calls for o in menu.options} == {"1": 2, "2": 1}
    assert menu.hung_up == 1 and menu.median_seconds_to_hang_up == 12.0
    assert dict(menu.outcomes) == {"choice 1": 2, "choice 2": 1}
    sales = step(report, "sales")
    assert (sales.reached, sales.answered, sales.not_answered, sales.hung_up) == (2, 1, 0, 1)
    assert sales.median_seconds_to_hang_up == 20.0  # entered at 7 s, the call ended at 27 s
    support = step(report, "support")
    assert (support.reached, support.hung_up, support.median_seconds_to_hang_up) == (1, 1, 51.0)
    assert step(report, "vm").reached == 0


def test_menu_retries_count_timeouts_and_invalid_and_time_from_the_last_enter() -> None:
    retried = (
        greeted(1)
        .hop(1, 10, ("menu", "menu", "stay", "invalid"))
        .hop(2, 20, ("menu", "menu", "stay", "timeout"))
    )
    gave_up = greeted(2).hop(1, 10, ("menu", "menu", "stay", "timeout"))
    gave_up.hop(
        2,
        20,
        ("menu", "menu", "leave", "timeout, no retries left"),
        ("vm", "voicemail", "enter", ""),
        ("vm", "voicemail", "leave", "voicemail"),
    )
    # Entered the menu twice (a position sent back to the step's start): time counts from the last.
    reentered = greeted(3).hop(1, 30, ("menu", "menu", "enter", ""))
    events = [*retried.rows, *gave_up.rows, *reentered.rows]
    report = build(STEPS, [ended(1, 25), ended(2, 80), ended(3, 40)], events)
    menu = step(report, "menu")
    assert menu.reached == 3  # distinct calls, not enters
    assert (menu.timeouts, menu.invalid, menu.no_choice) == (3, 1, 1)
    assert menu.hung_up == 2 and menu.median_seconds_to_hang_up == 17.5  # 25 s and 10 s
    assert step(report, "vm").hung_up == 0 and dict(step(report, "vm").outcomes) == {"voicemail": 1}


def test_calls_in_progress_are_not_hang_ups() -> None:
    live = greeted(1)
    report = build(STEPS, [CallRow(1, None, over=False)], live.rows)
    menu = step(report, "menu")
    assert (menu.reached, menu.hung_up, menu.in_progress) == (1, 0, 1)
    assert report.hung_up == 0 and menu.median_seconds_to_hang_up is None


def test_over_without_an_end_time_counts_but_has_no_duration() -> None:
    report = build(STEPS, [ended(1, None), ended(2, 30)], [*greeted(1).rows, *greeted(2).rows])
    menu = step(report, "menu")
    assert menu.hung_up == 2 and menu.median_seconds_to_hang_up == 30.0


def test_ties_and_even_counts_take_the_middle() -> None:
    calls = [ended(n, second) for n, second in ((1, 5), (2, 5), (3, 5), (4, 9))]
    events = [row for n in range(1, 5) for row in greeted(n).rows]
    assert step(build(STEPS, calls, events), "menu").median_seconds_to_hang_up == 5.0
    calls = [ended(1, 4), ended(2, 8)]
    events = [*greeted(1).rows, *greeted(2).rows]
    assert step(build(STEPS, calls, events), "menu").median_seconds_to_hang_up == 6.0


def test_clock_skew_never_gives_a_negative_time() -> None:
    report = build(STEPS, [ended(1, -3)], greeted(1).rows)
    assert step(report, "menu").median_seconds_to_hang_up == 0.0


def test_order_of_rows_does_not_matter_and_leg_events_do_not_move_the_caller() -> None:
    path = greeted(1).hop(1, 5, ("menu", "menu", "leave", "choice 1"), ("sales", "forward", "enter", ""))
    path.hop(2, 9, ("sales", "forward", "leave", "answered"))
    whisper = EventRow(1, 1600, "sales", "forward", "stay", "whisper", T0, leg=True)
    report = build(STEPS, [ended(1, 60)], [whisper, *reversed(path.rows)])
    assert report.hung_up == 0 and step(report, "sales").answered == 1


def test_unknown_steps_and_options_from_other_versions_are_listed_after() -> None:
    path = Path(1).hop(0, 0, ("old-menu", "menu", "enter", ""), ("old-menu", "menu", "leave", "choice 9"))
    path.hop(0, 0, ("menu", "menu", "enter", "")).hop(1, 3, ("menu", "menu", "leave", "choice sales"))
    report = build(STEPS, [ended(1, 10), CallRow(2, None, True)], [*path.rows, *greeted(99).rows])
    assert report.steps[-1].step == "old-menu" and report.steps[-1].type == "menu"
    assert [(o.key, o.target, o.calls) for o in step(report, "menu").options][-1] == ("sales", "", 1)
    assert report.calls == 2 and step(report, "hello").reached == 0  # call 99 is not in the period


def test_layout_follows_the_call_and_keeps_older_steps() -> None:
    current = FlowDocument.model_validate(
        {
            "start": "a",
            "steps": {
                "vm": {"type": "voicemail"},
                "m": {
                    "type": "menu",
                    "prompt": "?",
                    "options": {"2": "vm", "1": "b"},
                    "label": "Main <menu>",
                },
                "b": {"type": "hangup"},
                "a": {"type": "say", "text": "hi", "next": "m"},
            },
        }
    )
    older = FlowDocument.model_validate(
        {
            "start": "a",
            "steps": {"a": {"type": "say", "text": "hi", "next": "gone"}, "gone": {"type": "hangup"}},
        }
    )
    steps = layout([current, older])
    assert [s.step for s in steps] == ["a", "m", "vm", "b", "gone"]
    assert steps[1].label == "Main <menu>" and steps[1].options == (("2", "vm"), ("1", "b"))


def test_default_period_is_thirty_days_and_survives_the_start_of_the_calendar() -> None:
    assert default_period(dt.date(2026, 3, 31)) == Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert default_period(dt.date(1, 1, 5)) == Period(dt.date.min, dt.date(1, 1, 5))
