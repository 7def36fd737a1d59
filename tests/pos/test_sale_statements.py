"""What one member sale costs in SQL statements, pinned so it can never grow silently.

The API benchmark's sale (a demo member, three lines, through `POST /api/pos/v1/sales`) cost 18
statements on PostgreSQL (bench/RESULTS.md), BEGIN, SAVEPOINT and COMMIT included; the terminal's
daily points cap (issue 13) adds one, its counter's `INSERT ... ON CONFLICT DO UPDATE ... WHERE
... RETURNING`, so 19 (the sale limits themselves are read from the warm cache). Counted here
the same way: one more request once the member has a tier status row and the caches are warm,
with the points message task (queued after commit; a real worker runs it, not the request)
left out. SQLite issues the same 19 (BEGIN IMMEDIATE for BEGIN, a multi-row VALUES for the
sale lines where PostgreSQL uses UNNEST), so the pin holds on both backends.

Issue 17 adds one: the sale's domain events (points earned or spent, vouchers used, tier changed,
the sale itself) are collected and written by one multi-row INSERT into `core_domainevent`
before the savepoint is released, so 20 (27 with points paid). It comes after the daily cap's
counter: a plain INSERT of new rows takes no lock another sale waits on."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import LedgerEntry, Member
from pos.checkout import sales
from pos.models import Sale
from tests.factories import MemberFactory
from tests.pos.conftest import post

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/pos/v1/sales"
LINES = [
    {"sku": "PHO-GA", "name": "Phở gà", "category": "pho", "quantity": 2, "unit_price": 50000},
    {"sku": "TRA-DA", "name": "Trà đá", "category": "drink", "quantity": 2, "unit_price": 5000},
    {"sku": "QUAY", "name": "Quẩy", "category": "side", "quantity": 1, "unit_price": 10000},
]


def body(receipt: str, member: Member, **extra) -> dict:
    return {"receipt_number": receipt, "member": member.pk, "lines": LINES, **extra}


@pytest.fixture
def warm_member(pho, monkeypatch):
    """A member who bought once already (their tier status row exists, the caches are warm);
    the after-commit message task is recorded, not run."""
    queued: list[int] = []
    monkeypatch.setattr(sales.notify_sale_points, "delay", queued.append)
    member = MemberFactory(points=100)
    response = post(pho, SALES, body("WARM-1", member), key="warm-1")
    assert response.status_code == 201, response.content
    return member


def statements(captured) -> list[str]:
    return [q["sql"] for q in captured]


def test_a_member_sale_costs_20_statements(pho, warm_member):
    with CaptureQueriesContext(connection) as queries:
        response = post(pho, SALES, body("S-1", warm_member), key="s-1")
    assert response.status_code == 201, response.content
    sql = statements(queries.captured_queries)
    assert len(sql) == 20, "\n".join(sql)
    # The member's row and tier status row are locked and read once each, for the whole sale.
    assert sum(s.startswith('SELECT "members_member"') for s in sql) == 1
    assert sum(s.startswith('SELECT "tiers_tierstatus"') for s in sql) == 1
    # One savepoint: the idempotency layer's, around the handler. The checkout, the ledger and
    # the tiers services open none of their own.
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1
    # The daily cap: one statement, the last lock before the savepoint is released; then the
    # sale's events, all in one INSERT.
    assert sum('"pos_terminalday"' in s for s in sql) == 1
    assert '"pos_terminalday"' in sql[-5]
    assert sum('"core_domainevent"' in s for s in sql) == 1
    assert sql[-4].startswith('INSERT INTO "core_domainevent"')
    assert Sale.objects.get(receipt_number="S-1").points_earned == 6


def test_a_member_sale_paid_partly_with_points_costs_27_statements(pho, warm_member):
    with CaptureQueriesContext(connection) as queries:
        response = post(pho, SALES, body("S-2", warm_member, points_to_redeem=30), key="s-2")
    assert response.status_code == 201, response.content
    sql = statements(queries.captured_queries)
    assert len(sql) == 27, "\n".join(sql)
    assert sum('"core_domainevent"' in s for s in sql) == 1
    assert sum(s.startswith('SELECT "members_member"') for s in sql) == 1
    assert sum(s.startswith("SAVEPOINT") for s in sql) == 1
    assert LedgerEntry.objects.get(reference=f"{Sale.objects.get(receipt_number='S-2').reference}:redeem").points == -30
