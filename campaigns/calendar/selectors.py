"""Reading the holiday list and resolving schedules to solar dates. Pure reads."""

from __future__ import annotations

import datetime

from campaigns.calendar.lunar import lunar_day_in_year
from campaigns.calendar.models import DateSchedule, Holiday

DateRange = tuple[datetime.date, datetime.date]  # first and last day, both included

# How far ahead a promotion's schedule is resolved when it is saved (and refreshed each month by
# `campaigns.calendar.tasks`): this year, the one before (a range of last year's Tết schedule may
# still be running in January) and the next ones.
YEARS_BEHIND = 1
YEARS_AHEAD = 5


def holiday_date(holiday: Holiday, year: int) -> datetime.date | None:
    """The day `holiday` falls on in `year` (the lunar year for a lunar holiday), or None when it
    has none that year (a one-off of another year; 29 February in a common year is kept on the
    28th)."""
    if holiday.kind == Holiday.Kind.ONE_OFF:
        return holiday.date if holiday.date and holiday.date.year == year else None
    if holiday.kind == Holiday.Kind.LUNAR:
        return lunar_day_in_year(year, holiday.month, holiday.day)
    try:
        return datetime.date(year, holiday.month, holiday.day)
    except ValueError:
        return datetime.date(year, holiday.month, holiday.day - 1)


def schedule_range(schedule: DateSchedule, year: int) -> DateRange | None:
    """The schedule's days for the holiday of `year`."""
    anchor = holiday_date(schedule.holiday, year)
    if anchor is None:
        return None
    start = anchor + datetime.timedelta(days=schedule.offset_days)
    return start, start + datetime.timedelta(days=schedule.length_days - 1)


def schedule_ranges(schedule: DateSchedule, years: range) -> list[DateRange]:
    found = (schedule_range(schedule, year) for year in years)
    return sorted(r for r in found if r is not None)


def resolution_years(today: datetime.date) -> range:
    return range(today.year - YEARS_BEHIND, today.year + YEARS_AHEAD + 1)


def schedule_next(schedule: DateSchedule, today: datetime.date, count: int = 3) -> list[DateRange]:
    """The next `count` ranges that have not ended by `today` (the running one first)."""
    ranges = schedule_ranges(schedule, range(today.year - 1, today.year + count + 2))
    return [r for r in ranges if r[1] >= today][:count]


def holiday_next(holiday: Holiday, today: datetime.date, count: int = 3) -> list[datetime.date]:
    found = (holiday_date(holiday, year) for year in range(today.year - 1, today.year + count + 2))
    return sorted(d for d in found if d is not None and d >= today)[:count]


def day_in_ranges(day: datetime.date, ranges) -> bool:
    """`ranges` as stored on a promotion: [["2026-02-14", "2026-02-19"], ...] (ISO text compares
    like the dates)."""
    text = day.isoformat()
    return any(start <= text <= end for start, end in ranges)


def ranges_as_text(ranges: list[DateRange]) -> list[list[str]]:
    return [[start.isoformat(), end.isoformat()] for start, end in ranges]


def schedule_covers(schedule: DateSchedule, day: datetime.date) -> bool:
    """Whether `day` is one of the schedule's days (of the holiday of its year or of a year next
    to it: a range may cross New Year)."""
    return any(start <= day <= end for start, end in schedule_ranges(schedule, range(day.year - 1, day.year + 2)))
