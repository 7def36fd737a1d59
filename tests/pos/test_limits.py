"""Plausibility limits on tills (pos-api.md 1.1, risk.md "Tills"): a sale beyond the most a sale
may total, the most points one sale may earn or the terminal's daily points cap is refused with
422 `limit-exceeded`, records nothing (no sale, ledger entry, tier spend, counter), replays its
refusal, and is kept for staff in the review list, at most 20 rows a terminal a day."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import LedgerEntry
from pos.checkout.limits import REFUSALS_KEPT_PER_DAY, sale_limits_update, store_sale_limits_set
from pos.models import LimitRefusal, Sale, TerminalDay
from stores.models import Store, Terminal
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem
from tiers.models import TierSpend

SALES = "/api/pos/v1/sales"
QUOTE = "/api/pos/v1/sales/quote"


def sale(receipt, member=None, *, quantity=1, unit_price=100000):
    body = {"receipt_number": receipt, "lines": [{"sku": "PHO-GA", "quantity": quantity, "unit_price": unit_price}]}
    if member is not None:
        body["member"] = member.pk
    return body


def recorded(member):
    """Everything a sale of `member` could have written."""
    member.refresh_from_db()
    return (
        Sale.objects.count(),
        LedgerEntry.objects.filter(member=member).count(),
        TierSpend.objects.filter(member=member).count(),
        member.points_balance,
        sum(TerminalDay.objects.values_list("points_given", flat=True)),
    )


@pytest.fixture
def member(demo_programme):
    return MemberFactory(points=100)


def test_a_new_programme_has_the_demo_limits(demo_programme, pho, member):
    """No limits row saved yet: the model's defaults (the demo's values) apply."""
    before = recorded(member)
    response = post(pho, SALES, sale("BIG-1", member, quantity=3, unit_price=70_000_000), key="big-1")
    body = problem(response, "limit-exceeded")
    assert response.status_code == 422
    assert body["limit"] == "sale-amount"
    assert body["maximum"] == 200_000_000
    assert recorded(member) == before


def test_a_sale_over_the_amount_limit_records_nothing_and_is_kept_for_review(pho, member):
    sale_limits_update(data={"max_sale_amount": Decimal(1_000_000)})
    before = recorded(member)
    response = post(pho, SALES, sale("R-1", member, quantity=11), key="r-1")
    assert response.status_code == 422
    assert problem(response, "limit-exceeded")["limit"] == "sale-amount"
    assert recorded(member) == before
    refusal = LimitRefusal.objects.get()
    terminal = Terminal.objects.get(name="Quầy 1")
    assert (refusal.terminal, refusal.store.code, refusal.member, refusal.receipt_number) == (
        terminal,
        "PHO-HN01",
        member,
        "R-1",
    )
    assert (refusal.limit, refusal.maximum, refusal.amount) == ("sale-amount", Decimal(1_000_000), Decimal(1_100_000))

    # The retry with the same key replays the refusal and keeps no second row.
    again = post(pho, SALES, sale("R-1", member, quantity=11), key="r-1")
    assert (again.status_code, again.content) == (422, response.content)
    assert again["Idempotent-Replayed"] == "true"
    assert LimitRefusal.objects.count() == 1
    assert recorded(member) == before

    # At the limit exactly, the sale goes through.
    assert post(pho, SALES, sale("R-2", member, quantity=10), key="r-2").status_code == 201


def test_a_sale_earning_more_than_the_points_limit_records_nothing(pho, member):
    sale_limits_update(data={"max_points_per_sale": 5})  # 120,000 VND earns 6 points at the entry tier
    before = recorded(member)
    response = post(pho, SALES, sale("P-1", member, quantity=12, unit_price=10000), key="p-1")
    body = problem(response, "limit-exceeded")
    assert (response.status_code, body["limit"], body["maximum"]) == (422, "points-per-sale", 5)
    assert recorded(member) == before
    assert LimitRefusal.objects.get().points == 6
    # The same cart without a member earns nothing: no points limit to pass.
    assert post(pho, SALES, sale("P-2", quantity=12, unit_price=10000), key="p-2").status_code == 201


def test_the_terminal_daily_cap_refuses_the_sale_that_would_pass_it(pho, cafe, member):
    sale_limits_update(data={"max_terminal_points_per_day": 10})
    assert post(pho, SALES, sale("D-1", member, quantity=1, unit_price=120000), key="d-1").status_code == 201
    assert TerminalDay.objects.get().points_given == 6
    before = recorded(member)
    response = post(pho, SALES, sale("D-2", member, quantity=1, unit_price=120000), key="d-2")
    body = problem(response, "limit-exceeded")
    assert (response.status_code, body["limit"], body["maximum"]) == (422, "terminal-points-per-day", 10)
    assert recorded(member) == before
    day = TerminalDay.objects.get()
    assert (day.points_given, day.refusals) == (6, 1)
    # The quote tells the same, and writes nothing.
    quoted = post(pho, QUOTE, sale("D-3", member, quantity=1, unit_price=120000))
    assert problem(quoted, "limit-exceeded")["limit"] == "terminal-points-per-day"
    assert LimitRefusal.objects.count() == 1
    # Another terminal has its own day; a sale without a member gives out no points.
    assert post(cafe, SALES, sale("D-4", member, quantity=1, unit_price=120000), key="d-4").status_code == 201
    assert post(pho, SALES, sale("D-5", quantity=1, unit_price=120000), key="d-5").status_code == 201
    assert TerminalDay.objects.get(terminal__store__code="PHO-HN01").points_given == 6


def test_a_back_dated_sale_counts_on_the_day_it_is_recorded(pho, member):
    """A leaked key cannot reopen yesterday's cap by back-dating its sales."""
    sale_limits_update(data={"max_terminal_points_per_day": 10})
    yesterday = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    first = {**sale("B-1", member, unit_price=120000), "occurred_at": yesterday}
    assert post(pho, SALES, first, key="b-1").status_code == 201
    second = post(pho, SALES, sale("B-2", member, unit_price=120000), key="b-2")
    assert problem(second, "limit-exceeded")["limit"] == "terminal-points-per-day"


def test_a_store_override_wins_over_the_programme(pho, cafe, member):
    sale_limits_update(data={"max_sale_amount": Decimal(1_000_000)})
    store_sale_limits_set(store=Store.objects.get(code="PHO-HN01"), data={"max_sale_amount": Decimal(5_000_000)})
    assert post(pho, SALES, sale("O-1", member, quantity=20), key="o-1").status_code == 201
    refused = post(cafe, SALES, sale("O-2", member, quantity=20), key="o-2")
    assert problem(refused, "limit-exceeded")["maximum"] == 1_000_000


def test_an_empty_limit_means_none(pho, member):
    sale_limits_update(data={"max_sale_amount": None, "max_points_per_sale": None, "max_terminal_points_per_day": None})
    response = post(pho, SALES, sale("N-1", member, quantity=1000, unit_price=1_000_000), key="n-1")
    assert response.status_code == 201, response.content
    assert not TerminalDay.objects.exists()  # no cap: no counter, no statement


def test_the_quote_refuses_over_a_limit_and_writes_nothing(pho, member):
    sale_limits_update(data={"max_sale_amount": Decimal(1_000_000)})
    response = post(pho, QUOTE, sale("Q-1", member, quantity=11))
    assert (response.status_code, problem(response, "limit-exceeded")["limit"]) == (422, "sale-amount")
    assert not LimitRefusal.objects.exists()
    assert not TerminalDay.objects.exists()


def test_one_terminal_cannot_flood_the_review_list(pho, member):
    sale_limits_update(data={"max_sale_amount": Decimal(1000)})
    for number in range(REFUSALS_KEPT_PER_DAY + 5):
        response = post(pho, SALES, sale(f"F-{number}", member), key=f"f-{number}")
        assert response.status_code == 422
    assert LimitRefusal.objects.count() == REFUSALS_KEPT_PER_DAY
    latest = LimitRefusal.objects.order_by("-pk").first()
    assert latest.receipt_number == f"F-{REFUSALS_KEPT_PER_DAY - 1}"
    assert latest.repeats == 5
    assert TerminalDay.objects.get().refusals == REFUSALS_KEPT_PER_DAY + 5
    assert Sale.objects.count() == 0
