"""Refund claw-back (risk.md "Refunds"): points earned and already spent are taken back; unused
vouchers bought with points are voided first (most recent first, only as many as needed); only
what is still missing becomes debt, and a member in debt can neither spend nor redeem
(409 `member-in-debt`) until new points repay it."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from members.models import LedgerEntry, Member
from members.selectors import ledger_drift
from pos.models import Sale
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem
from tests.pos.test_sales_api import QUOTE, SALES, pho_lines, sale_body, state
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db


def earn(client, receipt, member, amount, **extra):
    """A sale now at a PHO till: 5 % of `amount` in points at the MEMBER tier."""
    response = post(
        client, SALES, sale_body(receipt, pho_lines(amount), member, at=timezone.now(), **extra), key=receipt
    )
    assert response.status_code == 201, response.content
    return response.json()


def redeem(client, member, reward="CASH50K", key=None):
    return post(client, f"/api/pos/v1/members/{member.pk}/redemptions", {"reward": reward}, key=key or f"rd-{reward}")


def refund(client, sale_id, key, lines=None):
    body = {} if lines is None else {"lines": lines}
    response = post(client, f"{SALES}/{sale_id}/refunds", body, key=key)
    assert response.status_code == 201, response.content
    return response.json()


def balance_and_debt(member):
    return tuple(Member.objects.filter(pk=member.pk).values_list("points_balance", "points_debt").get())


def assert_ledger_clean():
    assert ledger_drift() == []
    call_command("check_ledger", stdout=StringIO())  # raises CommandError on any drift


# --- The story of the issue ---------------------------------------------------------------------


def test_earn_redeem_refund_voids_the_voucher_and_leaves_the_balance_at_zero_not_minus_50(pho):
    member = MemberFactory()
    sale = earn(pho, "CB-1", member, 1_000_000)
    assert sale["points_earned"] == 50
    redeemed = redeem(pho, member)
    assert redeemed.status_code == 201, redeemed.content
    code = redeemed.json()["voucher"]["code"]
    assert balance_and_debt(member) == (0, 0)

    body = refund(pho, sale["id"], "cb-1")

    assert body["points_reversed"] == 50 and body["points_balance"] == 0
    assert body["vouchers_voided"] == [code] and body["vouchers_returned"] == []
    assert balance_and_debt(member) == (0, 0)
    voucher = Voucher.objects.get(code=code)
    assert voucher.status == Voucher.Status.VOID and voucher.voided_by is None and "CB-1" in voucher.void_reason
    assert pho.get(f"/api/pos/v1/vouchers/{code}").json()["status"] == "void"
    assert pho.get(f"{SALES}/{sale['id']}").json()["refunds"][0]["vouchers_voided"] == [code]
    # The voucher's points came back (a reversal of the exchange), then the claw-back took them.
    kinds = list(LedgerEntry.objects.filter(member=member).order_by("pk").values_list("kind", "points"))
    assert kinds == [("earn", 50), ("spend", -50), ("reverse", 50), ("reverse", -50)]
    member.refresh_from_db()
    assert not member.needs_review
    assert_ledger_clean()


def test_a_voided_voucher_can_no_longer_be_used_at_the_till(pho):
    member = MemberFactory()
    sale = earn(pho, "CB-2", member, 1_000_000)
    code = redeem(pho, member).json()["voucher"]["code"]
    refund(pho, sale["id"], "cb-2")
    before = state()
    response = post(pho, SALES, sale_body("CB-2b", pho_lines(200_000), member, vouchers=[code]), key="use-void")
    assert response.status_code == 422
    problem(response, "voucher-not-applicable")
    assert state() == before


# --- Only as many as needed, most recent first ---------------------------------------------------


def test_a_claw_back_beyond_the_points_held_voids_a_voucher_for_the_rest(pho):
    member = MemberFactory()
    sale = earn(pho, "CB-3", member, 2_000_000)  # 100 points
    code = redeem(pho, member).json()["voucher"]["code"]  # 50 held
    body = refund(pho, sale["id"], "cb-3")
    assert (body["points_reversed"], body["vouchers_voided"], body["points_balance"]) == (100, [code], 0)
    assert balance_and_debt(member) == (0, 0)
    assert_ledger_clean()


def two_lines():
    return [
        {"sku": "LAU", "name": "Lẩu", "category": "pho", "quantity": 1, "unit_price": 1_000_000},
        {"sku": "COM", "name": "Cơm", "category": "pho", "quantity": 1, "unit_price": 1_000_000},
    ]


def test_partial_refunds_void_the_newest_voucher_first_and_only_as_many_as_needed(pho):
    member = MemberFactory()
    sale = post(pho, SALES, sale_body("CB-4", two_lines(), member, at=timezone.now()), key="CB-4").json()
    assert sale["points_earned"] == 100
    older = redeem(pho, member, key="rd-1").json()["voucher"]["code"]
    newer = redeem(pho, member, key="rd-2").json()["voucher"]["code"]
    assert balance_and_debt(member) == (0, 0)

    first = refund(pho, sale["id"], "cb-4a", lines=[{"sku": "LAU", "quantity": 1}])
    assert (first["points_reversed"], first["vouchers_voided"], first["points_balance"]) == (50, [newer], 0)
    assert Voucher.objects.get(code=older).status == Voucher.Status.ISSUED

    second = refund(pho, sale["id"], "cb-4b", lines=[{"sku": "COM", "quantity": 1}])
    assert (second["points_reversed"], second["vouchers_voided"], second["points_balance"]) == (50, [older], 0)
    assert balance_and_debt(member) == (0, 0)
    assert Sale.objects.get(pk=sale["id"]).status == Sale.Status.REFUNDED
    assert_ledger_clean()


def test_a_partial_refund_within_the_points_held_voids_nothing(pho):
    member = MemberFactory()
    sale = post(pho, SALES, sale_body("CB-5", two_lines(), member, at=timezone.now()), key="CB-5").json()
    code = redeem(pho, member).json()["voucher"]["code"]  # 50 of the 100 points left
    body = refund(pho, sale["id"], "cb-5", lines=[{"sku": "LAU", "quantity": 1}])
    assert (body["points_reversed"], body["vouchers_voided"], body["points_balance"]) == (50, [], 0)
    assert Voucher.objects.get(code=code).status == Voucher.Status.ISSUED
    assert_ledger_clean()


def test_the_points_the_refund_gives_back_cover_the_claw_back_before_any_voucher(pho):
    member = MemberFactory(points=105)
    # 1,000,000 with 100 points paid -> 900,000 paid -> 45 points; 5 + 45 = 50 held.
    sale = earn(pho, "CB-6", member, 1_000_000, points_to_redeem=100)
    assert (sale["points_redeemed"], sale["points_earned"], sale["points_balance"]) == (100, 45, 50)
    code = redeem(pho, member).json()["voucher"]["code"]  # 0 held
    body = refund(pho, sale["id"], "cb-6")
    assert (body["points_returned"], body["points_reversed"], body["vouchers_voided"]) == (100, 45, [])
    assert body["points_balance"] == 55
    assert Voucher.objects.get(code=code).status == Voucher.Status.ISSUED
    assert_ledger_clean()


# --- Debt when nothing is left to void ----------------------------------------------------------


def test_a_used_voucher_is_not_voided_the_rest_becomes_debt_that_blocks_spending_until_repaid(pho):
    member = MemberFactory(phone="0913000222")
    sale = earn(pho, "CB-7", member, 1_000_000)  # 50 points
    code = redeem(pho, member).json()["voucher"]["code"]
    used = earn(pho, "CB-7b", member, 150_000, vouchers=[code])  # 100,000 paid -> 5 points
    assert used["points_balance"] == 5

    body = refund(pho, sale["id"], "cb-7")

    assert body["vouchers_voided"] == [] and body["points_reversed"] == 50 and body["points_balance"] == -45
    assert Voucher.objects.get(code=code).status == Voucher.Status.USED
    assert balance_and_debt(member) == (-45, 45)
    summary = pho.get("/api/pos/v1/members/lookup", {"q": "0913000222"}).json()
    assert (summary["points_balance"], summary["points_debt"], summary["points_available"]) == (-45, 45, 0)
    assert_ledger_clean()

    # While in debt: no points payment (sale or quote), no redemption; each refusal writes nothing.
    before = state()
    paying = sale_body("CB-7c", pho_lines(200_000), member, at=timezone.now(), points_to_redeem=10)
    refused = post(pho, SALES, paying, key="in-debt-sale")
    assert refused.status_code == 409
    assert problem(refused, "member-in-debt")["points_debt"] == 45
    assert post(pho, QUOTE, paying).status_code == 409
    refused = redeem(pho, member, key="in-debt-redeem")
    assert refused.status_code == 409
    problem(refused, "member-in-debt")
    assert state() == before

    # Earning still works, and repays the debt first: 1,000,000 -> 50 points, 45 of them owed.
    repaid = earn(pho, "CB-7d", member, 1_000_000)
    assert repaid["points_earned"] == 50 and repaid["points_balance"] == 5
    assert balance_and_debt(member) == (5, 0)
    problem(redeem(pho, member, key="after"), "insufficient-points")  # 5 points: no longer in debt
    assert_ledger_clean()


def test_an_expired_voucher_is_not_voided(pho):
    member = MemberFactory()
    sale = earn(pho, "CB-8", member, 1_000_000)
    code = redeem(pho, member).json()["voucher"]["code"]
    now = timezone.now()
    Voucher.objects.filter(code=code).update(issued_at=now - timedelta(days=30), expires_at=now - timedelta(seconds=1))
    body = refund(pho, sale["id"], "cb-8")
    assert body["vouchers_voided"] == [] and body["points_balance"] == -50
    assert Voucher.objects.get(code=code).status == Voucher.Status.ISSUED  # the nightly job marks it expired
    assert_ledger_clean()


def test_a_replayed_refund_voids_nothing_more(pho):
    member = MemberFactory()
    sale = earn(pho, "CB-9", member, 1_000_000)
    redeem(pho, member)
    first = post(pho, f"{SALES}/{sale['id']}/refunds", {}, key="cb-9")
    before = state()
    again = post(pho, f"{SALES}/{sale['id']}/refunds", {}, key="cb-9")
    assert again.content == first.content and json.loads(again.content)["vouchers_voided"]
    assert state() == before
