"""What paid membership adds to a sale in SQL statements (tests/pos/test_sale_statements.py pins
20 for a programme without it, its domain events included; the plans are cached, so with no plan
the sale reads nothing more). With a plan, one indexed read of the member's periods covering the
sale: 21."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memberships.services import membership_sell
from pos.checkout import sales
from pos.models import Sale
from tests.factories import MemberFactory
from tests.pos.conftest import post
from tests.pos.test_sale_statements import body, statements

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/pos/v1/sales"


@pytest.mark.parametrize("paid", [True, False])
def test_a_sale_with_a_plan_in_the_programme_costs_one_statement_more(pho, club, monkeypatch, paid):
    monkeypatch.setattr(sales.notify_sale_points, "delay", lambda *args: None)
    member = MemberFactory(points=100)
    if paid:
        membership_sell(member=member, plan=club)
    assert post(pho, SALES, body("WARM-1", member), key="warm-1").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = post(pho, SALES, body("S-1", member), key="s-1")
    assert response.status_code == 201, response.content
    sql = statements(queries.captured_queries)
    assert len(sql) == 21, "\n".join(sql)
    assert sum(s.startswith('SELECT "memberships_paidmembership"') for s in sql) == 1
    assert Sale.objects.get(receipt_number="S-1").points_earned == (9 if paid else 6)
