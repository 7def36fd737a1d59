"""Issue 17: every change that matters outside is written as a domain event in the change's own
transaction: one event per committed change, none for a refused or rolled-back one."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from loyalty_site.core.events import EventKind, EventSpec, events_collected, record_event, record_events_bulk
from loyalty_site.core.models import DomainEvent
from members.errors import InsufficientPoints
from members.models import LedgerEntry
from members.services import (
    member_block,
    member_consent_set,
    member_update,
    points_adjust,
    points_earn,
    points_expire_due,
    points_spend,
)
from members.services.bulk import NewMember, OpeningBalance, members_create_bulk, points_credit_opening_bulk
from tests.factories import MemberFactory
from tests.pos.conftest import post
from tests.vouchers.factories import RewardFactory
from tiers.models import Tier
from tiers.services import tier_set
from vouchers.models import Voucher
from vouchers.services import voucher_issue, voucher_void
from vouchers.services.bulk import vouchers_issue_bulk

pytestmark = pytest.mark.django_db
SALES = "/api/pos/v1/sales"


class Boom(Exception):
    pass


def mark() -> int:
    return DomainEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def kinds_since(since: int) -> list[str]:
    return list(DomainEvent.objects.filter(pk__gt=since).order_by("pk").values_list("kind", flat=True))


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("lead-events", password="x", is_staff=True)


# --- core -------------------------------------------------------------------------------------


def test_record_event_commits_with_the_change_and_rolls_back_with_it():
    before = mark()
    with transaction.atomic():
        record_event(kind=EventKind.MEMBER_CHANGED, subject_type="member", subject_id=1, member_id=1)
    with pytest.raises(Boom), transaction.atomic():
        record_event(kind=EventKind.MEMBER_CHANGED, subject_type="member", subject_id=2, member_id=2)
        raise Boom
    events = DomainEvent.objects.filter(pk__gt=before)
    assert [e.subject_id for e in events] == ["1"]


def test_a_collecting_block_writes_its_events_in_one_insert_or_not_at_all(django_assert_num_queries):
    before = mark()
    with transaction.atomic(), django_assert_num_queries(1), events_collected():
        for n in range(5):
            record_event(kind=EventKind.POINTS_EARNED, subject_type="ledger_entry", subject_id=n)
        record_events_bulk([EventSpec(EventKind.SALE_RECORDED, "sale", 9)])
    assert len(kinds_since(before)) == 6
    before = mark()
    with pytest.raises(Boom), transaction.atomic(), events_collected():
        record_event(kind=EventKind.POINTS_EARNED, subject_type="ledger_entry", subject_id=1)
        raise Boom
    assert kinds_since(before) == []


def test_an_unknown_kind_is_a_bug_refused_before_anything_is_written():
    before = mark()
    with pytest.raises(ValueError, match="unknown event kind"):
        record_event(kind="points.stolen", subject_type="x", subject_id=1)
    with pytest.raises(ValueError), events_collected():
        record_event(kind="points.stolen", subject_type="x", subject_id=1)
    assert kinds_since(before) == []


# --- members, consent, points -----------------------------------------------------------------


def test_enrolment_with_consent_then_changes_each_write_their_event_once(staff):
    before = mark()
    member = MemberFactory(consents={"sms": True})
    assert kinds_since(before) == ["member.enrolled", "consent.changed"]
    enrolled = DomainEvent.objects.get(pk__gt=before, kind="member.enrolled")
    assert enrolled.member_id == member.pk and enrolled.payload["member_code"] == member.code
    assert "phone" not in enrolled.payload and "name" not in enrolled.payload  # no personal data out

    before = mark()
    member_update(member=member, data={"name": "Trần Thị B", "email": "b@example.com"}, changed_by=staff)
    member_consent_set(member=member, channel="email", given=True, source="staff", by=staff)
    member_consent_set(member=member, channel="email", given=True, source="staff", by=staff)  # no change
    member_block(member=member, reason="kiểm tra", changed_by=staff)
    assert kinds_since(before) == ["member.changed", "consent.changed", "member.changed"]
    changed = DomainEvent.objects.filter(pk__gt=before, kind="member.changed").order_by("pk").first()
    assert changed.payload["fields"] == ["email", "name"]


def test_a_refused_member_change_writes_no_event():
    member = MemberFactory()
    other = MemberFactory()
    before = mark()
    with pytest.raises(Exception):
        member_update(member=member, data={"phone": other.phone})
    assert kinds_since(before) == []


def test_points_earned_spent_adjusted_expired_each_one_event(staff):
    member = MemberFactory()
    before = mark()
    points_earn(member=member, points=100, reference="t:earn", kind=LedgerEntry.Kind.BONUS)
    points_earn(member=member, points=100, reference="t:earn", kind=LedgerEntry.Kind.BONUS)  # a retry
    points_spend(member=member, points=30, reference="t:spend")
    points_adjust(member=member, points=-5, reason="sửa", created_by=staff)
    assert kinds_since(before) == ["points.earned", "points.spent", "points.adjusted"]
    spent = DomainEvent.objects.get(pk__gt=before, kind="points.spent")
    assert spent.payload["points"] == -30 and spent.payload["balance_after"] == 70

    before = mark()
    with pytest.raises(InsufficientPoints):
        points_spend(member=member, points=10_000, reference="t:too-much")
    with pytest.raises(Boom), transaction.atomic():
        points_earn(member=member, points=5, reference="t:rolled-back", kind=LedgerEntry.Kind.BONUS)
        raise Boom
    assert kinds_since(before) == []

    old = timezone.now() - datetime.timedelta(days=800)
    points_earn(member=member, points=7, reference="t:old", kind=LedgerEntry.Kind.BONUS, occurred_at=old)
    before = mark()
    points_expire_due()
    points_expire_due()  # the same day again: nothing twice
    assert kinds_since(before) == ["points.expired"]


def test_bulk_enrolment_and_opening_balances_write_one_event_per_row():
    before = mark()
    ids = members_create_bulk(
        members=[NewMember(name=f"Khách {n}", phone=f"+8490900000{n}") for n in range(3)], channel="import"
    )
    assert kinds_since(before) == ["member.enrolled"] * 3
    assert set(DomainEvent.objects.filter(pk__gt=before).values_list("member_id", flat=True)) == set(ids.values())
    before = mark()
    points_credit_opening_bulk(
        openings=[OpeningBalance(member_id=pk, points=10, earned_at=timezone.now()) for pk in ids.values()]
    )
    assert kinds_since(before) == ["points.earned"] * 3


# --- tiers and vouchers -----------------------------------------------------------------------


def test_tier_change_by_staff_is_one_event(demo_programme, staff):
    member = MemberFactory()
    top = Tier.objects.order_by("-rank").first() if hasattr(Tier, "rank") else Tier.objects.last()
    before = mark()
    tier_set(member=member, tier=top, reason="khách VIP", staff_user=staff)
    assert "tier.changed" in kinds_since(before)
    event = DomainEvent.objects.get(pk__gt=before, kind="tier.changed")
    assert event.payload["to_tier"] == top.code and event.member_id == member.pk


def test_voucher_issued_and_voided_once_each_and_bulk_issue_one_per_voucher(demo_programme, staff):
    member = MemberFactory()
    reward = RewardFactory()
    before = mark()
    voucher = voucher_issue(
        reward=reward, member=member, channel="staff", issued_by=staff, reason="quà", reference="v1"
    )
    voucher_issue(reward=reward, member=member, channel="staff", issued_by=staff, reason="quà", reference="v1")
    voucher_void(voucher=voucher, by=staff, reason="nhầm")
    assert kinds_since(before) == ["voucher.issued", "voucher.voided"]
    issued = DomainEvent.objects.get(pk__gt=before, kind="voucher.issued")
    assert issued.payload["voucher_id"] == voucher.pk and "code" not in issued.payload

    others = [MemberFactory() for _ in range(3)]
    before = mark()
    vouchers_issue_bulk(reward=reward, members=[m.pk for m in others], reference_for=lambda pk: f"bulk:{pk}")
    events = DomainEvent.objects.filter(pk__gt=before, kind="voucher.issued")
    assert sorted(e.member_id for e in events) == sorted(m.pk for m in others)
    assert {int(e.subject_id) for e in events} == set(
        Voucher.objects.filter(member__in=others).values_list("pk", flat=True)
    )


# --- sales ------------------------------------------------------------------------------------

LINES = [{"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 2, "unit_price": 50000}]


def test_a_sale_and_its_refund_write_their_events_once_and_a_refused_sale_none(pho):
    member = MemberFactory(points=200)
    before = mark()
    body = {"receipt_number": "EV-1", "member": member.pk, "lines": LINES, "points_to_redeem": 20}
    first = post(pho, SALES, body, key="ev-1")
    assert first.status_code == 201, first.content
    assert post(pho, SALES, body, key="ev-1").status_code == 201  # the replay writes nothing
    assert sorted(kinds_since(before)) == ["points.earned", "points.spent", "sale.recorded"]
    recorded = DomainEvent.objects.get(pk__gt=before, kind="sale.recorded")
    assert recorded.payload["sale_id"] == first.json()["id"] and recorded.payload["total"] == "80000.00"

    before = mark()
    refused = post(pho, SALES, {**body, "receipt_number": "EV-2", "points_to_redeem": 99_999}, key="ev-2")
    assert refused.status_code >= 400
    assert kinds_since(before) == []

    before = mark()
    assert post(pho, f"{SALES}/{first.json()['id']}/refunds", {}, key="ev-r1").status_code == 201
    assert post(pho, f"{SALES}/{first.json()['id']}/refunds", {}, key="ev-r1").status_code == 201
    kinds = kinds_since(before)
    assert kinds.count("sale.refunded") == 1 and kinds.count("points.reversed") == 2


# --- the other bulk services ------------------------------------------------------------------


def test_the_daily_tier_evaluation_writes_one_event_per_member_moved():
    from tests.tiers.conftest import enrol, spend
    from tiers.demo import demo_tiers_load
    from tiers.services import tiers_evaluate

    demo_tiers_load()
    lapsed = [enrol(email=f"lapsed{i}@example.vn") for i in range(3)]
    for i, member in enumerate(lapsed):
        spend(member, 6_000_000, f"sale:ev{i}", days_ago=400)
    before = mark()
    assert tiers_evaluate().downgraded == 3
    tiers_evaluate()  # the same day again: nothing twice
    events = DomainEvent.objects.filter(pk__gt=before)
    assert sorted((e.kind, e.member_id, e.payload["to_tier"]) for e in events) == sorted(
        ("tier.changed", m.pk, "MEMBER") for m in lapsed
    )


def test_an_import_filling_empty_fields_names_the_fields_it_filled():
    from members.services.bulk import members_fill_empty_bulk

    empty = MemberFactory(email="")
    full = MemberFactory(email="co@example.vn")
    before = mark()
    members_fill_empty_bulk(fills=[(empty.pk, {"email": "moi@example.vn"}), (full.pk, {"email": "khac@example.vn"})])
    events = list(DomainEvent.objects.filter(pk__gt=before))
    assert [(e.kind, e.member_id, e.payload["fields"]) for e in events] == [("member.changed", empty.pk, ["email"])]


# --- online orders (merged from i17-orders) ----------------------------------------------------


def test_an_online_order_placed_completed_or_cancelled_writes_each_event_once(pho):
    from tests.pos.test_orders_api import cancel, complete, order, shop

    web = shop()
    member = MemberFactory(points=200)
    before = mark()
    placed = order(web, "WEB-1", member, points_to_redeem=20)
    assert placed.status_code == 201, placed.content
    assert sorted(kinds_since(before)) == ["order.placed", "points.spent"]  # nothing earned yet
    assert DomainEvent.objects.get(pk__gt=before, kind="order.placed").payload["order_status"] == "pending"

    before = mark()
    assert complete(web, placed.json()["id"], "c-1").status_code == 200
    assert complete(web, placed.json()["id"], "c-1").status_code == 200  # a retry
    assert sorted(kinds_since(before)) == ["order.completed", "points.earned"]

    other = order(web, "WEB-2", member, points_to_redeem=10)
    before = mark()
    assert cancel(web, other.json()["id"], "x-1").status_code == 200
    assert cancel(web, other.json()["id"], "x-2").status_code == 200  # cancelled already: nothing new
    assert sorted(kinds_since(before)) == ["order.cancelled", "points.reversed"]
    before = mark()
    assert complete(web, other.json()["id"], "c-2").status_code == 409  # refused: nothing written
    assert kinds_since(before) == []


def test_store_credit_earned_spent_adjusted_each_one_event_and_a_refused_or_rolled_back_one_none(staff):
    from decimal import Decimal

    from members.errors import InsufficientStoreCredit
    from members.services.credit import store_credit_adjust, store_credit_earn, store_credit_spend

    member = MemberFactory()
    before = mark()
    store_credit_earn(member=member, amount=Decimal("5000"), reference="t:credit-earn")
    store_credit_earn(member=member, amount=Decimal("5000"), reference="t:credit-earn")  # a retry
    store_credit_spend(member=member, amount=Decimal("2000"), reference="t:credit-spend")
    store_credit_adjust(member=member, amount=Decimal("-500"), reason="sửa", created_by=staff)
    assert kinds_since(before) == ["store_credit.changed"] * 3
    spent = DomainEvent.objects.get(pk__gt=before, payload__credit_kind="spend")
    assert spent.payload["amount"] == "-2000.00" and spent.payload["balance_after"] == "3000.00"
    assert spent.member_id == member.pk and spent.payload["member_code"] == member.code

    before = mark()
    with pytest.raises(InsufficientStoreCredit):
        store_credit_spend(member=member, amount=Decimal("1000000"), reference="t:credit-too-much")
    with pytest.raises(Boom), transaction.atomic():
        store_credit_earn(member=member, amount=Decimal("100"), reference="t:credit-rolled-back")
        raise Boom
    assert kinds_since(before) == []
