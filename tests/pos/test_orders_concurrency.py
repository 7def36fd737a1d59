"""The races of online orders with real threads (SQLite and PostgreSQL; run them on PostgreSQL with
`DATABASE_URL`): complete and cancel of one order at once (exactly one wins), held points spent by
tills at the same time (never twice, never below zero), and a cancellation giving points back
while tills spend them. The ledger invariant holds after each race."""

import json

import pytest

from members.models import LedgerEntry
from members.selectors import ledger_drift
from pos.models import Sale
from stores.models import Store, Terminal
from stores.services import terminal_create
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.test_sales_concurrency import body, call, keys, programme  # noqa: F401 -- the fixture
from vouchers.models import Voucher

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("programme")]
ORDERS = "/api/pos/v1/orders"
SALES = "/api/pos/v1/sales"


def online_key(store="PHO-HN01", name="web"):
    return terminal_create(store=Store.objects.get(code=store), name=name, kind=Terminal.Kind.ONLINE)[1]


def place(key, receipt, member, **extra):
    status, content = call(key, ORDERS, body(receipt, member, **extra), f"place-{receipt}")
    assert status == 201, content
    return json.loads(content)["id"]


def test_complete_and_cancel_at_the_same_time_exactly_one_wins():
    member = MemberFactory(points=100)
    web = online_key()
    orders = [place(web, f"RACE-{i}", member, points_to_redeem=10) for i in range(4)]
    for order_id in orders:
        paths = [f"{ORDERS}/{order_id}/complete", f"{ORDERS}/{order_id}/cancel"]
        results = run_in_threads(
            2, lambda i, paths=paths, order_id=order_id: call(web, paths[i], {}, f"{order_id}-{i}")
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409], results
        winner = "completed" if results[0][0] == 200 else "cancelled"
        assert Sale.all_objects.get(pk=order_id).order_status == winner
        earned = LedgerEntry.objects.filter(reference=f"sale:{order_id}:earn").exists()
        returned = LedgerEntry.objects.filter(reference=f"sale:{order_id}:cancel:redeem").exists()
        assert (earned, returned) == (winner == "completed", winner == "cancelled")
        assert ledger_drift() == []
    member.refresh_from_db()
    completed = Sale.all_objects.filter(pk__in=orders, order_status="completed")
    # 100 - 10 held per order + 10 back per cancelled one + 5 earned per completed one (90,000 paid).
    assert member.points_balance == 100 - 10 * completed.count() + 5 * completed.count()


def test_held_points_spent_by_tills_and_orders_at_once_are_spent_once():
    member = MemberFactory(points=100)
    web = online_key()
    tills = keys(10)

    def spend(i):
        if i % 2:
            return call(tills[i], SALES, body(f"T-{i}", member, points_to_redeem=40), f"t{i}")
        return call(web, ORDERS, body(f"W-{i}", member, points_to_redeem=40), f"w{i}")

    results = run_in_threads(10, spend)
    assert sum(1 for status, _ in results if status == 201) == 2, results  # 100 points cover two of 40
    assert all(status in (201, 409, 422) for status, _ in results), results
    member.refresh_from_db()
    assert member.points_balance >= 0
    assert ledger_drift() == []
    spent = -sum(LedgerEntry.objects.filter(member=member, kind="spend").values_list("points", flat=True))
    assert spent == 80


def test_a_cancellation_gives_points_back_while_tills_spend_them_never_below_zero():
    member = MemberFactory(points=60)
    web = online_key()
    order_id = place(web, "BACK-1", member, points_to_redeem=60)
    tills = keys(6)

    def act(i):
        if i == 0:
            return call(web, f"{ORDERS}/{order_id}/cancel", {}, "cancel")
        return call(tills[i], SALES, body(f"B-{i}", member, points_to_redeem=30), f"b{i}")

    results = run_in_threads(6, act)
    assert results[0][0] == 200, results[0]
    member.refresh_from_db()
    sales = sum(1 for status, _ in results[1:] if status == 201)
    assert sales <= 2  # at most what the 60 given back cover
    earned = sum(LedgerEntry.objects.filter(member=member, kind="earn").values_list("points", flat=True))
    assert member.points_balance == 60 - 30 * sales + earned >= 0
    assert ledger_drift() == []


def test_two_orders_holding_one_voucher_at_once_only_one_holds_it():
    from vouchers.models import Reward
    from vouchers.services import voucher_issue

    member = MemberFactory()
    voucher = voucher_issue(reward=Reward.objects.get(code="CASH50K"), member=member, channel="staff", reason="t")
    web = online_key()
    results = run_in_threads(4, lambda i: call(web, ORDERS, body(f"V-{i}", member, vouchers=[voucher.code]), f"v{i}"))
    assert sorted(status for status, _ in results) == [201, 422, 422, 422], results
    held = Voucher.objects.get(pk=voucher.pk)
    assert held.status == "used"  # held by the one pending order
    assert Sale.all_objects.get(pk=int(held.used_sale_reference.split(":")[1])).order_status == "pending"
