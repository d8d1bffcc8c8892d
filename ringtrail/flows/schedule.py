"""Business hours: is a moment open, closed, or a holiday, in a given time zone?

Ranges are local wall-clock times, so daylight-saving changes move them with the clock. A range whose
end is before its start runs overnight into the next day ("22:00"-"02:00" on Friday is Friday 22:00 to
Saturday 02:00); "24:00" ends a range at midnight. A holiday closes its whole local calendar date,
including the small hours another day's overnight range would have covered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from ringtrail.flows.schema import WEEKDAYS, ScheduleStep, is_time_zone

Branch = Literal["open", "closed", "holiday"]


def schedule_branch(step: ScheduleStep, now: datetime, account_time_zone: str) -> Branch:
    zone_name = step.time_zone or account_time_zone
    # An account saved with a zone this machine lacks must not break calls: fall back to UTC.
    zone = ZoneInfo(zone_name if is_time_zone(zone_name) else "UTC")
    local = now.astimezone(zone)
    if local.date() in step.holidays:
        return "holiday"
    return "open" if is_open(step, local.weekday(), local.hour * 60 + local.minute) else "closed"


def is_open(step: ScheduleStep, weekday: int, minute: int) -> bool:
    """``weekday`` 0 = Monday; ``minute`` of the local day, 0-1439."""
    for start, end in step.hours.get(WEEKDAYS[weekday], []):
        first, last = _minutes(start), _minutes(end)
        if (first < last and first <= minute < last) or (last < first and minute >= first):
            return True
    for start, end in step.hours.get(WEEKDAYS[weekday - 1], []):
        first, last = _minutes(start), _minutes(end)
        if last < first and minute < last:
            return True
    return False


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
