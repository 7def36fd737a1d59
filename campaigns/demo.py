"""The campaigns part of the demo programme (`demo-programme.md`): the promotions GIO-VANG,
SINH-NHAT and CAFE-SANG, the earn rules (category `alcohol` earns nothing, `merch` 2 %), the stamp
card CAFE-STAMP, the referral programme (2 % for 180 days) and the BIRTHDAY-MONTHLY
campaign with its segment.

Idempotent and respectful of operators: everything is found by its code (or name) and left as
it is when it exists; the referral settings are only filled in while nobody has edited them.
Needs the demo brands, tiers and rewards first (`stores`, `tiers`, `vouchers` demos); whatever
they lack (a tier, the BDAY20 reward) is left out rather than invented here."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from campaigns.audiences.models import Segment
from campaigns.promotions.models import EarnRule, Promotion
from campaigns.promotions.services import earn_rule_save, promotion_save
from campaigns.referral.models import ReferralProgramme
from campaigns.runs.models import Campaign
from campaigns.runs.services import campaign_activate, campaign_save
from campaigns.stamps.models import StampCard
from campaigns.stamps.services import stamp_card_save
from notifications.models import Event
from stores.models import Brand
from tiers.models import Tier
from vouchers.models import Reward

Kind = Promotion.Kind

DEMO_PROMOTIONS = [
    {
        "code": "GIO-VANG",
        "name": "Giờ vàng x2",
        "name_en": "Golden hours x2",
        "description": "Nhân đôi điểm tích lũy từ thứ Hai đến thứ Sáu, 14:00 đến 17:00, tại mọi cửa hàng.",
        "kind": Kind.EARN_MULTIPLIER,
        "multiplier": Decimal(2),
        "weekdays": "12345",
        "time_from": datetime.time(14, 0),
        "time_until": datetime.time(17, 0),
    },
    {
        "code": "SINH-NHAT",
        "name": "Sinh nhật x3",
        "name_en": "Birthday x3",
        "description": "Nhân ba điểm tích lũy vào đúng ngày sinh nhật của thành viên.",
        "kind": Kind.EARN_MULTIPLIER,
        "multiplier": Decimal(3),
        "birthday": Promotion.Birthday.DAY,
    },
    {
        "code": "CAFE-SANG",
        "name": "Cà phê sáng -10 %",
        "name_en": "Morning coffee -10 %",
        "description": "Giảm 10 % các món cà phê từ 07:00 đến 09:00 mỗi ngày tại Cà Phê Sớm, "
        "cho hạng VIP và Kim Cương.",
        "kind": Kind.PERCENT_DISCOUNT,
        "percent": Decimal(10),
        "scope": Promotion.Scope.LINES,
        "categories": "coffee",
        "time_from": datetime.time(7, 0),
        "time_until": datetime.time(9, 0),
        "brands": ["CAFE"],
        "tiers": ["VIP", "DIAMOND"],
    },
]
DEMO_EARN_RULES = [
    {
        "code": "ALCOHOL",
        "name": "Đồ uống có cồn không tích điểm",
        "kind": EarnRule.Kind.EXCLUDE,
        "categories": "alcohol",
    },
    {
        "code": "MERCH",
        "name": "Quà lưu niệm tích 2 %",
        "kind": EarnRule.Kind.RATE,
        "categories": "merch",
        "rate_percent": Decimal(2),
    },
]
DEMO_STAMP_CARD = {
    "code": "CAFE-STAMP",
    "name": "Thẻ tích ly Cà Phê Sớm",
    "stamps_needed": 5,
    "period_days": 30,
    "min_amount": Decimal(30000),
}
DEMO_REFERRAL = {"is_active": True, "percent": Decimal(2), "days": 180}
BIRTHDAY_SEGMENT = "Sinh nhật trong tháng"
BIRTHDAY_CAMPAIGN = {
    "code": "BIRTHDAY-MONTHLY",
    "name": "Quà sinh nhật hằng tháng",
    "description": "Ngày 1 mỗi tháng, 08:00: tặng voucher BDAY20 cho thành viên có sinh nhật trong tháng "
    "(mỗi người một lần mỗi năm) và gửi lời chúc mừng sinh nhật.",
    "notification_event": Event.BIRTHDAY,
    "notification_is_marketing": True,
    "once_per": Campaign.OncePer.YEAR,
    "schedule": Campaign.Schedule.RECURRING,
    "cron_minute": "0",
    "cron_hour": "8",
    "cron_day_of_month": "1",
    "cron_month_of_year": "*",
    "cron_day_of_week": "*",
}


def _promotions() -> int:
    created = 0
    for spec in DEMO_PROMOTIONS:
        if Promotion.objects.filter(code=spec["code"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k not in ("brands", "tiers")}
        tiers = list(Tier.objects.filter(code__in=spec.get("tiers", [])))
        if len(tiers) != len(spec.get("tiers", [])):
            continue  # the demo tiers are missing: a tier-limited promotion without them would be wrong
        promotion = promotion_save(promotion=Promotion(**fields))
        if spec.get("brands"):
            promotion.brands.set(Brand.objects.filter(code__in=spec["brands"]))
        if tiers:
            promotion.tiers.set(tiers)
        created += 1
    return created


def _earn_rules() -> int:
    created = 0
    for spec in DEMO_EARN_RULES:
        if not EarnRule.objects.filter(code=spec["code"]).exists():
            earn_rule_save(rule=EarnRule(**spec))
            created += 1
    return created


def _stamp_card() -> int:
    if StampCard.objects.filter(code=DEMO_STAMP_CARD["code"]).exists():
        return 0
    reward, brand = Reward.objects.filter(code="CAFE-FREE").first(), Brand.objects.filter(code="CAFE").first()
    if reward is None or brand is None:
        return 0
    stamp_card_save(card=StampCard(brand=brand, reward=reward, **DEMO_STAMP_CARD))
    return 1


def _referral() -> int:
    programme, created = ReferralProgramme.objects.get_or_create(
        pk=ReferralProgramme.SINGLETON_PK, defaults=DEMO_REFERRAL
    )
    if created:
        return 1
    untouched = ReferralProgramme()  # the defaults of a row created by a first read
    if programme.updated_by_id is None and all(
        getattr(programme, name) == getattr(untouched, name) for name in DEMO_REFERRAL
    ):
        ReferralProgramme.objects.filter(pk=programme.pk).update(**DEMO_REFERRAL)
        return 1
    return 0


def _birthday_campaign() -> int:
    if Campaign.objects.filter(code=BIRTHDAY_CAMPAIGN["code"]).exists():
        return 0
    reward = Reward.objects.filter(code="BDAY20").first()
    if reward is None:
        return 0
    segment, _created = Segment.objects.get_or_create(
        name=BIRTHDAY_SEGMENT,
        defaults={
            "description": "Thành viên đang hoạt động có sinh nhật trong tháng của lần chạy.",
            "birthday_month": Segment.BirthdayMonth.CURRENT,
        },
    )
    campaign = campaign_save(campaign=Campaign(segment=segment, reward=reward, **BIRTHDAY_CAMPAIGN))
    campaign_activate(campaign=campaign)
    return 1


def demo_campaigns_load() -> int:
    """Create what is missing; returns how many things were created (0 when run again)."""
    with transaction.atomic():
        return _promotions() + _earn_rules() + _stamp_card() + _referral() + _birthday_campaign()
