"""The Vietnamese lunar calendar (âm lịch), computed for UTC+7.

Vietnam's calendar is the Chinese one computed for Vietnam's time zone: a new moon close to
midnight falls on different days, so Tết was 21 Jan 1985 in Vietnam but 20 Feb in China, 17 Feb
2007 but 18 Feb, and will be 2 Feb 2030 but 3 Feb. `vnlunar` reads Hồ Ngọc Đức's published
tables for 1800-2199 (his astronomical algorithm at UTC+7 outside them); Chinese libraries
(lunardate, lunarcalendar) give the Chinese date. Only this module imports vnlunar."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import vnlunar

# Years the conversion is defined for here: the library's tables, which follow the calendar
# Vietnam actually published (UTC+8 before 1968, UTC+7 since).
FIRST_YEAR = 1800
LAST_YEAR = 2199


@dataclass(frozen=True)
class LunarDate:
    year: int
    month: int
    day: int
    leap: bool = False


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"lunar year {year} outside {FIRST_YEAR}-{LAST_YEAR}")


def lunar_to_solar(year: int, month: int, day: int, *, leap: bool = False) -> datetime.date | None:
    """The solar date of lunar `day`/`month` of lunar `year`, or None when that day does not
    exist (a 30th in a 29-day month, a leap month the year does not have)."""
    _check_year(year)
    found = vnlunar.convert_lunar_to_solar(day, month, year, 1 if leap else 0)
    if found is None:
        return None
    solar_day, solar_month, solar_year = found
    return datetime.date(solar_year, solar_month, solar_day)


def lunar_day_in_year(year: int, month: int, day: int) -> datetime.date:
    """Lunar `day`/`month` of `year` as a festival is kept: in the ordinary (not leap) month, and
    a 30th that the month lacks is kept on its last day, the 29th (as "the last day of the
    year", ngày 30 Tết, is)."""
    found = lunar_to_solar(year, month, day)
    if found is None and day == 30:
        found = lunar_to_solar(year, month, 29)
    if found is None:
        raise ValueError(f"no lunar day {day}/{month} in {year}")
    return found


def solar_to_lunar(day: datetime.date) -> LunarDate:
    _check_year(day.year)
    found = vnlunar.get_lunar_date(day.day, day.month, day.year)
    return LunarDate(year=found["year"], month=found["month"], day=found["day"], leap=bool(found["leap"]))


def tet(year: int) -> datetime.date:
    """Tết Nguyên Đán: the first day of the first lunar month of `year`."""
    return lunar_day_in_year(year, 1, 1)
