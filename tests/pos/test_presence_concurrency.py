"""Single use under concurrency (pos-api.md 1.1), with real threads on SQLite and PostgreSQL:
parallel sales at different tills with the same card token or the same one-time code pay once."""

import json

import pytest
from django.utils import timezone

from members.models import LedgerEntry, PresenceCode, PresenceTokenUse
from members.selectors import ledger_drift
from members.services import member_token_issue, presence_code_issue, programme_settings_update
from pos.models import Sale
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.test_sales_concurrency import body, call, keys, programme  # noqa: F401 -- fixture

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/pos/v1/sales"
LINES = [{"sku": "PHO-GA", "category": "pho", "quantity": 1, "unit_price": 500000}]


@pytest.fixture
def member(programme):  # noqa: F811
    programme_settings_update(data={"presence_proof": "above", "presence_free_points": 100})
    return MemberFactory(points=2000)


def _race(member, **proof):
    tills = keys(6)
    results = run_in_threads(
        6, lambda i: call(tills[i], SALES, body(f"PR-{i}", member, points_to_redeem=150, lines=LINES, **proof), f"k{i}")
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [403] * 5, results
    for status, content in results:
        if status == 403:
            assert json.loads(content)["type"].endswith("/member-proof-invalid")
    assert Sale.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="spend").count() == 1
    assert ledger_drift() == []


def test_six_parallel_sales_with_one_token_pay_once(member):
    _race(member, member_token=member_token_issue(member=member).token)
    assert PresenceTokenUse.objects.count() == 1


def test_six_parallel_sales_with_one_code_pay_once(member):
    _row, code = presence_code_issue(member=member, at=timezone.now())
    _race(member, otp=code)
    assert PresenceCode.objects.get().used_at is not None
