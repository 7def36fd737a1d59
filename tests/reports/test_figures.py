"""The figures of reports.md on the hand-made history of conftest.py: raw tables only, rollups
built before the late events (stale), refreshed, and read from rollups alone."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from reports.figures import Scope, daily_series, figures_and_previous, period_figures, previous_period, raw_days
from reports.models import DailyPoints, DailySales, RollupDay
from reports.services import rollups_rebuild, rollups_refresh
from stores.models import Store
from tests.pos.conftest import HCM
from tests.reports.conftest import (
    EXPECTED_ALL,
    EXPECTED_CAFE_BRAND,
    EXPECTED_PHO_HN01,
    at,
    enrol,
    expected_series,
    today,
)

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


def test_outstanding_points_reconcile_with_the_points_moved(history):
    """Outstanding at the end of P = outstanding at the end of the period before + issued −
    redeemed − expired + adjusted in P, from the raw tables and from the rollups alike."""
    history.before_rollups()
    history.after_rollups()

    def check():
        current, before, _data = figures_and_previous(start=history.period[0], end=history.period[1], scope=Scope())
        # By the end of D-8: A 100 + 10, B 30 + 5 (the expiry of B's 30 is later), F 40, G 70.
        assert before["outstanding_points"] == 255
        assert before["tiers"] == {"MEMBER": 4, "VIP": 0, "DIAMOND": 0}  # A, B, F, G (C, E came later)
        moved = (
            current["points_issued"]
            - current["points_redeemed"]
            - current["points_expired"]
            + current["points_adjusted"]
        )
        assert current["outstanding_points"] == before["outstanding_points"] + moved == 481

    check()
    rollups_rebuild(start=history.d - datetime.timedelta(days=20), end=history.d)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20), tick=False):
        rollups_refresh()
        assert raw_days(history.d - datetime.timedelta(days=13), history.d - datetime.timedelta(days=1)) == []
        check()


def _tier_at(changes: list[tuple[datetime.datetime, str]], moment: datetime.datetime) -> str:
    tier = "MEMBER"
    for when, to_tier in sorted(changes):
        if when < moment:
            tier = to_tier
    return tier


def test_members_per_tier_at_past_ends_match_a_member_by_member_count(demo_programme):
    """Members per tier for every store undo the changes since each end without joining members to
    their changes: the figures equal a member-by-member count, with a member enrolled after an
    end who then moved up, members merged since (left out everywhere) and members with no tier
    status (the entry tier); and equal the home-store path's for members who all have one."""
    from members.services import member_merge
    from reports.figures import _additive, _member_level
    from tiers.models import Tier, TierChange, TierStatus

    tiers = {tier.code: tier for tier in Tier.objects.all()}
    pho = Store.objects.get(code="PHO-HN01")
    d = today()
    moment = lambda back: at(d - datetime.timedelta(days=back), 12)  # noqa: E731
    plan = {  # name: (enrolled days back, [(days back, to tier)], merged)
        "a": (30, [(20, "VIP"), (5, "DIAMOND")], False),
        "b": (30, [], False),
        "c": (10, [(8, "VIP")], False),  # enrolled after the first end, moved up before the second
        "d": (25, [(22, "VIP")], True),
        "e": (12, [(11, "VIP"), (3, "MEMBER")], True),
        "f": (1, [], False),
    }
    members, history_of = {}, {}
    for name, (enrolled, moves, _merged) in plan.items():
        members[name] = enrol(moment(enrolled), pho)
        history_of[name] = [(moment(back), to_tier) for back, to_tier in moves]
        current = "MEMBER"
        if moves:
            TierStatus.objects.create(member=members[name], tier=tiers["MEMBER"], since=moment(enrolled))
        for back, to_tier in moves:
            TierChange.objects.create(
                member=members[name], from_tier=tiers[current], to_tier=tiers[to_tier], kind="upgrade", at=moment(back)
            )
            current = to_tier
        if moves:
            TierStatus.objects.filter(member=members[name]).update(tier=tiers[current])
    for name, (_enrolled, _moves, merged) in plan.items():
        if merged:
            member_merge(survivor=members["b"], merged=members[name])
    ends = [d - datetime.timedelta(days=back) for back in (26, 15, 9, 4, 1, 0)]
    expected = []
    for end in ends:
        end_at = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), tzinfo=HCM)
        count = dict.fromkeys(("MEMBER", "VIP", "DIAMOND"), 0)
        for name, (enrolled, _moves, merged) in plan.items():
            if not merged and moment(enrolled) < end_at:
                count[_tier_at(history_of[name], end_at)] += 1
        expected.append(count)
    assert expected[1] == {"MEMBER": 1, "VIP": 1, "DIAMOND": 0}  # the plan does what it says

    def tiers(stores):
        data = _additive(min(ends), max(ends), stores, "default")
        return [level.tiers for level in _member_level([(end, end) for end in ends], stores, "default", data)]

    assert tiers(None) == expected
    assert tiers(frozenset({pho.pk})) == expected
