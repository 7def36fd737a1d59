"""The campaigns part of load_demo: built once, then left alone (operators' edits survive)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.credit.models import StoreCreditRule
from campaigns.demo import demo_campaigns_load
from campaigns.promotions.models import Promotion
from campaigns.referral.models import ReferralProgramme
from campaigns.referral.selectors import referral_programme_get
from campaigns.referral.services import referral_programme_update
from campaigns.runs.models import Campaign
from notifications.demo import demo_notifications_load
from notifications.models import Event, MessageTemplate
from stores.demo import demo_stores_load
from tiers.demo import demo_tiers_load
from vouchers.demo import demo_vouchers_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def programme_base(db):
    demo_stores_load()
    demo_tiers_load()
    demo_vouchers_load()
    demo_notifications_load()


def test_the_demo_builds_the_programme_once_and_keeps_operator_edits(programme_base, staff):
    referral_programme_get()  # a first read created the row, switched off: still the demo's to fill
    # 5 of version 1; 2 earn rules and the stamp card; the TET-3-3 schedule and TET-X2, 8 journey
    # templates, WELCOME and WIN-BACK; the store-credit rule CAFE-CASHBACK (issue 17).
    assert demo_campaigns_load() == 21
    cashback = StoreCreditRule.objects.get(code="CAFE-CASHBACK")
    assert (cashback.percent, cashback.full_price_only, cashback.is_active) == (Decimal(2), True, True)
    assert list(cashback.brands.values_list("code", flat=True)) == ["CAFE"]
    assert set(Promotion.objects.values_list("code", flat=True)) == {"GIO-VANG", "SINH-NHAT", "CAFE-SANG", "TET-X2"}
    cafe = Promotion.objects.get(code="CAFE-SANG")
    assert sorted(cafe.tiers.values_list("code", flat=True)) == ["DIAMOND", "VIP"]
    assert list(cafe.brands.values_list("code", flat=True)) == ["CAFE"]
    referral = ReferralProgramme.objects.get()
    assert (referral.is_active, referral.percent, referral.days) == (True, Decimal(2), 180)
    campaign = Campaign.objects.get(code="BIRTHDAY-MONTHLY")
    assert (campaign.is_active, campaign.reward.code, campaign.once_per) == (True, "BDAY20", Campaign.OncePer.YEAR)
    assert campaign.periodic_task.crontab.hour == "8" and campaign.periodic_task.crontab.day_of_month == "1"

    Promotion.objects.filter(code="GIO-VANG").update(multiplier=Decimal("2.5"))
    referral_programme_update(data={"is_active": False}, by=staff)
    assert demo_campaigns_load() == 0
    assert Promotion.objects.get(code="GIO-VANG").multiplier == Decimal("2.5")
    assert not ReferralProgramme.objects.get().is_active
    assert Campaign.objects.count() == 3
    assert MessageTemplate.objects.filter(event=Event.CAMPAIGN).count() == 8


def test_the_demo_tet_promotion_and_journeys(programme_base):
    demo_campaigns_load()
    tet_x2 = Promotion.objects.get(code="TET-X2")
    assert (tet_x2.kind, tet_x2.multiplier, tet_x2.date_schedule.code) == ("earn_multiplier", 2, "TET-3-3")
    schedule = tet_x2.date_schedule
    assert (schedule.holiday.code, schedule.offset_days, schedule.length_days) == ("TET", -3, 6)
    welcome = Campaign.objects.get(code="WELCOME")
    assert (welcome.journey, welcome.once_per, welcome.is_active) == ("welcome", "ever", True)
    assert welcome.periodic_task.crontab.minute == "*/15"
    assert all(
        "CHAOBAN" in body
        for body in MessageTemplate.objects.filter(event=Event.CAMPAIGN, variant="WELCOME").values_list(
            "body", flat=True
        )
    )
    win_back = Campaign.objects.get(code="WIN-BACK")
    assert (win_back.journey, win_back.journey_days, win_back.reward.code, win_back.once_per) == (
        "win_back",
        60,
        "CASH50K",
        "year",
    )
    assert demo_campaigns_load() == 0
