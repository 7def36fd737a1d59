"""Services inside their callers' transactions (`loyalty_site.core.transactions`): no savepoints,
no second lock, and still nothing half-written."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loyalty_site.core.transactions import holds_row_lock, writes
from members.errors import MemberBlocked
from members.models import LedgerEntry, Member, PointLot
from members.selectors import programme_settings_get
from members.services import member_block, members_lock, points_earn
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def locks_of_member_rows(queries) -> int:
    return sum(
        1 for q in queries if q["sql"].startswith('SELECT "members_member"') and "FOR " in q["sql"].upper()
    ) if connection.vendor == "postgresql" else sum(1 for q in queries if 'FROM "members_member"' in q["sql"])


def test_a_row_counts_as_locked_only_in_the_transaction_and_savepoints_that_locked_it():
    member = MemberFactory()
    with transaction.atomic():
        locked = members_lock(member_ids=[member.pk])[member.pk]
        assert holds_row_lock(locked)
        with transaction.atomic():
            assert holds_row_lock(locked)  # a savepoint opened later changes nothing
    assert not holds_row_lock(locked)  # the transaction is over: its locks are gone
    with transaction.atomic():
        assert not holds_row_lock(locked)  # another transaction

    with transaction.atomic():
        try:
            with transaction.atomic():
                inner = members_lock(member_ids=[member.pk])[member.pk]
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        # Rolling back the savepoint released the lock taken after it.
        assert not holds_row_lock(inner)
    assert not holds_row_lock(Member.objects.get(pk=member.pk))  # never locked at all


def test_the_ledger_does_not_lock_again_a_member_its_caller_locked():
    member = MemberFactory()
    programme_settings_get()  # the settings row exists (its first read creates it)
    with transaction.atomic():
        locked = members_lock(member_ids=[member.pk])[member.pk]
        with CaptureQueriesContext(connection) as queries:
            points_earn(member=locked, points=10, reference="t:1")
        assert locks_of_member_rows(queries.captured_queries) == 0
        assert not any("SAVEPOINT" in q["sql"] for q in queries.captured_queries)
        assert locked.points_balance == 10

    stale = Member.objects.get(pk=member.pk)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            points_earn(member=stale, points=5, reference="t:2")
        assert locks_of_member_rows(queries.captured_queries) == 1  # not locked by the caller: locked here
    assert stale.points_balance == 15
    assert Member.objects.get(pk=member.pk).points_balance == 15 == sum(e.points for e in LedgerEntry.objects.all())


def test_a_refusal_inside_the_callers_transaction_leaves_it_usable_and_unchanged():
    member = MemberFactory()
    blocked = member_block(member=MemberFactory(), reason="test")
    with transaction.atomic():
        locked = members_lock(member_ids=[blocked.pk])[blocked.pk]
        with pytest.raises(MemberBlocked):
            points_earn(member=locked, points=10, reference="t:blocked")
        # No savepoint was needed: nothing had been written, and the transaction goes on.
        points_earn(member=member, points=7, reference="t:ok")
    assert not LedgerEntry.objects.filter(member=blocked).exists()
    assert Member.objects.get(pk=member.pk).points_balance == 7


def test_an_error_part_way_through_the_writes_rolls_back_the_whole_transaction():
    member = MemberFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        points_earn(member=member, points=3, reference="t:before")
        try:
            with writes():
                LedgerEntry.objects.filter(member=member).count()
                raise RuntimeError("a bug after the first write")
        except RuntimeError:
            # Swallowing the error cannot save the half-done posting: the transaction must go.
            assert connection.needs_rollback
            raise
    assert not LedgerEntry.objects.exists() and not PointLot.objects.exists()
    assert Member.objects.get(pk=member.pk).points_balance == 0
