"""The tiers side of the lock handoff (`loyalty_site.core.transactions`): `tier_spend_record` given
the handle of `tier_status_lock` neither locks nor reads the status row again, and a handle made
stale by a rolled-back savepoint cannot commit a wrong counter."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loyalty_site.core.transactions import LockReleased, StaleLock
from tests.tiers.conftest import enrol
from tiers.models import TierSpend, TierStatus
from tiers.services import tier_spend_record, tier_status_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stale_tier_status_handle_fails_loudly_and_nothing_is_committed(member):
    with pytest.raises(StaleLock), transaction.atomic():
        with tier_status_lock(member=member) as first:  # creates nothing: no row yet
            assert first.status is None
            tier_spend_record(member=member, amount=Decimal(100_000), reference="t:1", lock=first)
        with tier_status_lock(member=member) as lock:
            try:
                with transaction.atomic():
                    tier_spend_record(member=member, amount=Decimal(50_000), reference="t:2", lock=lock)
                    raise RuntimeError("rolled back: the row forgets the 50,000, the handle does not")
            except RuntimeError:
                pass
            assert lock.status.qualifying_spend == Decimal(150_000)
            tier_spend_record(member=member, amount=Decimal(20_000), reference="t:3", lock=lock)
    assert not TierSpend.objects.exists() and not TierStatus.objects.exists()


def test_a_tier_status_handle_spares_the_service_its_lock(member):
    tier_spend_record(member=member, amount=Decimal(100_000), reference="t:1")
    with tier_status_lock(member=member) as lock, CaptureQueriesContext(connection) as queries:
        outcome = tier_spend_record(
            member=member, amount=Decimal(50_000), reference="t:2", lock=lock.vouching_new("t:2")
        )
    sql = [q["sql"] for q in queries.captured_queries]
    assert not any(s.startswith('SELECT "tiers_tierstatus"') for s in sql)  # not locked or read again
    assert not any(s.startswith('SELECT "tiers_tierspend"') for s in sql)  # vouched: no look-up
    assert outcome.qualifying_spend == Decimal(150_000)
    assert TierStatus.objects.get(member=member).qualifying_spend == Decimal(150_000)


def test_a_tier_status_handle_is_refused_after_its_block_and_for_another_member(member, tiers):
    other = enrol(name="Trần Văn Minh")
    with tier_status_lock(member=member) as lock, pytest.raises(ValueError):
        tier_spend_record(member=other, amount=Decimal(10_000), reference="t:other", lock=lock)
    with pytest.raises(LockReleased):
        tier_spend_record(member=member, amount=Decimal(10_000), reference="t:late", lock=lock)
    assert not TierSpend.objects.exists() and not TierStatus.objects.exists()
