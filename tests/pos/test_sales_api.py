"""The sales contract of pos-api.md end to end against the demo programme: quote, sale, refunds,
the earning rules, every refusal (with nothing written), idempotency and the races."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.promotions.models import Promotion
from campaigns.promotions.services import promotion_save
from members.models import LedgerEntry
from members.selectors import ledger_drift
from members.services import programme_settings_update
from notifications.models import Message
from pos.models import Refund, Sale, SaleLine
from tests.factories import MemberFactory
from tests.members.helpers import written_state
from tests.pos.conftest import last_weekday_at, local, post, problem, till
from tiers.models import TierStatus
from vouchers.models import Reward, Voucher
from vouchers.services import voucher_issue

pytestmark = pytest.mark.django_db
QUOTE = "/api/pos/v1/sales/quote"
SALES = "/api/pos/v1/sales"
# A weekday morning outside every promotion window (GIO-VANG is 14-17 on weekdays, CAFE-SANG 7-9).
QUIET = {"occurred_at": None}


def quiet_moment():
    return last_weekday_at({0, 1, 2, 3, 4}, 11, 0)


def pho_lines(amount: int):
    return [{"sku": "PHO-DAC-BIET", "name": "Phở đặc biệt", "category": "pho", "quantity": 1, "unit_price": amount}]


def coffee(n: int, price: int = 35000, sku: str = "CF-SUA"):
    return [{"sku": sku, "name": "Cà phê", "category": "coffee", "quantity": n, "unit_price": price}]


def sale_body(receipt, lines, member=None, at=None, **extra):
    body = {"receipt_number": receipt, "lines": lines, "occurred_at": (at or quiet_moment()).isoformat()}
    if member is not None:
        body["member"] = member.pk
    body.update(extra)
    return body


def state():
    """Everything a sale or refund writes, to compare before and after a refusal."""
    return {
        **written_state(),
        "sales": Sale.objects.count(),
        "lines": SaleLine.objects.count(),
        "refunds": Refund.objects.count(),
        "vouchers": list(Voucher.objects.order_by("pk").values_list("pk", "status", "used_sale_reference")),
        "tiers": list(TierStatus.objects.order_by("pk").values_list("member_id", "tier_id", "qualifying_spend")),
        "messages": Message.objects.count(),
        "stock": list(Reward.objects.order_by("pk").values_list("pk", "issued_count")),
    }


def promote(member, tier_code):
    """Put a member in a tier the way the programme does: by spending at the till."""
    spend = {"VIP": 5_000_000, "DIAMOND": 20_000_000}[tier_code]
    client = till("PHO-HCM01", name=f"Promote {member.pk}")
    body = sale_body(f"PROMOTE-{member.pk}", pho_lines(spend), member, at=timezone.now())
    response = post(client, SALES, body, key=f"p-{member.pk}")
    assert response.status_code == 201, response.content
    assert TierStatus.objects.get(member=member).tier.code == tier_code


# --- Earning rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "points"), [(109_000, 5), (110_000, 6), (100_000, 5), (19_000, 1), (9_000, 0)])
def test_a_member_earns_5_percent_with_half_up_rounding(pho, amount, points):
    member = MemberFactory()
    response = post(pho, SALES, sale_body("R1", pho_lines(amount), member), key="k1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points_earned"] == body["points_to_earn"] == points
    assert body["points_balance"] == points
    assert Decimal(body["total"]) == amount
    assert body["tier"] == {"code": "MEMBER", "name": "Thành viên"}
    assert body["tier_changed"] is False


def test_quote_writes_nothing_and_the_sale_records_exactly_the_quote(pho):
    member = MemberFactory(points=200)
    body = sale_body("R-Q", pho_lines(250_000), member, points_to_redeem=30)
    before = state()
    quote = post(pho, QUOTE, body)
    assert quote.status_code == 200, quote.content
    assert state() == before
    sale = post(pho, SALES, body, key="k-q")
    assert sale.status_code == 201
    for field in ("subtotal", "discounts", "total", "points_redeemed", "points_to_earn", "multiplier", "tier"):
        assert sale.json()[field] == quote.json()[field], field
    # 250,000 - 30,000 paid with points = 220,000 -> 11 points; 200 - 30 + 11 = 181.
    assert quote.json()["total"] == "220000.00" and quote.json()["points_to_earn"] == 11
    assert sale.json()["points_balance"] == 181
    assert ledger_drift() == []


def test_a_sale_without_a_member_is_recorded_and_earns_nothing(pho):
    response = post(pho, SALES, sale_body("ANON-1", pho_lines(120_000)), key="anon")
    assert response.status_code == 201
    body = response.json()
    assert body["member_id"] is None and body["points_earned"] == 0 and body["points_balance"] is None
    assert Sale.objects.get(pk=body["id"]).total == Decimal(120_000)
    assert not LedgerEntry.objects.exists()


def test_happy_hour_doubles_points_on_weekday_afternoons_in_store_time(pho):
    member = MemberFactory()
    inside = last_weekday_at({0, 1, 2, 3, 4}, 16, 59)
    outside = last_weekday_at({0, 1, 2, 3, 4}, 17, 0)
    a = post(pho, SALES, sale_body("GV-1", pho_lines(100_000), member, at=inside), key="gv1").json()
    b = post(pho, SALES, sale_body("GV-2", pho_lines(100_000), member, at=outside), key="gv2").json()
    assert (a["multiplier"], a["points_earned"]) == (2, 10)
    assert (b["multiplier"], b["points_earned"]) == (1, 5)


def test_birthday_x3_beats_happy_hour_x2_they_do_not_stack(pho):
    inside = last_weekday_at({0, 1, 2, 3, 4}, 15, 0)
    member = MemberFactory(birthday=inside.date().replace(year=1990))
    body = post(pho, SALES, sale_body("BD-1", pho_lines(100_000), member, at=inside), key="bd").json()
    assert body["multiplier"] == 3
    assert body["points_earned"] == 15


def test_morning_coffee_discount_only_for_vip_and_diamond_at_cafe(cafe, pho):
    member = MemberFactory()
    morning = local(1, 7, 30)
    plain = post(cafe, QUOTE, sale_body("CS-0", coffee(2), member, at=morning)).json()
    assert plain["discounts"] == []
    promote(member, "VIP")
    vip = post(cafe, QUOTE, sale_body("CS-1", coffee(2) + pho_lines(50_000), member, at=morning)).json()
    assert [(d["source"], d["code"], d["amount"]) for d in vip["discounts"]] == [("promotion", "CAFE-SANG", "7000.00")]
    assert vip["total"] == "113000.00"
    at_pho = post(pho, QUOTE, sale_body("CS-2", coffee(2), member, at=morning)).json()
    assert at_pho["discounts"] == []  # CAFE-SANG is for the coffee brand only


def test_diamond_gets_5_percent_off_every_invoice_and_earns_12_percent(pho):
    member = MemberFactory()
    promote(member, "DIAMOND")
    body = post(pho, SALES, sale_body("DM-1", pho_lines(200_000), member), key="dm").json()
    assert [(d["source"], d["amount"]) for d in body["discounts"]] == [("tier", "10000.00")]
    assert body["total"] == "190000.00"
    assert body["points_earned"] == 23  # 190,000 x 12 % / 1,000 = 22.8 -> 23


def test_crossing_a_threshold_earns_at_the_old_tier_and_reports_the_new_one(pho):
    member = MemberFactory()
    body = post(pho, SALES, sale_body("UP-1", pho_lines(5_000_000), member), key="up").json()
    assert body["points_earned"] == 250  # 5 % of MEMBER, not 10 % of VIP
    assert body["tier_changed"] is True
    assert body["tier"]["code"] == "VIP"
    nxt = post(pho, SALES, sale_body("UP-2", pho_lines(100_000), member), key="up2").json()
    assert nxt["points_earned"] == 10 and nxt["tier_changed"] is False


# --- Vouchers and points ----------------------------------------------------------------------


def issue(member, code):
    return voucher_issue(reward=Reward.objects.get(code=code), member=member, channel="staff", reason="test")


def test_vouchers_apply_in_order_after_the_tier_discount_and_are_used_once(cafe):
    member = MemberFactory()
    cash = issue(member, "CASH50K")
    b2g1 = issue(member, "CAFE-B2G1")
    lines = coffee(3, 35000) + coffee(3, 29000, sku="CF-DEN")
    body = post(cafe, SALES, sale_body("V-1", lines, member, vouchers=[b2g1.code.lower(), cash.code]), key="v1")
    assert body.status_code == 201, body.content
    data = body.json()
    discounts = [(d["source"], d["code"], d["amount"]) for d in data["discounts"]]
    # 6 coffees by price, in groups of three; the cheapest of each group is free: 35,000 + 29,000.
    assert discounts == [("voucher", b2g1.code, "64000.00"), ("voucher", cash.code, "50000.00")]
    assert data["total"] == "78000.00"
    cash.refresh_from_db()
    assert cash.status == "used" and cash.used_sale_reference == f"sale:{data['id']}"
    again = post(cafe, SALES, sale_body("V-2", coffee(3), member, vouchers=[cash.code]), key="v2")
    problem(again, "voucher-used")


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("unknown", "voucher-not-found"),
        ("below-minimum", "voucher-not-applicable"),
        ("other-brand", "voucher-not-applicable"),
        ("expired", "voucher-expired"),
    ],
)
def test_a_voucher_that_cannot_apply_is_422_with_its_reason_and_nothing_is_written(pho, setup, code):
    member = MemberFactory(points=100)
    lines = pho_lines(200_000)
    if setup == "unknown":
        codes = ["ZZZZ-ZZZZ"]
    elif setup == "below-minimum":
        codes, lines = [issue(member, "CASH50K").code], pho_lines(99_000)
    elif setup == "other-brand":
        codes = [issue(member, "CAFE-B2G1").code]
    else:
        voucher = issue(member, "PCT10")
        Voucher.objects.filter(pk=voucher.pk).update(
            issued_at=timezone.now() - timezone.timedelta(days=40),
            expires_at=timezone.now() - timezone.timedelta(days=10),
        )
        codes = [voucher.code]
    before = state()
    for path, key in ((QUOTE, None), (SALES, "k")):
        response = post(pho, path, sale_body("VX-1", lines, member, vouchers=codes, points_to_redeem=10), key=key)
        assert response.status_code == 422
        problem(response, code)
    assert state() == before


def test_points_beyond_the_balance_are_refused_and_nothing_is_written(pho):
    member = MemberFactory(points=20)
    before = state()
    for path, key in ((QUOTE, None), (SALES, "k")):
        response = post(pho, path, sale_body("P-1", pho_lines(100_000), member, points_to_redeem=21), key=key)
        assert response.status_code == 422
        assert problem(response, "insufficient-points")["points_available"] == 20
    assert state() == before


def test_points_beyond_what_is_left_to_pay_are_not_taken(pho):
    # Without the demo's cap of 50 % (tests/pos/test_redemption_limits.py): up to the whole invoice.
    programme_settings_update(data={"redeem_max_percent": None})
    member = MemberFactory(points=500)
    body = post(pho, SALES, sale_body("P-2", pho_lines(45_500), member, points_to_redeem=100), key="p2").json()
    assert body["points_redeemed"] == 45 and body["total"] == "500.00" and body["points_balance"] == 455


# --- Refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "A", "quantity": 0, "unit_price": 1}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": -1}]}, "lines.0.unit_price"),
        ({"lines": [{"sku": "A", "quantity": 1, "unit_price": "abc"}]}, "lines.0.unit_price"),
        ({"receipt_number": ""}, "receipt_number"),
        ({"points_to_redeem": -1}, "points_to_redeem"),
        ({"occurred_at": "2020-01-01T00:00:00+07:00"}, "occurred_at"),
        ({"occurred_at": "not a date"}, "occurred_at"),
        ({"vouchers": ["ABCD-EFGH", "abcdefgh"]}, "vouchers"),
    ],
)
def test_invalid_bodies_are_400_with_the_field_and_nothing_is_written(pho, change, field):
    body = {**sale_body("BAD-1", pho_lines(10_000)), **change}
    before = state()
    response = post(pho, SALES, body, key="bad")
    assert response.status_code == 400
    assert field in problem(response, "validation-error")["errors"]
    assert state() == before


def test_a_sale_more_than_5_minutes_in_the_future_is_refused(pho):
    body = sale_body("F-1", pho_lines(10_000), at=timezone.now() + timezone.timedelta(minutes=6))
    assert problem(post(pho, SALES, body, key="f"), "validation-error")["errors"]["occurred_at"]
    late = sale_body("F-2", pho_lines(10_000), at=timezone.now() - timezone.timedelta(days=6, hours=23))
    assert post(pho, SALES, late, key="f2").status_code == 201  # an offline till syncing late


def test_unknown_member_is_404_and_nothing_is_written(pho):
    before = state()
    response = post(pho, SALES, {**sale_body("M-1", pho_lines(10_000)), "member": 999999}, key="m")
    problem(response, "member-not-found")
    assert state() == before


def test_the_same_receipt_with_another_key_is_409_duplicate_receipt(pho):
    member = MemberFactory()
    assert post(pho, SALES, sale_body("DUP-1", pho_lines(100_000), member), key="a").status_code == 201
    before = state()
    response = post(pho, SALES, sale_body("DUP-1", pho_lines(100_000), member), key="b")
    problem(response, "duplicate-receipt")
    assert state() == before
    other_store = till("PHO-HCM01")
    assert post(other_store, SALES, sale_body("DUP-1", pho_lines(100_000), member), key="a").status_code == 201


def test_a_replay_returns_the_identical_body_and_a_reused_key_is_422(pho):
    member = MemberFactory()
    body = sale_body("IDEM-1", pho_lines(100_000), member)
    first = post(pho, SALES, body, key="same")
    before = state()
    again = post(pho, SALES, body, key="same")
    assert again.status_code == 201 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert state() == before
    other = post(pho, SALES, {**body, "receipt_number": "IDEM-2"}, key="same")
    problem(other, "idempotency-key-reused")
    assert state() == before
    problem(post(pho, SALES, body), "idempotency-key-required")


def test_the_sale_can_be_read_back_with_its_lines(pho):
    member = MemberFactory()
    created = post(pho, SALES, sale_body("READ-1", pho_lines(80_000), member), key="r").json()
    body = pho.get(f"{SALES}/{created['id']}").json()
    assert body["receipt_number"] == "READ-1" and body["status"] == "completed"
    assert body["lines"][0]["sku"] == "PHO-DAC-BIET" and body["refunds"] == []
    assert body["points_earned"] == created["points_earned"]
    problem(pho.get(f"{SALES}/999999"), "not-found")
    problem(till("CAFE-HN01", name="other brand").get(f"{SALES}/{created['id']}"), "not-found")


def test_the_sale_read_back_names_its_tier_in_the_request_language(pho):
    member = MemberFactory()
    plain = post(pho, SALES, sale_body("TN-1", pho_lines(80_000), member), key="tn1").json()
    upgrade = post(pho, SALES, sale_body("TN-2", pho_lines(5_000_000), member), key="tn2").json()
    assert upgrade["tier"] == {"code": "VIP", "name": "VIP"}

    with CaptureQueriesContext(connection) as queries:
        vi = pho.get(f"{SALES}/{plain['id']}", HTTP_ACCEPT_LANGUAGE="vi").json()
    # The name comes from the tier ladder, cached in production: at most one read of the tiers.
    assert sum('FROM "tiers_tier"' in q["sql"] for q in queries.captured_queries) <= 1
    en = pho.get(f"{SALES}/{plain['id']}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert vi["tier"] == {"code": "MEMBER", "name": "Thành viên"} == plain["tier"]
    assert en["tier"] == {"code": "MEMBER", "name": "Member"}
    # A sale that moved the member up reads back with the tier it moved to, as when it was recorded.
    assert pho.get(f"{SALES}/{upgrade['id']}").json()["tier"] == upgrade["tier"]


def test_points_earned_are_notified_after_the_sale_commits_once(pho, django_capture_on_commit_callbacks):
    member = MemberFactory(email="khach@example.vn")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(pho, SALES, sale_body("N-1", pho_lines(100_000), member), key="n")
    assert not Message.objects.filter(member=member).exists()  # nothing before the commit
    for callback in callbacks:
        callback()
        callback()  # a task delivered twice
    message = Message.objects.get(member=member, event="points-earned", channel="email")
    assert "5" in message.body


def test_queries_per_sale_do_not_grow_with_the_number_of_lines(pho):
    member = MemberFactory(points=100)

    def count(receipt, lines):
        with CaptureQueriesContext(connection) as queries:
            assert (
                post(pho, SALES, sale_body(receipt, lines, member, points_to_redeem=1), key=receipt).status_code == 201
            )
        return len(queries)

    count("QC-0", coffee(1))  # the member's first sale creates their tier status: not counted
    few = count("QC-1", coffee(1))
    many = count("QC-2", [{"sku": f"SKU-{i}", "category": "pho", "quantity": 1, "unit_price": 1000} for i in range(40)])
    assert many == few


def test_a_sale_reads_the_member_once_and_nests_no_savepoints_in_the_checkout(pho):
    """The checkout locks the member's row once and hands that instance to the ledger (paying
    with points and earning); the checkout, tiers and ledger services open no savepoints of their
    own (`loyalty_site.core.transactions`), and the idempotency claim is one statement. The only
    savepoints left: the request's transaction (a savepoint here, inside the test's) and the
    idempotency layer's refusal scope, which keeps the claim while undoing a refused request."""
    member = MemberFactory(points=100)
    post(pho, SALES, sale_body("SP-0", coffee(1), member), key="SP-0")  # creates the tier status row
    without_bonus = post(pho, QUOTE, sale_body("SP-1", coffee(2), member, points_to_redeem=10)).json()["points_to_earn"]
    # A promotion for the member's tier: pricing answers it from the row the checkout locked.
    bonus = promotion_save(
        promotion=Promotion(code="SP-BONUS", name="SP bonus", kind=Promotion.Kind.BONUS_POINTS, bonus_points=3)
    )
    bonus.tiers.set([TierStatus.objects.get(member=member).tier])

    with CaptureQueriesContext(connection) as queries:
        response = post(pho, SALES, sale_body("SP-1", coffee(2), member, points_to_redeem=10), key="SP-1")
    assert response.status_code == 201 and response.json()["points_redeemed"] == 10
    assert response.json()["points_to_earn"] == without_bonus + 3
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(1 for s in sql if s.startswith("SELECT") and 'FROM "members_member"' in s) == 1
    assert sum(1 for s in sql if s.startswith("SELECT") and 'FROM "tiers_tierstatus"' in s) == 1
    savepoints = [s for s in sql if s.startswith("SAVEPOINT")]
    assert len(savepoints) == 2, savepoints
    assert ledger_drift() == []
