"""The voucher catalogue of the demo programme (`demo-programme.md`, "Voucher catalogue").

Idempotent and respectful of operators: a reward is created (with its brands) only when no
reward has its code; an existing one, whatever an operator changed in it, is left alone."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from members.selectors import programme_zone
from stores.models import Brand
from vouchers.models import Reward, SharedCode
from vouchers.services import reward_save, shared_code_save

Kind = Reward.Kind
Validity = Reward.Validity

DEMO_REWARDS: list[dict] = [
    {
        "code": "CASH50K",
        "name": "Voucher 50.000đ",
        "name_en": "50,000 VND voucher",
        "terms": "Giảm 50.000đ cho hóa đơn từ 100.000đ. Dùng tại mọi thương hiệu trong 30 ngày kể từ ngày nhận.",
        "terms_en": "50,000 VND off an invoice of at least 100,000 VND. Valid at every brand for 30 days after issue.",
        "kind": Kind.CASH,
        "value": Decimal(50_000),
        "min_invoice": Decimal(100_000),
        "points_cost": 50,
        "validity": Validity.DAYS,
        "validity_days": 30,
        "brands": [],
    },
    {
        "code": "PCT10",
        "name": "Giảm 10 %",
        "name_en": "10 % off",
        "terms": "Giảm 10 % hóa đơn, tối đa 100.000đ. Dùng tại mọi thương hiệu trong 30 ngày kể từ ngày nhận.",
        "terms_en": "10 % off the invoice, at most 100,000 VND. Valid at every brand for 30 days after issue.",
        "kind": Kind.PERCENT,
        "percent": Decimal(10),
        "cap": Decimal(100_000),
        "points_cost": 80,
        "validity": Validity.DAYS,
        "validity_days": 30,
        "brands": [],
    },
    {
        "code": "CAFE-B2G1",
        "name": "Cà phê mua 2 tặng 1",
        "name_en": "Coffee: buy 2, get 1 free",
        "terms": "Cứ 3 ly cà phê thì ly rẻ nhất được miễn phí. Dùng tại Cà Phê Sớm trong 14 ngày kể từ ngày nhận.",
        "terms_en": "Of every 3 coffees the cheapest is free. Valid at Cà Phê Sớm for 14 days after issue.",
        "kind": Kind.BUY_X_GET_Y,
        "category": "coffee",
        "buy_quantity": 2,
        "free_quantity": 1,
        "points_cost": 100,
        "validity": Validity.DAYS,
        "validity_days": 14,
        "brands": ["CAFE"],
    },
    {
        "code": "BDAY20",
        "name": "Quà sinh nhật -20 %",
        "name_en": "Birthday gift: 20 % off",
        "terms": "Giảm 20 % hóa đơn, tối đa 200.000đ, đến hết tháng sinh nhật. Tại mọi thương hiệu.",
        "terms_en": "20 % off the invoice, at most 200,000 VND, until the end of the birthday month. At every brand.",
        "kind": Kind.PERCENT,
        "percent": Decimal(20),
        "cap": Decimal(200_000),
        "points_cost": 0,
        "is_visible": False,
        "validity": Validity.END_OF_MONTH,
        "brands": [],
    },
    {
        "code": "CAFE-FREE",
        "name": "Tặng 1 ly cà phê",
        "name_en": "One free coffee",
        "terms": "Một ly cà phê miễn phí, quà của thẻ tích ly CAFE-STAMP. Dùng tại Cà Phê Sớm trong 14 ngày.",
        "terms_en": "One free coffee, the reward of the CAFE-STAMP card. Valid at Cà Phê Sớm for 14 days.",
        "kind": Kind.FREE_ITEM,
        "category": "coffee",
        "points_cost": 0,
        "is_visible": False,
        "validity": Validity.DAYS,
        "validity_days": 14,
        "brands": ["CAFE"],
    },
]


def demo_vouchers_load() -> int:
    """Create the demo rewards that are missing; returns how many were created (0 when run
    again). Needs the demo brands (`stores.demo.demo_stores_load`) first."""
    created = 0
    with transaction.atomic():
        existing = set(Reward.objects.filter(code__in=[r["code"] for r in DEMO_REWARDS]).values_list("code", flat=True))
        for spec in DEMO_REWARDS:
            if spec["code"] in existing:
                continue
            fields = {k: v for k, v in spec.items() if k != "brands"}
            reward = reward_save(reward=Reward(**fields))
            if spec["brands"]:
                reward.brands.set(Brand.objects.filter(code__in=spec["brands"]))
            created += 1
        demo_shared_codes_load()
    return created


# Version 2 (issue 16): the shared code CHAOBAN, 20,000 VND off an invoice of at least 100,000 VND,
# once per member, 10,000 uses in all, every brand, this year. What it takes off is a reward's,
# kept out of the catalogue.
CHAOBAN_REWARD = {
    "code": "CHAOBAN-20K",
    "name": "Mã CHAOBAN: giảm 20.000đ",
    "name_en": "Code CHAOBAN: 20,000 VND off",
    "terms": "Giảm 20.000đ cho hóa đơn từ 100.000đ, mỗi thành viên một lần, tại mọi thương hiệu.",
    "terms_en": "20,000 VND off an invoice of at least 100,000 VND, once per member, at every brand.",
    "kind": Kind.CASH,
    "value": Decimal(20_000),
    "min_invoice": Decimal(100_000),
    "points_cost": 0,
    "is_visible": False,
    "validity": Validity.DAYS,
    "validity_days": 1,
}


def demo_shared_codes_load() -> int:
    """Create CHAOBAN (and its reward) when missing; returns how many codes were created (0
    when run again; an existing code is left as an operator set it)."""
    if SharedCode.objects.filter(code="CHAOBAN").exists():
        return 0
    reward = Reward.objects.filter(code=CHAOBAN_REWARD["code"]).first()
    if reward is None:
        reward = reward_save(reward=Reward(**CHAOBAN_REWARD))
    year = timezone.localdate(timezone.now(), programme_zone()).year
    shared_code_save(
        shared_code=SharedCode(
            code="CHAOBAN",
            reward=reward,
            valid_from=datetime.date(year, 1, 1),
            valid_until=datetime.date(year, 12, 31),
            total_limit=10_000,
            per_member_limit=1,
        )
    )
    return 1
