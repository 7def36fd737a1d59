"""The holiday list and the date schedules built on it.

A holiday is a fixed solar date (Quốc khánh, 2/9), a lunar date (Tết, 1/1 âm lịch; Giỗ Tổ, 10/3;
Trung thu, 15/8) or a one-off date (a store opening). A schedule counts from a holiday: `offset`
days from it (negative: before) for `length` days, e.g. Tết with offset -3 and length 6 is "the 3
days before Tết and the first 3 of the lunar year". Each year it resolves to one range of solar
dates (`campaigns.calendar.selectors`)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_site.core.models import TimeStampedModel
from stores.models import code_validator

# A schedule reaches at most this far from its holiday, either way, and lasts at most this long:
# enough for "the month before Trung thu", small enough that a year's range stays near its year.
MAX_OFFSET_DAYS = 180
MAX_LENGTH_DAYS = 90


class Holiday(TimeStampedModel):
    class Kind(models.TextChoices):
        SOLAR = "solar", _("Fixed solar date, every year")
        LUNAR = "lunar", _("Lunar date, every year")
        ONE_OFF = "one_off", _("One date only")

    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200, help_text=_("In Vietnamese, e.g. Tết Nguyên Đán."))
    name_en = models.CharField(_("name in English"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    month = models.PositiveSmallIntegerField(
        _("month"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("Solar or lunar month, for a holiday every year."),
    )
    day = models.PositiveSmallIntegerField(
        _("day"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("Day of the month. A lunar 30th is kept on the 29th in a month of 29 days."),
    )
    date = models.DateField(_("date"), null=True, blank=True, help_text=_("For a one-off holiday."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="one_off") & Q(date__isnull=False))
                | (~Q(kind="one_off") & Q(month__isnull=False) & Q(day__isnull=False)),
                name="campaigns_holiday_date_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.kind == self.Kind.ONE_OFF:
            if self.date is None:
                errors.setdefault("date", []).append(_("Give the date of a one-off holiday."))
            if self.month is not None or self.day is not None:
                errors.setdefault("month", []).append(_("Leave the month and day empty for a one-off holiday."))
        elif self.kind in (self.Kind.SOLAR, self.Kind.LUNAR):
            if self.month is None or self.day is None:
                errors.setdefault("day", []).append(_("Give the month and the day."))
            elif self.kind == self.Kind.LUNAR and self.day > 30:
                errors.setdefault("day", []).append(_("A lunar month has at most 30 days."))
            elif self.kind == self.Kind.SOLAR:
                try:
                    datetime.date(2024, self.month, self.day)  # a leap year: 29 February is allowed
                except ValueError:
                    errors.setdefault("day", []).append(_("This month has no such day."))
            if self.date is not None:
                errors.setdefault("date", []).append(_("Only a one-off holiday has a date."))
        if errors:
            raise ValidationError(errors)


class DateSchedule(TimeStampedModel):
    code = models.CharField(_("code"), max_length=30, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=200)
    holiday = models.ForeignKey(
        Holiday, on_delete=models.PROTECT, related_name="schedules", verbose_name=_("counted from the holiday")
    )
    offset_days = models.IntegerField(
        _("starts (days from the holiday)"),
        default=0,
        validators=[MinValueValidator(-MAX_OFFSET_DAYS), MaxValueValidator(MAX_OFFSET_DAYS)],
        help_text=_("0: on the holiday; -3: three days before it; 1: the day after."),
    )
    length_days = models.PositiveSmallIntegerField(
        _("lasts (days)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LENGTH_DAYS)],
        help_text=_("E.g. Tết, starts -3, lasts 6: the 3 days before Tết and the first 3 of the lunar year."),
    )

    class Meta:
        verbose_name = _("date schedule")
        verbose_name_plural = _("date schedules")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(length_days__gte=1) & Q(length_days__lte=MAX_LENGTH_DAYS),
                name="campaigns_dateschedule_length",
            ),
            models.CheckConstraint(
                condition=Q(offset_days__gte=-MAX_OFFSET_DAYS) & Q(offset_days__lte=MAX_OFFSET_DAYS),
                name="campaigns_dateschedule_offset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
