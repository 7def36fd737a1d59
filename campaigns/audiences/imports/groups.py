"""`--group NAME` and its admin equivalent: the imported members join a static customer group,
through the customer-group services (created when no group has that name yet).

An import adds up to 200,000 members at once, and they are live members it has just enrolled
or looked up: on PostgreSQL they join in one INSERT ... SELECT over an array of ids (ON
CONFLICT DO NOTHING for those already in the group) instead of `group_add_members`'s chunks of
model instances and IN lists (measured: about a fifth of a 100,000-row import's time). Same
result as `group_add_members`: an id that names no member, or a merged member (who joins as
its survivor), takes that service's path for the whole list."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.models import CustomerGroup, GroupMembership
from campaigns.audiences.services import group_add_members, group_create
from members.models import Member

NAME_MAX = CustomerGroup._meta.get_field("name").max_length
NOTE_MAX = GroupMembership._meta.get_field("note").max_length


def _clean(name: str) -> str:
    return " ".join((name or "").split())


def import_group_check(*, group_name: str) -> None:
    name = _clean(group_name)
    if not name or len(name) > NAME_MAX:
        raise ImportRefused(_("Give a group name of 1 to %(max)d characters.") % {"max": NAME_MAX})


def import_group_add(*, group_name: str, member_ids: list[int], added_by=None, note: str = "") -> int:
    """Add the members to the group named `group_name`, creating it if needed; returns how many
    were not in it yet."""
    name = _clean(group_name)
    group = CustomerGroup.objects.filter(name=name).first()
    if group is None:
        group = group_create(name=name, description=_("Created by an Excel import."), by=added_by)
    if not member_ids:
        return 0
    source = GroupMembership.Source.IMPORT
    if connection.vendor != "postgresql" or not _all_live(member_ids):
        return group_add_members(group=group, member_ids=member_ids, source=source, by=added_by, note=note)
    return _insert_live(group, list(dict.fromkeys(member_ids)), source=source, by=added_by, note=note)


def _all_live(member_ids: list[int]) -> bool:
    """Whether every id names a member who is not merged into another (PostgreSQL)."""
    quote = connection.ops.quote_name
    meta = Member._meta
    sql = (
        f"SELECT 1 FROM unnest(%s::bigint[]) AS v(id) WHERE NOT EXISTS (SELECT 1 FROM {quote(meta.db_table)} "  # noqa: S608 -- quoted names
        f"AS m WHERE m.{quote(meta.pk.column)} = v.id AND m.{quote(meta.get_field('merged_into').column)} IS NULL) "
        "LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [member_ids])
        return cursor.fetchone() is None


def _insert_live(group: CustomerGroup, member_ids: list[int], *, source: str, by, note: str) -> int:
    """The memberships of live members, in the order given, those already in the group left as
    they are: one statement (PostgreSQL). Returns how many were added."""
    quote = connection.ops.quote_name
    meta = GroupMembership._meta
    columns = ", ".join(
        quote(meta.get_field(name).column) for name in ("group", "member", "added_at", "added_by", "source", "note")
    )
    unique = ", ".join(quote(meta.get_field(name).column) for name in ("group", "member"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 -- quoted names, values as parameters
        "SELECT %s, v.id, %s, %s, %s, %s FROM unnest(%s::bigint[]) WITH ORDINALITY AS v(id, n) ORDER BY v.n "
        f"ON CONFLICT ({unique}) DO NOTHING"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [group.pk, timezone.now(), getattr(by, "pk", None), source, note[:NOTE_MAX], member_ids])
        return cursor.rowcount
