"""`--group NAME` and its admin equivalent: the imported members join a static customer group,
through the customer-group services (created when no group has that name yet); an import's
100,000 members join in one statement there (`group_add_members`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from campaigns.audiences.imports.errors import ImportRefused
from campaigns.audiences.models import CustomerGroup, GroupMembership
from campaigns.audiences.services import group_add_members, group_create

NAME_MAX = CustomerGroup._meta.get_field("name").max_length


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
    return group_add_members(
        group=group, member_ids=member_ids, source=GroupMembership.Source.IMPORT, by=added_by, note=note
    )
