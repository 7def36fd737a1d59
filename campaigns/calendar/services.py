"""Writes of the holiday list and the date schedules. The promotions that follow a schedule read
its dates through the cached promotion rules, which a saved holiday or schedule drops
(`campaigns.promotions.receivers`): the till uses the new dates at once."""

from __future__ import annotations

from campaigns.calendar.models import DateSchedule, Holiday
from loyalty_site.core.errors import clean_or_refuse


def holiday_save(*, holiday: Holiday) -> Holiday:
    """Create or change a holiday. Refusals (ValidationFailed) write nothing."""
    clean_or_refuse(holiday)
    holiday.save()
    return holiday


def date_schedule_save(*, schedule: DateSchedule) -> DateSchedule:
    """Create or change a schedule. Refusals (ValidationFailed) write nothing."""
    clean_or_refuse(schedule)
    schedule.save()
    return schedule
