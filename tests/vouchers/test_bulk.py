"""Issuing one voucher to many members at once (a campaign run), with the rules of
`voucher_issue` and a query count that does not grow with the members."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.services import member_block
from tests.factories import MemberFactory
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from vouchers.codes import voucher_code_is_valid
from vouchers.errors import RewardUnavailable
from vouchers.models import Reward, Voucher
from vouchers.services import voucher_issue, vouchers_issue_bulk


def reference_for(member_id):
    return f"campaign:BIRTHDAY-MONTHLY:2025:member:{member_id}"


@pytest.mark.django_db
def test_one_voucher_each_once_per_reference():
    reward = RewardFactory(code="BDAY20", is_visible=False, points_cost=0)
    members = [MemberFactory() for _ in range(5)]
    ids = [m.pk for m in members]
    result = vouchers_issue_bulk(reward=reward, members=ids, reference_for=reference_for)
    assert (result.new, result.refused) == (5, {})
    assert set(result.vouchers) == set(ids)
    assert all(voucher_code_is_valid(v.code) for v in Voucher.objects.all())
    assert Voucher.objects.filter(channel="campaign", status="issued").count() == 5
    assert Reward.objects.get(pk=reward.pk).issued_count == 5
    before = written_state()
    again = vouchers_issue_bulk(reward=reward, members=ids, reference_for=reference_for)
    assert again.new == 0
    assert again.vouchers == result.vouchers
    assert written_state() == before


@pytest.mark.django_db
def test_inactive_over_the_limit_and_beyond_the_stock_are_refused_one_by_one():
    reward = RewardFactory(stock=3, limit_per_member=1, limit_period=Reward.LimitPeriod.YEAR)
    blocked, had_one, first, second, third = (MemberFactory() for _ in range(5))
    member_block(member=blocked, reason="Gian lận")
    voucher_issue(reward=reward, member=had_one, channel=Voucher.Channel.STAFF, reason="Quà")
    result = vouchers_issue_bulk(
        reward=reward,
        members=[blocked.pk, had_one.pk, first.pk, second.pk, third.pk],
        reference_for=reference_for,
    )
    assert result.refused == {blocked.pk: "member-inactive", had_one.pk: "member-limit", third.pk: "out-of-stock"}
    assert set(result.vouchers) == {first.pk, second.pk}
    assert Reward.objects.get(pk=reward.pk).issued_count == 3


@pytest.mark.django_db
def test_a_closed_reward_writes_nothing():
    reward = RewardFactory(active_until=timezone.now() - datetime.timedelta(seconds=1))
    member = MemberFactory()
    before = written_state()
    with pytest.raises(RewardUnavailable):
        vouchers_issue_bulk(reward=reward, members=[member.pk], reference_for=reference_for)
    assert written_state() == before


@pytest.mark.django_db
def test_queries_do_not_grow_with_the_members():
    reward = RewardFactory(limit_per_member=1, stock=1000)

    def queries(count):
        ids = [MemberFactory().pk for _ in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert vouchers_issue_bulk(reward=reward, members=ids, reference_for=reference_for).new == count
        return len(captured)

    assert queries(2) == queries(20)
