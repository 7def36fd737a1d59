"""Issue 16 redemption limits of the demo programme: points pay at most 50 % of an invoice after
discounts, and fewer than 10 points are not taken. What is not taken stays with the member, and
`points_redeemed` says how many were (pos-api.md)."""

from decimal import Decimal

import pytest

from loyalty_site.core.errors import ValidationFailed
from members.models import LedgerEntry, ProgrammeSettings
from members.selectors import programme_settings_get
from members.services import programme_settings_update
from tests.factories import MemberFactory
from tests.pos.test_earn_rules import quote_and_sale
from tests.pos.test_sales_api import issue, pho_lines

pytestmark = pytest.mark.django_db


def spent(member) -> int:
    return -sum(e.points for e in LedgerEntry.objects.filter(member=member, points__lt=0))


def test_points_pay_at_most_half_of_the_invoice(pho):
    member = MemberFactory(points=300)
    sale = quote_and_sale(pho, "RL-1", pho_lines(100000), member, points_to_redeem=300)
    # 50 % of 100,000 = 50 points; 50,000 paid earns 2.5 -> 3.
    assert (sale["points_redeemed"], sale["total"], sale["points_earned"]) == (50, "50000.00", 3)
    assert sale["points_balance"] == 300 - 50 + 3 and spent(member) == 50


def test_the_cap_is_on_the_invoice_after_discounts(pho):
    member = MemberFactory(points=300)
    code = issue(member, "CASH50K")
    sale = quote_and_sale(pho, "RL-2", pho_lines(150000), member, vouchers=[code], points_to_redeem=300)
    assert sale["points_redeemed"] == 50 and sale["total"] == "50000.00"


def test_fewer_than_the_minimum_are_not_taken(pho):
    member = MemberFactory(points=300)
    sale = quote_and_sale(pho, "RL-3", pho_lines(100000), member, points_to_redeem=9)
    assert sale["points_redeemed"] == 0 and sale["total"] == "100000.00"
    assert spent(member) == 0
    assert [d["source"] for d in sale["discounts"]] == []


def test_a_cap_below_the_minimum_takes_nothing(pho):
    member = MemberFactory(points=300)
    # 50 % of 15,000 = 7 points, fewer than 10.
    sale = quote_and_sale(pho, "RL-4", pho_lines(15000), member, points_to_redeem=100)
    assert sale["points_redeemed"] == 0 and spent(member) == 0


def test_without_limits_points_pay_the_whole_invoice(pho):
    programme_settings_update(data={"redeem_max_percent": None, "redeem_min_points": 0})
    member = MemberFactory(points=300)
    sale = quote_and_sale(pho, "RL-5", pho_lines(100000), member, points_to_redeem=300)
    assert sale["points_redeemed"] == 100 and sale["total"] == "0.00"


@pytest.mark.parametrize("percent", [Decimal(0), Decimal(-5), Decimal(101)])
def test_a_bad_cap_is_refused_and_nothing_changes(demo_programme, percent):
    before = ProgrammeSettings.objects.values().get()
    with pytest.raises(ValidationFailed):
        programme_settings_update(data={"redeem_max_percent": percent})
    assert ProgrammeSettings.objects.values().get() == before
    assert programme_settings_get().redeem_max_percent == Decimal(50)
