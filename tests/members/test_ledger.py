"""The point ledger: earn, spend, adjust, reverse, expire; lots, pending points, claw-back and
the invariants. Every refusal leaves nothing written."""

import datetime
import zoneinfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_site.core.errors import ValidationFailed
from members.errors import (
    InsufficientPoints,
    LedgerReferenceReused,
    MemberInDebt,
    MemberNotFound,
    ReversalNotAllowed,
)
from members.models import LedgerEntry, LotMovement, Member, PointLot, ProgrammeSettings
from members.selectors import (
    member_pending_points,
    member_points_expiring,
    member_spendable_points,
    programme_settings_get,
)
from members.services import (
    lot_expires_at,
    member_points_expire,
    members_lock,
    points_adjust,
    points_earn,
    points_expire_due,
    points_reverse,
    points_spend,
)
from tests.factories import MemberFactory
from tests.members.helpers import assert_ledger_consistent, days_ago, set_programme, written_state

pytestmark = pytest.mark.django_db
HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
Kind = LedgerEntry.Kind


def balance(member) -> int:
    return Member.objects.get(pk=member.pk).points_balance


def remaining(entry) -> int:
    return PointLot.objects.get(entry=entry).remaining


# --- Expiry dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "earned, expected",
    [
        (datetime.datetime(2025, 3, 15, 10, 0, tzinfo=HCM), datetime.datetime(2026, 3, 16, tzinfo=HCM)),
        (datetime.datetime(2025, 1, 31, 23, 59, tzinfo=HCM), datetime.datetime(2026, 2, 1, tzinfo=HCM)),
        # 18:30 UTC on 15 March is already 16 March in Hồ Chí Minh City.
        (datetime.datetime(2025, 3, 15, 18, 30, tzinfo=datetime.UTC), datetime.datetime(2026, 3, 17, tzinfo=HCM)),
    ],
)
def test_points_expire_at_the_end_of_the_day_n_months_after_earning(earned, expected):
    programme = ProgrammeSettings(expiry_policy="months_after_earning", expiry_months=12)
    assert lot_expires_at(programme=programme, earned_at=earned) == expected


def test_end_of_year_and_never_policies():
    earned = datetime.datetime(2025, 3, 15, 10, 0, tzinfo=HCM)
    this_year = ProgrammeSettings(expiry_policy="end_of_year", expiry_years=0)
    next_year = ProgrammeSettings(expiry_policy="end_of_year", expiry_years=1)
    assert lot_expires_at(programme=this_year, earned_at=earned) == datetime.datetime(2026, 1, 1, tzinfo=HCM)
    assert lot_expires_at(programme=next_year, earned_at=earned) == datetime.datetime(2027, 1, 1, tzinfo=HCM)
    assert lot_expires_at(programme=ProgrammeSettings(expiry_policy="never"), earned_at=earned) is None


# --- Earn -------------------------------------------------------------------------------------


def test_earn_appends_an_entry_makes_a_lot_and_updates_the_cached_balance():
    member = MemberFactory()
    entry = points_earn(member=member, points=120, reference="sale:1:earn", cause_kind="sale", cause_reference="1")
    assert member.points_balance == 120  # the caller's instance follows
    assert balance(member) == 120
    assert (entry.kind, entry.points, entry.balance_after, entry.cause_kind) == ("earn", 120, 120, "sale")
    lot = entry.lot
    assert (lot.points, lot.remaining, lot.member_id) == (120, 120, member.pk)
    assert lot.expires_at == lot_expires_at(programme=programme_settings_get(), earned_at=entry.occurred_at)
    second = points_earn(member=member, points=30, kind=Kind.REFERRAL, reference="ref:1")
    assert second.balance_after == 150
    assert_ledger_consistent()


def test_a_retried_earn_with_the_same_reference_posts_once():
    member = MemberFactory()
    first = points_earn(member=member, points=50, reference="sale:9:earn")
    again = points_earn(member=member, points=50, reference="sale:9:earn")
    assert again.pk == first.pk
    assert balance(member) == 50 and LedgerEntry.objects.count() == 1 and PointLot.objects.count() == 1


def test_a_reference_reused_for_another_posting_is_refused_and_writes_nothing():
    member, other = MemberFactory(), MemberFactory()
    points_earn(member=member, points=50, reference="sale:9:earn")
    before = written_state()
    with pytest.raises(LedgerReferenceReused):
        points_earn(member=member, points=60, reference="sale:9:earn")
    with pytest.raises(LedgerReferenceReused):
        points_earn(member=other, points=50, reference="sale:9:earn")
    with pytest.raises(LedgerReferenceReused):
        points_spend(member=member, points=50, reference="sale:9:earn")
    assert written_state() == before


@pytest.mark.parametrize("points", [0, -5, 1.5, "10", True, None])
def test_earning_a_non_positive_or_non_integer_amount_is_refused(points):
    member = MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed) as exc:
        points_earn(member=member, points=points, reference="bad")
    assert "points" in exc.value.errors
    with pytest.raises(ValidationFailed):
        points_spend(member=member, points=points, reference="bad-spend")
    assert written_state() == before


def test_earn_refuses_a_time_in_the_future_or_without_a_zone_and_a_debit_kind():
    member = MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed):
        points_earn(member=member, points=5, reference="f", occurred_at=days_ago(-1))
    with pytest.raises(ValidationFailed):
        points_earn(member=member, points=5, reference="n", occurred_at=datetime.datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        points_earn(member=member, points=5, reference="k", kind=Kind.SPEND)
    assert written_state() == before


def test_an_unknown_member_is_not_found():
    MemberFactory(points=5)
    before = written_state()
    with pytest.raises(MemberNotFound):
        points_earn(member=Member(pk=999_999), points=5, reference="ghost")
    with pytest.raises(MemberNotFound):
        points_spend(member=Member(pk=999_999), points=5, reference="ghost-spend")
    assert written_state() == before


def test_back_dated_points_keep_their_real_expiry():
    member = MemberFactory()
    entry = points_earn(member=member, points=10, reference="late", occurred_at=days_ago(6))
    assert entry.lot.earned_at == entry.occurred_at
    assert entry.lot.expires_at == lot_expires_at(programme=programme_settings_get(), earned_at=days_ago(6))


# --- Spend ------------------------------------------------------------------------------------


def test_spend_takes_the_soonest_expiring_points_first():
    member = MemberFactory()
    recent = points_earn(member=member, points=100, reference="recent", occurred_at=days_ago(10))
    oldest = points_earn(member=member, points=30, reference="oldest", occurred_at=days_ago(300))
    middle = points_earn(member=member, points=50, reference="middle", occurred_at=days_ago(100))
    spend = points_spend(member=member, points=60, reference="redeem:1", cause_kind="redemption")
    assert (spend.kind, spend.points, spend.balance_after) == ("spend", -60, 120)
    assert (remaining(oldest), remaining(middle), remaining(recent)) == (0, 20, 100)
    assert sorted(spend.movements.values_list("lot__entry__reference", "points")) == [
        ("middle", -30),
        ("oldest", -30),
    ]
    assert_ledger_consistent()


def test_never_expiring_points_are_spent_last():
    member = MemberFactory()
    set_programme(expiry_policy="never")
    forever = points_earn(member=member, points=10, reference="forever", occurred_at=days_ago(500))
    set_programme(expiry_policy="months_after_earning")
    expiring = points_earn(member=member, points=10, reference="expiring")
    points_spend(member=member, points=15, reference="s")
    assert (remaining(expiring), remaining(forever)) == (0, 5)


def test_spending_more_than_the_balance_is_refused_with_the_available_points_and_writes_nothing():
    member = MemberFactory(points=40)
    before = written_state()
    with pytest.raises(InsufficientPoints) as exc:
        points_spend(member=member, points=41, reference="too-much")
    assert exc.value.extra == {"points_available": 40, "points_requested": 41}
    assert "40" in str(exc.value.detail)
    assert written_state() == before
    assert not LedgerEntry.objects.filter(reference="too-much").exists()
    points_spend(member=member, points=40, reference="exactly")
    assert balance(member) == 0


def test_pending_points_count_in_the_balance_but_cannot_be_spent_until_available():
    set_programme(pending_days=3)
    member = MemberFactory()
    available = points_earn(member=member, points=20, reference="old-sale", occurred_at=days_ago(4))
    pending = points_earn(member=member, points=50, reference="new-sale")
    assert pending.lot.available_from > pending.occurred_at
    assert balance(member) == 70
    assert member_spendable_points(member=member) == 20
    assert member_pending_points(member=member) == 50
    before = written_state()
    with pytest.raises(InsufficientPoints) as exc:
        points_spend(member=member, points=21, reference="s1")
    assert exc.value.extra["points_available"] == 20
    assert written_state() == before
    points_spend(member=member, points=20, reference="s2")
    assert remaining(available) == 0 and remaining(pending) == 50
    assert member_spendable_points(member=member, at=days_ago(-3.01)) == 50


def test_points_past_their_expiry_cannot_be_spent_even_before_the_job_runs():
    member = MemberFactory()
    points_earn(member=member, points=30, reference="ancient", occurred_at=days_ago(400))
    assert balance(member) == 30
    with pytest.raises(InsufficientPoints):
        points_spend(member=member, points=1, reference="s")
    assert member_spendable_points(member=member) == 0


# --- Adjust -----------------------------------------------------------------------------------


def test_adjust_up_and_down_with_a_reason_and_the_staff_user(django_user_model):
    staff = django_user_model.objects.create_user("manager", is_staff=True)
    member = MemberFactory(points=10)
    up = points_adjust(member=member, points=25, reason="Bù điểm hóa đơn 123", created_by=staff)
    down = points_adjust(member=member, points=-30, reason="Nhập nhầm", created_by=staff)
    assert (up.kind, up.points, up.created_by, up.reason) == ("adjust", 25, staff, "Bù điểm hóa đơn 123")
    assert remaining(up) == 5  # same expiry day: the earlier credit (the bonus) went first
    assert (down.points, down.balance_after, down.created_by) == (-30, 5, staff)
    assert_ledger_consistent()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_adjusting_without_a_reason_is_refused_and_writes_nothing(reason, django_user_model):
    member = MemberFactory(points=10)
    before = written_state()
    with pytest.raises(ValidationFailed) as exc:
        points_adjust(member=member, points=5, reason=reason, created_by=None)
    assert "reason" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        points_adjust(member=member, points=0, reason="x", created_by=None)
    assert "points" in exc.value.errors
    assert written_state() == before


def test_adjusting_below_zero_is_refused_and_writes_nothing():
    member = MemberFactory(points=10)
    before = written_state()
    with pytest.raises(InsufficientPoints) as exc:
        points_adjust(member=member, points=-11, reason="too much", created_by=None)
    assert "points" in exc.value.errors
    assert written_state() == before


def test_the_database_refuses_an_adjustment_without_a_reason():
    member = MemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            member=member, kind="adjust", points=5, balance_after=5, occurred_at=days_ago(0), reference="raw"
        )


# --- Reverse: claw-back of credits ------------------------------------------------------------


def test_reversing_an_earn_takes_the_points_back_from_its_own_lot_first():
    member = MemberFactory()
    older = points_earn(member=member, points=40, reference="older", occurred_at=days_ago(200))
    earn = points_earn(member=member, points=60, reference="sale:5:earn")
    reversal = points_reverse(entry=earn, points=25, reference="refund:1", cause_kind="refund")
    assert (reversal.kind, reversal.points, reversal.reverses) == ("reverse", -25, earn)
    assert (remaining(earn), remaining(older)) == (35, 40)
    points_reverse(entry=earn, reference="refund:2")  # the rest
    assert remaining(earn) == 0 and balance(member) == 40
    before = written_state()
    with pytest.raises(ReversalNotAllowed):
        points_reverse(entry=earn, points=1, reference="refund:3")
    assert written_state() == before
    assert_ledger_consistent()


def test_a_retried_reversal_posts_once_and_its_reference_cannot_reverse_another_entry():
    member = MemberFactory()
    earn = points_earn(member=member, points=60, reference="e1")
    other = points_earn(member=member, points=10, reference="e2")
    first = points_reverse(entry=earn, points=10, reference="refund:7")
    assert points_reverse(entry=earn, points=10, reference="refund:7").pk == first.pk
    with pytest.raises(LedgerReferenceReused):
        points_reverse(entry=other, points=10, reference="refund:7")
    assert balance(member) == 60


def test_claw_back_allowing_a_negative_balance_flags_the_member_and_later_credits_repay_it():
    member = MemberFactory()
    earn = points_earn(member=member, points=100, reference="sale:1:earn")
    points_spend(member=member, points=80, reference="redeem:1")
    reversal = points_reverse(entry=earn, reference="refund:1")
    member.refresh_from_db()
    assert reversal.points == -100 and reversal.points_not_recovered == 0
    assert (member.points_balance, member.points_debt, member.needs_review) == (-80, 80, True)
    assert "-80" in member.review_note
    assert_ledger_consistent()
    with pytest.raises(MemberInDebt) as refused:  # while in debt: 409 member-in-debt, nothing written
        points_spend(member=member, points=1, reference="s")
    assert refused.value.extra == {"points_debt": 80}
    assert not LedgerEntry.objects.filter(reference="s").exists()
    repay = points_earn(member=member, points=50, reference="sale:2:earn")
    member.refresh_from_db()
    assert (member.points_balance, member.points_debt, remaining(repay)) == (-30, 30, 0)
    second = points_earn(member=member, points=50, reference="sale:3:earn")
    member.refresh_from_db()
    assert (member.points_balance, member.points_debt, remaining(second)) == (20, 0, 20)
    points_spend(member=member, points=20, reference="s2")
    assert_ledger_consistent()


def test_claw_back_stopping_at_zero_records_what_could_not_be_taken_back():
    set_programme(clawback_policy="stop_at_zero")
    member = MemberFactory()
    earn = points_earn(member=member, points=100, reference="sale:1:earn")
    points_spend(member=member, points=80, reference="redeem:1")
    reversal = points_reverse(entry=earn, reference="refund:1")
    member.refresh_from_db()
    assert (reversal.points, reversal.points_not_recovered, reversal.balance_after) == (-20, 80, 0)
    assert (member.points_balance, member.points_debt, member.needs_review) == (0, 0, False)
    with pytest.raises(ReversalNotAllowed):  # written off counts as reversed
        points_reverse(entry=earn, points=1, reference="refund:2")
    empty = points_reverse(entry=points_earn(member=member, points=5, reference="e"), reference="r")
    assert (empty.points, empty.points_not_recovered) == (-5, 0)
    assert_ledger_consistent()


def test_claw_back_with_nothing_left_under_stop_at_zero_is_an_entry_of_zero_points():
    set_programme(clawback_policy="stop_at_zero")
    member = MemberFactory()
    earn = points_earn(member=member, points=30, reference="e")
    points_spend(member=member, points=30, reference="s")
    reversal = points_reverse(entry=earn, reference="r")
    assert (reversal.points, reversal.points_not_recovered) == (0, 30)
    assert balance(member) == 0
    assert_ledger_consistent()


# --- Reverse: giving back spent points --------------------------------------------------------


def test_reversing_a_spend_puts_the_points_back_into_the_lots_they_came_from():
    member = MemberFactory()
    old = points_earn(member=member, points=30, reference="old", occurred_at=days_ago(300))
    new = points_earn(member=member, points=50, reference="new", occurred_at=days_ago(10))
    spend = points_spend(member=member, points=60, reference="redeem:1")
    assert (remaining(old), remaining(new)) == (0, 20)
    partial = points_reverse(entry=spend, points=25, reference="refund:1")  # latest-expiring first
    assert partial.points == 25
    assert (remaining(old), remaining(new)) == (0, 45)
    points_reverse(entry=spend, reference="refund:2")
    assert (remaining(old), remaining(new)) == (30, 50)
    assert balance(member) == 80
    with pytest.raises(ReversalNotAllowed):
        points_reverse(entry=spend, points=1, reference="refund:3")
    assert_ledger_consistent()


def test_points_given_back_to_a_lot_that_has_expired_since_expire_again_at_once():
    member = MemberFactory()
    lot_entry = points_earn(member=member, points=40, reference="old", occurred_at=days_ago(360))
    spend = points_spend(member=member, points=40, reference="redeem:1")
    # The lot's expiry passes, and the daily job runs.
    PointLot.objects.filter(entry=lot_entry).update(expires_at=days_ago(1))
    points_expire_due()
    reversal = points_reverse(entry=spend, reference="refund:1")
    expired_again = LedgerEntry.objects.get(kind="expire", reference__startswith=f"expire:lot:{lot_entry.lot.pk}:")
    assert reversal.points == 40 and expired_again.points == -40
    assert balance(member) == 0 and remaining(lot_entry) == 0
    assert_ledger_consistent()


def test_giving_points_back_repays_a_debt_first():
    member = MemberFactory()
    earn = points_earn(member=member, points=50, reference="e1")
    other = points_earn(member=member, points=50, reference="e2")
    spend = points_spend(member=member, points=100, reference="s1")
    points_reverse(entry=earn, reference="r1")  # all spent: debt 50
    assert Member.objects.get(pk=member.pk).points_debt == 50
    points_reverse(entry=spend, points=70, reference="r2")
    member.refresh_from_db()
    assert (member.points_balance, member.points_debt) == (20, 0)
    assert PointLot.objects.filter(member=member).aggregate(total=Sum("remaining"))["total"] == 20
    assert other.lot.pk  # both lots still exist
    assert_ledger_consistent()


def test_expiries_and_reversals_cannot_be_reversed():
    member = MemberFactory()
    earn = points_earn(member=member, points=10, reference="e", occurred_at=days_ago(400))
    reversal = points_reverse(entry=earn, points=5, reference="r")
    points_expire_due()
    expiry = LedgerEntry.objects.get(kind="expire")
    before = written_state()
    for entry in (reversal, expiry):
        with pytest.raises(ReversalNotAllowed):
            points_reverse(entry=entry, reference=f"x{entry.pk}")
    assert written_state() == before


# --- Expiry -----------------------------------------------------------------------------------


def test_expiry_takes_due_lots_only_and_running_again_for_the_same_day_does_nothing():
    member, other = MemberFactory(), MemberFactory()
    due = points_earn(member=member, points=30, reference="due", occurred_at=days_ago(400))
    points_spend_due = points_earn(member=member, points=20, reference="due2", occurred_at=days_ago(380))
    fresh = points_earn(member=member, points=50, reference="fresh", occurred_at=days_ago(10))
    points_earn(member=other, points=7, reference="other-due", occurred_at=days_ago(390))
    result = points_expire_due()
    assert (result.members, result.lots, result.points) == (2, 3, 57)
    assert (remaining(due), remaining(points_spend_due), remaining(fresh)) == (0, 0, 50)
    assert balance(member) == 50 and balance(other) == 0
    entry = LedgerEntry.objects.get(reference=f"expire:lot:{due.lot.pk}")
    assert (entry.kind, entry.points, entry.occurred_at) == ("expire", -30, due.lot.expires_at)
    before = written_state()
    again = points_expire_due()
    assert (again.members, again.lots, again.points) == (0, 0, 0)
    assert written_state() == before
    assert_ledger_consistent()


def test_expiry_for_an_earlier_day_expires_only_what_was_due_then():
    member = MemberFactory()
    points_earn(member=member, points=10, reference="a", occurred_at=days_ago(400))
    later = points_earn(member=member, points=20, reference="b", occurred_at=days_ago(367))
    today = datetime.datetime.now(HCM).date()
    result = points_expire_due(as_of=today - datetime.timedelta(days=20))
    assert result.points == 10 and remaining(later) == 20
    assert points_expire_due(as_of=today).points == 20


def test_expiry_for_a_future_day_is_refused():
    member = MemberFactory()
    points_earn(member=member, points=10, reference="a", occurred_at=days_ago(300))
    before = written_state()
    with pytest.raises(ValidationFailed):
        points_expire_due(as_of=datetime.datetime.now(HCM).date() + datetime.timedelta(days=1))
    assert written_state() == before


def test_a_partly_spent_lot_expires_what_is_left_and_the_member_expiry_is_idempotent():
    member = MemberFactory()
    lot_entry = points_earn(member=member, points=100, reference="a", occurred_at=days_ago(364))
    points_spend(member=member, points=70, reference="s")
    today = datetime.datetime.now(HCM).date()
    PointLot.objects.filter(entry=lot_entry).update(expires_at=datetime.datetime.combine(today, datetime.time.min, HCM))
    first = member_points_expire(member=member, as_of=today)
    second = member_points_expire(member=member, as_of=today)
    assert (first.points, second.points) == (30, 0)
    assert balance(member) == 0


def test_points_expiring_in_the_next_30_days():
    member = MemberFactory()
    points_earn(member=member, points=10, reference="soon", occurred_at=days_ago(350))
    points_earn(member=member, points=20, reference="later", occurred_at=days_ago(100))
    points_earn(member=member, points=40, reference="gone", occurred_at=days_ago(400))
    assert member_points_expiring(member=member, within_days=30) == 10


# --- Locks and database backstops -------------------------------------------------------------


def test_members_lock_locks_in_primary_key_order_and_refuses_unknown_ids():
    a, b = MemberFactory(), MemberFactory()
    with transaction.atomic():
        locked = members_lock(member_ids=[b.pk, a.pk, b.pk])
        assert list(locked) == [a.pk, b.pk]
        with pytest.raises(MemberNotFound):
            members_lock(member_ids=[a.pk, 999_999])


def test_the_database_refuses_a_lot_below_zero_and_a_balance_below_zero_without_debt():
    member = MemberFactory(points=10)
    lot = PointLot.objects.get(member=member)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointLot.objects.filter(pk=lot.pk).update(remaining=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointLot.objects.filter(pk=lot.pk).update(remaining=11)
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(points_balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            member=member, kind="spend", points=5, balance_after=15, occurred_at=days_ago(0), reference="x"
        )
    assert_ledger_consistent()


def test_a_spend_takes_a_bounded_number_of_queries(django_assert_max_num_queries):
    member = MemberFactory()
    for index in range(3):
        points_earn(member=member, points=10, reference=f"e{index}", occurred_at=days_ago(10 + index))
    programme_settings_get()
    with django_assert_max_num_queries(14):
        points_spend(member=member, points=25, reference="s")


# --- Invariants under random operations -------------------------------------------------------

operations = st.lists(
    st.tuples(
        st.sampled_from(["earn", "spend", "adjust", "reverse", "expire"]),
        st.integers(min_value=1, max_value=120),
        st.integers(min_value=0, max_value=420),
    ),
    min_size=1,
    max_size=12,
)


class _Rollback(Exception):
    pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, clawback=st.sampled_from(["allow_negative", "stop_at_zero"]))
def test_whatever_happens_the_cached_figures_equal_the_entries(ops, clawback):
    try:
        with transaction.atomic():
            set_programme(clawback_policy=clawback)
            member = MemberFactory()
            for index, (op, points, age) in enumerate(ops):
                reference = f"op:{index}"
                try:
                    if op == "earn":
                        points_earn(member=member, points=points, reference=reference, occurred_at=days_ago(age))
                    elif op == "spend":
                        points_spend(member=member, points=points, reference=reference)
                    elif op == "adjust":
                        points_adjust(member=member, points=points - 60 or 1, reason="test", created_by=None)
                    elif op == "reverse":
                        entry = (
                            LedgerEntry.objects.filter(member=member)
                            .exclude(kind__in=["reverse", "expire"])
                            .order_by("?")
                            .first()
                        )
                        if entry is not None:
                            points_reverse(entry=entry, points=min(points, abs(entry.points)), reference=reference)
                    else:
                        points_expire_due()
                except (InsufficientPoints, MemberInDebt, ReversalNotAllowed):
                    pass
                fresh = Member.objects.get(pk=member.pk)
                lots = PointLot.objects.filter(member=member)
                assert fresh.points_balance == sum(e.points for e in LedgerEntry.objects.filter(member=member))
                assert fresh.points_balance == sum(lot.remaining for lot in lots) - fresh.points_debt
                assert all(0 <= lot.remaining <= lot.points for lot in lots)
                if clawback == "stop_at_zero":
                    assert fresh.points_balance >= 0 and fresh.points_debt == 0
                for lot in lots:
                    assert lot.remaining == sum(LotMovement.objects.filter(lot=lot).values_list("points", flat=True))
                assert_ledger_consistent()
            raise _Rollback
    except _Rollback:
        pass
