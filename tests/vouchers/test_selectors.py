"""What a till shows about vouchers: a member's usable vouchers and the catalogue."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.services import member_merge
from tests.factories import MemberFactory
from tests.vouchers.factories import RewardFactory
from vouchers.models import Voucher
from vouchers.selectors import member_usable_vouchers, rewards_catalogue
from vouchers.services import voucher_issue, voucher_use, voucher_void


def give(reward, member):
    return voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)


@pytest.mark.django_db
def test_usable_vouchers_are_issued_and_unexpired_soonest_first(member, pho_store):
    short, long_ = RewardFactory(validity_days=3), RewardFactory(validity_days=30)
    later = give(long_, member)
    sooner = give(short, member)
    used = give(short, member)
    voucher_use(voucher=used, store=pho_store, sale_reference="sale:1", at=timezone.now())
    void = give(short, member)
    voucher_void(voucher=void, by=None, reason="Nhầm")
    give(short, MemberFactory())
    assert member_usable_vouchers(member=member) == [sooner, later]
    after_short = sooner.expires_at + datetime.timedelta(seconds=1)
    assert member_usable_vouchers(member=member, at=after_short) == [later]


@pytest.mark.django_db
def test_usable_vouchers_at_a_store(member, pho_store, cafe_store, cafe_brand):
    everywhere = give(RewardFactory(), member)
    cafe_only = give(RewardFactory(brands=[cafe_brand]), member)
    store_only = give(RewardFactory(stores=[pho_store]), member)
    assert set(member_usable_vouchers(member=member, store=cafe_store)) == {everywhere, cafe_only}
    assert set(member_usable_vouchers(member=member, store=pho_store)) == {everywhere, store_only}
    assert set(member_usable_vouchers(member=member)) == {everywhere, cafe_only, store_only}


@pytest.mark.django_db
def test_usable_vouchers_include_those_of_a_merged_member(pho_store):
    merged, survivor = MemberFactory(), MemberFactory()
    theirs = give(RewardFactory(), merged)
    mine = give(RewardFactory(), survivor)
    member_merge(survivor=survivor, merged=merged, merged_by=None, reason="Trùng")
    assert set(member_usable_vouchers(member=survivor, store=pho_store)) == {theirs, mine}


@pytest.mark.django_db
def test_usable_vouchers_cost_one_query_with_their_rewards(member, pho_store):
    for _ in range(5):
        give(RewardFactory(), member)
    with CaptureQueriesContext(connection) as captured:
        vouchers = member_usable_vouchers(member=member, store=pho_store)
        summary = [(v.code, v.reward.display_name, v.reward.kind, v.expires_at) for v in vouchers]
    assert len(summary) == 5
    assert len(captured) == 1


@pytest.mark.django_db
def test_the_catalogue_leaves_out_hidden_closed_sold_out_and_other_brands(pho_store, cafe_brand, member):
    now = timezone.now()
    shown = RewardFactory(code="SHOWN", points_cost=20)
    cheap = RewardFactory(code="CHEAP", points_cost=5)
    RewardFactory(code="HIDDEN", is_visible=False)
    RewardFactory(code="CLOSED", active_until=now - datetime.timedelta(seconds=1))
    RewardFactory(code="LATER", active_from=now + datetime.timedelta(hours=1))
    RewardFactory(code="CAFE", brands=[cafe_brand])
    RewardFactory(
        code="PAST",
        validity="fixed_date",
        validity_days=None,
        valid_until=timezone.localdate() - datetime.timedelta(days=1),
    )
    sold_out = RewardFactory(code="SOLDOUT", stock=1)
    give(sold_out, member)
    assert rewards_catalogue(store=pho_store) == [cheap, shown]
