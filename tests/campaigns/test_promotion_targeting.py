"""Promotions targeted at customer groups and segments (issue 16): the sale reads who is in a
group, and who was in a segment at its last refresh, by indexed look-ups; it never evaluates a
segment's rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.audiences.models import Segment, SegmentMembership
from campaigns.audiences.refresh import segment_refresh, segments_refresh_all
from campaigns.audiences.services import group_add_members, group_create
from campaigns.promotions.models import Promotion
from campaigns.promotions.selectors import promotions_applicable
from campaigns.promotions.services import promotion_save
from tests.campaigns.conftest import cart, enrol, local

pytestmark = pytest.mark.django_db

Kind = Promotion.Kind
LUNCH = cart(("PHO-BO", "pho", 2, "65000"))
AT = (2026, 3, 13, 12, 0)  # a Friday, store local time


def targeted(code: str, *, groups=(), segments=(), tiers=(), **fields) -> Promotion:
    fields.setdefault("kind", Kind.AMOUNT_DISCOUNT)
    fields.setdefault("amount", Decimal(15000))
    promotion = promotion_save(promotion=Promotion(code=code, name=code.title(), **fields))
    promotion.groups.set(groups)
    promotion.segments.set(segments)
    promotion.tiers.set(tiers)
    return promotion


def codes(member, store) -> list[str]:
    return [a.code for a in promotions_applicable(cart=LUNCH, member=member, store=store, at=local(*AT)).applied]


def test_a_group_promotion_applies_to_its_members_only(stores):
    birthday_list = group_create(name="Sinh nhật tháng 3")
    inside, outside = enrol(), enrol()
    group_add_members(group=birthday_list, member_ids=[inside.pk], source="admin")
    targeted("NHOM-SN", groups=[birthday_list])
    store = stores["PHO-HN01"]

    assert codes(inside, store) == ["NHOM-SN"]
    assert codes(outside, store) == []
    assert codes(None, store) == []  # an anonymous sale is in no group


def test_joining_the_group_later_counts_at_once(stores):
    group = group_create(name="Khách quen")
    member = enrol()
    targeted("QUEN", groups=[group])
    store = stores["PHO-HN01"]
    assert codes(member, store) == []
    group_add_members(group=group, member_ids=[member.pk], source="admin")
    assert codes(member, store) == ["QUEN"]  # membership is read per sale, never cached


def test_a_segment_promotion_reads_the_last_refresh_not_the_rules(stores):
    march = Segment.objects.create(name="Sinh tháng 3", birthday_month="3")
    born_in_march = enrol(birthday=datetime.date(1990, 3, 5))
    born_in_may = enrol(birthday=datetime.date(1991, 5, 5))
    targeted("SN-THANG3", segments=[march])
    store = stores["PHO-HN01"]

    assert codes(born_in_march, store) == []  # not refreshed yet: the sale does not evaluate rules
    assert segment_refresh(segment=march, as_of=datetime.date(2026, 3, 1)) == (1, 0)
    assert codes(born_in_march, store) == ["SN-THANG3"]
    assert codes(born_in_may, store) == []

    march.birthday_month = "5"
    march.save()
    assert segment_refresh(segment=march, as_of=datetime.date(2026, 3, 1)) == (1, 1)
    assert codes(born_in_march, store) == []
    assert codes(born_in_may, store) == ["SN-THANG3"]


def test_refresh_twice_changes_nothing(stores):
    segment = Segment.objects.create(name="Tất cả")
    enrol(), enrol()
    assert segments_refresh_all(as_of=datetime.date(2026, 3, 1)) == 1
    stored = list(SegmentMembership.objects.order_by("pk").values_list("pk", "segment_id", "member_id"))
    assert len(stored) == 2
    assert segment_refresh(segment=segment, as_of=datetime.date(2026, 3, 1)) == (0, 0)
    assert list(SegmentMembership.objects.order_by("pk").values_list("pk", "segment_id", "member_id")) == stored


def test_groups_or_segments_and_tiers(stores, tiers, put_in_tier):
    group = group_create(name="Nhóm A")
    segment = Segment.objects.create(name="Sinh tháng 3", birthday_month="3")
    in_group_vip = put_in_tier(enrol(), "VIP")
    in_group_regular = enrol()
    in_segment_vip = put_in_tier(enrol(birthday=datetime.date(1990, 3, 5)), "VIP")
    nowhere_vip = put_in_tier(enrol(), "VIP")
    group_add_members(group=group, member_ids=[in_group_vip.pk, in_group_regular.pk], source="admin")
    segment_refresh(segment=segment, as_of=datetime.date(2026, 3, 1))
    targeted("VIP-NHOM", groups=[group], segments=[segment], tiers=[tiers["VIP"]])
    store = stores["PHO-HN01"]

    assert codes(in_group_vip, store) == ["VIP-NHOM"]
    assert codes(in_segment_vip, store) == ["VIP-NHOM"]  # group OR segment
    assert codes(in_group_regular, store) == []  # AND the tier
    assert codes(nowhere_vip, store) == []


def test_no_audience_query_unless_a_promotion_targets_one(stores):
    member = enrol()
    targeted("AI-CUNG-DUOC")
    store = stores["PHO-HN01"]
    promotions_applicable(cart=LUNCH, member=member, store=store, at=local(*AT))  # fills the rules cache
    with CaptureQueriesContext(connection) as queries:
        assert codes(member, store) == ["AI-CUNG-DUOC"]
    assert not [q for q in queries.captured_queries if "membership" in q["sql"].lower()]

    group = group_create(name="Nhóm B")
    targeted("NHOM-B", groups=[group])
    promotions_applicable(cart=LUNCH, member=member, store=store, at=local(*AT))
    with CaptureQueriesContext(connection) as queries:
        codes(member, store)
    assert len([q for q in queries.captured_queries if "membership" in q["sql"].lower()]) == 1


def test_removing_a_group_from_a_promotion_opens_it_to_everyone(stores):
    group = group_create(name="Nhóm C")
    member = enrol()
    promotion = targeted("NHOM-C", groups=[group])
    store = stores["PHO-HN01"]
    assert codes(member, store) == []
    promotion.groups.clear()  # the cached rules are dropped by the m2m receiver
    assert codes(member, store) == ["NHOM-C"]
