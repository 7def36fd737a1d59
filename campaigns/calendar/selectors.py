"""Reading the holiday list and resolving schedules to solar dates. Pure reads."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.utils import timezone

from campaigns.calendar.lunar import lunar_day_in_year
from campaigns.calendar.models import DateSchedule, Holiday

DateRange = tuple[datetime.date, datetime.date]  # first and last day, both included


def calendar_today() -> datetime.date:
    """Today in the programme's zone: holidays are the programme's days."""
    return timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


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


def schedule_next(schedule: DateSchedule, today: datetime.date, count: int = 3) -> list[DateRange]:
    """The next `count` ranges that have not ended by `today` (the running one first)."""
    ranges = schedule_ranges(schedule, range(today.year - 1, today.year + count + 2))
    return [r for r in ranges if r[1] >= today][:count]


def holiday_next(holiday: Holiday, today: datetime.date, count: int = 3) -> list[datetime.date]:
    found = (holiday_date(holiday, year) for year in range(today.year - 1, today.year + count + 2))
    return sorted(d for d in found if d is not None and d >= today)[:count]


def schedule_covers(schedule: DateSchedule, day: datetime.date) -> bool:
    """Whether `day` is one of the schedule's days (of the holiday of its year or of a year next
    to it: a range may cross New Year)."""
    return any(start <= day <= end for start, end in schedule_ranges(schedule, range(day.year - 1, day.year + 2)))
