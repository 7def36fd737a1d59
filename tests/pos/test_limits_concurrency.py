"""The terminal's daily points cap under real concurrency (SQLite and PostgreSQL): twenty
parallel sales from one terminal, each earning 6 points, against a cap of 50, cannot together
give out more than the cap. Run on PostgreSQL with
`DATABASE_URL=postgres://... pytest tests/pos/test_limits_concurrency.py`."""

import json

import pytest
from rest_framework.test import APIClient

from members.models import LedgerEntry
from members.selectors import ledger_drift
from pos.checkout.limits import sale_limits_update
from pos.models import LimitRefusal, Sale, TerminalDay
from stores.models import Store
from stores.services import terminal_create
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.test_sales_concurrency import programme  # noqa: F401 -- the demo programme fixture

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/pos/v1/sales"
CAP = 50
POINTS_PER_SALE = 6  # 120,000 VND at the entry tier


def call(key, body, idem):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.post(SALES, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=idem)
    return response.status_code, response.content


def test_20_parallel_sales_of_one_terminal_stay_within_its_daily_cap(programme):  # noqa: F811
    sale_limits_update(data={"max_terminal_points_per_day": CAP})
    _, key = terminal_create(store=Store.objects.get(code="PHO-HN01"), name="Till")
    # Twenty members, so the sales do not queue on one member's row before reaching the counter.
    members = [MemberFactory() for _ in range(20)]

    def one(i):
        body = {
            "receipt_number": f"CAP-{i}",
            "member": members[i].pk,
            "lines": [{"sku": "PHO-GA", "quantity": 1, "unit_price": 120000}],
        }
        return call(key, body, f"cap-{i}")

    results = run_in_threads(20, one)
    statuses = [r[0] for r in results]
    fit = CAP // POINTS_PER_SALE
    assert statuses.count(201) == fit, results
    assert statuses.count(422) == 20 - fit
    assert all(b'"limit":"terminal-points-per-day"' in r[1] for r in results if r[0] == 422)
    day = TerminalDay.objects.get()
    assert day.points_given == fit * POINTS_PER_SALE <= CAP
    assert Sale.objects.count() == fit
    assert sum(LedgerEntry.objects.filter(kind="earn").values_list("points", flat=True)) == day.points_given
    assert LimitRefusal.objects.count() == 20 - fit == day.refusals
    assert ledger_drift() == []
