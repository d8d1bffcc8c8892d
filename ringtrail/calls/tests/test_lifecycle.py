"""The pure fold from carrier events to a call's outcome and timings (no database)."""

from __future__ import annotations

import datetime as dt
import itertools

from ringtrail.calls.lifecycle import EventFacts, fold

START = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
ANSWERED = [
    EventFacts("status", 0, "ringing", START),
    EventFacts("status", 1, "in-progress", START),
    EventFacts("dial", 7, "completed", dial_duration=60),
    EventFacts("status", 2, "completed", START + dt.timedelta(seconds=66), call_duration=66),
    EventFacts("recording", 3, "completed", recording_url="https://r/1", recording_purpose="call"),
]


def test_answered_call_timings() -> None:
    state = fold(ANSWERED, started_at=START)
    assert (state.outcome, state.carrier_status, state.talk_seconds, state.ring_seconds) == (
        "answered",
        "completed",
        60,
        6,
    )
    assert state.answered_at == START + dt.timedelta(seconds=6) and state.recording_urls == ["https://r/1"]


def test_every_order_and_duplication_gives_the_same_state() -> None:
    expected = fold(ANSWERED, started_at=START)
    for order in itertools.permutations(ANSWERED):
        assert fold([*order, *order], started_at=START) == expected


def test_answered_before_the_final_status_uses_the_start_time() -> None:
    state = fold([EventFacts("dial", 1, "completed", dial_duration=30)], started_at=START)
    assert state.outcome == "answered" and state.answered_at is None and state.ring_seconds is None


def test_voicemail_wins_over_missed_and_nobody_talked() -> None:
    events = [
        EventFacts("dial", 1, "no-answer", dial_duration=0),
        EventFacts("recording", 5, "completed", recording_url="https://r/vm", recording_purpose="voicemail"),
        EventFacts("status", 2, "completed", START, call_duration=40),
    ]
    state = fold(events)
    assert (state.outcome, state.voicemail_url, state.talk_seconds, state.ring_seconds) == (
        "voicemail",
        "https://r/vm",
        0,
        40,
    )


def test_status_only_outcomes() -> None:
    assert fold([EventFacts("status", 3, "busy", START)]).outcome == "busy"
    assert fold([EventFacts("status", 3, "completed", START)], routed=False).outcome == "failed"
    assert fold([EventFacts("status", 3, "completed", START)]).outcome == "missed"
    assert fold([EventFacts("status", 0, "ringing", START)]).outcome == "in_progress"
