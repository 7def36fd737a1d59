"""Shared codes (issue 16): CHAOBAN of the demo, 20,000 VND off an invoice of at least 100,000
VND, once per member, 10,000 uses in all, every brand, this year; given at the till in
`"vouchers"`. Every refusal writes nothing; a full refund gives the use back."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import MemberFactory
from tests.pos.conftest import post, problem
from tests.pos.test_refunds_api import refund
from tests.pos.test_sales_api import QUOTE, SALES, pho_lines, sale_body, state
from vouchers.models import SharedCode, SharedCodeUse
from vouchers.services import shared_code_save

pytestmark = pytest.mark.django_db


def chaoban_sale(client, receipt, member, amount=120_000, code="chaoban", **extra):
    return post(client, SALES, sale_body(receipt, pho_lines(amount), member, vouchers=[code], **extra), key=receipt)


def test_chaoban_takes_20000_off_once_per_member(pho, cafe):
    member = MemberFactory(points=0)
    first = chaoban_sale(pho, "CB-1", member)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["total"] == "100000.00"
    assert [(d["source"], d["code"], d["amount"]) for d in body["discounts"]] == [("voucher", "CHAOBAN", "20000.00")]
    use = SharedCodeUse.objects.get()
    assert (use.member_id, use.sale_reference, use.discount) == (member.pk, f"sale:{body['id']}", 20000)
    assert SharedCode.objects.get(code="CHAOBAN").uses_count == 1

    before = state()
    uses = list(SharedCodeUse.objects.values_list("pk", flat=True))
    again = chaoban_sale(cafe, "CB-2", member)  # another brand, the same member
    assert problem(again, "voucher-used")["reason"] == "used"
    assert state() == before
    assert list(SharedCodeUse.objects.values_list("pk", flat=True)) == uses
    assert SharedCode.objects.get(code="CHAOBAN").uses_count == 1

    other = chaoban_sale(cafe, "CB-3", MemberFactory(points=0))  # every brand
    assert other.status_code == 201, other.content


def test_the_quote_says_what_the_sale_records(pho):
    member = MemberFactory(points=0)
    body = sale_body("CB-Q", pho_lines(150_000), member, vouchers=["CHAO-BAN"])
    quote = post(pho, QUOTE, body)
    assert quote.status_code == 200, quote.content
    sale = post(pho, SALES, body, key="CB-Q")
    for field in ("subtotal", "discounts", "total", "points_to_earn"):
        assert sale.json()[field] == quote.json()[field], field
    assert SharedCodeUse.objects.count() == 1  # the quote wrote nothing, the sale one use


@pytest.mark.parametrize(
    ("amount", "member", "problem_code", "reason"),
    [
        (99_000, True, "voucher-not-applicable", "below-minimum"),
        (120_000, False, "voucher-not-applicable", "member-required"),
    ],
)
def test_refusals_write_nothing(pho, amount, member, problem_code, reason):
    buyer = MemberFactory(points=0) if member else None
    before = state()
    response = chaoban_sale(pho, "CB-R", buyer, amount=amount)
    assert problem(response, problem_code)["reason"] == reason
    assert state() == before
    assert not SharedCodeUse.objects.exists() and SharedCode.objects.get(code="CHAOBAN").uses_count == 0


def test_outside_its_dates_and_used_up_it_is_refused(pho):
    code = SharedCode.objects.get(code="CHAOBAN")
    member = MemberFactory(points=0)
    today = timezone.localdate()
    code.valid_until = today - datetime.timedelta(days=400)
    code.valid_from = today - datetime.timedelta(days=500)
    shared_code_save(shared_code=code)
    before = state()
    assert problem(chaoban_sale(pho, "CB-D", member), "voucher-expired")["reason"] == "expired"
    assert state() == before

    code.valid_from = code.valid_until = None
    code.total_limit = 1
    shared_code_save(shared_code=code)
    assert chaoban_sale(pho, "CB-U1", member).status_code == 201
    other = MemberFactory(points=0)
    before = state()
    assert problem(chaoban_sale(pho, "CB-U2", other), "voucher-used")["reason"] == "used"
    assert state() == before
    assert SharedCode.objects.get(pk=code.pk).uses_count == 1


def test_a_full_refund_gives_the_use_back(pho):
    member = MemberFactory(points=0)
    sale = chaoban_sale(pho, "CB-F", member).json()
    response = refund(pho, sale["id"], {"reason": "Khách trả"}, "cb-refund")
    assert response.status_code == 201, response.content
    assert "CHAOBAN" in response.json()["vouchers_returned"]
    assert SharedCodeUse.objects.get().returned_at is not None
    assert SharedCode.objects.get(code="CHAOBAN").uses_count == 0
    assert chaoban_sale(pho, "CB-F2", member).status_code == 201  # the member may use it again
    # a retry of the refund changes nothing
    assert refund(pho, sale["id"], {"reason": "Khách trả"}, "cb-refund").status_code == 201
    assert SharedCode.objects.get(code="CHAOBAN").uses_count == 1


def test_the_demo_code_is_built_once():
    from stores.demo import demo_stores_load
    from vouchers.demo import demo_shared_codes_load, demo_vouchers_load

    demo_stores_load()
    demo_vouchers_load()
    first = list(SharedCode.objects.values_list("code", "total_limit", "per_member_limit", "valid_from", "valid_until"))
    assert demo_shared_codes_load() == 0
    demo_vouchers_load()
    assert (
        list(SharedCode.objects.values_list("code", "total_limit", "per_member_limit", "valid_from", "valid_until"))
        == first
    )
    year = timezone.localdate().year
    assert first == [("CHAOBAN", 10_000, 1, datetime.date(year, 1, 1), datetime.date(year, 12, 31))]
