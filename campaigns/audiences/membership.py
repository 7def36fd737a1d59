"""The one audience read the sale may make: in which of some groups and (refreshed) segments a
member is. Two indexed look-ups on the member's id; never a segment's rules (those run in
`campaigns.audiences.refresh`, off the sale path). The layering contract lets `pos.checkout`
reach this module and the models only."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, TypeVar

from campaigns.audiences.models import GroupMembership, RewardAudience, SegmentMembership


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


class _HasPk(Protocol):
    pk: int


RewardLike = TypeVar("RewardLike", bound=_HasPk)


def rewards_open_to_member(*, rewards: Sequence[RewardLike], member_id: int | None) -> list[RewardLike]:
    """The rewards among `rewards` (in their order) that the member may see and exchange: those
    kept for no customer group and no segment, and those kept for one the member is in. Without a
    member (a till's catalogue with nobody named), the kept ones are left out. One indexed query
    for the links (none for an empty list), then `member_audiences` only when some are kept."""
    if not rewards:
        return []
    links = list(
        RewardAudience.objects.filter(reward_id__in=[reward.pk for reward in rewards]).values_list(
            "reward_id", "group_id", "segment_id"
        )
    )
    if not links:
        return list(rewards)
    in_groups: set[int] = set()
    in_segments: set[int] = set()
    if member_id is not None:
        in_groups, in_segments = member_audiences(
            member_id=member_id,
            group_ids={group for _reward, group, _segment in links if group is not None},
            segment_ids={segment for _reward, _group, segment in links if segment is not None},
        )
    kept = {reward for reward, _group, _segment in links}
    opened = {
        reward
        for reward, group, segment in links
        if (group is not None and group in in_groups) or (segment is not None and segment in in_segments)
    }
    return [reward for reward in rewards if reward.pk not in kept or reward.pk in opened]


def reward_open_to_member_audience(*, reward: _HasPk, member_id: int | None) -> bool:
    """Whether the member is among the reward's customer groups or segments (or it has none)."""
    return bool(rewards_open_to_member(rewards=[reward], member_id=member_id))
