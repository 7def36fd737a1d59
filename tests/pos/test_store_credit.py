"""Store credit at the till (docs/store-credit.md), end to end through the POS API on the demo
programme: CAFE-CASHBACK gives 2 % of what is paid for full-price lines at brand CAFE; credit
pays after the points; refunds give back exactly; every refusal writes nothing."""

from decimal import Decimal

import pytest

from members.demo import DEMO_SETTINGS
from members.models import LedgerEntry, Member, StoreCreditEntry
from members.selectors import ledger_drift, store_credit_drift
from members.services import programme_settings_update, store_credit_adjust
from pos.models import Refund, Sale
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem

SALES = "/api/pos/v1/sales"
QUOTE = "/api/pos/v1/sales/quote"
COFFEE = {"sku": "CF-DEN", "name": "Cà phê đen", "category": "coffee", "quantity": 2, "unit_price": 35000}
CAKE = {"sku": "BANH", "name": "Bánh", "category": "pastry", "quantity": 1, "unit_price": 25000}


def body(receipt, member, lines=(COFFEE, CAKE), **extra):
    return {"receipt_number": receipt, "member": member.pk if member else None, "lines": list(lines), **extra}


def money(value) -> Decimal:
    return Decimal(str(value))


def staff():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="credit-staff", defaults={"is_staff": True})
    return user


def credited(amount=50000):
    member = MemberFactory()
    store_credit_adjust(member=member, amount=Decimal(amount), reason="Goodwill", created_by=staff())
    member.refresh_from_db()
    return member


def consistent():
    assert store_credit_drift() == []
    assert ledger_drift() == []


def snapshot(member):
    member.refresh_from_db()
    return (
        Sale.objects.count(),
        StoreCreditEntry.objects.count(),
        LedgerEntry.objects.count(),
        member.store_credit_balance,
        member.points_balance,
    )


def test_a_cafe_sale_earns_2_percent_and_the_quote_says_the_same(cafe):
    member = MemberFactory()
    quote = post(cafe, QUOTE, body("Q-1", member))
    assert quote.status_code == 200, quote.content
    sale = post(cafe, SALES, body("C-1", member), key="c-1")
    assert sale.status_code == 201, sale.content
    assert money(quote.json()["store_credit_earned"]) == money(sale.json()["store_credit_earned"]) == Decimal(1900)
    assert money(sale.json()["store_credit_redeemed"]) == 0
    assert money(sale.json()["store_credit_balance"]) == Decimal(1900)
    member.refresh_from_db()
    assert member.store_credit_balance == Decimal(1900)
    entry = StoreCreditEntry.objects.get(member=member)
    assert (entry.kind, entry.amount, entry.balance_after) == ("earn", Decimal(1900), Decimal(1900))
    consistent()


def test_no_credit_at_a_brand_without_a_rule_nor_without_a_member(pho, cafe):
    member = MemberFactory()
    response = post(pho, SALES, body("P-1", member), key="p-1")
    assert response.status_code == 201, response.content
    assert money(response.json()["store_credit_earned"]) == 0
    anonymous = post(cafe, SALES, body("C-ANON", None), key="c-anon")
    assert anonymous.status_code == 201, anonymous.content
    assert money(anonymous.json()["store_credit_earned"]) == 0
    assert not StoreCreditEntry.objects.exists()


def test_paying_with_store_credit_comes_after_the_points_and_earns_on_the_money_paid(cafe):
    member = credited(50000)
    quote = post(cafe, QUOTE, body("Q-2", member, store_credit_to_redeem="10000"))
    sale = post(cafe, SALES, body("C-2", member, store_credit_to_redeem="10000"), key="c-2")
    assert sale.status_code == 201, sale.content
    data = sale.json()
    for field in ("total", "store_credit_redeemed", "store_credit_earned", "points_to_earn", "discounts"):
        assert quote.json()[field] == data[field], field
    assert money(data["total"]) == Decimal(85000)
    assert data["discounts"][-1]["source"] == "store_credit"
    assert money(data["discounts"][-1]["amount"]) == Decimal(10000)
    assert money(data["store_credit_earned"]) == Decimal(1700)  # 2 % of the 85,000 paid
    assert money(data["store_credit_balance"]) == Decimal(50000 - 10000 + 1700)
    recorded = Sale.objects.get()
    assert recorded.store_credit_redeemed == Decimal(10000)
    assert recorded.discount_total == 0  # store credit pays: it is no discount
    consistent()


def test_store_credit_beyond_what_is_left_to_pay_is_not_taken(pho):
    member = credited(500000)
    response = post(pho, SALES, body("P-3", member, store_credit_to_redeem="400000"), key="p-3")
    assert response.status_code == 201, response.content
    assert money(response.json()["store_credit_redeemed"]) == Decimal(95000)
    assert money(response.json()["total"]) == 0
    member.refresh_from_db()
    assert member.store_credit_balance == Decimal(405000)
    consistent()


def test_more_than_the_balance_is_refused_and_nothing_is_written(cafe):
    member = credited(50000)
    before = snapshot(member)
    for path, key in ((QUOTE, None), (SALES, "c-4")):
        response = post(cafe, path, body("C-4", member, store_credit_to_redeem="50000.01"), key=key)
        assert response.status_code == 422, response.content
        refusal = problem(response, "insufficient-store-credit")
        assert refusal["store_credit_balance"] == "50000.00"
    assert snapshot(member) == before


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"store_credit_to_redeem": "-1"}, 400, "validation-error"),
        ({"store_credit_to_redeem": "abc"}, 400, "validation-error"),
        ({"store_credit_to_redeem": True}, 400, "validation-error"),
        ({"store_credit_to_redeem": "0.001"}, 400, "validation-error"),
    ],
)
def test_malformed_amounts_are_refused_and_nothing_is_written(cafe, extra, status, code):
    member = credited(50000)
    before = snapshot(member)
    response = post(cafe, SALES, body("C-5", member, **extra), key="c-5")
    assert response.status_code == status, response.content
    problem(response, code)
    assert snapshot(member) == before


def test_store_credit_without_a_member_is_refused(cafe):
    response = post(cafe, SALES, body("C-6", None, store_credit_to_redeem="1000"), key="c-6")
    assert response.status_code == 400, response.content
    assert "store_credit_to_redeem" in problem(response, "validation-error")["errors"]
    assert not Sale.objects.exists()


def test_a_blocked_member_cannot_spend_store_credit(cafe):
    from members.services import member_block

    member = credited(50000)
    member_block(member=member, reason="Fraud check", changed_by=staff())
    before = snapshot(member)
    response = post(cafe, SALES, body("C-7", member, store_credit_to_redeem="1000"), key="c-7")
    assert response.status_code == 409, response.content
    problem(response, "member-blocked")
    assert snapshot(member) == before


def test_store_credit_above_the_free_amount_needs_proof_of_presence(cafe):
    programme_settings_update(
        data={**DEMO_SETTINGS, "presence_proof": "above", "presence_free_store_credit": Decimal(20000)}
    )
    member = credited(50000)
    quote = post(cafe, QUOTE, body("Q-8", member, store_credit_to_redeem="20000"))
    assert quote.json()["member_proof_required"] is False
    quote = post(cafe, QUOTE, body("Q-8", member, store_credit_to_redeem="20001"))
    assert quote.json()["member_proof_required"] is True
    before = snapshot(member)
    response = post(cafe, SALES, body("C-8", member, store_credit_to_redeem="20001"), key="c-8")
    assert response.status_code == 403, response.content
    problem(response, "member-proof-required")
    assert snapshot(member) == before
    free = post(cafe, SALES, body("C-8b", member, store_credit_to_redeem="20000"), key="c-8b")
    assert free.status_code == 201, free.content


def test_refunds_give_back_exactly_in_parts_and_in_full(cafe):
    member = credited(50000)
    sale = post(cafe, SALES, body("C-9", member, store_credit_to_redeem="10000"), key="c-9").json()
    # 95,000 list; 10,000 paid with credit; 1,700 earned (2 % of 85,000).
    part = post(cafe, f"{SALES}/{sale['id']}/refunds", {"lines": [{"sku": "BANH", "quantity": 1}]}, key="r-1")
    assert part.status_code == 201, part.content
    # Paid credit back by list price: 10,000 x 25,000 / 95,000 = 2,631.58 -> 2,632. Earned credit
    # taken back by the line's share: 1,700 x 447.368421 / 1,700 -> 447.
    assert money(part.json()["store_credit_returned"]) == Decimal(2632)
    assert money(part.json()["store_credit_reversed"]) == Decimal(447)
    assert money(part.json()["store_credit_balance"]) == Decimal(50000 - 10000 + 1700 + 2632 - 447)
    rest = post(cafe, f"{SALES}/{sale['id']}/refunds", {}, key="r-2")
    assert rest.status_code == 201, rest.content
    assert money(rest.json()["store_credit_returned"]) == Decimal(10000 - 2632)
    assert money(rest.json()["store_credit_reversed"]) == Decimal(1700 - 447)
    member.refresh_from_db()
    assert member.store_credit_balance == Decimal(50000)  # as before the sale
    recorded = Sale.objects.get()
    assert (recorded.store_credit_returned, recorded.store_credit_reversed) == (Decimal(10000), Decimal(1700))
    detail = cafe.get(f"{SALES}/{sale['id']}").json()
    assert sorted(money(r["store_credit_returned"]) for r in detail["refunds"]) == [Decimal(2632), Decimal(7368)]
    assert Refund.objects.count() == 2
    consistent()


def test_a_refund_never_takes_earned_credit_below_zero(cafe, pho):
    member = MemberFactory()
    sale = post(cafe, SALES, body("C-10", member), key="c-10").json()
    assert money(sale["store_credit_earned"]) == Decimal(1900)
    spent = post(pho, SALES, body("P-10", member, store_credit_to_redeem="1500"), key="p-10")
    assert spent.status_code == 201, spent.content
    refund = post(cafe, f"{SALES}/{sale['id']}/refunds", {}, key="r-10")
    assert refund.status_code == 201, refund.content
    assert money(refund.json()["store_credit_reversed"]) == Decimal(400)
    assert money(refund.json()["store_credit_balance"]) == 0
    reversal = StoreCreditEntry.objects.get(kind="refund-reverse")
    assert (reversal.amount, reversal.amount_not_recovered) == (Decimal(-400), Decimal(1500))
    consistent()


def test_the_member_summary_shows_the_store_credit(cafe):
    member = credited(12345)
    response = cafe.get(f"/api/pos/v1/members/lookup?q={member.code}")
    assert response.status_code == 200, response.content
    assert money(response.json()["store_credit_balance"]) == Decimal(12345)


def test_a_merged_members_store_credit_moves_to_the_survivor(cafe):
    from members.services import member_merge

    keep, gone = credited(1000), credited(2500)
    member_merge(survivor=keep, merged=gone, merged_by=staff(), reason="Same person")
    keep.refresh_from_db()
    gone = Member.objects.get(pk=gone.pk)
    assert (keep.store_credit_balance, gone.store_credit_balance) == (Decimal(3500), 0)
    consistent()


def test_a_sale_paid_with_store_credit_still_counts_for_the_stamp_card(cafe):
    from campaigns.stamps.models import Stamp

    member = credited(100000)
    lines = [{**CAKE, "unit_price": 35000}]  # CAFE-STAMP counts invoices of at least 30,000 đ
    response = post(cafe, SALES, body("C-11", member, lines=lines, store_credit_to_redeem="35000"), key="c-11")
    assert response.status_code == 201, response.content
    assert money(response.json()["total"]) == 0
    assert Stamp.objects.filter(member=member).count() == 1


def test_an_online_order_holds_the_credit_paid_earns_at_completion_and_gives_back_on_cancel(demo_programme):
    from tests.pos.test_orders_api import ORDERS, cancel, complete, shop

    web = shop("CAFE-HN01")
    member = credited(50000)
    kept = post(web, ORDERS, body("W-1", member, store_credit_to_redeem="10000"), key="w-1")
    assert kept.status_code == 201, kept.content
    assert money(kept.json()["store_credit_earned"]) == Decimal(1700)
    member.refresh_from_db()
    assert member.store_credit_balance == Decimal(40000)  # paid now, nothing earned while pending
    assert complete(web, kept.json()["id"], "w-1c").status_code == 200
    member.refresh_from_db()
    assert member.store_credit_balance == Decimal(41700)
    dropped = post(web, ORDERS, body("W-2", member, store_credit_to_redeem="5000"), key="w-2")
    assert dropped.status_code == 201, dropped.content
    assert cancel(web, dropped.json()["id"], "w-2c").status_code == 200
    member.refresh_from_db()
    assert member.store_credit_balance == Decimal(41700)
    consistent()
