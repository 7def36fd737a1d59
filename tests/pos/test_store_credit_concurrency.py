"""The store-credit race with real threads: 20 sales at once, each paying 50,000 đ of store
credit, against a balance of 100,000 đ. Exactly two succeed, the balance never goes below zero,
and the entries still sum to the balance (on SQLite, and on PostgreSQL where the member's row
lock is what serialises them)."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import Member, StoreCreditEntry
from members.selectors import ledger_drift, store_credit_drift
from members.services import store_credit_adjust
from pos.models import Sale
from stores.models import Store
from stores.services import terminal_create
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.pos.test_sales_concurrency import programme  # noqa: F401 -- the demo programme fixture

pytestmark = pytest.mark.django_db(transaction=True)
SALES = "/api/pos/v1/sales"


def call(key, body, idem):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.post(SALES, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=idem)
    return response.status_code, response.content


def test_20_parallel_spends_against_a_balance_that_covers_2(programme):  # noqa: F811
    member = MemberFactory()
    staff = get_user_model().objects.create_user("race-staff", is_staff=True)
    store_credit_adjust(member=member, amount=Decimal(100000), reason="Race", created_by=staff)
    store = Store.objects.get(code="PHO-HN01")  # no store-credit rule: only the spends move the balance
    tills = [terminal_create(store=store, name=f"Till {i}")[1] for i in range(20)]

    def spend(i):
        return call(
            tills[i],
            {
                "receipt_number": f"SC-{i}",
                "member": member.pk,
                "occurred_at": timezone.now().isoformat(),
                "lines": [{"sku": "PHO-GA", "category": "pho", "quantity": 1, "unit_price": 100000}],
                "store_credit_to_redeem": "50000",
            },
            f"sc-{i}",
        )

    results = run_in_threads(20, spend)
    statuses = [r[0] if isinstance(r, tuple) else r for r in results]
    assert statuses.count(201) == 2, results
    assert statuses.count(422) == 18, results
    assert all(json.loads(r[1])["type"].endswith("/insufficient-store-credit") for r in results if r[0] == 422)
    member = Member.objects.get(pk=member.pk)
    assert member.store_credit_balance == 0
    assert Sale.objects.count() == 2
    assert StoreCreditEntry.objects.filter(kind="spend").count() == 2
    assert not StoreCreditEntry.objects.filter(balance_after__lt=0).exists()
    total = sum(StoreCreditEntry.objects.filter(member=member).values_list("amount", flat=True))
    assert total == member.store_credit_balance
    assert store_credit_drift() == []
    assert ledger_drift() == []
