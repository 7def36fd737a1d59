"""The lunar calendar, the holiday list and the date schedules, and promotions that follow them.

Published dates, checked by hand against these sources (not against the library):
- Tết Nguyên Đán 2025-2029: the Vietnamese government's public-holiday announcements (Tết Ất Tỵ
  29/01/2025, Bính Ngọ 17/02/2026, Đinh Mùi 06/02/2027, Mậu Thân 26/01/2028, Kỷ Dậu 13/02/2029)
  and the table of Hồ Ngọc Đức's "Lịch Việt Nam" (https://www.informatik.uni-leipzig.de/~duc/amlich/).
- Tết 2030 is 02/02/2030 in Vietnam and 03/02/2030 in China: the new moon of 2 February 2030 falls
  at about 16:07 UTC, 23:07 in Hà Nội but 00:07 on the 3rd in Beijing. Reported ahead of 2007 by
  Vietnam's calendar authorities ("Vietnam will celebrate Tết a day earlier than China in 2030
  and 2053", Viet-jo 2006-07-06, https://viet-jo.com/news/life/060706102756.html; also
  https://scienceinfo.net/why-is-the-vietnamese-and-chinese-new-year-a-day-different.html).
  (A Chinese table such as the Hong Kong Observatory's gives 03/02: that is the date to avoid.)
- Tết 1985 (21/01, China 20/02) and 2007 (17/02, China 18/02): Wikipedia "Vietnamese calendar"
  and the Viet-jo report above.
- Trung thu (15/8 âm lịch) 2025-2030: Wikipedia "Mid-Autumn Festival" table and calendarlabs.com
  (06/10/2025, 25/09/2026, 15/09/2027, 03/10/2028, 22/09/2029, 12/09/2030); Vietnam and China
  agree in these years.
- Giỗ Tổ Hùng Vương (10/3 âm lịch): public holiday 07/04/2025 and 26/04/2026 (government notices).
- Rằm tháng Giêng 2025: 12/02/2025."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.calendar.lunar import lunar_day_in_year, lunar_to_solar, solar_to_lunar, tet
from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.calendar.selectors import (
    calendar_today,
    holiday_date,
    holiday_next,
    schedule_covers,
    schedule_next,
    schedule_range,
)
from campaigns.calendar.services import date_schedule_save, holiday_save
from campaigns.promotions.models import Promotion
from campaigns.promotions.selectors import promotions_applicable
from campaigns.promotions.services import promotion_save
from loyalty_site.core.errors import ValidationFailed
from tests.campaigns.conftest import HCM, cart, enrol

pytestmark = pytest.mark.django_db

D = datetime.date

PUBLISHED_TET = {
    1985: D(1985, 1, 21),
    2007: D(2007, 2, 17),
    2025: D(2025, 1, 29),
    2026: D(2026, 2, 17),
    2027: D(2027, 2, 6),
    2028: D(2028, 1, 26),
    2029: D(2029, 2, 13),
    2030: D(2030, 2, 2),
}
PUBLISHED_TRUNG_THU = {
    2025: D(2025, 10, 6),
    2026: D(2026, 9, 25),
    2027: D(2027, 9, 15),
    2028: D(2028, 10, 3),
    2029: D(2029, 9, 22),
    2030: D(2030, 9, 12),
}


@pytest.mark.parametrize("year", sorted(PUBLISHED_TET))
def test_tet_matches_the_published_vietnamese_dates(year):
    assert tet(year) == PUBLISHED_TET[year]
    assert solar_to_lunar(PUBLISHED_TET[year]) == solar_to_lunar(PUBLISHED_TET[year]).__class__(year, 1, 1, False)
    # The day before is the last day of the previous lunar year.
    eve = solar_to_lunar(PUBLISHED_TET[year] - datetime.timedelta(days=1))
    assert (eve.year, eve.month) == (year - 1, 12)


@pytest.mark.parametrize("year", sorted(PUBLISHED_TRUNG_THU))
def test_trung_thu_matches_the_published_dates(year):
    assert lunar_to_solar(year, 8, 15) == PUBLISHED_TRUNG_THU[year]


def test_gio_to_and_ram_thang_gieng_match_the_published_dates():
    assert lunar_to_solar(2025, 3, 10) == D(2025, 4, 7)
    assert lunar_to_solar(2026, 3, 10) == D(2026, 4, 26)
    assert lunar_to_solar(2025, 1, 15) == D(2025, 2, 12)


def test_the_seeded_holiday_list_resolves_each_year():
    """The migration's holiday list: lunar holidays by the lunar calendar, solar ones fixed."""
    holidays = {h.code: h for h in Holiday.objects.all()}
    for year, day in PUBLISHED_TET.items():
        assert holiday_date(holidays["TET"], year) == day
    for year, day in PUBLISHED_TRUNG_THU.items():
        assert holiday_date(holidays["TRUNG-THU"], year) == day
    assert holiday_date(holidays["QUOC-KHANH"], 2027) == D(2027, 9, 2)
    assert holiday_date(holidays["GIO-TO"], 2026) == D(2026, 4, 26)


def test_a_lunar_30th_missing_from_a_short_month_is_kept_on_the_29th():
    """The last day of the lunar year (ngày 30 Tết) is always the eve of the next Tết, whether the
    twelfth month has 29 or 30 days."""
    short_years = [y for y in range(2020, 2041) if lunar_to_solar(y, 12, 30) is None]
    long_years = [y for y in range(2020, 2041) if lunar_to_solar(y, 12, 30) is not None]
    assert short_years and long_years  # both kinds occur: the rule is exercised both ways
    for year in range(2020, 2041):
        assert lunar_day_in_year(year, 12, 30) == tet(year + 1) - datetime.timedelta(days=1)


def test_solar_one_off_and_29_february_holidays():
    women = holiday_save(holiday=Holiday(code="PN", name="Phụ nữ", kind=Holiday.Kind.SOLAR, month=3, day=8))
    leap = holiday_save(holiday=Holiday(code="NHUAN", name="Ngày nhuận", kind=Holiday.Kind.SOLAR, month=2, day=29))
    opening = holiday_save(
        holiday=Holiday(code="KHAI-TRUONG", name="Khai trương", kind=Holiday.Kind.ONE_OFF, date=D(2027, 5, 19))
    )
    assert holiday_date(women, 2031) == D(2031, 3, 8)
    assert holiday_date(leap, 2028) == D(2028, 2, 29)
    assert holiday_date(leap, 2027) == D(2027, 2, 28)
    assert holiday_date(opening, 2027) == D(2027, 5, 19)
    assert holiday_date(opening, 2028) is None
    assert holiday_next(opening, D(2027, 6, 1)) == []
    assert holiday_next(women, D(2030, 3, 9)) == [D(2031, 3, 8), D(2032, 3, 8), D(2033, 3, 8)]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"kind": "lunar", "month": 1, "day": 31}, "day"),
        ({"kind": "lunar", "month": 13, "day": 1}, "month"),
        ({"kind": "solar", "month": 2, "day": 30}, "day"),
        ({"kind": "solar", "month": 4}, "day"),
        ({"kind": "one_off"}, "date"),
        ({"kind": "one_off", "date": D(2027, 1, 1), "month": 1, "day": 1}, "month"),
        ({"kind": "solar", "month": 1, "day": 1, "date": D(2027, 1, 1)}, "date"),
    ],
)
def test_a_wrong_holiday_is_refused_and_nothing_is_written(fields, field):
    before = Holiday.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        holiday_save(holiday=Holiday(code="SAI", name="Sai", **fields))
    assert field in refused.value.errors
    assert Holiday.objects.count() == before


# --- Schedules --------------------------------------------------------------------------------


@pytest.fixture
def tet_schedule(db):
    return date_schedule_save(
        schedule=DateSchedule(
            code="TET-3-3", name="Quanh Tết", holiday=Holiday.objects.get(code="TET"), offset_days=-3, length_days=6
        )
    )


@pytest.mark.parametrize("year", sorted(PUBLISHED_TET))
def test_the_three_days_before_tet_and_the_first_three_of_the_year(tet_schedule, year):
    start, end = schedule_range(tet_schedule, year)
    assert start == PUBLISHED_TET[year] - datetime.timedelta(days=3)
    assert end == PUBLISHED_TET[year] + datetime.timedelta(days=2)
    assert schedule_covers(tet_schedule, end) and not schedule_covers(tet_schedule, end + datetime.timedelta(days=1))
    assert not schedule_covers(tet_schedule, start - datetime.timedelta(days=1))


def test_the_next_dates_start_with_the_running_range(tet_schedule):
    assert schedule_next(tet_schedule, D(2026, 2, 18)) == [
        (D(2026, 2, 14), D(2026, 2, 19)),
        (D(2027, 2, 3), D(2027, 2, 8)),
        (D(2028, 1, 23), D(2028, 1, 28)),
    ]


@pytest.mark.parametrize("fields", [{"length_days": 0}, {"length_days": 91}, {"offset_days": -181}])
def test_a_wrong_schedule_is_refused_and_nothing_is_written(fields):
    fields = {"offset_days": 0, "length_days": 1, **fields}
    with pytest.raises(ValidationFailed):
        date_schedule_save(
            schedule=DateSchedule(code="SAI", name="Sai", holiday=Holiday.objects.get(code="TET"), **fields)
        )
    assert not DateSchedule.objects.exists()


# --- Promotions on a schedule -----------------------------------------------------------------

COFFEE = cart(("CF-SUA", "coffee", 2, "35000"))


@pytest.fixture
def tet_x2(tet_schedule):
    return promotion_save(
        promotion=Promotion(
            code="TET-X2", name="Tết x2", kind=Promotion.Kind.EARN_MULTIPLIER, multiplier=2, date_schedule=tet_schedule
        )
    )


def around_tet(year_offset: int, days: int, hour: int, minute: int = 0) -> datetime.datetime:
    """`days` from Tết of this year (+ `year_offset`) at hour:minute, Hồ Chí Minh City time. The
    promotion keeps the ranges of the years around today with its cached rules: the moments are
    counted from today's year, so the test holds in any year (the dates themselves are checked
    against the published table above)."""
    day = tet(calendar_today().year + year_offset) + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=HCM)


@pytest.mark.parametrize(
    "moment, applies",
    [
        ((0, -4, 23, 59), False),
        ((0, -3, 0, 0), True),  # 3 days before Tết
        ((0, 0, 12, 0), True),
        ((0, 2, 23, 59), True),  # the 3rd day of the lunar year
        ((0, 3, 0, 0), False),
        ((1, -3, 8, 0), True),  # next year's Tết moves
        ((1, -20, 8, 0), False),
        ((0, 120, 8, 0), False),
    ],
)
def test_tet_x2_doubles_points_around_tet_each_year(tet_x2, stores, moment, applies):
    result = promotions_applicable(cart=COFFEE, member=enrol(), store=stores["PHO-HN01"], at=around_tet(*moment))
    assert (result.multiplier == Decimal(2)) is applies


def test_the_tet_2026_range_is_the_published_one(tet_schedule):
    """14/02 to 19/02/2026 around Tết Bính Ngọ (17/02/2026)."""
    assert schedule_range(tet_schedule, 2026) == (D(2026, 2, 14), D(2026, 2, 19))


def test_the_schedule_costs_the_sale_no_query(tet_x2, stores, django_capture_on_commit_callbacks):
    """Read from the cached rules, as the sale reads them (no per-member limit here: no query)."""
    cache.clear()
    member = enrol()
    with django_capture_on_commit_callbacks(execute=True):
        promotions_applicable(cart=COFFEE, member=member, store=stores["PHO-HN01"], at=around_tet(0, -2, 9))
    with CaptureQueriesContext(connection) as queries:
        result = promotions_applicable(cart=COFFEE, member=member, store=stores["PHO-HN01"], at=around_tet(0, -1, 9))
    assert result.multiplier == 2
    assert len(queries) == 0


def test_changing_the_schedule_moves_the_promotion_at_once(
    tet_x2, tet_schedule, stores, django_capture_on_commit_callbacks
):
    member = enrol()
    today = calendar_today()
    after = tet(today.year) + datetime.timedelta(days=4)  # the 5th day of this lunar year
    at = datetime.datetime.combine(after, datetime.time(10), tzinfo=HCM)
    with django_capture_on_commit_callbacks(execute=True):
        assert promotions_applicable(cart=COFFEE, member=member, store=stores["PHO-HN01"], at=at).multiplier == 1
    tet_schedule.length_days = 10
    with django_capture_on_commit_callbacks(execute=True):
        date_schedule_save(schedule=tet_schedule)
    assert promotions_applicable(cart=COFFEE, member=member, store=stores["PHO-HN01"], at=at).multiplier == 2


def test_changing_the_holiday_moves_the_promotion(tet_x2, stores, django_capture_on_commit_callbacks):
    """Read through the cache, as the till does: the saved holiday drops the cached rules."""
    member = enrol()
    today = calendar_today()
    # This year's Rằm tháng Giêng (15/1 âm lịch) and the day after it (outside the Tết range).
    ram = lunar_to_solar(today.year, 1, 15)
    at = datetime.datetime.combine(ram + datetime.timedelta(days=1), datetime.time(10), tzinfo=HCM)
    with django_capture_on_commit_callbacks(execute=True):
        assert promotions_applicable(cart=COFFEE, member=member, store=stores["PHO-HN01"], at=at).multiplier == 1
    holiday = Holiday.objects.get(code="TET")
    holiday.day = 15  # an operator moves the anchor to Rằm tháng Giêng: the range becomes 12/1 to 17/1
    with django_capture_on_commit_callbacks(execute=True):
        holiday_save(holiday=holiday)
    assert promotions_applicable(cart=COFFEE, member=member, store=stores["PHO-HN01"], at=at).multiplier == 2


def test_admin_shows_the_next_dates(client, superuser, tet_schedule, tet_x2):
    client.force_login(superuser)
    page = client.get(reverse("admin:campaigns_dateschedule_changelist"))
    assert page.status_code == 200
    today = datetime.date.today()
    next_start, _ = schedule_next(tet_schedule, today, 1)[0]
    assert f"{next_start:%d/%m/%Y}" in page.content.decode()
    holidays = client.get(reverse("admin:campaigns_holiday_changelist"))
    assert holidays.status_code == 200 and "Tết Nguyên Đán" in holidays.content.decode()
    change = client.get(reverse("admin:campaigns_dateschedule_change", args=[tet_schedule.pk]))
    assert change.status_code == 200
    promotions = client.get(reverse("admin:campaigns_promotion_changelist"))
    assert promotions.status_code == 200 and "Quanh Tết" in promotions.content.decode()


def test_admin_adds_a_lunar_holiday_and_refuses_a_wrong_one(client, superuser):
    client.force_login(superuser)
    url = reverse("admin:campaigns_holiday_add")
    base = {"code": "VIA-THAN-TAI", "name": "Vía Thần Tài", "kind": "lunar", "month": "1", "is_active": "on"}
    refused = client.post(url, {**base, "day": "31"})
    assert refused.status_code == 200 and not Holiday.objects.filter(code="VIA-THAN-TAI").exists()
    saved = client.post(url, {**base, "day": "10"})
    assert saved.status_code == 302
    assert holiday_date(Holiday.objects.get(code="VIA-THAN-TAI"), 2026) == D(2026, 2, 26)
