"""The holiday list and the date schedules, each shown with its next concrete dates."""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.calendar.selectors import DateRange, calendar_today, holiday_next, schedule_next
from campaigns.calendar.services import date_schedule_save, holiday_save


def _day(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def range_text(dates: DateRange) -> str:
    start, end = dates
    return _day(start) if start == end else f"{_day(start)} – {_day(end)}"


def schedule_text(schedule: DateSchedule, today: datetime.date, count: int = 3) -> str:
    found = schedule_next(schedule, today, count)
    if not found:
        return gettext("%(name)s: no coming dates") % {"name": schedule.name}
    return f"{schedule.name}: " + "; ".join(range_text(r) for r in found)


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "month", "day", "date", "next_dates", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name", "name_en"]
    ordering = ["code"]
    list_select_related: list = []
    autocomplete_fields: list = []
    readonly_fields = ["next_dates", "created_at", "updated_at"]
    fields = ["code", "name", "name_en", "kind", "month", "day", "date", "is_active", "next_dates"]

    @admin.display(description=_("next dates"))
    def next_dates(self, obj: Holiday) -> str:
        if obj.pk is None:
            return "-"
        found = holiday_next(obj, calendar_today())
        return "; ".join(_day(d) for d in found) or gettext("None")

    def save_model(self, request, obj, form, change):
        holiday_save(holiday=obj)


@admin.register(DateSchedule)
class DateScheduleAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "holiday", "offset_days", "length_days", "next_dates"]
    list_filter = ["holiday"]
    search_fields = ["code", "name", "holiday__name"]
    ordering = ["code"]
    list_select_related = ["holiday"]
    autocomplete_fields = ["holiday"]
    readonly_fields = ["next_dates", "created_at", "updated_at"]
    fields = ["code", "name", "holiday", "offset_days", "length_days", "next_dates"]

    @admin.display(description=_("next dates"))
    def next_dates(self, obj: DateSchedule) -> str:
        if obj.pk is None:
            return "-"
        found = schedule_next(obj, calendar_today())
        return "; ".join(range_text(r) for r in found) or gettext("None")

    def save_model(self, request, obj, form, change):
        date_schedule_save(schedule=obj)
