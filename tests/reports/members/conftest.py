"""A small made-up history for the report tests: two brands, three stores, members enrolled
through the members services, sales and refunds recorded through the checkout (the same path as
the POS API), so every figure is computed from rows the real code wrote. No promotions, no tier
discount: a sale's total is its subtotal unless points pay part of it."""

from __future__ import annotations

import datetime
import itertools
import zoneinfo
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from members.demo import DEMO_SETTINGS
from members.services import programme_settings_update
from pos.checkout import SaleInput, sale_record, sale_refund
from pos.models import Sale
from stores.models import Brand, Store
from stores.services import terminal_create
from tiers.models import Tier
from tiers.services import tier_save

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
_receipts = itertools.count(1)


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=HCM)


def days_ago(days: int) -> datetime.date:
    """A local day `days` back from today: history far enough in the past at any hour."""
    return timezone.localtime(timezone.now(), HCM).date() - datetime.timedelta(days=days)


def at(day: datetime.date, plus_days: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day + datetime.timedelta(days=plus_days), datetime.time(hour, minute), tzinfo=HCM)


@pytest.fixture
def shops(db):
    cache.clear()
    programme_settings_update(data={**DEMO_SETTINGS, "presence_proof": "never"})
    # One tier, no discount, 10 % back: a sale earns one point per 10,000 đ paid.
    tier_save(tier=Tier(code="MEMBER", name="Thành viên", rank=1, threshold=Decimal(0), earn_rate_percent=Decimal(10)))
    pho = Brand.objects.create(code="PHO", name="Phở Hà Thành")
    cafe = Brand.objects.create(code="CAFE", name="Cà Phê Sớm")
    stores = {
        "PHO-HN01": Store.objects.create(code="PHO-HN01", name="Phở Hoàn Kiếm", brand=pho),
        "CAFE-HN01": Store.objects.create(code="CAFE-HN01", name="Cà Phê Tràng Tiền", brand=cafe),
        "CAFE-HCM1": Store.objects.create(code="CAFE-HCM1", name="Cà Phê Quận 1", brand=cafe),
    }
    terminals = {code: terminal_create(store=store, name="Quầy 1")[0] for code, store in stores.items()}
    yield {"brands": {"PHO": pho, "CAFE": cafe}, "stores": stores, "terminals": terminals}
    cache.clear()


@pytest.fixture
def sell(shops):
    def sell(member, store: str, when: datetime.datetime, *lines, points: int = 0, vouchers=()) -> Sale:
        """sell(member, "CAFE-HN01", at, ("SKU", "category", quantity, unit_price), ...)"""
        data = SaleInput(
            receipt_number=f"R{next(_receipts):06d}",
            member_id=member.pk if member is not None else None,
            occurred_at=when,
            lines=[
                {"sku": sku, "name": f"Món {sku}", "category": category, "quantity": qty, "unit_price": price}
                for sku, category, qty, price in lines
            ],
            points_to_redeem=points,
            voucher_codes=list(vouchers),
        )
        return sale_record(terminal=shops["terminals"][store], data=data, notify=False).sale

    return sell


@pytest.fixture
def refund(shops):
    def refund(sale: Sale, *lines) -> Sale:
        """refund(sale) refunds the rest of it; refund(sale, ("SKU", quantity), ...) some lines."""
        terminal = shops["terminals"][sale.store.code]
        asked = [{"sku": sku, "quantity": qty} for sku, qty in lines] or None
        sale_refund(terminal=terminal, sale_id=sale.pk, lines=asked, reason="Khách trả lại")
        sale.refresh_from_db()
        return sale

    return refund
