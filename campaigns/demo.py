"""The campaigns part of the demo programme (`demo-programme.md`): the promotions GIO-VANG,
SINH-NHAT and CAFE-SANG, the earn rules (category `alcohol` earns nothing, `merch` 2 %), the stamp
card CAFE-STAMP, the store-credit rule CAFE-CASHBACK (2 % on full-price lines at CAFE), the referral
programme (2 % for 180 days) and the BIRTHDAY-MONTHLY
campaign with its segment; from version 2, the promotion TET-X2 on the date schedule TET-3-3
(the 3 days before Tết and the first 3 of the lunar year) and the journeys WELCOME and WIN-BACK
with their message templates.

Idempotent and respectful of operators: everything is found by its code (or name) and left as
it is when it exists; the referral settings are only filled in while nobody has edited them.
Needs the demo brands, tiers and rewards first (`stores`, `tiers`, `vouchers` demos); whatever
they lack (a tier, the BDAY20 reward) is left out rather than invented here."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from campaigns.audiences.models import Segment
from campaigns.calendar.models import DateSchedule, Holiday
from campaigns.calendar.services import date_schedule_save, holiday_save
from campaigns.credit.models import StoreCreditRule
from campaigns.credit.services import store_credit_rule_save
from campaigns.promotions.models import EarnRule, Promotion
from campaigns.promotions.services import earn_rule_save, promotion_save
from campaigns.referral.models import ReferralProgramme
from campaigns.runs.models import Campaign
from campaigns.runs.services import campaign_activate, campaign_save
from campaigns.stamps.models import StampCard
from campaigns.stamps.services import stamp_card_save
from notifications.models import Channel, Event, Language, MessageTemplate
from notifications.services import template_save
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


TET_HOLIDAY = {
    "code": "TET",
    "name": "Tết Nguyên Đán",
    "name_en": "Lunar New Year",
    "kind": Holiday.Kind.LUNAR,
    "month": 1,
    "day": 1,
}
TET_SCHEDULE = {"code": "TET-3-3", "name": "3 ngày trước Tết và 3 ngày đầu năm", "offset_days": -3, "length_days": 6}
TET_PROMOTION = {
    "code": "TET-X2",
    "name": "Tết x2",
    "name_en": "Tết points x2",
    "description": "Nhân đôi điểm tích lũy 3 ngày trước Tết Nguyên Đán và 3 ngày đầu năm âm lịch, mỗi năm.",
    "kind": Kind.EARN_MULTIPLIER,
    "multiplier": Decimal(2),
}
JOURNEYS = [
    {
        "code": "WELCOME",
        "name": "Chào mừng thành viên mới",
        "description": "Mỗi 15 phút: gửi lời chào đến thành viên vừa đăng ký (2 ngày gần nhất), mỗi người một lần, "
        "kèm mã CHAOBAN.",
        "journey": Campaign.Journey.WELCOME,
        "journey_days": 2,
        "notification_event": Event.CAMPAIGN,
        "notification_is_marketing": True,
        "once_per": Campaign.OncePer.EVER,
        "schedule": Campaign.Schedule.RECURRING,
        "cron_minute": "*/15",
        "cron_hour": "*",
        "cron_day_of_month": "*",
        "cron_month_of_year": "*",
        "cron_day_of_week": "*",
    },
    {
        "code": "WIN-BACK",
        "name": "Mời khách quay lại",
        "description": "Mỗi ngày 09:00: thành viên đã mua hàng nhưng 60 ngày nay chưa quay lại nhận voucher CASH50K, "
        "mỗi người một lần mỗi năm.",
        "journey": Campaign.Journey.WIN_BACK,
        "journey_days": 60,
        "reward": "CASH50K",
        "notification_event": Event.CAMPAIGN,
        "notification_is_marketing": True,
        "once_per": Campaign.OncePer.YEAR,
        "schedule": Campaign.Schedule.RECURRING,
        "cron_minute": "0",
        "cron_hour": "9",
        "cron_day_of_month": "*",
        "cron_month_of_year": "*",
        "cron_day_of_week": "*",
    },
]
# (campaign code, channel, language) -> (subject, text); the campaign's own variant of the
# "campaign" event.
JOURNEY_TEMPLATES = {
    ("WELCOME", Channel.EMAIL, Language.VI): (
        "Chào mừng {member_name}!",
        "Chào {member_name},\n\nCảm ơn bạn đã trở thành thành viên. Nhập mã CHAOBAN khi thanh toán để được "
        "giảm 20.000 đ cho hóa đơn từ 100.000 đ.\n\nHẹn gặp bạn!",
    ),
    ("WELCOME", Channel.SMS, Language.VI): (
        "",
        "Chào mừng {member_name}! Dùng mã CHAOBAN để được giảm 20.000 đ cho hóa đơn từ 100.000 đ.",
    ),
    ("WELCOME", Channel.EMAIL, Language.EN): (
        "Welcome, {member_name}!",
        "Hello {member_name},\n\nThank you for joining. Give the code CHAOBAN at the till for 20,000 VND off "
        "an invoice of 100,000 VND or more.\n\nSee you soon!",
    ),
    ("WELCOME", Channel.SMS, Language.EN): (
        "",
        "Welcome {member_name}! Use the code CHAOBAN for 20,000 VND off an invoice of 100,000 VND or more.",
    ),
    ("WIN-BACK", Channel.EMAIL, Language.VI): (
        "Lâu rồi không gặp, {member_name}",
        "Chào {member_name},\n\nChúng tôi nhớ bạn! Tặng bạn voucher {voucher_name}, mã {voucher_code}, "
        "hạn dùng đến {voucher_expires_at}.\n\nHẹn gặp lại bạn!",
    ),
    ("WIN-BACK", Channel.SMS, Language.VI): (
        "",
        "{member_name} ơi, lâu rồi không gặp! Tặng bạn voucher {voucher_name}, mã {voucher_code}, "
        "hạn dùng đến {voucher_expires_at}.",
    ),
    ("WIN-BACK", Channel.EMAIL, Language.EN): (
        "We miss you, {member_name}",
        "Hello {member_name},\n\nWe miss you! Here is a voucher {voucher_name}, code {voucher_code}, valid "
        "until {voucher_expires_at}.\n\nSee you soon!",
    ),
    ("WIN-BACK", Channel.SMS, Language.EN): (
        "",
        "{member_name}, we miss you! Voucher {voucher_name}, code {voucher_code}, valid until {voucher_expires_at}.",
    ),
}


def _tet_promotion() -> int:
    created = 0
    tet = Holiday.objects.filter(code="TET").first()
    if tet is None:  # the migration adds it; a database flushed since (or an operator) lost it
        tet = holiday_save(holiday=Holiday(**TET_HOLIDAY))
        created += 1
    schedule = DateSchedule.objects.filter(code=TET_SCHEDULE["code"]).first()
    if schedule is None:
        schedule = date_schedule_save(schedule=DateSchedule(holiday=tet, **TET_SCHEDULE))
        created += 1
    if not Promotion.objects.filter(code=TET_PROMOTION["code"]).exists():
        promotion_save(promotion=Promotion(date_schedule=schedule, **TET_PROMOTION))
        created += 1
    return created


def _journeys() -> int:
    created = 0
    for (code, channel, language), (subject, body) in JOURNEY_TEMPLATES.items():
        key = {"event": Event.CAMPAIGN, "variant": code, "channel": channel, "language": language}
        if not MessageTemplate.objects.filter(**key).exists():
            template_save(template=MessageTemplate(subject=subject, body=body, **key))
            created += 1
    for spec in JOURNEYS:
        if Campaign.objects.filter(code=spec["code"]).exists():
            continue
        fields = dict(spec)
        if "reward" in fields:
            fields["reward"] = Reward.objects.filter(code=fields["reward"]).first()
            if fields["reward"] is None:
                continue  # the demo rewards are missing
        campaign = campaign_save(campaign=Campaign(**fields))
        campaign_activate(campaign=campaign)
        created += 1
    return created


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


DEMO_STORE_CREDIT_RULE = {
    "code": "CAFE-CASHBACK",
    "name": "Hoàn tiền 2 % tại Cà Phê Sớm",
    "percent": Decimal(2),
    "full_price_only": True,
}


def _store_credit_rule() -> int:
    """2 % cash-back as store credit on full-price lines at brand CAFE."""
    if StoreCreditRule.objects.filter(code=DEMO_STORE_CREDIT_RULE["code"]).exists():
        return 0
    brand = Brand.objects.filter(code="CAFE").first()
    if brand is None:
        return 0
    store_credit_rule_save(rule=StoreCreditRule(**DEMO_STORE_CREDIT_RULE), brands=[brand])
    return 1


def demo_campaigns_load() -> int:
    """Create what is missing; returns how many things were created (0 when run again)."""
    with transaction.atomic():
        return (
            _promotions()
            + _earn_rules()
            + _stamp_card()
            + _store_credit_rule()
            + _referral()
            + _birthday_campaign()
            + _tet_promotion()
            + _journeys()
        )
