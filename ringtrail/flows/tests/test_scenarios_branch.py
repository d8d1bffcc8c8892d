"""Scenario suite, part 2: business hours and caller-area branches over real HTTP.

"Now" is controlled through the simulated clock: the server honours ``X-Ringtrail-Clock-Offset``
(only with ``SIMULATED_CLOCK``), and the offset is chosen to land on a known local time within the
next week, so the schedule's answer never depends on when the suite runs.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ringtrail.flows.tests.conftest import DESK_NUMBERS, Bench, caller_path, forward, say, voicemail

pytestmark = pytest.mark.django_db(transaction=True)

ZONE = ZoneInfo("America/New_York")


def next_local(weekday: int, hour: int) -> dt.datetime:
    """The next moment (within a week) that is ``weekday`` (0 = Monday) at ``hour``:30 in New York."""
    today = dt.datetime.now(ZONE)
    days = (weekday - today.weekday()) % 7
    moment = (today + dt.timedelta(days=days)).replace(hour=hour, minute=30, second=0, microsecond=0)
    # No margin before the next occurrence: a week plus a margin is past the simulated clock's
    # limit (±7 days), and the call is over long before the hour is.
    return moment if moment > today else moment + dt.timedelta(days=7)


def at(bench: Bench, settings: Any, moment: dt.datetime) -> None:
    settings.SIMULATED_CLOCK = True
    bench.clock_offset = moment.timestamp() - time.time()


def schedule_flow(bench: Bench, holidays: list[str] | None = None) -> dict[str, Any]:
    weekdays = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    return {
        "start": "hours",
        "steps": {
            "hours": {
                "type": "schedule",
                "time_zone": "America/New_York",
                "hours": weekdays,
                "holidays": holidays or [],
                "open": "desk",
                "closed": "voicemail",
                "holiday": "holiday-notice",
            },
            "desk": forward(bench.desks["alice"]),
            "holiday-notice": say("We are closed for the holiday.", "voicemail"),
            "voicemail": voicemail(),
        },
    }


def test_schedule_open_forwards(bench: Bench, settings: Any) -> None:
    at(bench, settings, next_local(0, 10))  # Monday 10:30
    bench.attach(schedule_flow(bench))
    result, call = bench.place()
    assert result.answered_by == DESK_NUMBERS["alice"]
    assert caller_path(call)[:2] == [("hours", "enter", ""), ("hours", "leave", "open")]
    assert call.outcome == "answered" and call.receiving_number_id == bench.desks["alice"]


@pytest.mark.parametrize(("weekday", "hour"), [(0, 18), (6, 11)], ids=["monday-evening", "sunday"])
def test_schedule_closed_takes_voicemail(bench: Bench, settings: Any, weekday: int, hour: int) -> None:
    at(bench, settings, next_local(weekday, hour))
    bench.attach(schedule_flow(bench))
    result, call = bench.place(voicemail_seconds=9)
    assert result.outcome == "voicemail" and result.answered_by is None
    assert ("hours", "leave", "closed") in caller_path(call)
    assert call.outcome == "voicemail" and call.voicemail_url


def test_schedule_holiday_closes_an_open_hour(bench: Bench, settings: Any) -> None:
    moment = next_local(1, 10)  # a Tuesday morning, declared a holiday
    at(bench, settings, moment)
    bench.attach(schedule_flow(bench, holidays=[moment.date().isoformat()]))
    result, call = bench.place(voicemail_seconds=5)
    assert any("closed for the holiday" in step.text for step in result.story)
    assert [step for step, event, _ in caller_path(call) if event == "enter"] == [
        "hours",
        "holiday-notice",
        "voicemail",
    ]
    assert ("hours", "leave", "holiday") in caller_path(call) and call.outcome == "voicemail"


def geo_flow(bench: Bench) -> dict[str, Any]:
    desks = bench.desks
    return {
        "start": "region",
        "steps": {
            "region": {
                "type": "geo",
                "rules": [
                    {"countries": ["CA"], "next": "canada"},
                    {"countries": ["US"], "states": ["CA", "OR", "WA"], "next": "west"},
                    {"zip_prefixes": ["100", "101"], "next": "manhattan"},
                    {"area_codes": ["305", "786"], "next": "miami"},
                ],
                "default": "everyone",
            },
            "canada": say("Bonjour.", "everyone"),
            "west": forward(desks["alice"]),
            "manhattan": forward(desks["bob"]),
            "miami": forward(desks["carol"]),
            "everyone": forward(desks["carol"], desks["alice"], strategy="sequential"),
        },
    }


@pytest.mark.parametrize(
    ("caller", "area", "rule", "desk"),
    [
        ("+14165550111", {"FromCountry": "CA", "FromState": "ON"}, "matched rule 1", "carol"),
        (
            "+14155550111",
            {"FromCountry": "US", "FromState": "CA", "FromCity": "SF"},
            "matched rule 2",
            "alice",
        ),
        (
            "+16465550111",
            {"FromCountry": "US", "FromState": "NY", "FromZip": "10013"},
            "matched rule 3",
            "bob",
        ),
        ("+13055550111", None, "matched rule 4", "carol"),  # area code, no carrier fields at all
        ("+12065550111", None, "matched rule 2", "alice"),  # the geocoder says Washington State
        ("+13125550111", {"FromCountry": "US", "FromState": "IL", "FromZip": "60601"}, "default", "carol"),
        ("+448005550111", None, "default", "carol"),  # an unknown area matches no rule
    ],
    ids=["country", "state", "zip", "area-code", "geocoder-state", "default", "unknown-area"],
)
def test_geo_branches(bench: Bench, caller: str, area: dict[str, str] | None, rule: str, desk: str) -> None:
    bench.attach(geo_flow(bench))
    result, call = bench.place(from_=caller, caller_area=area)
    assert result.answered_by == DESK_NUMBERS[desk]
    assert caller_path(call)[:2] == [("region", "enter", ""), ("region", "leave", rule)]
    assert call.outcome == "answered" and call.receiving_number_id == bench.desks[desk]
