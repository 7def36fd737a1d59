"""Issuing one voucher of a reward to many members at once: a campaign run over tens of
thousands of members, where `voucher_issue` (a dozen queries per member) would take minutes.

The same rules and invariants as `voucher_issue`, set-based: the reward's row is locked while
its window, stock and the per-member limit are checked; the stock counter moves by `F()` once;
every voucher carries the caller's idempotency reference and a member already served under
their reference gets that voucher back instead of a new one. No message is written: the caller
tells the members (e.g. with its own bulk enqueue), in the same transaction."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from members.models import Member
from vouchers.codes import voucher_code_generate
from vouchers.models import Reward, Voucher
from vouchers.selectors import member_reward_counts, reward_refusal_for_anyone, voucher_expires_at, zone_for

_BATCH = 2000


@dataclass
class BulkIssue:
    """Vouchers by member id (new ones and those already issued under the same reference), how
    many are new, and the members refused with the reason (`member-inactive`, `member-limit`,
    `out-of-stock`)."""

    vouchers: dict[int, Voucher] = field(default_factory=dict)
    new: int = 0
    refused: dict[int, str] = field(default_factory=dict)


def voucher_codes_free(count: int) -> list[str]:
    """`count` distinct codes that no voucher has yet (checked in one query per draw)."""
    codes: set[str] = set()
    while len(codes) < count:
        drawn = {voucher_code_generate() for _ in range(count - len(codes))} - codes
        taken = set(Voucher.objects.filter(code__in=drawn).values_list("code", flat=True))
        codes |= drawn - taken
    return sorted(codes)


def vouchers_issue_bulk(
    *,
    reward: Reward,
    member_ids: list[int],
    reference_for: Callable[[int], str],
    channel: str = Voucher.Channel.CAMPAIGN,
    reason: str = "",
    issued_by=None,
    now: datetime.datetime | None = None,
) -> BulkIssue:
    """Issue one voucher of `reward` to each member, without points, in one transaction (the
    caller's, when there is one). A reward that cannot be issued to anybody (outside its window,
    no longer valid) raises RewardUnavailable and writes nothing; members who are not active,
    over their limit or beyond the stock left are refused one by one (first come, first served
    in the order given)."""
    if channel not in (Voucher.Channel.CAMPAIGN, Voucher.Channel.STAFF, Voucher.Channel.IMPORT):
        raise ValueError(f"vouchers_issue_bulk gives vouchers without points; {channel!r} is not such a channel")
    now = now or timezone.now()
    zone = zone_for(None)
    result = BulkIssue()
    member_ids = list(dict.fromkeys(member_ids))
    if not member_ids:
        return result
    references = {member_id: reference_for(member_id) for member_id in member_ids}
    with transaction.atomic():
        locked = Reward.objects.select_for_update(no_key=True).get(pk=reward.pk)
        for voucher in Voucher.objects.filter(reference__in=list(references.values())).select_related("reward"):
            if references.get(voucher.member_id) == voucher.reference and voucher.reward_id == locked.pk:
                result.vouchers[voucher.member_id] = voucher
        wanted = [m for m in member_ids if m not in result.vouchers]
        if not wanted:
            return result
        refusal = reward_refusal_for_anyone(reward=locked, at=now, zone=zone)
        if refusal is not None and refusal.reason != "out-of-stock":
            raise refusal.error()
        active = set(Member.objects.filter(pk__in=wanted, status=Member.Status.ACTIVE).values_list("pk", flat=True))
        for member_id in wanted:
            if member_id not in active:
                result.refused[member_id] = "member-inactive"
        wanted = [m for m in wanted if m in active]
        if locked.limit_per_member is not None and wanted:
            counts = member_reward_counts(reward=locked, member_ids=wanted, at=now, zone=zone)
            for member_id in wanted:
                if counts.get(member_id, 0) >= locked.limit_per_member:
                    result.refused[member_id] = "member-limit"
            wanted = [m for m in wanted if m not in result.refused]
        if locked.stock is not None:
            left = max(0, locked.stock - locked.issued_count)
            for member_id in wanted[left:]:
                result.refused[member_id] = "out-of-stock"
            wanted = wanted[:left]
        if not wanted:
            return result
        expires_at = voucher_expires_at(reward=locked, issued_at=now, zone=zone)
        vouchers = [
            Voucher(
                code=code,
                reward=locked,
                member_id=member_id,
                channel=channel,
                issued_at=now,
                issued_by=issued_by,
                reason=" ".join(str(reason or "").split())[:300],
                reference=references[member_id],
                expires_at=expires_at,
            )
            for member_id, code in zip(wanted, voucher_codes_free(len(wanted)), strict=True)
        ]
        # The rows differ only in member, code and reference: validating one validates the
        # shape of all (a full_clean per row would cost more than the insert).
        try:
            vouchers[0].full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise ValidationFailed(errors=exc.message_dict) from exc
        Voucher.objects.bulk_create(vouchers, batch_size=_BATCH)
        Reward.objects.filter(pk=locked.pk).update(issued_count=F("issued_count") + len(vouchers))
        for voucher in vouchers:
            result.vouchers[voucher.member_id] = voucher
        result.new = len(vouchers)
    return result
