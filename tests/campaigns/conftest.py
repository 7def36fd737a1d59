"""Fixtures of the campaigns tests. Members are enrolled and given points through the members
services; tiers, rewards and templates are configuration, saved through their apps' services."""

from __future__ import annotations

import datetime
import itertools
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from loyalty_site.core.cart import Cart, CartLine
from members.models import Member
from members.services import member_enrol
from notifications.models import Channel, Event, Language, MessageTemplate
from notifications.services import template_save
from stores.models import Brand, Store
from tiers.models import Tier
from tiers.services import tier_save, tier_set
from vouchers.models import Reward
from vouchers.services import reward_save

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
_phones = itertools.count(1)


def local(*args) -> datetime.datetime:
    """An aware datetime in Asia/Ho_Chi_Minh."""
    return datetime.datetime(*args, tzinfo=HCM)


def cart(*lines) -> Cart:
    """cart(("SKU", "category", quantity, unit_price), ...)"""
    return Cart(
        lines=tuple(
            CartLine(index=i, sku=sku, category=category, quantity=quantity, unit_price=Decimal(price))
            for i, (sku, category, quantity, price) in enumerate(lines)
        )
    )


def enrol(**fields) -> Member:
    n = next(_phones)
    fields.setdefault("name", f"Khách Hàng {n}")
    fields.setdefault("phone", f"09{n % 100_000_000:08d}")
    fields.setdefault("channel", Member.Channel.ADMIN)
    if fields.get("consents"):
        fields.setdefault("consent_source", "staff")  # enrolled by staff, as the channel says
    return member_enrol(**fields)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(username="marketing1", password="x", is_staff=True)


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(username="boss", password="x", email="boss@example.com")


@pytest.fixture
def brands(db):
    return {
        "PHO": Brand.objects.create(code="PHO", name="Phở Hà Thành"),
        "CAFE": Brand.objects.create(code="CAFE", name="Cà Phê Sớm"),
    }


@pytest.fixture
def stores(brands):
    return {
        "PHO-HN01": Store.objects.create(code="PHO-HN01", name="Phở Hoàn Kiếm", brand=brands["PHO"]),
        "CAFE-HN01": Store.objects.create(code="CAFE-HN01", name="Cà Phê Tràng Tiền", brand=brands["CAFE"]),
        "CAFE-TYO": Store.objects.create(
            code="CAFE-TYO", name="Cà Phê Tokyo", brand=brands["CAFE"], time_zone="Asia/Tokyo"
        ),
    }


@pytest.fixture
def tiers(db):
    return {
        "MEMBER": tier_save(tier=Tier(code="MEMBER", name="Thành viên", rank=1, threshold=Decimal(0))),
        "VIP": tier_save(
            tier=Tier(code="VIP", name="VIP", rank=2, threshold=Decimal(5_000_000), earn_rate_percent=Decimal(10))
        ),
        "DIAMOND": tier_save(
            tier=Tier(
                code="DIAMOND", name="Kim Cương", rank=3, threshold=Decimal(20_000_000), earn_rate_percent=Decimal(12)
            )
        ),
    }


@pytest.fixture
def put_in_tier(tiers, staff):
    def put(member: Member, code: str) -> Member:
        tier_set(member=member, tier=tiers[code], reason="Kiểm thử", staff_user=staff)
        return member

    return put


@pytest.fixture
def bday20(db):
    return reward_save(
        reward=Reward(
            code="BDAY20",
            name="Quà sinh nhật -20 %",
            kind=Reward.Kind.PERCENT,
            percent=Decimal(20),
            cap=Decimal(200_000),
            points_cost=0,
            is_visible=False,
            validity=Reward.Validity.END_OF_MONTH,
        )
    )


@pytest.fixture
def birthday_templates(db):
    return template_save(
        template=MessageTemplate(
            event=Event.BIRTHDAY,
            channel=Channel.SMS,
            language=Language.VI,
            body="Chúc mừng sinh nhật {member_name}! Voucher {voucher_name}, mã {voucher_code}, "
            "hạn dùng đến {voucher_expires_at}.",
        )
    )


@pytest.fixture
def voucher_templates(db):
    return template_save(
        template=MessageTemplate(
            event=Event.VOUCHER_ISSUED,
            channel=Channel.SMS,
            language=Language.VI,
            body="{member_name} ơi, bạn có voucher {voucher_name}, mã {voucher_code}.",
        )
    )
