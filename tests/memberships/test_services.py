"""Selling, renewing and cancelling paid membership, and the daily job (issue 17 item 4)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from members.services import member_block
from memberships.errors import MembershipActive, MembershipNotCancellable, MembershipNotFound, PlanNotFound
from memberships.models import MembershipVoucher, PaidMembership
from memberships.selectors import membership_multiplier, membership_standing
from memberships.services import (
    membership_cancel,
    membership_sell,
    membership_vouchers_issue,
    memberships_daily,
    memberships_expire,
    memberships_remind,
    plan_for_sale,
)
from notifications.models import Message
from stores.models import Store
from tests.factories import MemberFactory
from tests.memberships.conftest import HCM, at
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db
Status = PaidMembership.Status


def test_a_sale_starts_a_year_now_and_a_renewal_extends_from_the_current_end(club, member):
    first = membership_sell(member=member, plan=club, now=at(2026, 1, 31))
    assert (first.started_at, first.ends_at) == (at(2026, 1, 31), at(2027, 1, 31))
    assert first.fee_paid == Decimal(199_000) and first.status == Status.ACTIVE

    renewal = membership_sell(member=member, plan=club, now=at(2026, 11, 20))
    assert (renewal.started_at, renewal.ends_at) == (at(2027, 1, 31), at(2028, 1, 31))
    standing = membership_standing(member=member, at=at(2026, 12, 1))
    assert standing.membership == first and standing.ends_at == at(2028, 1, 31) and standing.renewed


def test_months_are_calendar_months_in_programme_time(club, member):
    club.period_months = 1
    club.save()
    sold = membership_sell(member=member, plan=club, now=at(2026, 1, 31, 23))
    assert timezone.localtime(sold.ends_at, HCM) == at(2026, 2, 28, 23)


def test_a_plan_not_renewable_is_refused_while_a_period_runs_and_nothing_is_written(club, member):
    club.renewable = False
    club.save()
    membership_sell(member=member, plan=club, now=at(2026, 1, 1))
    with pytest.raises(MembershipActive):
        membership_sell(member=member, plan=club, now=at(2026, 6, 1))
    assert PaidMembership.objects.filter(member=member).count() == 1
    after_end = membership_sell(member=member, plan=club, now=at(2027, 1, 2))
    assert after_end.started_at == at(2027, 1, 2)


def test_unknown_inactive_or_other_brand_plans_are_refused(club):
    with pytest.raises(PlanNotFound):
        plan_for_sale(code="GOLD", store=None)
    club.brands.set([Store.objects.get(code="CAFE-HN01").brand])
    assert plan_for_sale(code="club", store=Store.objects.get(code="CAFE-HN01")) == club
    with pytest.raises(PlanNotFound):
        plan_for_sale(code="CLUB", store=Store.objects.get(code="PHO-HN01"))
    club.is_active = False
    club.save()
    with pytest.raises(PlanNotFound):
        plan_for_sale(code="CLUB", store=None)
    assert not PaidMembership.objects.exists()


def test_a_blocked_member_cannot_buy(club, member):
    member_block(member=member, reason="fraud")
    with pytest.raises(Exception) as refused:
        membership_sell(member=member, plan=club)
    assert getattr(refused.value, "code", "") == "member-blocked"
    assert not PaidMembership.objects.exists()


def test_cancel_within_the_window_refunds_the_fee_and_stops_the_benefits(club, member):
    sold = membership_sell(member=member, plan=club, now=at(2026, 3, 1))
    cancelled = membership_cancel(
        member=member, membership_id=sold.pk, reason=" changed  mind ", now=at(2026, 3, 15, 11)
    )
    assert cancelled.status == Status.CANCELLED and cancelled.refund_amount == Decimal(199_000)
    assert cancelled.cancel_reason == "changed mind"
    assert membership_standing(member=member, at=at(2026, 3, 16)) is None
    store = Store.objects.get(code="PHO-HN01")
    assert membership_multiplier(member=member, store=store, at=at(2026, 3, 16)) == 1


def test_cancel_after_the_window_is_refused_and_nothing_changes(club, member):
    sold = membership_sell(member=member, plan=club, now=at(2026, 3, 1))
    with pytest.raises(MembershipNotCancellable):
        membership_cancel(member=member, membership_id=sold.pk, now=at(2026, 3, 15, 13))
    sold.refresh_from_db()
    assert sold.status == Status.ACTIVE and sold.refund_amount == 0 and sold.cancelled_at is None


def test_cancel_of_another_members_period_or_twice_is_refused(club, member):
    sold = membership_sell(member=member, plan=club, now=at(2026, 3, 1))
    other = MemberFactory()
    with pytest.raises(MembershipNotFound):
        membership_cancel(member=other, membership_id=sold.pk, now=at(2026, 3, 2))
    sold.refresh_from_db()
    assert sold.status == Status.ACTIVE
    membership_cancel(member=member, membership_id=sold.pk, now=at(2026, 3, 2))
    with pytest.raises(MembershipNotFound):
        membership_cancel(member=member, membership_id=sold.pk, now=at(2026, 3, 3))
    sold.refresh_from_db()
    assert sold.cancelled_at == at(2026, 3, 2)


def test_expiry_marks_ended_periods_once_and_tells_the_member_once(club, member, settings, frozen_now):
    sold = membership_sell(member=member, plan=club, now=at(2025, 6, 1))
    renewed_member = MemberFactory()
    membership_sell(member=renewed_member, plan=club, now=at(2025, 6, 1))
    membership_sell(member=renewed_member, plan=club, now=at(2026, 5, 20))
    frozen_now(at(2026, 6, 2, 9))
    assert memberships_expire(as_of=datetime.date(2026, 5, 31)) == 0  # still running that day
    assert memberships_expire() == 2
    assert memberships_expire() == 0
    sold.refresh_from_db()
    assert sold.status == Status.EXPIRED and sold.expiry_notified
    expired_messages = Message.objects.filter(event="membership-expired")
    assert list(expired_messages.values_list("member_id", flat=True).distinct()) == [member.pk]
    count = expired_messages.count()
    memberships_daily()
    assert Message.objects.filter(event="membership-expired").count() == count
    assert membership_standing(member=renewed_member, at=at(2026, 6, 2)).ends_at == at(2027, 6, 1)


def test_renewal_reminder_once_n_days_before_the_end_and_not_after_a_renewal(club, member, frozen_now):
    sold = membership_sell(member=member, plan=club, now=at(2025, 6, 1))
    renewed = MemberFactory()
    membership_sell(member=renewed, plan=club, now=at(2025, 6, 1))
    membership_sell(member=renewed, plan=club, now=at(2026, 5, 1))
    frozen_now(at(2026, 5, 10, 9))
    assert memberships_remind() == 0  # 22 days before: not yet
    frozen_now(at(2026, 5, 18, 9))
    assert memberships_remind() == 1
    assert memberships_remind() == 0
    frozen_now(at(2026, 5, 19, 9))
    assert memberships_remind() == 0
    sold.refresh_from_db()
    assert sold.reminder_sent_on == datetime.date(2026, 5, 18)
    reminders = Message.objects.filter(event="membership-renewal")
    assert set(reminders.values_list("member_id", flat=True)) == {member.pk}


def test_the_monthly_voucher_is_issued_once_per_member_and_month(club, member, frozen_now):
    membership_sell(member=member, plan=club, now=at(2026, 1, 10))
    cancelled = MemberFactory()
    period = membership_sell(member=cancelled, plan=club, now=at(2026, 1, 10))
    membership_cancel(member=cancelled, membership_id=period.pk, now=at(2026, 1, 11))
    MemberFactory()  # not a paid member
    frozen_now(at(2026, 2, 1, 2))
    first = membership_vouchers_issue()
    assert (first.issued, first.refused) == (1, 0)
    assert membership_vouchers_issue().issued == 0
    frozen_now(at(2026, 2, 20, 2))
    assert membership_vouchers_issue().issued == 0  # same month
    frozen_now(at(2026, 3, 1, 2))
    assert membership_vouchers_issue().issued == 1
    grants = MembershipVoucher.objects.filter(member=member).order_by("month")
    assert [g.month for g in grants] == [datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)]
    vouchers = Voucher.objects.filter(member=member, reward__code="PCT10")
    assert vouchers.count() == 2 and not Voucher.objects.filter(member=cancelled).exists()
