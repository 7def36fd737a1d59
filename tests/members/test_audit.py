"""The audit trail (django-simple-history): every block, unblock, merge and change of a
member's phone keeps who, when, why and the old and new values, read-only in the admin."""

import pytest
from django.urls import reverse

from members.admin import history_field_changes
from members.models import Member
from members.services import member_block, member_merge, member_unblock, member_update
from tests.factories import MemberFactory
from tests.members.helpers import written_state

pytestmark = pytest.mark.django_db

INLINE_MANAGEMENT = {"cards-TOTAL_FORMS": "0", "cards-INITIAL_FORMS": "0", "cards-MAX_NUM_FORMS": "0"}
HISTORY = reverse("admin:members_historicalmember_changelist")


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="pw-for-tests-only")


def last_change(member):
    record = member.history.order_by("-history_date", "-history_id").first()
    return record, {name: (old, new) for name, old, new in history_field_changes(record)}


def edit(client, member, **data):
    fields = {"name": member.name, "phone": member.phone, "email": "", "birthday": "", "gender": ""}
    return client.post(
        reverse("admin:members_member_change", args=[member.pk]), {**fields, **data, **INLINE_MANAGEMENT}
    )


def test_a_phone_change_in_the_admin_needs_a_reason_and_writes_nothing_without_one(client, boss):
    member = MemberFactory(phone="0912345678")
    client.force_login(boss)
    before, history = written_state(), member.history.count()
    response = edit(client, member, phone="0987654321")
    assert response.status_code == 200 and response.context["adminform"].form.errors["change_reason"]
    assert written_state() == before and member.history.count() == history


def test_a_phone_change_keeps_who_when_why_and_the_old_and_new_number(client, boss):
    member = MemberFactory(phone="0912345678")
    client.force_login(boss)
    response = edit(client, member, phone="0987654321", change_reason="Khách đổi số điện thoại")
    assert response.status_code == 302
    record, changes = last_change(member)
    assert changes == {"phone": ("+84912345678", "+84987654321")}
    assert (record.history_user, record.history_change_reason) == (boss, "Khách đổi số điện thoại")
    assert record.history_date is not None


def test_block_unblock_and_merge_keep_who_why_and_the_status_change(boss):
    member, other = MemberFactory(), MemberFactory()
    member_block(member=member, reason="Gian lận", changed_by=boss)
    record, changes = last_change(member)
    assert changes["status"] == ("active", "blocked")
    assert (record.history_user, record.history_change_reason) == (boss, "Gian lận")
    member_unblock(member=member, reason="Đã xác minh", changed_by=boss)
    record, changes = last_change(member)
    assert changes["status"] == ("blocked", "active") and record.history_change_reason == "Đã xác minh"
    member_merge(survivor=other, merged=member, merged_by=boss, reason="Trùng hồ sơ")
    record, changes = last_change(Member.objects.get(pk=member.pk))
    assert changes["status"] == ("active", "merged")
    assert changes["merged_into"] == (None, other.pk)
    assert record.history_user == boss and "Trùng hồ sơ" in record.history_change_reason


def test_the_service_without_a_user_takes_the_requests_user_through_the_middleware(client, boss):
    # The admin's block action: the middleware supplies the user.
    member = MemberFactory()
    client.force_login(boss)
    client.post(
        reverse("admin:members_member_changelist"), {"action": "block_members", "_selected_action": [member.pk]}
    )
    record, changes = last_change(member)
    assert changes["status"] == ("active", "blocked") and record.history_user == boss


def test_the_history_is_shown_read_only_with_old_and_new_values(client, boss):
    member = MemberFactory(phone="0912345678")
    member_update(member=member, data={"phone": "0987654321"}, changed_by=boss, reason="Đổi số")
    client.force_login(boss)
    page = client.get(HISTORY, {"id": member.pk})
    assert page.status_code == 200
    text = page.content.decode()
    assert "+84912345678 → +84987654321" in text and "Đổi số" in text
    record = member.history.first()
    change_url = reverse("admin:members_historicalmember_change", args=[record.pk])
    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {}).status_code == 403
    assert client.get(reverse("admin:members_historicalmember_add")).status_code == 403
    assert (
        client.post(reverse("admin:members_historicalmember_delete", args=[record.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert member.history.filter(pk=record.pk).exists()
    assert "revert" not in client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()
