"""Real threads against the real database: the member's row lock is the only thing standing
between 20 simultaneous spends and an overdrawn balance. Runs on SQLite and PostgreSQL."""

from io import StringIO

import pytest
from django.core.management import call_command

from members.errors import InsufficientPoints, MemberExists
from members.models import LedgerEntry, LotMovement, Member, PointLot
from members.services import member_enrol, points_earn, points_spend
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.members.helpers import assert_ledger_consistent, days_ago

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_spends_never_overdraw_the_balance():
    member = MemberFactory()
    # Several lots, so each spend has to pick and drain lots under the lock.
    for index, (points, age) in enumerate([(40, 300), (25, 200), (30, 100), (20, 5)]):
        points_earn(member=member, points=points, reference=f"seed:{index}", occurred_at=days_ago(age))
    assert Member.objects.get(pk=member.pk).points_balance == 115
    spend = 10  # 115 covers 11 spends of 10, not 20

    def attempt(index):
        return points_spend(member=Member(pk=member.pk), points=spend, reference=f"till:{index}")

    results = run_in_threads(THREADS, attempt)

    succeeded = [r for r in results if isinstance(r, LedgerEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == 11, results
    assert len(refused) == THREADS - 11, results
    final = Member.objects.get(pk=member.pk)
    assert final.points_balance == 5
    assert sorted(e.balance_after for e in succeeded) == list(range(5, 115, 10))
    # Soonest-expiring first: only the newest lot has points left.
    assert list(PointLot.objects.filter(member=member).order_by("earned_at").values_list("remaining", flat=True)) == [
        0,
        0,
        0,
        5,
    ]
    assert LotMovement.objects.filter(entry__kind="spend").count() >= 11
    assert_ledger_consistent()
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "consistent" in out.getvalue().lower() or "nhất quán" in out.getvalue().lower()


@pytest.mark.django_db(transaction=True)
def test_the_same_reference_from_several_threads_posts_once():
    member = MemberFactory()

    def attempt(index):
        return points_earn(member=Member(pk=member.pk), points=70, reference="sale:42:earn")

    results = run_in_threads(8, attempt)
    assert all(isinstance(r, LedgerEntry) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert LedgerEntry.objects.filter(reference="sale:42:earn").count() == 1
    assert Member.objects.get(pk=member.pk).points_balance == 70
    assert_ledger_consistent()


@pytest.mark.django_db(transaction=True)
def test_the_same_phone_enrolled_from_several_tills_at_once_makes_one_member():
    def attempt(index):
        return member_enrol(name=f"Khách {index}", phone="0912345678", channel="api")

    results = run_in_threads(6, attempt)
    members = [r for r in results if isinstance(r, Member)]
    conflicts = [r for r in results if isinstance(r, MemberExists)]
    assert len(members) == 1 and len(conflicts) == 5, results
    assert {c.extra["member_id"] for c in conflicts} == {members[0].pk}
    assert Member.objects.count() == 1
