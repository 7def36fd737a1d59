"""The referral programme: the referrer earns a share of the referred member's earn base for N
days after enrolment; never for oneself; once per sale."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.referral.models import ReferralProgramme
from campaigns.referral.selectors import referral_points_for, referral_programme_get
from campaigns.referral.services import referral_programme_update, referral_reward, referral_reward_reverse
from loyalty_site.core.errors import ValidationFailed
from members.models import LedgerEntry, Member
from members.services import member_block, member_merge
from tests.campaigns.conftest import enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme(db):
    return referral_programme_update(data={"is_active": True, "percent": Decimal(2), "days": 180})


@pytest.fixture
def pair(programme):
    """Referrer A and the member B who enrolled with A's code 10 days ago."""
    referrer = enrol(name="Trần Thị Giới Thiệu")
    referred = enrol(
        name="Lê Văn Được Giới Thiệu",
        referral_code=referrer.referral_code,
        enrolled_at=timezone.now() - datetime.timedelta(days=10),
    )
    return referrer, referred


def referral_entries():
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFERRAL)


def test_the_referrer_earns_the_share_of_the_earn_base(pair):
    referrer, referred = pair
    now = timezone.now()
    assert referral_points_for(member=referred, earn_base=Decimal(275000), at=now) == 6  # 2 % = 5,500 VND = 5.5 -> 6
    points = referral_reward(member=referred, earn_base=Decimal(275000), sale_reference="sale:1", at=now)
    assert points == 6
    referrer.refresh_from_db()
    assert referrer.points_balance == 6
    entry = referral_entries().get()
    assert (entry.member_id, entry.reference, entry.cause_reference) == (referrer.pk, "referral:sale:1", "sale:1")


def test_half_points_follow_the_programmes_rounding(pair):
    _referrer, referred = pair
    now = timezone.now()
    assert referral_points_for(member=referred, earn_base=Decimal(272499), at=now) == 5  # 5.44998 points
    assert referral_points_for(member=referred, earn_base=Decimal(225000), at=now) == 5  # 4.5 -> 5 (half-up)


def test_idempotent_per_sale_reference(pair):
    referrer, referred = pair
    now = timezone.now()
    assert referral_reward(member=referred, earn_base=Decimal(500000), sale_reference="sale:7", at=now) == 10
    # A retry after the settings changed still answers what was credited, and credits nothing more.
    referral_programme_update(data={"percent": Decimal(5)})
    assert referral_reward(member=referred, earn_base=Decimal(500000), sale_reference="sale:7", at=now) == 10
    assert referral_entries().count() == 1
    referrer.refresh_from_db()
    assert referrer.points_balance == 10


def test_nothing_after_the_window(pair):
    referrer, referred = pair
    end = referred.enrolled_at + datetime.timedelta(days=180)
    just_before = end - datetime.timedelta(seconds=1)
    assert referral_points_for(member=referred, earn_base=Decimal(100000), at=just_before) == 2
    assert referral_points_for(member=referred, earn_base=Decimal(100000), at=end) == 0
    late = timezone.now()
    Member.objects.filter(pk=referred.pk).update(enrolled_at=late - datetime.timedelta(days=181))
    referred.refresh_from_db()
    assert referral_reward(member=referred, earn_base=Decimal(100000), sale_reference="sale:late", at=late) is None
    assert not referral_entries().exists()
    referrer.refresh_from_db()
    assert referrer.points_balance == 0


def test_nothing_when_the_programme_is_off(pair):
    _referrer, referred = pair
    referral_programme_update(data={"is_active": False})
    now = timezone.now()
    assert referral_reward(member=referred, earn_base=Decimal(100000), sale_reference="sale:2", at=now) is None
    assert not referral_entries().exists()


def test_nothing_without_a_referrer_or_a_base(pair):
    referrer, referred = pair
    now = timezone.now()
    assert referral_reward(member=referrer, earn_base=Decimal(100000), sale_reference="sale:3", at=now) is None
    assert referral_reward(member=referred, earn_base=Decimal(0), sale_reference="sale:4", at=now) is None
    assert referral_points_for(member=None, earn_base=Decimal(100000), at=now) == 0
    assert not referral_entries().exists()


def test_no_self_referral(programme):
    member = enrol()
    now = timezone.now()
    member.referred_by_id = member.pk  # as a bug elsewhere could set it
    assert referral_points_for(member=member, earn_base=Decimal(100000), at=now) == 0
    assert referral_reward(member=member, earn_base=Decimal(100000), sale_reference="sale:self", at=now) is None
    assert not referral_entries().exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(referred_by_id=member.pk)


def test_a_blocked_referrer_earns_nothing(pair):
    referrer, referred = pair
    member_block(member=referrer, reason="Gian lận")
    now = timezone.now()
    assert referral_reward(member=referred, earn_base=Decimal(100000), sale_reference="sale:5", at=now) is None
    assert not referral_entries().exists()


def test_a_merged_referrer_earns_through_the_member_it_was_merged_into(pair):
    referrer, referred = pair
    survivor = enrol(name="Trần Thị Giới Thiệu (mới)")
    member_merge(survivor=survivor, merged=referrer, merged_by=None, reason="Trùng hồ sơ")
    referred.refresh_from_db()
    assert referral_reward(member=referred, earn_base=Decimal(100000), sale_reference="sale:6", at=timezone.now()) == 2
    assert referral_entries().get().member_id == survivor.pk


def test_a_refund_takes_the_referral_back(pair):
    referrer, referred = pair
    now = timezone.now()
    referral_reward(member=referred, earn_base=Decimal(1000000), sale_reference="sale:8", at=now)
    assert referral_reward_reverse(sale_reference="sale:8", reference="refund:8:referral", points=5) == 5
    assert referral_reward_reverse(sale_reference="sale:8", reference="refund:8:referral", points=5) == 5  # a retry
    referrer.refresh_from_db()
    assert referrer.points_balance == 15
    assert referral_reward_reverse(sale_reference="sale:none", reference="refund:x") == 0


def test_a_sale_reference_is_required(pair):
    _referrer, referred = pair
    with pytest.raises(ValidationFailed):
        referral_reward(member=referred, earn_base=Decimal(100000), sale_reference="", at=timezone.now())
    assert not referral_entries().exists()


def test_the_settings_row_is_created_switched_off_and_validated():
    programme = referral_programme_get()
    assert (programme.pk, programme.is_active) == (ReferralProgramme.SINGLETON_PK, False)
    with pytest.raises(ValidationFailed):
        referral_programme_update(data={"percent": Decimal(0)})
    programme.refresh_from_db()
    assert programme.percent == Decimal(2)


def test_one_referrer_per_member_is_the_members_field():
    # The model has a single `referred_by`: a member cannot have two referrers.
    field = Member._meta.get_field("referred_by")
    assert field.many_to_one and not field.many_to_many
