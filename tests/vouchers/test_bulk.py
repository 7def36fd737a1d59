"""Issuing one voucher to many members at once (`vouchers.services.bulk`, a campaign run's way
in): the same rows and counters as `voucher_issue`, the same refusals, writing nothing when it
refuses, and a query count that does not grow with the members."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import vouchers.services.bulk as bulk
from loyalty_site.core.errors import ValidationFailed
from members.errors import MemberBlocked
from members.models import Member
from members.services import member_block
from tests.factories import MemberFactory
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from vouchers.codes import voucher_code_is_valid
from vouchers.errors import RewardUnavailable, VoucherReferenceReused
from vouchers.models import Reward, Voucher
from vouchers.selectors import voucher_expires_at
from vouchers.services import (
    voucher_issue,
    vouchers_issue_bulk,
    vouchers_issue_planned,
    vouchers_plan_bulk,
)

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def reference_for(member_id):
    return f"campaign:BIRTHDAY-MONTHLY:2025:member:{member_id}"


# --- The twin of voucher_issue ----------------------------------------------------------------

# What a voucher row holds that is not its identity (id, code, reference) or its reward.
_COMPARED_EXCLUDED = {"id", "code", "reference", "reward"}
REWARD_SHAPES = {
    "days, stock and a yearly limit": {
        "validity": Reward.Validity.DAYS, "validity_days": 30, "stock": 10, "limit_per_member": 2,
        "limit_period": Reward.LimitPeriod.YEAR,
    },
    "end of month, monthly limit": {
        "validity": Reward.Validity.END_OF_MONTH, "validity_days": None, "limit_per_member": 1,
        "limit_period": Reward.LimitPeriod.MONTH,
    },
    "fixed date, hidden, no limits": {
        "validity": Reward.Validity.FIXED_DATE, "validity_days": None, "valid_until": datetime.date(2031, 6, 30),
        "is_visible": False,
    },
}  # fmt: skip
MOMENTS = {
    "mid-month": datetime.datetime(2030, 3, 14, 10, 0, tzinfo=HCM),
    # 16:30 UTC the 31st is already the 1st of April in Vietnam: both must take the local day.
    "last minutes of the month, local": datetime.datetime(2030, 3, 31, 23, 30, tzinfo=HCM),
}


def _voucher_fields():
    return [f.attname for f in Voucher._meta.concrete_fields if f.name not in _COMPARED_EXCLUDED]


def _reward_fields():
    return [f.attname for f in Reward._meta.concrete_fields if f.name not in {"id", "code", "name", "name_en"}]


@pytest.mark.django_db
@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS.keys())
@pytest.mark.parametrize("shape", REWARD_SHAPES.values(), ids=REWARD_SHAPES.keys())
@pytest.mark.parametrize(
    ("channel", "reason"),
    [(Voucher.Channel.CAMPAIGN, "Campaign  BIRTHDAY "), (Voucher.Channel.STAFF, "Khách   phàn nàn"), ("import", "")],
)
def test_bulk_writes_the_rows_and_counters_voucher_issue_writes(moment, shape, channel, reason):
    """Two identical rewards, the same members and input: one served by `voucher_issue` member
    by member, the other by the bulk issue. Every field of every voucher and of the reward must
    agree, but for the code (random) and the reference (unique)."""
    user = get_user_model().objects.create_user(username="marketing1", password="x", is_staff=True)
    with time_machine.travel(moment, tick=False):
        by_service = RewardFactory(code="BY-SERVICE", **shape)
        by_bulk = RewardFactory(code="BY-BULK", **shape)
        members = [MemberFactory() for _ in range(3)]
        for member in members:
            voucher_issue(
                reward=by_service, member=member, channel=channel, issued_by=user, reason=reason,
                reference=f"single:{member.pk}",
            )  # fmt: skip
        result = vouchers_issue_bulk(
            reward=by_bulk, members=[m.pk for m in members], reference_for=reference_for, channel=channel,
            issued_by=user, reason=reason,
        )  # fmt: skip

    assert (result.new, result.refused) == (3, {})
    fields = _voucher_fields()
    for member in members:
        single = Voucher.objects.filter(reward=by_service, member=member).values(*fields).get()
        twin = Voucher.objects.filter(reward=by_bulk, member=member).values(*fields, "code", "reference").get()
        assert twin.pop("reference") == reference_for(member.pk)
        code = twin.pop("code")
        assert voucher_code_is_valid(code)
        assert result.vouchers[member.pk].code == code
        assert twin == single
    rewards = Reward.objects.filter(pk__in=[by_service.pk, by_bulk.pk]).order_by("code")
    bulk_row, service_row = rewards.values(*_reward_fields())
    assert bulk_row == service_row
    assert service_row["issued_count"] == 3


# --- Refusals: the same as voucher_issue's, and nothing written -------------------------------


def _refused_by_service(reward, member) -> str:
    with pytest.raises((RewardUnavailable, MemberBlocked)) as caught:
        voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)
    if isinstance(caught.value, MemberBlocked):
        return "member-inactive"
    return caught.value.extra["reason"]


@pytest.mark.django_db
def test_out_of_stock_refuses_every_member_and_writes_nothing():
    reward = RewardFactory(stock=1)
    voucher_issue(reward=reward, member=MemberFactory(), channel=Voucher.Channel.CAMPAIGN)
    members = [MemberFactory(), MemberFactory()]
    before = written_state()
    assert _refused_by_service(reward, members[0]) == "out-of-stock"
    result = vouchers_issue_bulk(reward=reward, members=[m.pk for m in members], reference_for=reference_for)
    assert (result.new, result.vouchers) == (0, {})
    assert result.refused == {m.pk: "out-of-stock" for m in members}
    assert written_state() == before


@pytest.mark.django_db
def test_the_stock_left_goes_first_come_first_served_in_the_order_given():
    reward = RewardFactory(stock=2)
    first, second, third = (MemberFactory() for _ in range(3))
    result = vouchers_issue_bulk(reward=reward, members=[third.pk, first.pk, second.pk], reference_for=reference_for)
    assert set(result.vouchers) == {third.pk, first.pk}
    assert result.refused == {second.pk: "out-of-stock"}
    assert Reward.objects.get(pk=reward.pk).issued_count == 2


@pytest.mark.parametrize(
    "closed",
    [
        {"active_until": datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)},
        {"active_from": datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)},
        {"validity": Reward.Validity.FIXED_DATE, "validity_days": None, "valid_until": datetime.date(2000, 1, 1)},
    ],
    ids=["window ended", "window not open", "no longer valid"],
)
@pytest.mark.django_db
def test_a_reward_nobody_can_get_raises_and_writes_nothing(closed):
    reward = RewardFactory()
    Reward.objects.filter(pk=reward.pk).update(**closed)
    reward.refresh_from_db()
    members = [MemberFactory(), MemberFactory()]
    before = written_state()
    assert _refused_by_service(reward, members[0]) == "not-active"
    with pytest.raises(RewardUnavailable) as caught:
        vouchers_issue_bulk(reward=reward, members=[m.pk for m in members], reference_for=reference_for)
    assert caught.value.extra["reason"] == "not-active"
    with pytest.raises(RewardUnavailable):
        vouchers_plan_bulk(reward=reward, members=Member.objects.all(), reference_for=reference_for)
    assert written_state() == before


@pytest.mark.django_db
def test_members_at_their_limit_are_refused_and_nothing_is_written_for_them():
    reward = RewardFactory(limit_per_member=1, limit_period=Reward.LimitPeriod.YEAR)
    had_one, had_another = MemberFactory(), MemberFactory()
    for member in (had_one, had_another):
        voucher_issue(reward=reward, member=member, channel=Voucher.Channel.STAFF, reason="Quà")
    before = written_state()
    assert _refused_by_service(reward, had_one) == "member-limit"
    result = vouchers_issue_bulk(reward=reward, members=[had_one.pk, had_another.pk], reference_for=reference_for)
    assert (result.new, result.vouchers) == (0, {})
    assert result.refused == {had_one.pk: "member-limit", had_another.pk: "member-limit"}
    assert written_state() == before


@pytest.mark.django_db
def test_a_void_voucher_does_not_count_against_the_limit_on_either_path():
    from vouchers.services import voucher_void

    reward = RewardFactory(limit_per_member=1)
    member = MemberFactory()
    voucher = voucher_issue(reward=reward, member=member, channel=Voucher.Channel.STAFF, reason="Nhầm")
    voucher_void(voucher=voucher, by=None, reason="Phát nhầm")
    assert vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=reference_for).new == 1


@pytest.mark.django_db
def test_inactive_and_unknown_members_are_refused_the_others_served():
    reward = RewardFactory()
    blocked, active = MemberFactory(), MemberFactory()
    member_block(member=blocked, reason="Gian lận")
    assert _refused_by_service(reward, blocked) == "member-inactive"
    unknown = active.pk + 1000
    result = vouchers_issue_bulk(reward=reward, members=[blocked.pk, unknown, active.pk], reference_for=reference_for)
    assert result.refused == {blocked.pk: "member-inactive", unknown: "member-inactive"}
    assert set(result.vouchers) == {active.pk}
    assert not Voucher.objects.filter(member=blocked).exists()


@pytest.mark.django_db
def test_a_reference_used_for_another_voucher_is_refused_and_nothing_written():
    reward = RewardFactory()
    someone, member = MemberFactory(), MemberFactory()
    voucher_issue(reward=reward, member=someone, channel=Voucher.Channel.CAMPAIGN, reference="shared")
    before = written_state()
    with pytest.raises(VoucherReferenceReused):
        voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN, reference="shared")
    with pytest.raises(VoucherReferenceReused):
        vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=lambda _member_id: "shared")
    assert written_state() == before


@pytest.mark.django_db
def test_staff_must_give_a_reason_and_points_are_not_a_bulk_channel():
    reward = RewardFactory()
    member = MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed) as caught:
        vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=reference_for, channel="staff")
    assert "reason" in caught.value.errors
    with pytest.raises(ValueError):
        vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=reference_for, channel="points")
    assert written_state() == before


# --- Idempotency ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_voucher_each_once_per_reference():
    reward = RewardFactory(code="BDAY20", is_visible=False, points_cost=0)
    members = [MemberFactory() for _ in range(5)]
    ids = [m.pk for m in members]
    result = vouchers_issue_bulk(reward=reward, members=ids, reference_for=reference_for)
    assert (result.new, result.refused) == (5, {})
    assert set(result.vouchers) == set(ids)
    assert Voucher.objects.filter(channel="campaign", status="issued").count() == 5
    assert Reward.objects.get(pk=reward.pk).issued_count == 5
    before = written_state()
    again = vouchers_issue_bulk(reward=reward, members=Member.objects.filter(pk__in=ids), reference_for=reference_for)
    assert again.new == 0
    assert again.vouchers == result.vouchers
    assert written_state() == before


@pytest.mark.django_db
def test_a_retry_gets_its_vouchers_back_even_once_the_reward_has_closed():
    reward = RewardFactory(stock=2)
    member = MemberFactory()
    first = vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=reference_for)
    Reward.objects.filter(pk=reward.pk).update(active_until=timezone.now() - datetime.timedelta(seconds=1))
    before = written_state()
    again = vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=reference_for)
    assert (again.new, again.vouchers) == (0, first.vouchers)
    assert written_state() == before


# --- Plan, then issue (a campaign run, members as a subquery) ---------------------------------


@pytest.mark.django_db
def test_plan_then_issue_over_a_queryset_gives_valid_distinct_codes_and_the_rewards_expiry():
    """(Moved from the campaign tests: what the run's vouchers look like is this service's.)"""
    reward = RewardFactory(validity=Reward.Validity.END_OF_MONTH, validity_days=None)
    members = [MemberFactory() for _ in range(4)]
    blocked = MemberFactory()
    member_block(member=blocked, reason="Khóa")
    plan = vouchers_plan_bulk(reward=reward, members=Member.objects.all(), reference_for=reference_for, reason="Quà")
    assert plan.refused == {blocked.pk: "member-inactive"}
    assert not Voucher.objects.exists()  # planning writes nothing
    with transaction.atomic():
        issued = vouchers_issue_planned(plan=plan)
    assert (issued.new, set(issued.vouchers)) == (4, {m.pk for m in members})
    vouchers = list(Voucher.objects.all())
    assert {v.channel for v in vouchers} == {Voucher.Channel.CAMPAIGN}
    assert {v.reason for v in vouchers} == {"Quà"}
    assert all(voucher_code_is_valid(v.code) for v in vouchers)
    assert len({v.code for v in vouchers}) == 4
    expected_expiry = voucher_expires_at(reward=reward, issued_at=vouchers[0].issued_at, zone=HCM)
    assert {v.expires_at for v in vouchers} == {expected_expiry}
    assert {v.member_id: v.reference for v in vouchers} == {m.pk: reference_for(m.pk) for m in members}


@pytest.mark.django_db
def test_stock_and_limits_taken_between_plan_and_issue_refuse_late_and_write_nothing_for_them():
    reward = RewardFactory(stock=3, limit_per_member=1)
    early, limited, late = (MemberFactory() for _ in range(3))
    members = Member.objects.filter(pk__in=[early.pk, limited.pk, late.pk])
    plan = vouchers_plan_bulk(reward=reward, members=members, reference_for=reference_for)
    assert set(plan.planned) == {early.pk, limited.pk, late.pk}
    # Meanwhile, at a till: the limited member gets one, and someone else takes a unit of stock.
    voucher_issue(reward=reward, member=limited, channel=Voucher.Channel.STAFF, reason="Tại quầy")
    voucher_issue(reward=reward, member=MemberFactory(), channel=Voucher.Channel.STAFF, reason="Tại quầy")
    issued = vouchers_issue_planned(plan=plan)
    assert issued.refused == {limited.pk: "member-limit", late.pk: "out-of-stock"}
    assert (issued.new, set(issued.vouchers)) == (1, {early.pk})
    assert Voucher.objects.filter(member=limited).count() == 1
    assert not Voucher.objects.filter(member=late).exists()
    assert Reward.objects.get(pk=reward.pk).issued_count == 3


@pytest.mark.django_db
def test_a_reward_closed_between_plan_and_issue_raises_and_writes_nothing():
    reward = RewardFactory()
    plan = vouchers_plan_bulk(reward=reward, members=[MemberFactory().pk], reference_for=reference_for)
    Reward.objects.filter(pk=reward.pk).update(active_until=timezone.now() - datetime.timedelta(seconds=1))
    before = written_state()
    with pytest.raises(RewardUnavailable):
        vouchers_issue_planned(plan=plan)
    assert written_state() == before


@pytest.mark.django_db
def test_a_drawn_code_already_taken_is_drawn_again(monkeypatch):
    reward = RewardFactory()
    taken = voucher_issue(reward=reward, member=MemberFactory(), channel=Voucher.Channel.CAMPAIGN)
    draws = iter([[taken.code, "K7QM-4XRT"], ["K7QM-4XRT"], ["MNPQ-2345"]])
    monkeypatch.setattr(bulk, "voucher_codes_generate", lambda _count: next(draws))
    members = [MemberFactory(), MemberFactory()]
    result = vouchers_issue_bulk(reward=reward, members=[m.pk for m in members], reference_for=reference_for)
    assert sorted(v.code for v in result.vouchers.values()) == ["K7QM-4XRT", "MNPQ-2345"]


@pytest.mark.django_db
@pytest.mark.parametrize("as_queryset", [False, True], ids=["ids", "queryset"])
def test_queries_do_not_grow_with_the_members(as_queryset):
    reward = RewardFactory(limit_per_member=1, stock=1000)

    def queries(count):
        ids = [MemberFactory().pk for _ in range(count)]
        members = Member.objects.filter(pk__in=ids) if as_queryset else ids
        with CaptureQueriesContext(connection) as captured:
            assert vouchers_issue_bulk(reward=reward, members=members, reference_for=reference_for).new == count
        return len(captured)

    assert queries(2) == queries(20)
