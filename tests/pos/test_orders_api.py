"""Online orders (pos-api.md 1.2) end to end against the demo programme: the life cycle (pending,
completed, cancelled), what is held and given back, every refusal with nothing written, the
agreement with the quote, and the ledger invariant after each step."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from members.models import LedgerEntry, Member
from members.selectors import ledger_drift
from pos.models import Refund, Sale, SaleLine
from stores.models import Store, Terminal
from stores.services import terminal_create
from tests.factories import MemberFactory
from tests.members.helpers import written_state
from tests.pos.conftest import HCM, post, problem, till
from tests.pos.test_sales_api import QUOTE, SALES, issue, pho_lines, sale_body
from tiers.models import TierStatus
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db
ORDERS = "/api/pos/v1/orders"
LOOKUP = "/api/pos/v1/members/lookup"


def shop(store_code: str = "PHO-HN01", name: str = "web"):
    """An online shop's client (a terminal of kind `online`)."""
    from rest_framework.test import APIClient

    _, key = terminal_create(store=Store.objects.get(code=store_code), name=name, kind=Terminal.Kind.ONLINE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def web(demo_programme):
    return shop()


def state():
    """Everything an order, its completion or its cancellation writes."""
    return {
        **written_state(),
        "orders": list(
            Sale.all_objects.order_by("pk").values_list("pk", "order_status", "points_earned", "tier_after_code")
        ),
        "lines": SaleLine.objects.count(),
        "refunds": Refund.objects.count(),
        "vouchers": list(Voucher.objects.order_by("pk").values_list("pk", "status", "used_sale_reference")),
        "tiers": list(TierStatus.objects.order_by("pk").values_list("member_id", "tier_id", "qualifying_spend")),
    }


def balanced():
    """The ledger invariant: every cached balance and lot equals its entries (check_ledger)."""
    assert ledger_drift() == []
    call_command("check_ledger", stdout=open("/dev/null", "w"))  # noqa: SIM115 -- exits non-zero on drift


def summary(client, member):
    response = client.get(LOOKUP, {"q": member.code})
    assert response.status_code == 200, response.content
    return response.json()


def order(client, receipt, member, amount=100_000, key=None, **extra):
    body = sale_body(receipt, pho_lines(amount), member, at=timezone.now(), **extra)
    return post(client, ORDERS, body, key=key or receipt)


def complete(client, order_id, key):
    return post(client, f"{ORDERS}/{order_id}/complete", {}, key=key)


def cancel(client, order_id, key, **body):
    return post(client, f"{ORDERS}/{order_id}/cancel", body, key=key)


# --- The life cycle ------------------------------------------------------------------------------


def test_a_pending_order_holds_its_points_and_earns_only_when_completed(web):
    member = MemberFactory(points=100)
    created = order(web, "WEB-1", member, 200_000, points_to_redeem=30)
    assert created.status_code == 201, created.content
    body = created.json()
    # 200,000 - 30,000 in points = 170,000 paid -> 8.5 -> 9 points (half-up), pending.
    assert (body["status"], body["points_earned"], body["points_pending"]) == ("pending", 9, 9)
    assert body["points_redeemed"] == 30 and body["points_balance"] == 70
    member.refresh_from_db()
    assert member.points_balance == 70  # held points are out; pending ones are not in
    assert not LedgerEntry.objects.filter(kind="earn", member=member).exists()
    looked_up = summary(web, member)
    assert (looked_up["points_balance"], looked_up["points_pending"]) == (70, 9)
    assert TierStatus.objects.filter(member=member, qualifying_spend__gt=0).count() == 0  # nothing earned yet
    balanced()

    done = complete(web, body["id"], "c1")
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["points_earned"], done.json()["points_pending"]) == ("completed", 9, 0)
    assert done.json()["points_balance"] == 79
    earn = LedgerEntry.objects.get(kind="earn", member=member)
    assert earn.points == 9 and earn.occurred_at == Sale.objects.get(pk=body["id"]).occurred_at
    looked_up = summary(web, member)
    assert (looked_up["points_balance"], looked_up["points_pending"]) == (79, 0)
    balanced()


def test_a_cancelled_order_gives_back_its_points_and_voucher_and_earns_nothing(web):
    member = MemberFactory(points=100)
    voucher = issue(member, "CASH50K")
    before = written_state()["entries"]
    created = order(web, "WEB-2", member, 200_000, points_to_redeem=40, vouchers=[voucher.code]).json()
    voucher.refresh_from_db()
    assert voucher.status == "used"  # held: no other sale can use it
    other = post(
        till("PHO-HN01"), SALES, sale_body("TILL-9", pho_lines(100_000), member, vouchers=[voucher.code]), "t9"
    )
    problem(other, "voucher-used")

    gone = cancel(web, created["id"], "x1", reason="Khách huỷ")
    assert gone.status_code == 200, gone.content
    assert (gone.json()["status"], gone.json()["points_earned"], gone.json()["points_pending"]) == ("cancelled", 0, 0)
    assert gone.json()["points_balance"] == 100
    member.refresh_from_db()
    voucher.refresh_from_db()
    assert member.points_balance == 100 and voucher.status == "issued"
    assert not LedgerEntry.objects.filter(kind="earn", member=member).exists()
    assert LedgerEntry.objects.count() == before + 2  # the hold and its reversal
    assert summary(web, member)["points_pending"] == 0
    balanced()


def test_a_completed_order_is_refunded_like_a_sale(web):
    member = MemberFactory(points=50)
    created = order(web, "WEB-3", member, 100_000, points_to_redeem=20).json()
    assert complete(web, created["id"], "c3").status_code == 200
    refund = post(web, f"{SALES}/{created['id']}/refunds", {}, key="r3")
    assert refund.status_code == 201, refund.content
    assert (refund.json()["points_reversed"], refund.json()["points_returned"]) == (4, 20)
    member.refresh_from_db()
    assert member.points_balance == 50
    balanced()


def test_a_pending_or_cancelled_order_is_not_a_sale_yet(web):
    member = MemberFactory()
    created = order(web, "WEB-4", member).json()
    assert not Sale.objects.filter(pk=created["id"]).exists()  # reports and histories do not see it
    problem(web.get(f"{SALES}/{created['id']}"), "not-found")
    problem(post(web, f"{SALES}/{created['id']}/refunds", {}, key="r4"), "not-found")
    assert web.get(f"{ORDERS}/{created['id']}").json()["status"] == "pending"
    assert complete(web, created["id"], "c4").status_code == 200
    assert Sale.objects.filter(pk=created["id"]).exists()


def test_an_order_without_a_member_completes_and_earns_nothing(web):
    created = order(web, "WEB-5", None).json()
    assert created["status"] == "pending" and created["points_earned"] == 0
    done = complete(web, created["id"], "c5").json()
    assert done["status"] == "completed" and done["points_balance"] is None


def test_completing_or_cancelling_again_answers_the_same_and_changes_nothing(web):
    member = MemberFactory(points=10)
    first = order(web, "WEB-6", member).json()
    assert complete(web, first["id"], "c6").status_code == 200
    before = state()
    again = complete(web, first["id"], "c6-bis")
    assert again.status_code == 200 and again.json()["status"] == "completed"
    assert state() == before

    second = order(web, "WEB-7", member).json()
    assert cancel(web, second["id"], "x7").status_code == 200
    before = state()
    again = cancel(web, second["id"], "x7-bis")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert state() == before
    balanced()


def test_quote_and_order_agree_exactly(web):
    member = MemberFactory(points=100)
    voucher = issue(member, "CASH50K")
    body = sale_body("WEB-8", pho_lines(230_000), member, vouchers=[voucher.code], points_to_redeem=15)
    quote = post(web, QUOTE, body).json()
    created = post(web, ORDERS, body, key="o8").json()
    for field in ("subtotal", "discounts", "total", "points_redeemed", "points_to_earn", "multiplier", "tier"):
        assert created[field] == quote[field], field
    assert created["points_earned"] == quote["points_to_earn"]
    done = complete(web, created["id"], "c8").json()
    for field in ("subtotal", "discounts", "total", "points_redeemed", "points_to_earn", "multiplier"):
        assert done[field] == quote[field], field
    earn = LedgerEntry.objects.get(kind="earn", member=member)
    assert earn.points == quote["points_to_earn"]


def test_completion_counts_the_qualifying_spend_at_the_order_time(web):
    member = MemberFactory()
    created = order(web, "WEB-9", member, 300_000).json()
    assert not TierStatus.objects.filter(member=member, qualifying_spend__gt=0).exists()
    complete(web, created["id"], "c9")
    status = TierStatus.objects.get(member=member)
    assert status.qualifying_spend == 300_000


# --- Held points cannot be spent twice -----------------------------------------------------------


def test_held_points_cannot_be_spent_by_a_sale_or_a_second_order(web):
    member = MemberFactory(points=50)
    assert order(web, "WEB-10", member, 100_000, points_to_redeem=40).status_code == 201
    before = state()
    second = order(web, "WEB-11", member, 100_000, points_to_redeem=20)
    problem(second, "insufficient-points")
    sale = post(till("PHO-HN01"), SALES, sale_body("TILL-11", pho_lines(100_000), member, points_to_redeem=20), "t11")
    problem(sale, "insufficient-points")
    assert state() == before
    balanced()


def test_pending_points_cannot_be_spent(web):
    member = MemberFactory()
    created = order(web, "WEB-12", member, 400_000).json()
    assert created["points_pending"] == 20
    before = state()
    problem(order(web, "WEB-13", member, 100_000, points_to_redeem=10), "insufficient-points")
    assert state() == before


# --- Refusals: nothing written -------------------------------------------------------------------


def test_completing_a_cancelled_order_or_cancelling_a_completed_one_is_409_order_state(web):
    member = MemberFactory(points=20)
    one = order(web, "WEB-14", member, points_to_redeem=10).json()
    two = order(web, "WEB-15", member).json()
    assert cancel(web, one["id"], "x14").status_code == 200
    assert complete(web, two["id"], "c15").status_code == 200
    before = state()
    refused = problem(complete(web, one["id"], "c14"), "order-state")
    assert refused["order_status"] == "cancelled" and refused["status"] == 409
    refused = problem(cancel(web, two["id"], "x15"), "order-state")
    assert refused["order_status"] == "completed"
    assert state() == before
    # The refusal is stored: the same key replays it byte for byte.
    replay = complete(web, one["id"], "c14")
    assert replay.status_code == 409 and replay["Idempotent-Replayed"] == "true"
    balanced()


def test_unknown_order_and_another_stores_order_are_404(web):
    member = MemberFactory()
    created = order(web, "WEB-16", member).json()
    sister = shop("PHO-HCM01", "web-hcm")
    before = state()
    problem(complete(web, 999_999, "c-unknown"), "not-found")
    problem(cancel(web, 999_999, "x-unknown"), "not-found")
    problem(complete(sister, created["id"], "c-sister"), "not-found")
    problem(cancel(sister, created["id"], "x-sister"), "not-found")
    problem(sister.get(f"{ORDERS}/{created['id']}"), "not-found")
    assert state() == before


def test_a_till_sale_is_not_an_order(web):
    sale = post(till("PHO-HN01"), SALES, sale_body("TILL-17", pho_lines(100_000), MemberFactory()), "t17").json()
    before = state()
    problem(complete(web, sale["id"], "c17"), "not-found")
    problem(cancel(web, sale["id"], "x17"), "not-found")
    assert state() == before


def test_complete_and_cancel_need_an_idempotency_key(web):
    created = order(web, "WEB-18", MemberFactory()).json()
    before = state()
    problem(post(web, f"{ORDERS}/{created['id']}/complete", {}), "idempotency-key-required")
    problem(post(web, f"{ORDERS}/{created['id']}/cancel", {}), "idempotency-key-required")
    problem(post(web, ORDERS, sale_body("WEB-19", pho_lines(100_000))), "idempotency-key-required")
    assert state() == before


def test_a_reused_key_is_422_and_changes_nothing(web):
    member = MemberFactory()
    one = order(web, "WEB-20", member).json()
    two = order(web, "WEB-21", member).json()
    assert complete(web, one["id"], "k20").status_code == 200
    before = state()
    problem(complete(web, two["id"], "k20"), "idempotency-key-reused")
    problem(cancel(web, one["id"], "k20"), "idempotency-key-reused")
    problem(order(web, "WEB-22", member, key="k20"), "idempotency-key-reused")
    assert state() == before
    replay = complete(web, one["id"], "k20")
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["status"] == "completed"


def test_a_till_cannot_record_complete_or_cancel_orders(web):
    member = MemberFactory(points=20)
    created = order(web, "WEB-23", member).json()
    counter = till("PHO-HN01")
    before = state()
    problem(order(counter, "TILL-23", member), "permission-denied")
    problem(complete(counter, created["id"], "c23"), "permission-denied")
    problem(cancel(counter, created["id"], "x23"), "permission-denied")
    assert state() == before


def test_an_online_shop_cannot_record_a_till_sale_but_may_quote(web):
    member = MemberFactory(points=20)
    body = sale_body("WEB-24", pho_lines(100_000), member)
    before = state()
    refused = problem(post(web, SALES, body, key="s24"), "permission-denied")
    assert refused["status"] == 403
    assert state() == before
    assert post(web, QUOTE, body).status_code == 200


def test_an_order_is_refused_like_a_sale_with_nothing_written(web):
    member = MemberFactory(points=10)
    assert order(web, "WEB-25", member).status_code == 201
    before = state()
    problem(order(web, "WEB-25", member, key="dup"), "duplicate-receipt")
    problem(order(web, "WEB-26", member, points_to_redeem=50), "insufficient-points")
    problem(post(web, ORDERS, sale_body("WEB-27", [], member), key="o27"), "validation-error")
    problem(
        post(web, ORDERS, {**sale_body("WEB-28", pho_lines(1000)), "member": 999_999}, key="o28"), "member-not-found"
    )
    assert state() == before
    # A till's receipt and an order's share one numbering per store.
    till_sale = post(till("PHO-HN01"), SALES, sale_body("WEB-25", pho_lines(100_000), member), "t25")
    problem(till_sale, "duplicate-receipt")


def test_a_member_blocked_after_the_order_earns_nothing_at_completion(web):
    member = MemberFactory()
    created = order(web, "WEB-29", member).json()
    Member.objects.filter(pk=member.pk).update(status=Member.Status.BLOCKED)
    done = complete(web, created["id"], "c29").json()
    assert done["status"] == "completed" and done["points_earned"] == 0
    assert not LedgerEntry.objects.filter(member=member, kind="earn").exists()
    balanced()


def test_create_terminal_online_makes_an_online_shop_key(demo_programme, capsys):
    call_command("create_terminal", "PHO-HN01", "web shop", "--online")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    terminal = Terminal.objects.get(name="web shop")
    assert terminal.kind == Terminal.Kind.ONLINE and key.startswith(terminal.key_prefix)
    call_command("create_terminal", "PHO-HN01", "till two")
    assert Terminal.objects.get(name="till two").kind == Terminal.Kind.TILL


def test_the_demo_online_shop_takes_orders_with_the_key_create_terminal_prints(demo_programme, capsys):
    # demo-programme.md: `create_terminal CAFE-ONLINE web --online` gives the online shop's key.
    call_command("create_terminal", "CAFE-ONLINE", "web", "--online")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    member = MemberFactory()
    lines = [{"sku": "CF-SUA", "name": "Cà phê sữa", "category": "coffee", "quantity": 2, "unit_price": 35000}]
    created = post(client, ORDERS, sale_body("CAFE-WEB-1", lines, member, at=timezone.now()), key="w1")
    assert created.status_code == 201 and created.json()["status"] == "pending", created.content
    assert complete(client, created.json()["id"], "w1c").json()["status"] == "completed"
    balanced()


def test_staff_see_pending_and_cancelled_orders_in_the_sales_list(web, admin_client):
    member = MemberFactory()
    pending = order(web, "WEB-30", member).json()
    cancelled = order(web, "WEB-31", member).json()
    cancel(web, cancelled["id"], "x31")
    listing = admin_client.get("/admin/pos/sale/", {"order_status": "pending"})
    assert listing.status_code == 200
    assert "WEB-30" in listing.content.decode() and "WEB-31" not in listing.content.decode()
    assert "WEB-31" in admin_client.get("/admin/pos/sale/", {"order_status": "cancelled"}).content.decode()
    assert admin_client.get(f"/admin/pos/sale/{pending['id']}/change/").status_code == 200


def test_completing_an_order_marks_its_day_for_the_reports_rollups(web):
    # An order placed yesterday and completed today becomes yesterday's sale: a rollup of yesterday
    # made while it was pending must be refreshed (no member here, so no ledger entry marks the day).
    from reports.figures import dirty_days

    at = timezone.now() - datetime.timedelta(days=1)
    created = post(web, ORDERS, sale_body("WEB-32", pho_lines(100_000), None, at=at), key="o32").json()
    cancelled = post(web, ORDERS, sale_body("WEB-33", pho_lines(100_000), None, at=at), key="o33").json()
    since = timezone.now()
    cancel(web, cancelled["id"], "x33")
    assert dirty_days(since=since) == set()  # a cancelled order never was a sale
    complete(web, created["id"], "c32")
    assert dirty_days(since=since) == {timezone.localtime(at, HCM).date()}


def test_an_order_beyond_a_plausibility_limit_is_refused_kept_for_review_and_writes_nothing(web):
    from pos.checkout.limits import sale_limits_update
    from pos.models import LimitRefusal

    sale_limits_update(data={"max_points_per_sale": 10})
    member = MemberFactory()
    before = state()
    refused = problem(order(web, "WEB-34", member, 1_000_000), "limit-exceeded")  # 50 points
    assert (refused["limit"], refused["maximum"]) == ("points-per-sale", 10)
    assert state() == before
    assert LimitRefusal.objects.filter(limit="points-per-sale").count() == 1


def test_points_above_the_free_limit_need_the_members_proof_on_an_order_too(web):
    from members.services import programme_settings_update

    programme_settings_update(data={"presence_proof": "above", "presence_free_points": 100})
    member = MemberFactory(points=500)
    before = state()
    problem(order(web, "WEB-35", member, 300_000, points_to_redeem=150), "member-proof-required")
    problem(order(web, "WEB-35", member, 300_000, points_to_redeem=150, otp="123456", key="p2"), "member-proof-invalid")
    assert state() == before
    assert order(web, "WEB-35", member, 300_000, points_to_redeem=100, key="p3").status_code == 201
