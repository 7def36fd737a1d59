"""Paid membership at the till: sell, renew, cancel through the POS API, the member summary, and
the multiplier in the quote and the sale (issue 17 item 4)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.promotions.selectors import AppliedPromotion, PromotionResult
from loyalty_site.core.money import points_for_amount
from members.selectors import programme_settings_get
from memberships.models import PaidMembership
from memberships.services import membership_sell, plan_save
from pos.checkout.membership import multiplier_combine
from stores.models import Store
from tests.factories import MemberFactory
from tests.memberships.conftest import MEMBERSHIPS
from tests.pos.conftest import post
from tiers.selectors import member_tier

pytestmark = pytest.mark.django_db
LINES = [
    {"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 2, "unit_price": 50000},
    {"sku": "TRA-DA", "name": "Trà đá", "category": "drink", "quantity": 2, "unit_price": 5000},
]


def test_sell_then_renew_at_the_till_and_the_summary_shows_the_end(pho, club, member):
    response = post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "CLUB"}, key="club-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["plan"] == "CLUB" and body["status"] == "active" and Decimal(body["fee_paid"]) == 199_000
    first = PaidMembership.objects.get(pk=body["id"])
    assert first.sold_terminal is not None and first.sold_store.code == "PHO-HN01"

    replay = post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "CLUB"}, key="club-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.content == response.content
    assert PaidMembership.objects.filter(member=member).count() == 1

    renewal = post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "club"}, key="club-2")
    assert renewal.status_code == 201, renewal.content
    second = PaidMembership.objects.get(pk=renewal.json()["id"])
    assert second.started_at == first.ends_at

    summary = pho.get("/api/pos/v1/members/lookup", {"q": member.code}).json()
    assert summary["membership"]["plan"] == "CLUB"
    assert summary["membership"]["ends_at"] == timezone.localtime(second.ends_at).isoformat()
    assert summary["membership"]["earn_multiplier"] == "1.50"


def test_a_member_without_membership_shows_null(pho, club, member):
    summary = pho.get("/api/pos/v1/members/lookup", {"q": member.code}).json()
    assert summary["membership"] is None


@pytest.mark.parametrize(
    "path_member, body, status, code",
    [
        (True, {"plan": "GOLD"}, 404, "plan-not-found"),
        (True, {}, 400, "validation-error"),
        (True, {"plan": ""}, 400, "validation-error"),
        (False, {"plan": "CLUB"}, 404, "member-not-found"),
    ],
)
def test_refusals_write_nothing(pho, club, member, path_member, body, status, code):
    member_id = member.pk if path_member else member.pk + 1000
    response = post(pho, MEMBERSHIPS.format(id=member_id), body, key="k")
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].endswith(code)
    assert not PaidMembership.objects.exists()


def test_missing_idempotency_key_is_refused(pho, club, member):
    response = post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "CLUB"})
    assert response.status_code == 400 and response.json()["type"].endswith("idempotency-key-required")
    assert not PaidMembership.objects.exists()


def test_not_renewable_while_active_is_a_409_and_nothing_is_written(pho, club, member):
    club.renewable = False
    club.save()
    assert post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "CLUB"}, key="a").status_code == 201
    response = post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "CLUB"}, key="b")
    assert response.status_code == 409 and response.json()["type"].endswith("membership-active")
    assert PaidMembership.objects.filter(member=member).count() == 1


def test_cancel_within_the_window_refunds_and_after_it_is_refused(pho, club, member):
    sold = post(pho, MEMBERSHIPS.format(id=member.pk), {"plan": "CLUB"}, key="s").json()
    path = MEMBERSHIPS.format(id=member.pk) + f"/{sold['id']}/cancel"
    other = MemberFactory()
    wrong = post(pho, MEMBERSHIPS.format(id=other.pk) + f"/{sold['id']}/cancel", {}, key="w")
    assert wrong.status_code == 404 and wrong.json()["type"].endswith("membership-not-found")
    assert PaidMembership.objects.get(pk=sold["id"]).status == "active"

    cancelled = post(pho, path, {"reason": "đổi ý"}, key="c")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled" and Decimal(cancelled.json()["refund_amount"]) == 199_000
    assert cancelled.json()["membership"] is None

    late = membership_sell(member=member, plan=club, now=timezone.now() - datetime.timedelta(days=15))
    response = post(pho, MEMBERSHIPS.format(id=member.pk) + f"/{late.pk}/cancel", {}, key="late")
    assert response.status_code == 422 and response.json()["type"].endswith("membership-not-cancellable")
    late.refresh_from_db()
    assert late.status == "active" and late.refund_amount == 0


def _quote_and_sale(client, member, receipt):
    body = {"receipt_number": receipt, "member": member.pk, "lines": LINES}
    quote = post(client, "/api/pos/v1/sales/quote", body)
    sale = post(client, "/api/pos/v1/sales", body, key=receipt)
    assert quote.status_code == 200 and sale.status_code == 201, sale.content
    return quote.json(), sale.json()


def test_the_multiplier_applies_in_the_quote_and_the_sale_alike(pho, club, member):
    plain = MemberFactory()
    plain_quote, plain_sale = _quote_and_sale(pho, plain, "R-PLAIN")
    membership_sell(member=member, plan=club)
    quote, sale = _quote_and_sale(pho, member, "R-CLUB")
    assert Decimal(plain_quote["multiplier"]) == 1 and Decimal(quote["multiplier"]) == Decimal("1.5")
    assert quote["points_to_earn"] == sale["points_earned"] == sale["points_to_earn"]
    assert plain_sale["points_earned"] > 0
    programme = programme_settings_get()
    rate = member_tier(member=member).earn_rate_percent
    expected = points_for_amount(
        Decimal(sale["total"]), rate_percent=rate, point_value=programme.point_value, multiplier=Decimal("1.5"),
        mode=programme.rounding_mode,
    )  # fmt: skip
    assert sale["points_earned"] == expected > plain_sale["points_earned"]


def test_the_multiplier_applies_only_at_the_plans_brands(pho, cafe, club, member):
    membership_sell(member=member, plan=club)
    every_brand = {"receipt_number": "Q0", "member": member.pk, "lines": LINES}
    assert Decimal(post(pho, "/api/pos/v1/sales/quote", every_brand).json()["multiplier"]) == Decimal("1.5")
    plan_save(plan=club, brands=[Store.objects.get(code="CAFE-HN01").brand])  # the cached plans follow
    quote, _sale = _quote_and_sale(pho, member, "R-PHO")
    assert Decimal(quote["multiplier"]) == 1
    response = post(cafe, "/api/pos/v1/sales/quote", {"receipt_number": "Q", "member": member.pk, "lines": LINES})
    assert response.status_code == 200, response.content
    assert Decimal(response.json()["multiplier"]) == Decimal("1.5")


def _applied(multiplier, stackable):
    return AppliedPromotion(
        promotion_id=1, code="P", name="P", kind="earn_multiplier", description="", stackable=stackable,
        multiplier=Decimal(multiplier),
    )  # fmt: skip


@pytest.mark.parametrize(
    "applied, membership, expected",
    [
        ([], "1", "1"),
        ([], "1.5", "1.5"),
        ([("2", False)], "1.5", "2"),  # the highest non-stackable wins
        ([("1.2", False)], "1.5", "1.5"),
        ([("2", True)], "1.5", "3"),  # stackable promotions multiply with the winner
        ([("3", False), ("2", True)], "1.5", "6"),
    ],
)
def test_membership_multiplier_combines_as_one_more_non_stackable(applied, membership, expected):
    items = tuple(_applied(m, s) for m, s in applied)
    product = Decimal(1)
    best = max([Decimal(m) for m, s in applied if not s], default=Decimal(1))
    for m, s in applied:
        if s:
            product *= Decimal(m)
    promotions = PromotionResult(
        line_discounts={}, invoice_discount=Decimal(0), multiplier=best * product, bonus_points=0, applied=items
    )
    assert multiplier_combine(promotions=promotions, membership=Decimal(membership)) == Decimal(expected)
