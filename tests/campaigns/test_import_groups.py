"""The import's customer group (`--group NAME`), through `group_add_members`: on PostgreSQL a
list of live members joins in one statement, with the same result as the chunked path that any
other case (an unknown id, a merged member) takes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.audiences.imports.groups import import_group_add
from campaigns.audiences.models import CustomerGroup, GroupMembership
from campaigns.audiences.services import group_add_members, group_create
from loyalty_site.core.errors import ValidationFailed
from members.services import member_merge
from tests.campaigns.conftest import enrol

pytestmark = pytest.mark.django_db


def memberships(group: CustomerGroup) -> list[tuple]:
    return list(group.memberships.order_by("pk").values_list("member_id", "source", "added_by_id", "note", "added_at"))


def test_members_join_in_the_order_given_and_those_already_in_are_left_as_they_are(staff, is_postgres):
    group = group_create(name="Khách cũ")
    a, b, c = enrol(), enrol(), enrol()
    group_add_members(group=group, member_ids=[b.pk], source=GroupMembership.Source.ADMIN, by=staff)
    before = memberships(group)

    with CaptureQueriesContext(connection) as queries:
        added = import_group_add(group_name=" Khách  cũ ", member_ids=[c.pk, b.pk, a.pk, c.pk], note="cu.xlsx")

    assert added == 2
    rows = memberships(group)
    assert rows[0] == before[0]  # b's first addition kept: by the admin, by staff
    assert [(member, source, by, note) for member, source, by, note, _at in rows[1:]] == [
        (c.pk, GroupMembership.Source.IMPORT, None, "cu.xlsx"),
        (a.pk, GroupMembership.Source.IMPORT, None, "cu.xlsx"),
    ]
    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "campaigns_groupmembership"')]
    if is_postgres:
        assert len(inserts) == 1 and "ON CONFLICT" in inserts[0]["sql"]


def test_the_group_is_created_and_the_importer_recorded(staff):
    a = enrol()
    assert import_group_add(group_name="Nhóm mới", member_ids=[a.pk], added_by=staff, note="x" * 250) == 1
    group = CustomerGroup.objects.get(name="Nhóm mới")
    [(member, source, by, note, _at)] = memberships(group)
    assert (member, source, by, note) == (a.pk, GroupMembership.Source.IMPORT, staff.pk, "x" * 200)


def test_a_merged_member_joins_as_its_survivor():
    survivor, merged, other = enrol(), enrol(), enrol()
    member_merge(survivor=survivor, merged=merged, reason="Trùng")
    assert import_group_add(group_name="Nhóm B", member_ids=[merged.pk, other.pk, survivor.pk]) == 2
    group = CustomerGroup.objects.get(name="Nhóm B")
    assert [row[0] for row in memberships(group)] == [survivor.pk, other.pk]


def test_an_unknown_id_refuses_the_whole_list_and_writes_no_membership():
    group = group_create(name="Nhóm A")
    member = enrol()
    with pytest.raises(ValidationFailed) as refused:
        import_group_add(group_name="Nhóm A", member_ids=[member.pk, 987654])
    assert "987654" in str(refused.value.errors["member_ids"])
    assert not GroupMembership.objects.filter(group=group).exists()
