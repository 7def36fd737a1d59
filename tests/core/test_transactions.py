"""Services inside their callers' transactions (`loyalty_site.core.transactions`): no savepoints,
no second lock, a handle the lock function returned instead of a flag on the instance, and still
nothing half-written, whichever way the caller opened the transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from loyalty_site.core.transactions import LockReleased, StaleLock, writes
from members.errors import MemberBlocked
from members.models import LedgerEntry, Member, PointLot
from members.selectors import programme_settings_get
from members.services import member_block, member_lock, members_lock, points_earn, points_spend
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="row locks of a second connection: PostgreSQL only"
)


def member_row_locks(queries) -> int:
    """Statements that lock (PostgreSQL) or read (SQLite, no FOR UPDATE) a member row."""
    if connection.vendor == "postgresql":
        return sum(1 for q in queries if q["sql"].startswith('SELECT "members_member"') and "FOR " in q["sql"].upper())
    return sum(1 for q in queries if q["sql"].startswith('SELECT "members_member"'))


def savepoints(queries) -> int:
    return sum(1 for q in queries if q["sql"].startswith("SAVEPOINT"))


def ledger_state(member: Member) -> tuple:
    member.refresh_from_db()
    return member.points_balance, LedgerEntry.objects.count(), PointLot.objects.count()


@pytest.fixture
def member():
    programme_settings_get()  # the settings row exists (its first read creates it)
    return MemberFactory()


# --- Every way a caller opens the transaction ---------------------------------------------------


def in_atomic(body: Callable[[], None]) -> None:
    with transaction.atomic():
        body()


def in_decorated(body: Callable[[], None]) -> None:
    @transaction.atomic
    def decorated():
        body()

    decorated()


def in_savepoint(body: Callable[[], None]) -> None:
    with transaction.atomic(), transaction.atomic():
        body()


def in_nothing(body: Callable[[], None]) -> None:
    body()  # the lock function opens the transaction itself


@pytest.mark.parametrize("opener", [in_atomic, in_decorated, in_savepoint, in_nothing])
def test_a_handle_spares_the_ledger_its_lock_and_savepoints_however_the_transaction_was_opened(member, opener):
    def body():
        with CaptureQueriesContext(connection) as queries, member_lock(member_id=member.pk) as lock:
            points_earn(member=lock.member, lock=lock, points=10, reference="t:earn")
            points_spend(member=lock.member, lock=lock, points=4, reference="t:spend")
            assert lock.member.points_balance == 6
        assert member_row_locks(queries.captured_queries) == 1  # the lock function's, once
        assert savepoints(queries.captured_queries) == 0

    opener(body)
    assert ledger_state(member) == (6, 2, 1)


@pytest.mark.urls("tests.core.lock_urls")
def test_a_handle_works_in_a_view_under_atomic_requests(member, client, monkeypatch):
    monkeypatch.setitem(connections["default"].settings_dict, "ATOMIC_REQUESTS", True)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/earn/{member.pk}", {"reference": "view:1"})
    assert response.status_code == 200 and response.json() == {"balance": 10}
    assert member_row_locks(queries.captured_queries) == 1
    assert savepoints(queries.captured_queries) == 0
    assert ledger_state(member) == (10, 1, 1)

    client.raise_request_exception = False
    response = client.get(f"/earn/{member.pk}", {"reference": "view:2", "fail": "1"})
    assert response.status_code == 500
    assert ledger_state(member) == (10, 1, 1)  # the request's transaction took the posting with it


def test_without_a_handle_the_ledger_locks_the_row_itself(member):
    stale = Member.objects.get(pk=member.pk)
    with transaction.atomic():
        members_lock(member_ids=[member.pk])  # a lock, but no handle: not trusted
        with CaptureQueriesContext(connection) as queries:
            points_earn(member=stale, points=5, reference="t:1")
        assert member_row_locks(queries.captured_queries) == 1
    assert stale.points_balance == 5
    assert ledger_state(member) == (5, 1, 1)


# --- What the caller vouches for ---------------------------------------------------------------


def test_only_the_references_a_handle_vouches_for_skip_the_look_up_for_a_retry(member):
    points_earn(member=member, points=3, reference="t:posted")
    with member_lock(member_id=member.pk) as lock:
        with CaptureQueriesContext(connection) as vouched:
            points_earn(member=lock.member, lock=lock.vouching_new("t:new"), points=2, reference="t:new")
        assert not any('FROM "members_ledgerentry"' in q["sql"] for q in vouched.captured_queries)
        # Not vouched for: looked up, and the retry answers the entry posted before.
        retry = points_earn(member=lock.member, lock=lock.vouching_new("t:new"), points=3, reference="t:posted")
    assert retry.reference == "t:posted"
    assert ledger_state(member) == (5, 2, 2)


# --- Refusals and errors -----------------------------------------------------------------------


def test_a_refusal_inside_the_callers_transaction_leaves_it_usable_and_unchanged(member):
    blocked = member_block(member=MemberFactory(), reason="test")
    with transaction.atomic():
        with member_lock(member_id=blocked.pk) as lock, pytest.raises(MemberBlocked):
            points_earn(member=lock.member, lock=lock, points=10, reference="t:blocked")
        # No savepoint was needed: nothing had been written, and the transaction goes on.
        points_earn(member=member, points=7, reference="t:ok")
    assert not LedgerEntry.objects.filter(member=blocked).exists()
    assert ledger_state(member) == (7, 1, 1)


def test_an_error_part_way_through_the_writes_rolls_back_the_whole_transaction(member):
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
    assert ledger_state(member) == (0, 0, 0)


def test_a_handle_used_after_its_block_is_refused_and_writes_nothing(member):
    with transaction.atomic():
        with member_lock(member_id=member.pk) as lock:
            pass
        with pytest.raises(LockReleased):
            points_earn(member=lock.member, lock=lock, points=5, reference="t:late")
    with pytest.raises(LockReleased):  # nor in a later transaction, whose lock it never was
        points_earn(member=lock.member, lock=lock, points=5, reference="t:later")
    assert ledger_state(member) == (0, 0, 0)


def test_a_handle_taken_inside_a_rolled_back_savepoint_is_closed_with_it(member):
    with transaction.atomic():
        try:
            with transaction.atomic(), member_lock(member_id=member.pk) as lock:
                raise RuntimeError("rolled back, and the lock taken after the savepoint with it")
        except RuntimeError:
            pass
        with pytest.raises(LockReleased):
            points_earn(member=lock.member, lock=lock, points=5, reference="t:1")
    assert ledger_state(member) == (0, 0, 0)


def test_a_handle_for_another_member_is_refused_and_writes_nothing(member):
    other = MemberFactory()
    with member_lock(member_id=other.pk) as lock, pytest.raises(ValueError):
        points_earn(member=member, lock=lock, points=5, reference="t:1")
    assert ledger_state(member) == (0, 0, 0)


def test_a_rolled_back_savepoint_that_wrote_nothing_through_the_handle_is_harmless(member):
    with transaction.atomic(), member_lock(member_id=member.pk) as lock:
        try:
            with transaction.atomic():
                points_earn(member=MemberFactory(), points=1, reference="t:other")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        points_earn(member=lock.member, lock=lock, points=5, reference="t:1")
    assert ledger_state(member) == (5, 1, 1)


def test_a_handle_whose_writes_a_savepoint_rolled_back_fails_loudly_and_nothing_is_committed(member):
    with pytest.raises(StaleLock), transaction.atomic(), member_lock(member_id=member.pk) as lock:
        points_earn(member=lock.member, lock=lock, points=10, reference="t:kept")
        try:
            with transaction.atomic():
                points_earn(member=lock.member, lock=lock, points=5, reference="t:undone")
                raise RuntimeError("rolled back: the database forgets the 5 points, the handle does not")
        except RuntimeError:
            pass
        assert lock.member.points_balance == 15  # stale: the row says 10
        points_spend(member=lock.member, lock=lock, points=8, reference="t:spend")
    assert ledger_state(member) == (0, 0, 0)  # not even the first posting: the transaction went


# --- PostgreSQL: the lock is really held while the handle is used ------------------------------


def locked_elsewhere(member_id: int) -> bool:
    """Whether another connection (another thread) finds the member's row locked."""
    found: list[bool] = []

    def probe():
        try:
            with transaction.atomic():
                Member.objects.select_for_update(no_key=True, nowait=True).filter(pk=member_id).exists()
            found.append(False)
        except OperationalError:
            found.append(True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=30)
    return found == [True]


@postgres_only
@pytest.mark.postgres
def test_the_row_is_locked_while_the_handle_is_used_and_released_at_commit(member):
    with transaction.atomic(), member_lock(member_id=member.pk) as lock:
        assert locked_elsewhere(member.pk)
        points_earn(member=lock.member, lock=lock, points=10, reference="t:1")
        assert locked_elsewhere(member.pk)  # the service did not lock it: the handle's lock holds
        points_spend(member=lock.member, lock=lock, points=3, reference="t:2")
        assert locked_elsewhere(member.pk)
    assert not locked_elsewhere(member.pk)
    assert ledger_state(member) == (7, 2, 1)


@postgres_only
@pytest.mark.postgres
def test_a_rolled_back_savepoint_keeps_a_lock_taken_before_it_even_when_it_updated_the_row(member):
    """PostgreSQL releases only the locks taken after a savepoint. A lock taken before it
    survives the rollback, even when the savepoint updated the row (before 9.3 that forgot the
    lock): so the handle's lock holds for the whole of its block."""
    with transaction.atomic(), member_lock(member_id=member.pk) as lock:
        try:
            with transaction.atomic():
                Member.objects.filter(pk=member.pk).update(review_note="in a savepoint")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert locked_elsewhere(member.pk)
        assert lock.scope.open
    assert not locked_elsewhere(member.pk)
