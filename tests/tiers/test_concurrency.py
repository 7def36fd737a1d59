"""One real concurrency test per lock: tills recording spend for the same member at the same
moment, on SQLite and PostgreSQL, with real threads and their own connections."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import run_in_threads
from tests.tiers.conftest import enrol, local_at
from tiers.demo import demo_tiers_load
from tiers.models import TierChange, TierSpend, TierStatus
from tiers.services import tier_spend_record


@pytest.mark.django_db(transaction=True)
def test_two_tills_recording_spend_for_one_member_at_once_end_with_the_exact_sum():
    # Given a member with no status row yet (both threads race to create it)
    demo_tiers_load()
    member = enrol()

    def record(index: int):
        return tier_spend_record(
            member=member,
            amount=Decimal(3_000_000 + index),
            reference=f"sale:{index}",
            occurred_at=local_at(1, hour=10 + index),
        )

    outcomes = run_in_threads(2, record)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    status = TierStatus.objects.get(member=member)
    assert status.qualifying_spend == Decimal(6_000_001)
    assert status.tier.code == "VIP"
    # exactly one of the two crossed the threshold, and the history says so once
    assert sorted(o.tier_changed for o in outcomes) == [False, True]
    assert TierChange.objects.filter(member=member).count() == 1
    assert TierSpend.objects.filter(member=member).count() == 2


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_sales_and_retries_of_the_same_reference_count_each_sale_once():
    demo_tiers_load()
    member = enrol()
    tier_spend_record(member=member, amount=Decimal(1), reference="sale:first", occurred_at=local_at(2))

    def record(index: int):
        # two threads per reference: a till retrying while the first attempt is in flight
        return tier_spend_record(
            member=member,
            amount=Decimal(1_000_000),
            reference=f"sale:{index // 2}",
            occurred_at=local_at(1),
        )

    outcomes = run_in_threads(8, record)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o.replayed for o in outcomes) == 4
    status = TierStatus.objects.get(member=member)
    assert status.qualifying_spend == Decimal(4_000_001)
    assert status.tier.code == "MEMBER"
