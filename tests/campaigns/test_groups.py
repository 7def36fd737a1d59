"""Static groups (add by ids, by members, by phone list; the admin pages and the member-list
action) and rule-based segments (one count per rule, one SQL statement)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.audiences.admin.actions import add_to_group_action
from campaigns.audiences.models import CustomerGroup, GroupMembership, Segment
from campaigns.audiences.selectors import segment_members
from campaigns.audiences.services import (
    group_add_members,
    group_add_members_by_phones,
    group_create,
    group_get_or_create,
    group_remove_members,
)
from loyalty_site.core.errors import ValidationFailed
from members.models import LedgerEntry, Member
from members.services import member_block, member_merge, points_earn
from tests.campaigns.conftest import HCM, enrol, local
from tiers.services import tier_spend_record

pytestmark = pytest.mark.django_db
AS_OF = datetime.date(2025, 3, 15)


# --- Static groups ----------------------------------------------------------------------------


def test_adding_members_records_who_how_and_when_and_skips_those_already_in(staff):
    group = group_create(name="  Khách  VIP  Hà Nội ", by=staff)
    assert group.name == "Khách VIP Hà Nội"
    a, b, c = enrol(), enrol(), enrol()
    assert group_add_members(group=group, members=[a, b], source=GroupMembership.Source.ADMIN, by=staff) == 2
    first = GroupMembership.objects.get(group=group, member=a)
    assert group_add_members(group=group, member_ids=[a.pk, c.pk, c.pk], source=GroupMembership.Source.IMPORT) == 1
    assert group.memberships.count() == 3
    again = GroupMembership.objects.get(group=group, member=a)
    assert (again.pk, again.source, again.added_by, again.added_at) == (
        first.pk,
        GroupMembership.Source.ADMIN,
        staff,
        first.added_at,
    )
    assert GroupMembership.objects.get(group=group, member=c).source == GroupMembership.Source.IMPORT


def test_unknown_member_ids_refuse_the_whole_call():
    group = group_create(name="Nhóm A")
    member = enrol()
    with pytest.raises(ValidationFailed) as refused:
        group_add_members(group=group, member_ids=[member.pk, 987654], source=GroupMembership.Source.IMPORT)
    assert "987654" in str(refused.value.errors["member_ids"])
    assert not GroupMembership.objects.exists()


def test_a_merged_member_is_added_as_its_survivor():
    group = group_create(name="Nhóm B")
    survivor, merged = enrol(), enrol()
    member_merge(survivor=survivor, merged=merged, reason="Trùng")
    assert group_add_members(group=group, member_ids=[merged.pk, survivor.pk], source="import") == 1
    assert list(group.memberships.values_list("member_id", flat=True)) == [survivor.pk]


def test_a_queryset_of_members_can_be_added_and_members_removed():
    group = group_create(name="Nhóm C")
    members = [enrol(home_store=None) for _ in range(5)]
    chosen = Member.objects.filter(pk__in=[m.pk for m in members])
    assert group_add_members(group=group, members=chosen, source="admin") == 5
    assert group_remove_members(group=group, member_ids=[members[0].pk, members[1].pk, 123456]) == 2
    assert group.memberships.count() == 3


def test_an_unknown_source_or_a_taken_name_writes_nothing():
    group = group_create(name="Nhóm D")
    with pytest.raises(ValidationFailed):
        group_add_members(group=group, member_ids=[enrol().pk], source="fax")
    with pytest.raises(ValidationFailed):
        group_create(name="Nhóm D")
    assert CustomerGroup.objects.count() == 1
    assert not GroupMembership.objects.exists()
    assert group_get_or_create(name=" Nhóm  D ") == (group, False)


def test_adding_by_phone_list_in_any_form(staff):
    group = group_create(name="Danh sách SĐT")
    a = enrol(phone="0912345678")
    b = enrol(phone="0987654321")
    text = "0912 345 678\n+84 987.654.321; 912345678, 0909000111\nkhông phải số\n\n"
    result = group_add_members_by_phones(group=group, phones=text, by=staff)
    assert result.added == 2
    assert result.already_in == 0
    assert result.not_found == ["0909000111"]
    assert result.invalid == ["không phải số"]
    assert set(group.memberships.values_list("member_id", flat=True)) == {a.pk, b.pk}
    assert set(group.memberships.values_list("source", flat=True)) == {GroupMembership.Source.PHONE_LIST}
    again = group_add_members_by_phones(group=group, phones=["0912345678"], by=staff)
    assert (again.added, again.already_in) == (0, 1)


# --- Segments: one count per rule -------------------------------------------------------------


def _earn(member: Member, at: datetime.datetime, points: int = 10) -> None:
    points_earn(member=member, points=points, reference=f"test:{member.pk}:{at.isoformat()}", occurred_at=at)


def _count(**rules) -> int:
    groups = rules.pop("groups", [])
    tiers = rules.pop("tiers", [])
    home_stores = rules.pop("home_stores", [])
    segment = Segment.objects.create(name=f"Phân khúc {Segment.objects.count() + 1}", **rules)
    segment.groups.set(groups)
    segment.tiers.set(tiers)
    segment.home_stores.set(home_stores)
    return segment_members(segment=segment, as_of=AS_OF).count()


def test_birthday_month_current_or_given():
    enrol(birthday=datetime.date(1990, 3, 1))
    enrol(birthday=datetime.date(1985, 3, 31))
    enrol(birthday=datetime.date(1990, 4, 1))
    enrol()  # no birthday
    blocked = enrol(birthday=datetime.date(1992, 3, 10))
    member_block(member=blocked, reason="Khóa")
    assert _count(birthday_month=Segment.BirthdayMonth.CURRENT) == 2  # March, as of 15 March
    assert _count(birthday_month="4") == 1
    assert _count() == 4  # every active member


def test_tier_counts_members_without_a_status_row_in_the_entry_tier(tiers, put_in_tier):
    put_in_tier(enrol(), "VIP")
    put_in_tier(enrol(), "VIP")
    put_in_tier(enrol(), "DIAMOND")
    enrol()
    enrol()
    assert _count(tiers=[tiers["VIP"]]) == 2
    assert _count(tiers=[tiers["VIP"], tiers["DIAMOND"]]) == 3
    assert _count(tiers=[tiers["MEMBER"]]) == 2


def test_home_store(stores):
    enrol(home_store=stores["PHO-HN01"])
    enrol(home_store=stores["CAFE-HN01"])
    enrol(home_store=stores["CAFE-HN01"])
    enrol()
    assert _count(home_stores=[stores["CAFE-HN01"]]) == 2
    assert _count(home_stores=[stores["CAFE-HN01"], stores["PHO-HN01"]]) == 3


def test_enrolled_between_in_the_programme_zone():
    enrol(enrolled_at=local(2025, 1, 1, 0, 0))
    enrol(enrolled_at=local(2025, 1, 31, 23, 59))
    enrol(enrolled_at=local(2025, 2, 1, 0, 0))
    enrol(enrolled_at=local(2024, 12, 31, 23, 59))
    assert _count(enrolled_from=datetime.date(2025, 1, 1), enrolled_until=datetime.date(2025, 1, 31)) == 2
    assert _count(enrolled_from=datetime.date(2025, 2, 1)) == 1


def test_last_purchase_before_and_after():
    recent, old, never = enrol(), enrol(), enrol()
    _earn(recent, local(2025, 3, 10, 9))
    _earn(recent, local(2024, 11, 1, 9))
    _earn(old, local(2025, 1, 5, 9))
    after_march = _count(last_purchase_after=datetime.date(2025, 3, 1))
    before_february = _count(last_purchase_before=datetime.date(2025, 2, 1))
    assert after_march == 1  # recent
    assert before_february == 1  # old (never-bought members have no last purchase)
    assert _count(last_purchase_after=datetime.date(2025, 1, 1), last_purchase_before=datetime.date(2025, 3, 1)) == 1
    assert never.pk


def test_bought_or_not_in_the_last_n_days():
    recent, old = enrol(), enrol()
    enrol()  # never bought
    _earn(recent, local(2025, 3, 1, 0, 0))  # within the 15 days up to 15 March
    _earn(old, local(2025, 2, 28, 23, 59))
    later = enrol()
    _earn(later, timezone.now())  # after the day of the evaluation: does not count
    assert _count(purchased_within_days=15) == 1
    assert _count(not_purchased_within_days=15) == 3  # old, never, later


def test_refunds_and_other_credits_are_not_purchases():
    member = enrol()
    points_earn(member=member, points=50, reference="bonus:1", kind=LedgerEntry.Kind.BONUS,
                occurred_at=local(2025, 3, 10, 9))  # fmt: skip
    assert _count(purchased_within_days=30) == 0


def test_spend_over_a_period_from_the_qualifying_spend(tiers):
    big, small, old_big = enrol(), enrol(), enrol()
    tier_spend_record(member=big, amount=Decimal(1_500_000), reference="sale:1", occurred_at=local(2025, 3, 1, 10))
    tier_spend_record(member=small, amount=Decimal(300_000), reference="sale:2", occurred_at=local(2025, 3, 2, 10))
    tier_spend_record(member=old_big, amount=Decimal(2_000_000), reference="sale:3", occurred_at=local(2024, 6, 1, 10))
    assert _count(min_spend=Decimal(1_000_000), spend_within_days=30) == 1
    assert _count(min_spend=Decimal(1_000_000)) == 2
    assert _count(min_spend=Decimal(200_000), spend_within_days=30) == 2


def test_in_a_static_group():
    group, other = group_create(name="Nhóm 1"), group_create(name="Nhóm 2")
    a, b, c = enrol(), enrol(), enrol()
    group_add_members(group=group, member_ids=[a.pk, b.pk], source="admin")
    group_add_members(group=other, member_ids=[b.pk, c.pk], source="admin")
    member_block(member=a, reason="Khóa")
    assert _count(groups=[group]) == 1
    assert _count(groups=[group, other]) == 2


def test_rules_combine_and_the_members_come_in_one_statement(stores, tiers, put_in_tier):
    vip_hn = put_in_tier(enrol(birthday=datetime.date(1990, 3, 3), home_store=stores["PHO-HN01"]), "VIP")
    put_in_tier(enrol(birthday=datetime.date(1990, 4, 3), home_store=stores["PHO-HN01"]), "VIP")
    enrol(birthday=datetime.date(1990, 3, 3), home_store=stores["PHO-HN01"])
    segment = Segment.objects.create(name="VIP sinh nhật tháng này", birthday_month="current")
    segment.tiers.set([tiers["VIP"]])
    segment.home_stores.set([stores["PHO-HN01"]])
    with CaptureQueriesContext(connection) as building:
        members = segment_members(segment=segment, as_of=AS_OF)
    with CaptureQueriesContext(connection) as reading:
        found = list(members.values_list("pk", flat=True))
    assert found == [vip_hn.pk]
    assert len(reading) == 1
    assert len(building) <= 5  # the segment's own lists (tiers, stores, groups, brands) and the entry tier


# --- Admin ------------------------------------------------------------------------------------


def test_segment_page_shows_the_live_count_and_a_sample(client, superuser):
    today = timezone.localtime(timezone.now(), HCM).date()
    enrol(name="Phạm Thị Sinh Nhật", birthday=datetime.date(1990, today.month, 1))
    enrol(name="Võ Văn Khác", birthday=datetime.date(1990, today.month % 12 + 1, 1))
    segment = Segment.objects.create(name="Sinh nhật tháng này", birthday_month="current")
    client.force_login(superuser)
    page = client.get(reverse("admin:campaigns_segment_change", args=[segment.pk])).content.decode()
    assert "Phạm Thị Sinh Nhật" in page
    assert "Võ Văn Khác" not in page
    assert client.get(reverse("admin:campaigns_segment_changelist")).status_code == 200
    assert client.get(reverse("admin:campaigns_segment_add")).status_code == 200


def test_group_admin_adds_members_by_phone_list(client, superuser):
    group = group_create(name="Khách sự kiện")
    member = enrol(phone="0911222333")
    client.force_login(superuser)
    url = reverse("admin:campaigns_customergroup_add_phones", args=[group.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"phones": "0911 222 333\n0900000000"}, follow=True)
    assert response.status_code == 200
    assert list(group.memberships.values_list("member_id", flat=True)) == [member.pk]
    assert "0900000000" in response.content.decode()
    listing = client.get(reverse("admin:campaigns_customergroup_changelist")).content.decode()
    assert "Khách sự kiện" in listing
    members_page = client.get(reverse("admin:campaigns_groupmembership_changelist") + f"?group__id__exact={group.pk}")
    assert members_page.status_code == 200


def test_the_phone_list_action_on_the_group_list(client, superuser):
    group = group_create(name="Một nhóm")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:campaigns_customergroup_changelist"),
        {"action": "add_members_by_phone_list", "_selected_action": [group.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:campaigns_customergroup_add_phones", args=[group.pk])


def _request(user, data):
    request = RequestFactory().post("/admin/members/member/", data)
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_the_member_list_action_puts_the_selected_members_in_a_group(superuser, staff):
    a, b = enrol(), enrol()
    member_admin = admin.site._registry[Member]
    queryset = Member.objects.filter(pk__in=[a.pk, b.pk])
    page = add_to_group_action(member_admin, _request(superuser, {"_selected_action": [a.pk, b.pk]}), queryset)
    assert page.status_code == 200 and page.template_name == "admin/campaigns/add_to_group.html"
    assert not GroupMembership.objects.exists()
    done = add_to_group_action(
        member_admin, _request(superuser, {"confirm": "yes", "new_group": "Khách chọn tay"}), queryset
    )
    assert done.status_code == 302
    group = CustomerGroup.objects.get(name="Khách chọn tay")
    assert set(group.memberships.values_list("member_id", flat=True)) == {a.pk, b.pk}
    assert set(group.memberships.values_list("added_by", flat=True)) == {superuser.pk}
    # Staff without the right to change groups are refused, and nothing is written.
    staff.user_permissions.add(Permission.objects.get(codename="view_member"))
    with pytest.raises(PermissionDenied):
        add_to_group_action(member_admin, _request(staff, {"confirm": "yes", "new_group": "Khác"}), queryset)
    assert not CustomerGroup.objects.filter(name="Khác").exists()
