"""The figures of reports.md on the hand-made history of conftest.py: raw tables only, rollups
built before the late events (stale), refreshed, and read from rollups alone."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from reports.figures import Scope, daily_series, period_figures, previous_period, raw_days
from reports.models import DailyPoints, DailySales, RollupDay
from reports.services import rollups_rebuild, rollups_refresh
from tests.reports.conftest import EXPECTED_ALL, EXPECTED_CAFE_BRAND, EXPECTED_PHO_HN01, expected_series

pytestmark = pytest.mark.django_db


def figures(history, **scope) -> dict:
    start, end = history.period
    return period_figures(start=start, end=end, scope=Scope(**scope))


def assert_figures(history) -> None:
    got = figures(history)
    assert {key: got[key] for key in EXPECTED_ALL} == EXPECTED_ALL
    got = figures(history, store_id=history.pho.pk)
    assert {key: got[key] for key in EXPECTED_PHO_HN01} == EXPECTED_PHO_HN01
    got = figures(history, brand_id=history.brand_cafe.pk)
    assert {key: got[key] for key in EXPECTED_CAFE_BRAND} == EXPECTED_CAFE_BRAND
    start, end = history.period
    assert daily_series(start=start, end=end, scope=Scope()) == expected_series(history)


def test_previous_period_has_the_same_length_just_before():
    assert previous_period(datetime.date(2025, 3, 1), datetime.date(2025, 3, 31)) == (
        datetime.date(2025, 1, 29),
        datetime.date(2025, 2, 28),
    )
    assert previous_period(datetime.date(2025, 3, 5), datetime.date(2025, 3, 5)) == (
        datetime.date(2025, 3, 4),
        datetime.date(2025, 3, 4),
    )


def test_figures_from_the_raw_tables(history):
    history.before_rollups()
    history.after_rollups()
    assert not RollupDay.objects.exists()
    assert_figures(history)


def test_figures_with_stale_rollups_then_refreshed_then_from_rollups_alone(history):
    history.before_rollups()
    d = history.d
    rebuilt = rollups_rebuild(start=d - datetime.timedelta(days=13), end=d)
    assert rebuilt[-1] == d - datetime.timedelta(days=1)  # today is never rolled up
    day2 = d - datetime.timedelta(days=2)
    assert not DailySales.objects.filter(day=day2).exists()  # nothing sold on D-2 yet
    history.after_rollups()
    # Stale rollups: the late sale, the refund and the expiry made their days raw again.
    assert {day2, d - datetime.timedelta(days=3), history.expiry_day} <= set(raw_days(*history.period))
    assert_figures(history)

    rollups_refresh()
    cafe_d2 = DailySales.objects.get(day=day2, store=history.cafe)
    assert (cafe_d2.member_net, cafe_d2.member_orders) == (60_000, 1)
    d3 = DailySales.objects.get(day=d - datetime.timedelta(days=3), store=history.cafe)
    assert d3.member_net == 175_000  # the refund made today corrected its sale's day
    assert DailyPoints.objects.get(day=history.expiry_day, figure="expired", store=None).points == 30
    assert_figures(history)

    # Once the rows are older than the watermark, P is read from the rollups alone.
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20), tick=False):
        rollups_refresh()
        assert raw_days(*history.period) == []
        assert_figures(history)


def test_refreshing_twice_changes_nothing(history):
    history.before_rollups()
    rollups_rebuild(start=history.d - datetime.timedelta(days=13), end=history.d)
    history.after_rollups()
    rollups_refresh()
    columns = ("day", "store", "member_net", "member_gross", "member_orders", "other_net", "other_gross")
    rows = list(DailySales.objects.order_by("day", "store").values_list(*columns))
    rollups_refresh()
    assert list(DailySales.objects.order_by("day", "store").values_list(*columns)) == rows
    assert len(rows) == DailySales.objects.count() > 0


def test_a_scope_with_no_store_counts_nothing_of_the_stores(history):
    history.before_rollups()
    got = figures(history, store_id=history.pho.pk, store_ids=frozenset({history.cafe.pk}))
    assert (got["net_sales"], got["orders"], got["active_members"], got["new_members"]) == (0, 0, 0, 0)
