"""Refunds: partial and full adding up exactly, what comes back, and every refusal."""

import pytest
from django.utils import timezone

from members.selectors import ledger_drift
from pos.models import Sale
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem, till
from tests.pos.test_sales_api import SALES, coffee, issue, pho_lines, sale_body, state
from tiers.models import TierStatus

pytestmark = pytest.mark.django_db


def refund(client, sale_id, body, key):
    return post(client, f"{SALES}/{sale_id}/refunds", body, key=key)


def record(client, receipt, lines, member, **extra):
    response = post(client, SALES, sale_body(receipt, lines, member, at=timezone.now(), **extra), key=receipt)
    assert response.status_code == 201, response.content
    return response.json()


def mixed_lines():
    return [
        {"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 3, "unit_price": 50000},
        {"sku": "NUOC-CAM", "name": "Nước cam", "category": "drink", "quantity": 2, "unit_price": 30000},
        {"sku": "QUAY", "name": "Quẩy", "category": "side", "quantity": 1, "unit_price": 10000},
    ]


def test_partial_refunds_then_the_rest_add_up_exactly_to_the_sale(pho):
    member = MemberFactory(points=100)
    sale = record(pho, "RF-1", mixed_lines(), member, points_to_redeem=37)
    # 220,000 - 37,000 in points = 183,000 paid -> 9 points (9.15).
    assert (sale["total"], sale["points_earned"], sale["points_balance"]) == ("183000.00", 9, 72)

    first = refund(pho, sale["id"], {"lines": [{"sku": "PHO-GA", "quantity": 1}], "reason": "Khách đổi món"}, "r1")
    assert first.status_code == 201, first.content
    second = refund(pho, sale["id"], {"lines": [{"sku": "NUOC-CAM", "quantity": 2}]}, "r2").json()
    rest = refund(pho, sale["id"], {}, "r3").json()
    parts = [first.json(), second, rest]
    assert sum(p["points_reversed"] for p in parts) == 9  # exactly what was earned
    assert sum(p["points_returned"] for p in parts) == 37  # exactly what was redeemed
    assert sum(float(p["paid_amount"]) for p in parts) == 183000
    assert sum(float(p["amount"]) for p in parts) == 220000
    assert rest["points_balance"] == 100  # back where the member started
    recorded = Sale.objects.get(pk=sale["id"])
    assert recorded.status == "refunded" and all(
        line.refunded_quantity == line.quantity for line in recorded.lines.all()
    )
    assert ledger_drift() == []
    detail = pho.get(f"{SALES}/{sale['id']}").json()
    assert detail["status"] == "refunded" and len(detail["refunds"]) == 3


def test_a_full_refund_gives_back_unexpired_vouchers_and_the_qualifying_spend(cafe):
    member = MemberFactory()
    voucher = issue(member, "CASH50K")
    sale = record(cafe, "RF-2", coffee(4), member, vouchers=[voucher.code])
    spend_before = TierStatus.objects.get(member=member).qualifying_spend
    assert spend_before == 90000
    body = refund(cafe, sale["id"], {"reason": "Hủy đơn"}, "full").json()
    assert body["vouchers_returned"] == [voucher.code]
    voucher.refresh_from_db()
    assert voucher.status == "issued"
    assert TierStatus.objects.get(member=member).qualifying_spend == 0
    assert body["points_balance"] == 0


def test_a_partial_refund_keeps_the_vouchers_used(cafe):
    member = MemberFactory()
    voucher = issue(member, "CASH50K")
    sale = record(cafe, "RF-3", coffee(4), member, vouchers=[voucher.code])
    body = refund(cafe, sale["id"], {"lines": [{"sku": "CF-SUA", "quantity": 1}]}, "part").json()
    assert body["vouchers_returned"] == []
    voucher.refresh_from_db()
    assert voucher.status == "used"


def test_a_full_refund_reverts_the_upgrade_the_sale_caused(pho):
    member = MemberFactory()
    sale = record(pho, "RF-4", pho_lines(5_000_000), member)
    assert sale["tier_changed"] and TierStatus.objects.get(member=member).tier.code == "VIP"
    refund(pho, sale["id"], {}, "undo")
    assert TierStatus.objects.get(member=member).tier.code == "MEMBER"


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [{"sku": "PHO-GA", "quantity": 4}]},
        {"lines": [{"sku": "NOT-SOLD", "quantity": 1}]},
        {"lines": [{"sku": "PHO-GA", "quantity": 2}, {"sku": "PHO-GA", "quantity": 2}]},
    ],
)
def test_refunding_more_than_was_sold_is_422_and_nothing_changes(pho, body):
    member = MemberFactory()
    sale = record(pho, "RF-5", mixed_lines(), member)
    before = state()
    response = refund(pho, sale["id"], body, "too-much")
    assert response.status_code == 422
    problem(response, "refund-exceeds-sale")
    assert state() == before


def test_refunding_a_refunded_sale_is_422_and_nothing_changes(pho):
    member = MemberFactory()
    sale = record(pho, "RF-6", mixed_lines(), member)
    refund(pho, sale["id"], {}, "all")
    before = state()
    problem(refund(pho, sale["id"], {}, "again"), "refund-exceeds-sale")
    assert state() == before


def test_refund_refusals_for_bad_input_unknown_sale_and_missing_key(pho):
    member = MemberFactory()
    sale = record(pho, "RF-7", mixed_lines(), member)
    before = state()
    assert (
        "lines.0.quantity"
        in problem(refund(pho, sale["id"], {"lines": [{"sku": "PHO-GA", "quantity": 0}]}, "bad"), "validation-error")[
            "errors"
        ]
    )
    problem(refund(pho, 999999, {}, "nope"), "not-found")
    problem(post(pho, f"{SALES}/{sale['id']}/refunds", {}), "idempotency-key-required")
    problem(refund(till("CAFE-HN01", name="x"), sale["id"], {}, "other-brand"), "not-found")
    assert state() == before


def test_a_refund_replayed_with_its_key_changes_nothing(pho):
    member = MemberFactory()
    sale = record(pho, "RF-8", mixed_lines(), member)
    first = refund(pho, sale["id"], {"lines": [{"sku": "QUAY", "quantity": 1}]}, "once")
    before = state()
    again = refund(pho, sale["id"], {"lines": [{"sku": "QUAY", "quantity": 1}]}, "once")
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert state() == before
