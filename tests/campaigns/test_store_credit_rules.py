"""Which lines earn store credit (`campaigns.credit.selectors.store_credit_plan`): brands and
stores, full-price lines only, categories included and excluded, store-local dates, the highest
percent when rules overlap, and the cache dropped when a rule changes."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.core.cache import cache

from campaigns.credit.models import StoreCreditRule
from campaigns.credit.selectors import store_credit_plan
from campaigns.credit.services import store_credit_rule_save
from loyalty_site.core.cart import Cart, CartLine
from loyalty_site.core.errors import ValidationFailed
from tests.factories import BrandFactory, StoreFactory

pytestmark = pytest.mark.django_db
HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=HCM)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def cart(discounts=None):
    return Cart(
        lines=(
            CartLine(index=0, sku="CF", quantity=1, unit_price=Decimal(30000), category="coffee"),
            CartLine(index=1, sku="BK", quantity=1, unit_price=Decimal(20000), category="pastry"),
            CartLine(index=2, sku="BR", quantity=1, unit_price=Decimal(50000), category="alcohol"),
        ),
        line_discounts=discounts or {},
    )


def rule(code="R", percent=2, brands=(), stores=(), **fields):
    return store_credit_rule_save(
        rule=StoreCreditRule(code=code, name=code, percent=Decimal(percent), **fields), brands=brands, stores=stores
    )


def percents(plan):
    return {index: line.percent for index, line in plan.items()}


def test_brand_scope_and_full_price_lines_only():
    cafe, other = BrandFactory(), BrandFactory()
    store, elsewhere = StoreFactory(brand=cafe), StoreFactory(brand=other)
    rule(brands=[cafe])
    assert percents(store_credit_plan(priced_cart=cart({0: Decimal(3000)}), store=store, at=AT)) == {
        1: Decimal(2),
        2: Decimal(2),
    }
    assert store_credit_plan(priced_cart=cart(), store=elsewhere, at=AT) == {}


def test_discounted_lines_earn_when_the_rule_allows_it_and_store_scope():
    store, other = StoreFactory(), StoreFactory()
    rule(full_price_only=False, stores=[store])
    assert set(store_credit_plan(priced_cart=cart({0: Decimal(3000)}), store=store, at=AT)) == {0, 1, 2}
    assert store_credit_plan(priced_cart=cart(), store=other, at=AT) == {}


def test_categories_included_and_excluded():
    included, excluded = StoreFactory(), StoreFactory()
    rule(code="A", categories_included="coffee;\nBK", stores=[included])
    rule(code="C", categories_excluded="alcohol, x", stores=[excluded])
    assert set(store_credit_plan(priced_cart=cart(), store=included, at=AT)) == {0}
    assert set(store_credit_plan(priced_cart=cart(), store=excluded, at=AT)) == {0, 1}
    with pytest.raises(ValidationFailed):
        rule(code="B", categories_included="coffee", categories_excluded="coffee")


def test_dates_are_store_local_days_and_inactive_rules_do_nothing():
    store = StoreFactory()
    rule(code="A", valid_from=datetime.date(2026, 3, 11))
    rule(code="B", is_active=False)
    assert store_credit_plan(priced_cart=cart(), store=store, at=AT) == {}
    late_evening_utc = datetime.datetime(2026, 3, 10, 17, 30, tzinfo=datetime.UTC)  # 00:30 on the 11th in HCM
    assert len(store_credit_plan(priced_cart=cart(), store=store, at=late_evening_utc)) == 3


def test_the_highest_percent_wins_and_a_change_is_seen_at_once():
    store = StoreFactory()
    low = rule(code="LOW", percent=2)
    rule(code="HIGH", percent=5, categories_included="coffee")
    plan = store_credit_plan(priced_cart=cart(), store=store, at=AT)
    assert percents(plan) == {0: Decimal(5), 1: Decimal(2), 2: Decimal(2)}
    assert plan[0].rule == "HIGH"
    low.percent = Decimal(3)
    store_credit_rule_save(rule=low)
    assert percents(store_credit_plan(priced_cart=cart(), store=store, at=AT))[1] == Decimal(3)
