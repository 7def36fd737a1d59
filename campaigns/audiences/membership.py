"""The one audience read the sale may make: in which of some groups and (refreshed) segments a
member is. Two indexed look-ups on the member's id; never a segment's rules (those run in
`campaigns.audiences.refresh`, off the sale path). The layering contract lets `pos.checkout`
reach this module and the models only."""

from __future__ import annotations

from collections.abc import Collection

from campaigns.audiences.models import GroupMembership, SegmentMembership


def member_audiences(
    *, member_id: int, group_ids: Collection[int], segment_ids: Collection[int]
) -> tuple[set[int], set[int]]:
    """(the ids among `group_ids` whose group holds the member, the ids among `segment_ids`
    whose last refresh found the member). No query for an empty list."""
    groups: set[int] = set()
    segments: set[int] = set()
    if group_ids:
        groups = set(
            GroupMembership.objects.filter(member_id=member_id, group_id__in=list(group_ids)).values_list(
                "group_id", flat=True
            )
        )
    if segment_ids:
        segments = set(
            SegmentMembership.objects.filter(member_id=member_id, segment_id__in=list(segment_ids)).values_list(
                "segment_id", flat=True
            )
        )
    return groups, segments
