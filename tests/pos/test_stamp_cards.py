"""The demo's stamp card CAFE-STAMP: every 5th sale of a member at a CAFE store within 30 days,
each of at least 30,000 VND, issues a CAFE-FREE voucher, once per completed card; refunds take
the stamp back (campaigns.stamps.services); concurrent sales of one member complete one card."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.stamps.models import Stamp, StampCard, StampProgress
from campaigns.stamps.services import stamp_card_save, stamps_record
from loyalty_site.core.errors import ValidationFailed
from pos.models import Sale
from stores.models import Store
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.conftest import post
from tests.pos.test_refunds_api import refund
from tests.pos.test_sales_api import SALES, coffee, pho_lines, sale_body
from tests.pos.test_sales_concurrency import call, keys, programme  # noqa: F401 -- fixture
from vouchers.models import Voucher

CARD = "CAFE-STAMP"


def sell(client, receipt, member, lines=None, minutes_ago=0):
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    response = post(client, SALES, sale_body(receipt, lines or coffee(1, 35000), member, at=at), key=receipt)
    assert response.status_code == 201, response.content
    return response.json()


def free_coffees(member):
    return list(Voucher.objects.filter(member=member, reward__code="CAFE-FREE").values_list("status", flat=True))


def progress(member) -> tuple[int, int]:
    row = StampProgress.objects.get(card__code=CARD, member=member)
    return row.stamps, row.cards_completed


@pytest.mark.django_db
def test_the_fifth_sale_gives_a_free_coffee_once_and_a_new_card_opens(cafe):
    member = MemberFactory()
    for n in range(4):
        sell(cafe, f"ST-{n}", member, minutes_ago=50 - n)
    assert free_coffees(member) == [] and progress(member) == (4, 0)
    sell(cafe, "ST-4", member, minutes_ago=10)
    assert free_coffees(member) == ["issued"] and progress(member) == (0, 1)
    sell(cafe, "ST-5", member)
    assert free_coffees(member) == ["issued"] and progress(member) == (1, 1)
    summary = cafe.get("/api/pos/v1/members/lookup", {"q": member.code}).json()
    assert [v["kind"] for v in summary["vouchers"]] == ["free_item"]


@pytest.mark.django_db
def test_small_sales_and_sales_at_another_brand_get_no_stamp(cafe, pho):
    member = MemberFactory()
    sell(cafe, "SM-1", member, lines=coffee(1, 29000))
    sell(pho, "SM-2", member, lines=pho_lines(100000))
    assert not Stamp.objects.filter(member=member).exists()


@pytest.mark.django_db
def test_a_card_not_completed_within_30_days_starts_again(cafe):
    member = MemberFactory()
    card = StampCard.objects.get(code=CARD)
    store = Store.objects.get(code="CAFE-HN01")
    start = timezone.now() - datetime.timedelta(days=60)
    with transaction.atomic():
        for n in range(4):
            stamps_record(
                member=member,
                store=store,
                sale_reference=f"x:{n}",
                invoice=Decimal(30000),
                at=start + datetime.timedelta(days=n),
            )
        # Day 31 after the first stamp: the card starts again with this sale.
        stamps_record(
            member=member,
            store=store,
            sale_reference="x:late",
            invoice=Decimal(30000),
            at=start + datetime.timedelta(days=31),
        )
    assert progress(member) == (1, 0) and free_coffees(member) == []
    assert card.stamps_needed == 5


@pytest.mark.django_db
def test_a_full_refund_takes_the_stamp_back_and_voids_an_unused_reward(cafe):
    member = MemberFactory()
    sales = [sell(cafe, f"RF-{n}", member, minutes_ago=50 - n) for n in range(5)]
    assert free_coffees(member) == ["issued"]
    assert refund(cafe, sales[4]["id"], {}, "rf-4").status_code == 201
    assert free_coffees(member) == ["void"] and progress(member) == (0, 1)
    sell(cafe, "RF-5", member)
    sell(cafe, "RF-6", member)
    assert refund(cafe, sales[3]["id"], {}, "rf-3").status_code == 201  # a stamp of a completed card: stands
    assert refund(cafe, Sale.objects.get(receipt_number="RF-6").pk, {}, "rf-6").status_code == 201
    assert progress(member) == (1, 1)
    # A partial refund leaves the stamp.
    assert refund(cafe, sales[0]["id"], {"lines": [{"sku": "CF-SUA", "quantity": 1}]}, "rf-0").status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [{"stamps_needed": 1}, {"period_days": 0}, {"min_amount": Decimal(-1)}])
def test_a_bad_stamp_card_is_refused_and_nothing_is_written(demo_programme, fields):
    card = StampCard.objects.get(code=CARD)
    before = list(StampCard.objects.values())
    values = {"code": "BAD", "name": "Bad", "brand_id": card.brand_id, "reward_id": card.reward_id,
              "stamps_needed": 5, "period_days": 30, **fields}  # fmt: skip
    with pytest.raises(ValidationFailed):
        stamp_card_save(card=StampCard(**values))
    assert list(StampCard.objects.values()) == before


@pytest.mark.django_db(transaction=True)
def test_five_concurrent_sales_of_one_member_complete_exactly_one_card(programme):  # noqa: F811
    member = MemberFactory()
    tills = keys(5, store="CAFE-HN01")
    at = timezone.now().isoformat()

    def sale(i):
        body = {"receipt_number": f"CC-{i}", "member": member.pk, "occurred_at": at, "lines": coffee(1, 35000)}
        return call(tills[i], SALES, body, f"cc-{i}")

    results = run_in_threads(5, sale)
    assert [r[0] for r in results] == [201] * 5, results
    assert Voucher.objects.filter(member=member, reward__code="CAFE-FREE").count() == 1
    assert progress(member) == (0, 1)
    assert Stamp.objects.filter(member=member, completed=True).count() == 1
