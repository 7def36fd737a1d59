"""Writes of the holiday list and the date schedules. A change re-resolves the dates of the
promotions that follow it, in the same transaction, so the till never uses stale dates."""

from __future__ import annotations

from django.db import transaction

from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.promotions.services import promotions_schedule_refresh
from loyalty_site.core.errors import clean_or_refuse


def holiday_save(*, holiday: Holiday) -> Holiday:
    """Create or change a holiday. Refusals (ValidationFailed) write nothing."""
    clean_or_refuse(holiday)
    with transaction.atomic():
        holiday.save()
        if holiday.pk is not None:
            promotions_schedule_refresh(schedules=list(holiday.schedules.all()))
    return holiday


def date_schedule_save(*, schedule: DateSchedule) -> DateSchedule:
    """Create or change a schedule. Refusals (ValidationFailed) write nothing."""
    clean_or_refuse(schedule)
    with transaction.atomic():
        schedule.save()
        promotions_schedule_refresh(schedules=[schedule])
    return schedule
