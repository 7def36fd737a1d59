"""Manual adjustments within limits, and the approval of larger ones by a second person
(risk.md "Staff"): the demo limits are 500 points an adjustment and 2,000 a staff member a day."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.roles import MARKETING, PROGRAMME_LEAD, STORE_MANAGER
from loyalty_site.core.errors import ValidationFailed
from members.admin import history_field_changes
from members.errors import AdjustmentDecided, ApproverNotAllowed, InsufficientPoints
from members.models import LedgerEntry, Member, PointsAdjustment, StaffAdjustmentDay
from members.services import (
    points_adjustment_approve,
    points_adjustment_reject,
    points_adjustment_request,
    programme_settings_update,
)
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.members.helpers import assert_ledger_consistent, written_state

pytestmark = pytest.mark.django_db


def staff_in(django_user_model, role, username):
    user = django_user_model.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def manager(django_user_model):
    return staff_in(django_user_model, STORE_MANAGER, "manager")


@pytest.fixture
def lead(django_user_model):
    return staff_in(django_user_model, PROGRAMME_LEAD, "lead")


@pytest.fixture
def other_lead(django_user_model):
    return staff_in(django_user_model, PROGRAMME_LEAD, "lead2")


def adjustment_state() -> dict:
    return {
        **written_state(),
        "adjustments": list(PointsAdjustment.objects.order_by("pk").values_list("pk", "status", "entry_id")),
        "allowance": list(StaffAdjustmentDay.objects.order_by("pk").values_list("user_id", "day", "points")),
    }


def test_the_limits_are_programme_settings_with_the_demo_values():
    programme = programme_settings_update(data={"adjustment_max_points": 500, "adjustment_daily_points": 2000})
    assert (programme.adjustment_max_points, programme.adjustment_daily_points) == (500, 2000)


def test_an_adjustment_within_the_limits_is_applied_at_once(manager):
    member = MemberFactory(points=10)
    adjustment = points_adjustment_request(member=member, points=500, reason="Sự cố máy POS", requested_by=manager)
    assert adjustment.status == PointsAdjustment.Status.APPLIED
    assert adjustment.entry.points == 500 and adjustment.entry.created_by == manager
    assert Member.objects.get(pk=member.pk).points_balance == 510
    assert StaffAdjustmentDay.objects.get(user=manager).points == 500
    assert_ledger_consistent()


@pytest.mark.parametrize("points", [501, -501, 10_000_000])
def test_an_adjustment_above_the_limit_waits_and_changes_no_balance(manager, points):
    member = MemberFactory(points=1000)
    entries = LedgerEntry.objects.count()
    adjustment = points_adjustment_request(member=member, points=points, reason="Khách khiếu nại", requested_by=manager)
    assert adjustment.status == PointsAdjustment.Status.PENDING and adjustment.entry is None
    assert Member.objects.get(pk=member.pk).points_balance == 1000
    assert LedgerEntry.objects.count() == entries
    # Nothing counted against the allowance either.
    assert StaffAdjustmentDay.objects.filter(user=manager, points__gt=0).count() == 0


def test_the_daily_allowance_sends_the_rest_of_the_day_to_approval(manager, lead):
    member = MemberFactory(points=0)
    results = [
        points_adjustment_request(member=member, points=points, reason="Bù điểm", requested_by=manager).status
        for points in (500, 500, -300, 500, 200, 1)
    ]
    assert results == ["applied", "applied", "applied", "applied", "applied", "pending"]
    assert Member.objects.get(pk=member.pk).points_balance == 1400
    # Another person's allowance is their own.
    assert points_adjustment_request(member=member, points=500, reason="Bù", requested_by=lead).status == "applied"


def test_the_same_reference_again_returns_the_first_request(manager):
    member = MemberFactory(points=0)
    first = points_adjustment_request(member=member, points=50, reason="x", requested_by=manager, reference="r1")
    again = points_adjustment_request(member=member, points=50, reason="x", requested_by=manager, reference="r1")
    assert again.pk == first.pk
    assert Member.objects.get(pk=member.pk).points_balance == 50
    assert StaffAdjustmentDay.objects.get(user=manager).points == 50


@pytest.mark.parametrize(
    ("points", "reason", "error"),
    [(5, "  ", ValidationFailed), (0, "x", ValidationFailed), (-11, "too many", InsufficientPoints)],
)
def test_a_refused_request_writes_nothing_not_even_the_allowance(manager, points, reason, error):
    member = MemberFactory(points=10)
    before = adjustment_state()
    with pytest.raises(error):
        points_adjustment_request(member=member, points=points, reason=reason, requested_by=manager)
    assert adjustment_state() == before


def test_a_different_programme_lead_approves_and_only_then_the_balance_moves(manager, lead):
    member = MemberFactory(points=10)
    pending = points_adjustment_request(member=member, points=800, reason="Quà tri ân", requested_by=manager)
    approved = points_adjustment_approve(adjustment=pending, approved_by=lead, note="OK")
    assert approved.status == PointsAdjustment.Status.APPROVED
    assert (approved.decided_by, approved.decision_note) == (lead, "OK")
    assert approved.entry.points == 800 and approved.entry.created_by == manager
    assert Member.objects.get(pk=member.pk).points_balance == 810
    assert_ledger_consistent()
    with pytest.raises(AdjustmentDecided):
        points_adjustment_approve(adjustment=pending, approved_by=lead)
    assert Member.objects.get(pk=member.pk).points_balance == 810


def test_the_person_who_asked_cannot_approve_nor_can_anyone_but_a_lead(django_user_model, lead, manager):
    member = MemberFactory(points=10)
    own = points_adjustment_request(member=member, points=900, reason="Lớn", requested_by=lead)
    marketing = staff_in(django_user_model, MARKETING, "marketing")
    before = adjustment_state()
    for user in (lead, manager, marketing):
        with pytest.raises(ApproverNotAllowed):
            points_adjustment_approve(adjustment=own, approved_by=user)
        with pytest.raises(ApproverNotAllowed):
            points_adjustment_reject(adjustment=own, rejected_by=user)
    assert adjustment_state() == before


def test_the_database_refuses_the_same_person_deciding(lead):
    member = MemberFactory()
    own = points_adjustment_request(member=member, points=900, reason="Lớn", requested_by=lead)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PointsAdjustment.objects.filter(pk=own.pk).update(decided_by=lead)


def test_a_rejected_adjustment_is_never_posted(manager, lead):
    member = MemberFactory(points=10)
    pending = points_adjustment_request(member=member, points=-900, reason="Sai", requested_by=manager)
    rejected = points_adjustment_reject(adjustment=pending, rejected_by=lead, note="Không có căn cứ")
    assert rejected.status == PointsAdjustment.Status.REJECTED and rejected.entry is None
    before = adjustment_state()
    with pytest.raises(AdjustmentDecided):
        points_adjustment_approve(adjustment=pending, approved_by=lead)
    assert adjustment_state() == before
    assert Member.objects.get(pk=member.pk).points_balance == 10


def test_an_approval_the_balance_no_longer_covers_is_refused_and_writes_nothing(manager, lead):
    member = MemberFactory(points=600)
    pending = points_adjustment_request(member=member, points=-600, reason="Thu hồi", requested_by=manager)
    points_adjustment_request(member=member, points=-100, reason="Khác", requested_by=manager)
    before = adjustment_state()
    with pytest.raises(InsufficientPoints):
        points_adjustment_approve(adjustment=pending, approved_by=lead)
    assert adjustment_state() == before


def test_the_adjustment_history_keeps_who_why_and_the_old_and_new_status(manager, lead):
    member = MemberFactory()
    pending = points_adjustment_request(member=member, points=900, reason="Quà", requested_by=manager)
    points_adjustment_approve(adjustment=pending, approved_by=lead, note="Đã kiểm tra")
    records = list(PointsAdjustment.history.filter(id=pending.pk).order_by("history_date", "history_id"))
    assert [(r.status, r.history_user, r.history_change_reason) for r in records] == [
        ("pending", manager, "Quà"),
        ("approved", lead, "Đã kiểm tra"),
    ]
    change = {name: (old, new) for name, old, new in history_field_changes(records[1])}
    assert change["status"] == ("pending", "approved") and change["decided_by"] == (None, lead.pk)


# --- In the admin ---------------------------------------------------------------------------------


def adjust_url(member):
    return reverse("admin:members_member_adjust_points", args=[member.pk])


APPROVALS = reverse("admin:members_pointsadjustment_changelist")


def test_in_the_admin_a_large_adjustment_waits_and_a_lead_approves_it(client, manager, lead):
    member = MemberFactory(points=10)
    client.force_login(lead)  # a lead may adjust too, within the same limits
    token = client.get(adjust_url(member)).context["form"]["token"].value()
    response = client.post(adjust_url(member), {"points": "1500", "reason": "Bồi thường", "token": token}, follow=True)
    assert "waits for a programme lead" in response.content.decode() or "chờ" in response.content.decode()
    assert Member.objects.get(pk=member.pk).points_balance == 10
    pending = PointsAdjustment.objects.get()
    # The list opens on what waits; the lead who asked cannot approve their own.
    page = client.get(APPROVALS)
    assert [a.pk for a in page.context["cl"].result_list] == [pending.pk]
    client.post(APPROVALS, {"action": "approve_adjustments", "_selected_action": [pending.pk]})
    assert PointsAdjustment.objects.get().status == "pending"
    assert Member.objects.get(pk=member.pk).points_balance == 10
    # A store manager is not offered the action, and a crafted POST does nothing.
    client.force_login(manager)
    assert "approve_adjustments" not in client.get(APPROVALS).content.decode()
    client.post(APPROVALS, {"action": "approve_adjustments", "_selected_action": [pending.pk]})
    assert PointsAdjustment.objects.get().status == "pending"


def test_in_the_admin_another_lead_approves(client, manager, lead):
    member = MemberFactory(points=10)
    pending = points_adjustment_request(member=member, points=700, reason="Quà", requested_by=manager)
    client.force_login(lead)
    client.post(APPROVALS, {"action": "approve_adjustments", "_selected_action": [pending.pk]})
    assert PointsAdjustment.objects.get().status == "approved"
    assert Member.objects.get(pk=member.pk).points_balance == 710
    assert client.get(APPROVALS + "?status=all").status_code == 200
    assert client.get(reverse("admin:members_pointsadjustment_add")).status_code == 403


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_requests_cannot_together_pass_the_daily_allowance(django_user_model, is_postgres):
    if not is_postgres:
        pytest.skip("real row locks: PostgreSQL")
    manager = staff_in(django_user_model, STORE_MANAGER, "manager")
    members = [MemberFactory() for _ in range(10)]

    def attempt(index):
        return points_adjustment_request(
            member=Member(pk=members[index].pk), points=400, reason="song song", requested_by=manager
        )

    results = run_in_threads(10, attempt)
    statuses = sorted(r.status for r in results if isinstance(r, PointsAdjustment))
    assert statuses == ["applied"] * 5 + ["pending"] * 5, results
    assert StaffAdjustmentDay.objects.get(user=manager).points == 2000
    assert sum(Member.objects.values_list("points_balance", flat=True)) == 2000
    assert_ledger_consistent()
