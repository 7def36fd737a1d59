"""Issue 16 earn rules against the demo programme (category `alcohol` earns nothing, `merch` 2 %
whatever the tier) and product bonuses: quote and sale agree, qualifying spend leaves excluded
lines out, refunds reverse exactly what the refunded lines earned, bad rules are refused."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.promotions.models import EarnRule
from campaigns.promotions.services import earn_rule_save
from loyalty_site.core.errors import ValidationFailed
from members.selectors import ledger_drift
from pos.models import Sale
from tests.factories import MemberFactory
from tests.pos.conftest import HCM, post
from tests.pos.test_refunds_api import refund
from tests.pos.test_sales_api import QUOTE, SALES, issue, pho_lines, quiet_moment, sale_body
from tiers.models import TierStatus

pytestmark = pytest.mark.django_db
BEER = {"sku": "BIA-HN", "name": "Bia Hà Nội", "category": "alcohol", "quantity": 1, "unit_price": 100000}
MUG = {"sku": "CoC-SU", "name": "Cốc sứ", "category": "merch", "quantity": 1, "unit_price": 100000}
PHO = pho_lines(100000)[0]


def quote_and_sale(client, receipt, lines, member, **extra):
    body = sale_body(receipt, lines, member, **extra)
    quote = post(client, QUOTE, body)
    sale = post(client, SALES, body, key=receipt)
    assert quote.status_code == 200, quote.content
    assert sale.status_code == 201, sale.content
    for field in ("subtotal", "discounts", "total", "points_redeemed", "points_to_earn"):
        assert sale.json()[field] == quote.json()[field], field
    assert sale.json()["points_earned"] == quote.json()["points_to_earn"]
    return sale.json()


def spend(member) -> Decimal:
    return TierStatus.objects.get(member=member).qualifying_spend


def test_alcohol_earns_nothing_and_counts_for_no_spend_merch_earns_2_percent(pho):
    member = MemberFactory()
    sale = quote_and_sale(pho, "ER-1", [BEER, PHO, MUG], member)
    # pho 100,000 at 5 % = 5 points, mug 100,000 at 2 % = 2 points, beer nothing.
    assert sale["points_earned"] == 7 and sale["total"] == "300000.00"
    assert spend(member) == 200000
    recorded = Sale.objects.get(pk=sale["id"])
    assert recorded.earn_base == 200000
    assert {line.sku: line.earn_base for line in recorded.lines.all()} == {
        "BIA-HN": 0,
        "PHO-DAC-BIET": 100000,
        "CoC-SU": 100000,
    }


def test_merch_earns_2_percent_whatever_the_tier_but_multipliers_still_apply(pho):
    member = MemberFactory(birthday=timezone.localtime(quiet_moment(), HCM).date().replace(year=1990))
    # SINH-NHAT x3 on the birthday: 300,000 of merch at 2 % x 3 = 18 points.
    sale = quote_and_sale(pho, "ER-2", [{**MUG, "quantity": 3}], member)
    assert sale["points_earned"] == 18 and Decimal(str(sale["multiplier"])) == 3


def test_an_invoice_discount_is_shared_over_the_lines_before_the_exclusion(pho):
    member = MemberFactory(points=100)
    code = issue(member, "CASH50K")
    # 200,000 - 50,000 = 150,000 paid, half of it for the beer: 75,000 earns, 3.75 -> 4 points.
    sale = quote_and_sale(pho, "ER-3", [BEER, PHO], member, vouchers=[code])
    assert sale["total"] == "150000.00" and sale["points_earned"] == 4
    assert spend(member) == 75000


def test_only_excluded_lines_earn_nothing_at_all(pho):
    member = MemberFactory()
    sale = quote_and_sale(pho, "ER-4", [{**BEER, "quantity": 5}], member)
    assert sale["points_earned"] == 0 and sale["points_balance"] == 0
    assert spend(member) == 0


def test_refunds_reverse_what_the_refunded_lines_earned_and_add_up_exactly(pho):
    member = MemberFactory()
    sale = quote_and_sale(pho, "ER-5", [BEER, PHO, MUG], member, occurred_at=timezone.now().isoformat())
    beer = refund(pho, sale["id"], {"lines": [{"sku": "BIA-HN", "quantity": 1}]}, "er5-1")
    assert beer.status_code == 201, beer.content
    assert beer.json()["points_reversed"] == 0 and spend(member) == 200000
    mug = refund(pho, sale["id"], {"lines": [{"sku": "CoC-SU", "quantity": 1}]}, "er5-2").json()
    assert mug["points_reversed"] == 2 and spend(member) == 100000
    rest = refund(pho, sale["id"], {}, "er5-3").json()
    assert rest["points_reversed"] == 5 and rest["points_balance"] == 0
    assert spend(member) == 0
    assert ledger_drift() == []


def _bonus_rule(day: datetime.date, **extra) -> EarnRule:
    return earn_rule_save(
        rule=EarnRule(
            code="TRA-SEN-20",
            name="Trà sen mới +20 điểm",
            kind=EarnRule.Kind.BONUS,
            skus="TRA-SEN",
            bonus_points=20,
            valid_from=day,
            valid_until=day,
            **extra,
        )
    )


TEA = {"sku": "TRA-SEN", "name": "Trà sen", "category": "tea", "quantity": 2, "unit_price": 40000}


def test_a_product_bonus_adds_its_points_per_item_on_its_days_only(cafe):
    at = quiet_moment()
    _bonus_rule(timezone.localtime(at, HCM).date())
    member = MemberFactory()
    # 80,000 at 5 % = 4 points, plus 2 x 20.
    sale = quote_and_sale(cafe, "ER-6", [TEA], member, at=at)
    assert sale["points_earned"] == 44
    # The day before the rule's one day: the day after may still be in the future (on a weekday
    # afternoon `at` is this morning), and a sale cannot be dated ahead of now.
    later = quote_and_sale(cafe, "ER-7", [TEA], member, at=at - datetime.timedelta(days=1))
    assert later["points_earned"] == 4
    whole = refund(cafe, sale["id"], {"lines": [{"sku": "TRA-SEN", "quantity": 1}]}, "er6-1").json()
    assert whole["points_reversed"] == 22  # half of the line: half its points, bonus included


def test_a_bonus_rule_of_another_brand_does_not_apply(pho):
    at = quiet_moment()
    from stores.models import Brand

    rule = _bonus_rule(timezone.localtime(at, HCM).date())
    rule.brands.set([Brand.objects.get(code="CAFE")])
    sale = quote_and_sale(pho, "ER-8", [TEA], MemberFactory(), at=at)
    assert sale["points_earned"] == 4


def test_an_excluded_line_gets_no_bonus(cafe):
    at = quiet_moment()
    _bonus_rule(timezone.localtime(at, HCM).date())
    sale = quote_and_sale(cafe, "ER-9", [{**TEA, "category": "alcohol"}], MemberFactory(), at=at)
    assert sale["points_earned"] == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "exclude"},  # no SKU nor category
        {"kind": "rate", "categories": "merch"},  # no rate
        {"kind": "rate", "categories": "merch", "rate_percent": Decimal(101)},
        {"kind": "bonus", "skus": "X"},  # no points
        {"kind": "exclude", "categories": "alcohol", "bonus_points": 5},
        {"kind": "bonus", "skus": "X", "bonus_points": 5, "valid_from": datetime.date(2026, 2, 2),
         "valid_until": datetime.date(2026, 2, 1)},
    ],
)  # fmt: skip
def test_a_bad_earn_rule_is_refused_and_nothing_is_written(demo_programme, fields):
    before = list(EarnRule.objects.order_by("pk").values())
    with pytest.raises(ValidationFailed):
        earn_rule_save(rule=EarnRule(code="BAD", name="Bad", **fields))
    assert list(EarnRule.objects.order_by("pk").values()) == before


def test_a_rule_switched_off_stops_at_once(pho):
    rule = EarnRule.objects.get(code="ALCOHOL")
    rule.is_active = False
    earn_rule_save(rule=rule)
    sale = quote_and_sale(pho, "ER-10", [BEER], MemberFactory())
    assert sale["points_earned"] == 5
